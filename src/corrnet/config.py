"""The model, objective and optimiser settings of a run (:class:`Config`), and the named presets.

:class:`Config`'s fields, defaults and allowed values are the rows of :mod:`corrnet.params` marked
``config=True``; the estimators take the same rows (plus their own), so a preset is a dict of
overrides (``CorrNet.from_preset("paper")``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, field, fields, make_dataclass
from typing import Any

from .params import (  # noqa: F401  (re-exported: the allowed values' historical home)
    ACTIVATIONS,
    BY_NAME,
    FUSIONS,
    INITS,
    LOSSES,
    LR_SCHEDULES,
    MULTIVIEW_PASSES,
    OPTIMIZERS,
    PARAMS,
    PASSES,
)

# the fields that are tuples (lists in JSON); decoder_layers may be None
TUPLE_FIELDS = ("encoder_layers", "decoder_layers", "reconstruct_from")


class _ConfigMethods:
    """Hyper-parameters of the model, objective and optimiser.

    See :class:`corrnet.CorrNet` for the meaning of each field. ``output_activation`` and ``epochs``
    may be ``"auto"`` (the estimator's defaults), which ``CorrNet.fit`` resolves from the data; a
    module is only ever built from a resolved config (:attr:`resolved`).
    """

    def validate(self) -> Config:
        """Raise ``ValueError`` naming the bad field and its allowed values; return self."""

        for param in _CONFIG_PARAMS:
            value, allowed = getattr(self, param.name), param.allowed
            if allowed is not None and param.name in MODEL_AUTOS:  # resolve_model's: a Config never holds "auto"
                allowed = tuple(a for a in allowed if a != "auto")
            if allowed is not None and param.name != "reconstruct_from" and value not in allowed:
                raise ValueError(f"{param.name}={value!r} is not supported; use one of {allowed}.")
        for p in self.reconstruct_from:
            if p not in PASSES + MULTIVIEW_PASSES:
                raise ValueError(
                    f"reconstruct_from contains {p!r}; allowed passes are {PASSES} (two views) or {MULTIVIEW_PASSES}."
                )
        positive = {"n_components": self.n_components, "batch_size": self.batch_size}
        for name, value in positive.items():
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if self.batch_size < 2:
            raise ValueError("batch_size must be >= 2: the correlation term needs two rows per batch.")
        if self.epochs != "auto" and (
            isinstance(self.epochs, str) or int(self.epochs) != self.epochs or self.epochs < 0
        ):
            raise ValueError(f"epochs must be 'auto' or a non-negative integer, got {self.epochs!r}.")
        m = self.reconstruction_samples
        if m is not None and (isinstance(m, (bool, str, float)) or int(m) != m or m < 1):
            raise ValueError(f"reconstruction_samples must be None or a positive integer, got {m!r}.")
        if m is not None and self.optimizer == "lbfgs":
            raise ValueError(
                "reconstruction_samples draws new columns at every evaluation, which L-BFGS's line search "
                "cannot take; use optimizer='adam' (or 'auto'), or reconstruction_samples=None."
            )
        if self.min_steps is not None and (int(self.min_steps) != self.min_steps or self.min_steps < 1):
            raise ValueError(f"min_steps must be None or a positive integer, got {self.min_steps!r}.")
        for name in ("encoder_layers", "decoder_layers"):
            if any(int(s) != s or s < 1 for s in getattr(self, name) or ()):
                raise ValueError(f"{name} must be positive integers, got {getattr(self, name)!r}.")
        if self.lr != "auto" and (isinstance(self.lr, str) or not self.lr > 0):
            raise ValueError(f"lr must be 'auto' or > 0, got {self.lr!r}.")
        if self.lam != "auto" and (isinstance(self.lam, str) or not self.lam >= 0):
            raise ValueError(f"lam must be 'auto' or >= 0 (it weights -sum corr), got {self.lam!r}.")
        if not self.corr_eps > 0:
            raise ValueError(f"corr_eps must be > 0 to keep the correlation finite, got {self.corr_eps!r}.")
        if self.tied and self.encoder_layers:
            raise ValueError("tied=True needs a single-layer encoder; set tied=False to use encoder_layers.")
        if self.tied and self.decoder_layers:
            raise ValueError("tied=True needs single-layer decoders; set tied=False to use decoder_layers.")
        for name in ("encoder_activation", "encoder_norm"):
            if getattr(self, name) is not None and not self.encoder_layers:
                raise ValueError(f"{name} applies to encoder_layers; set encoder_layers=(...) or leave {name}=None.")
        if self.correlation == "canonical" and self.fusion == "sum":
            raise ValueError("correlation='canonical' needs the joint layer; use fusion='joint'.")
        if self.tied and self.fusion == "sum":
            raise ValueError("fusion='sum' (the seed blog's model) has untied decoders; set tied=False.")
        if self.loss == "bce" and self.output_activation not in ("sigmoid", "auto"):
            raise ValueError("loss='bce' needs output_activation='sigmoid' (targets in [0, 1]).")
        return self

    @property
    def resolved(self) -> bool:
        """True when no field is ``"auto"`` (a model can be built from it)."""
        return "auto" not in (self.output_activation, self.epochs, self.lr, self.optimizer, self.lam)

    def unresolved_fields(self, concrete: Config) -> list[str]:
        """The fields on which ``concrete`` (a fitted model's ``config_``) is not what fitting these
        settings can give: every field must be equal, except where a setting leaves its value to the
        data (any ``"auto"``; a fixed ``epochs`` that ``min_steps`` raises to at least that many
        minibatch steps). Resolution never changes any other field, so a model file whose fields
        differ elsewhere was not written by a fit of its own parameters."""
        differ = []
        for f in fields(self):
            given, got = getattr(self, f.name), getattr(concrete, f.name)
            if given == got or given == "auto":
                continue
            if f.name == "epochs" and self.min_steps and isinstance(got, int) and got >= given:
                continue
            differ.append(f.name)
        return differ

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in TUPLE_FIELDS:
            d[key] = None if d[key] is None else list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}; known keys are {sorted(known)}.")
        d = dict(d)
        for key in TUPLE_FIELDS:
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)


# correlation="auto" and the settings it decides (the quality benchmark, docs/benchmarks.md): under
# the canonical objective on dense views one ReLU layer of 256 with LayerNorm into a linear code,
# PyTorch's initialisation and batches of 800 rows (Deep CCA's recipe, one layer); on sparse views a
# linear code straight from the input (thousands of n-gram columns and a thousand rows: a hidden layer
# overfits) and a linear output (CorrNet.fit), whose error is computed from the non-zeros without
# decoding every column; under the per-unit objective each setting's concrete default in the parameter
# table (the paper's single sigmoid layer, its initialisation, batches of 100). Ordered: the encoder's
# activation and norm follow its layers.
CANONICAL_SETTINGS: dict[str, Any] = {
    "encoder_layers": (256,),
    "encoder_activation": "relu",
    "encoder_norm": "layer",
    "hidden_activation": "linear",
    "init": "torch",
    "batch_size": 800,
}
SPARSE_CANONICAL_SETTINGS: dict[str, Any] = {**CANONICAL_SETTINGS, "encoder_layers": ()}


def resolve_model(d: dict[str, Any], canonical: bool = True, sparse: bool = False) -> dict[str, Any]:
    """The estimator settings ``d`` with their ``"auto"`` model settings resolved: ``correlation``
    (``canonical`` where ``canonical`` allows it and the views meet in the joint layer, else
    ``per_unit``), then the encoder, its activation and norm, the code's activation, the
    initialisation and the batch size they suit (``sparse`` views: no encoder layer). Settings given
    explicitly are kept."""
    d = dict(d)
    if d["correlation"] == "auto":
        d["correlation"] = "canonical" if canonical and d["fusion"] == "joint" else "per_unit"
    canon = d["correlation"] == "canonical"
    settings = SPARSE_CANONICAL_SETTINGS if sparse else CANONICAL_SETTINGS
    for name, value in settings.items():
        if d[name] != "auto":
            continue
        needs = {"encoder_layers": not d["tied"], "encoder_activation": bool(d["encoder_layers"])}
        needs["encoder_norm"] = needs["encoder_activation"]  # both apply to encoder layers only
        d[name] = value if canon and needs.get(name, True) else BY_NAME[name].config_value()
    return d


# the "auto" settings resolve_model resolves from the estimator's parameters
MODEL_AUTOS = ("correlation", *CANONICAL_SETTINGS)
_CONFIG_PARAMS = [p for p in PARAMS if p.config]
Config = make_dataclass(
    "Config", [(p.name, p.hint, field(default=p.config_value())) for p in _CONFIG_PARAMS], bases=(_ConfigMethods,)
)
Config.__module__, Config.__doc__ = __name__, _ConfigMethods.__doc__  # importable by name: pickles


#: The named presets, ``name -> parameter overrides`` (``CorrNet.from_preset(name)``).
PRESETS: dict[str, dict[str, Any]] = {
    # The original Theano code's exact recipe (Chandar et al. 2016; see the README).
    "paper": dict(
        n_components=50,
        encoder_layers=(),
        hidden_activation="sigmoid",
        output_activation="sigmoid",
        tied=True,
        fusion="joint",
        loss="half_squared",
        lam=2.0,
        correlation="per_unit",
        reconstruct_from=PASSES,
        corr_eps=1e-8,
        init="original",
        optimizer="rmsprop_original",
        lr=0.01,
        weight_decay=0.0,
        batch_size=100,
        epochs=50,
        shuffle=False,
        # estimator settings: no scaling, exactly 50 epochs on every training row (no convergence stop,
        # no validation hold-out or early stopping)
        scale=None,
        tol=None,
        validation_fraction=None,
        early_stopping=False,
    ),
    # The popular Keras blog's model: two relu encoders summed, linear decoders, Keras MSE and
    # Keras RMSprop defaults -- with the correlation term's sign fixed (the blog adds +lam*corr).
    "seed_blog": dict(
        n_components=50,
        encoder_layers=(),
        hidden_activation="relu",
        output_activation="linear",
        tied=False,
        fusion="sum",
        loss="mse",
        lam=0.02,
        correlation="per_unit",
        reconstruct_from=PASSES,
        init="torch",
        optimizer="rmsprop",
        lr=1e-3,
        batch_size=100,
        epochs=50,
        shuffle=True,
        scale=None,
        tol=None,
        validation_fraction=None,
        early_stopping=False,
    ),
    # deprecated: the per-unit objective through 500-300 encoders, chosen on MNIST halves' validation
    # split (how: benchmarks/runs/README.md, appendix "Presets")
    "best": dict(
        n_components=50,
        encoder_layers=(500, 300),
        hidden_activation="sigmoid",
        output_activation="auto",
        tied=False,
        fusion="joint",
        loss="half_squared",
        lam=4.0,
        correlation="per_unit",
        init="original",
        reconstruct_from=PASSES,
        optimizer="adam",
        lr="auto",
        lr_schedule="cosine",
        batch_size=100,
        epochs=30,
        shuffle=True,
        tol=None,  # exactly 30 epochs on every training row
        validation_fraction=None,
        early_stopping=False,
    ),
    # deprecated: the canonical objective through 500-300 LayerNorm encoders with Deep CCA's training
    # recipe (Adam 1e-3, batches of 800, 10 epochs, torch's initialisation); min_steps=300 gives small
    # tables 300 steps instead of ~20. Chosen on Noisy MNIST's validation split (benchmarks/runs/
    # noisy-screen/, canonical-preset/).
    "canonical": dict(
        encoder_layers=(500, 300),
        encoder_activation="relu",
        encoder_norm="layer",
        hidden_activation="linear",
        output_activation="auto",
        tied=False,
        fusion="joint",
        loss="half_squared",
        correlation="canonical",
        lam=64.0,
        reconstruct_from=PASSES,
        init="torch",
        optimizer="adam",
        lr=1e-3,
        lr_schedule="constant",
        batch_size=800,
        epochs=10,
        min_steps=300,
        shuffle=True,
        tol=None,
        validation_fraction=None,
        early_stopping=False,
    ),
    # corrnet's own defaults.
    "default": {},
}

# Deep CCA's published encoder (Wang et al. 2015: 3 x 1024 ReLU layers) with BatchNorm, and linear
# decoders, for tens of thousands of rows; on a few thousand rows it loses to the defaults
# (benchmarks/runs/canon-wide/).
PRESETS["canonical_wide"] = {
    **PRESETS["canonical"],
    "encoder_layers": (1024, 1024, 1024),
    "encoder_norm": "batch",
    "decoder_layers": (),
}


# Presets that still work but warn (FutureWarning, from ``from_preset``), with what replaces them:
# the defaults and canonical_wide cover what they won (the quality benchmark, docs/benchmarks.md).
#: Deprecated presets, ``name -> what replaces it`` (``from_preset`` warns with it).
DEPRECATED_PRESETS: dict[str, str] = {
    "best": (
        "CorrNet(k) (the defaults) or, for tens of thousands of rows, from_preset('canonical_wide'): on "
        "the quality benchmark 'best' leads only on MNIST halves (89.8 % transfer against canonical_wide's "
        "88.0 and the defaults' 86.0) and trails the defaults everywhere else, Noisy MNIST included"
    ),
    "canonical": (
        "CorrNet(k) (the defaults: the same objective through one layer of 256 units; "
        "encoder_layers=(500, 300) gives this preset's widths), or from_preset('canonical_wide') for tens "
        "of thousands of rows: the defaults are ahead of it on Noisy MNIST and sparse text and at most "
        "3.3 points behind it on the dense tables, at a half to a fiftieth of its time"
    ),
}


@contextmanager
def measuring_deprecated_presets() -> Iterator[None]:
    """A block in which ``from_preset`` builds a deprecated preset without its ``FutureWarning``
    (the benchmarks and experiments keep measuring them on purpose)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The '.*' preset is deprecated", FutureWarning)
        yield


def preset(name: str) -> dict[str, Any]:
    """Return a copy of the named preset's overrides (``paper``, ``best``, ``canonical``,
    ``canonical_wide``, ``seed_blog`` or ``default``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}.")
    return dict(PRESETS[name])
