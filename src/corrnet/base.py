"""``_CorrNetBase``: what the two-view and N-view estimators share (the configuration, per-view
scaling and its undoing, the ``"auto"`` settings, and the training run: checkpoints, logging,
convergence)."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from sklearn.utils import check_random_state

from . import persistence, training
from .config import DEPRECATED_PRESETS, Config, preset, resolve_model
from .data import MappedRows, resolve_device, to_tensor
from .diagnostics import caller_stacklevel
from .distributed import Dist
from .model import CorrNetModule
from .objective import SQUARED_LOSSES
from .params import BY_NAME
from .plans import Plan

# Parameters added after checkpoints existed (version added), at their value that trains as before.
_FINGERPRINT_NEUTRAL: dict[str, Any] = {"lr_schedule": "constant", "decoder_layers": None}  # 0.3.0
_UNSET = object()


def _fingerprint(views: list[np.ndarray], params: dict[str, Any]) -> str:
    """A short hash of the data and parameters, so a checkpoint resumes only the run it belongs to."""
    h = hashlib.sha256()
    for A in views:
        h.update(str(A.shape).encode())
        step = max(1, A.shape[0] // 1000)
        rows = A.numpy(0, A.shape[0], step) if isinstance(A, MappedRows) else A[::step]
        for part in (rows.data, rows.indices, rows.indptr) if sp.issparse(rows) else (rows,):
            h.update(np.ascontiguousarray(part).tobytes())
    # epochs (and min_steps, which only raises them) may grow on resume; device, engine and verbose do
    # not change the result
    skip = ("verbose", "device", "epochs", "min_steps", "engine", "precision")
    keep = {k: v for k, v in params.items() if k not in skip}
    # a parameter added later is left out at the value that reproduces runs made before it existed, so
    # their checkpoints still resume
    keep = {k: v for k, v in keep.items() if _FINGERPRINT_NEUTRAL.get(k, _UNSET) != v}
    h.update(json.dumps(keep, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


class _EpochLogger:
    """Appends the newest history row to ``history.csv`` (and TensorBoard, if installed)."""

    def __init__(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.path = log_dir / "history.csv"
        self.writer = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(log_dir))
        except ImportError:
            pass

    def __call__(self, state: training.TrainState) -> None:
        row = state.history[-1]
        new = not self.path.exists() or row["epoch"] == 1
        with open(self.path, "w" if new else "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)
        if self.writer is not None:
            for k, v in row.items():
                if k != "epoch":
                    self.writer.add_scalar(k, v, row["epoch"])
            self.writer.flush()


SCALERS = {None: None, "none": None, "standard": StandardScaler, "minmax": MinMaxScaler, "auto": None}

# epochs="auto": enough epochs for AUTO_STEPS optimiser steps, within [AUTO_MIN_EPOCHS, AUTO_MAX_EPOCHS];
# at lr 1e-2 every dataset measured had reached its validation plateau by then (results, Defaults). The
# patience of the convergence check covers at least MIN_PATIENCE_STEPS steps (10 epochs of 10 steps are
# too few to judge a trend).
AUTO_STEPS = 10_000
# under the canonical objective: at least AUTO_MIN_EPOCHS epochs and AUTO_CANONICAL_STEPS steps (Deep
# CCA's 10 epochs of batches of 800 on MNIST's rows; a small table still gets 300 steps)
AUTO_CANONICAL_STEPS = 300
AUTO_MIN_EPOCHS = 10
AUTO_MAX_EPOCHS = 5_000
MIN_PATIENCE_STEPS = 500
# optimizer="auto" trains full-batch L-BFGS on at most AUTO_LBFGS_ROWS (fully paired, in-memory) rows
# of at most AUTO_LBFGS_VALUES values, for at most AUTO_LBFGS_EPOCHS epochs of LBFGS_EPOCH_ITERS
# iterations (results: small tables). The values are those an evaluation reconstructs: rows x the
# views' widths, or a sparse view's non-zeros when its error comes from them (a linear output). A
# sparse view decoded column by column trains Adam: on CLDR names (1 100 rows x 7 000-10 000 n-gram
# columns, sigmoid output) L-BFGS took ~350 s a script (results: transliteration). With a sparse view
# the budget is AUTO_LBFGS_EPOCHS_SPARSE epochs: its linear code fits in a few iterations and then
# overfits a thousand rows (5 epochs against 20, 3 seeds: CLDR names ru +0.6, ko +0.2 recall@1,
# SIB-200 -1.3 accuracy within its sd of 2.6, in a quarter of the time; benchmarks/probes/recipe.log)
# lr="auto": AUTO_LR * min(1, AUTO_LR_MASS / m), m the largest column-mean mass sum_i |mean(x_i)| of
# a scaled training view (results: Noisy MNIST; docs/results/lr-probe/); with encoder_layers the base
# is AUTO_LR_DEEP, the best preset's rate (chosen on MNIST halves' validation split, guide: Presets),
# which the mass rule keeps from collapsing on un-centred views (results: Noisy MNIST;
# docs/results/best-carries/)
AUTO_LR = BY_NAME["lr"].config_value()  # Config's concrete lr: the rate for views of modest mass
AUTO_LR_DEEP = 6e-3
AUTO_LR_CANONICAL = 1e-3  # Deep CCA's Adam rate, with its batches of 800
AUTO_LR_MASS = 100.0
AUTO_LBFGS_ROWS = 2_000
AUTO_LBFGS_VALUES = 1_000_000
AUTO_LBFGS_EPOCHS = 20
AUTO_LBFGS_EPOCHS_SPARSE = 5
# validation_fraction="auto" holds out AUTO_VAL_FRACTION of the paired rows (at most AUTO_VAL_MAX_ROWS,
# drawn at random) when at least AUTO_VAL_MIN_ROWS are paired (then at least 50 validation rows);
# early_stopping="auto" then stops on monitor="auto" = AUTO_MONITOR and keeps the best epoch
# (results: early stopping on validation)
AUTO_VAL_FRACTION = 0.1
AUTO_VAL_MIN_ROWS = 500
AUTO_VAL_MAX_ROWS = 5_000
AUTO_MONITOR = "mrr"
# patience="auto": under a minibatch optimiser early stopping waits AUTO_ES_PATIENCE epochs and at least
# MIN_PATIENCE_STEPS steps (on large data an epoch is hundreds of steps: Multi30k's validation MRR peaks
# in epoch 1 or 2); under full-batch L-BFGS, AUTO_ES_PATIENCE_LBFGS epochs, half its AUTO_LBFGS_EPOCHS
# budget: its epochs are few and its validation rows (50-200) give a noisy score, so 3 epochs of noise
# ended fits early (UCI multiple features, 16 pairs x 9 fits: validation transfer up to +2.5 points,
# none down beyond its spread; benchmarks/probes/patience.py)
AUTO_ES_PATIENCE = 3
AUTO_ES_PATIENCE_LBFGS = 10
# scale="auto": a dense view whose columns share one range (SHARED_RANGE_FRACTION of at least
# SHARED_RANGE_MIN_COLUMNS non-constant columns reach the view's max, as many its min) is mapped
# to [0, 1] as a whole instead of column by column (results: scale probe)
SHARED_RANGE_MIN_COLUMNS = 8
SHARED_RANGE_FRACTION = 0.5
# lam="auto": AUTO_LAM, or in a full-batch L-BFGS fit with validation rows the better on validation of
# AUTO_LAM_CANDIDATES. The first is kept unless another beats it by more than one standard error of
# the per-row difference of validation reciprocal ranks (monitor "mrr"; other monitors: a tie keeps
# the first): on ~100 validation rows a difference of 0.01-0.02 MRR is noise, and following it cost
# up to 11 points of transfer (results: choosing lambda on validation)
AUTO_LAM = BY_NAME["lam"].config_value()  # Config's concrete lam: the paper's 2
AUTO_LAM_CANDIDATES = (AUTO_LAM, 0.5)
# under the canonical objective the reconstruction is a regulariser, weighted 64x less than the
# correlation (Noisy MNIST's validation split: 96.4 % view-1 accuracy against 90.0 % at lam = 4)
AUTO_LAM_CANONICAL = 64.0
# what one training run sets on the estimator (lam="auto" keeps the better run's)
_RUN_ATTRIBUTES = ("model_", "config_", "engine_", "history_", "n_epochs_", "n_iter_", "best_epoch_", "stop_reason_")
# with epochs="auto", running out of epochs is the plan on large data; it is only worth a warning when
# the training loss was still falling: the run's last quarter brought more than this fraction of the
# whole run's decrease of the (best) training loss
STILL_IMPROVING = 0.05


def _stack(A: Any, B: Any) -> Any:
    """Rows of A then rows of B (dense or CSR)."""
    return sp.vstack([A, B], format="csr") if sp.issparse(A) or sp.issparse(B) else np.vstack([A, B])


def _beyond_noise(rr: np.ndarray | None, kept_rr: np.ndarray | None) -> bool:
    """Whether per-row scores ``rr`` beat ``kept_rr`` (the same rows) by more than one standard error
    of their paired difference; True when there are no per-row scores to judge by."""
    if rr is None or kept_rr is None:
        return True
    d = rr - kept_rr
    return len(d) > 1 and bool(d.mean() > d.std(ddof=1) / math.sqrt(len(d)))


def _auto_output(config: Config, views: list[Any]) -> str:
    """``output_activation``, ``"auto"`` resolved for the (scaled) training views: ``linear`` under the
    canonical objective when a view is sparse (its error then comes from the non-zeros alone,
    :func:`corrnet.objective.sparse_squared_error`), else ``sigmoid`` for views in [0, 1], else ``linear``."""
    if config.output_activation != "auto":
        return config.output_activation
    if config.correlation == "canonical" and config.loss in SQUARED_LOSSES and any(sp.issparse(A) for A in views):
        return "linear"
    return "sigmoid" if all(_in_unit_interval(A) for A in views) else "linear"


def _in_unit_interval(A: Any) -> bool:
    """All values in [0, 1], up to float rounding (min-max scaled data may reach 1 + 1e-7). A streamed
    view answers from its scanned per-column bounds (scaling maps each column's bounds to its bounds)."""
    if isinstance(A, MappedRows):
        bounds = np.vstack([A.min_, A.max_]).astype(A.dtype)
        A = bounds if A.transform is None else A.transform(bounds)
    return bool(A.min() >= -1e-6 and A.max() <= 1.0 + 1e-6)


def _column_bounds(A: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-column (min, max) of a dense or streamed view (None for a sparse one)."""
    if isinstance(A, MappedRows):
        return np.asarray(A.min_, np.float64), np.asarray(A.max_, np.float64)
    if sp.issparse(A):
        return None
    return np.asarray(A.min(0), np.float64), np.asarray(A.max(0), np.float64)


def _shared_range(A: Any) -> tuple[float, float] | None:
    """``(lo, hi)`` when the view's columns share one range, as pixels of one image do: at least
    :data:`SHARED_RANGE_MIN_COLUMNS` non-constant columns, at least :data:`SHARED_RANGE_FRACTION` of
    them reaching the view's maximum and as many its minimum (MNIST at 0-255: 81 % and 100 %;
    the tables measured: at most 17 % and 20 %). Else None."""
    bounds = _column_bounds(A)
    if bounds is None:
        return None
    mn, mx = bounds
    varying = mx > mn
    if varying.sum() < SHARED_RANGE_MIN_COLUMNS:
        return None
    lo, hi = float(mn.min()), float(mx.max())
    if not hi - lo >= np.finfo(np.float32).tiny:  # a range float32 cannot divide by
        return None
    top, bottom = (mx[varying] == hi).mean(), (mn[varying] == lo).mean()
    return (lo, hi) if min(top, bottom) >= SHARED_RANGE_FRACTION else None


def _whole_view_minmax(lo: float, hi: float, n_features: int, n_rows: int) -> MinMaxScaler:
    """A MinMaxScaler that maps the range [lo, hi] of every column to [0, 1] (one affine map for the
    whole view: the columns keep their relative scales)."""
    scaler = MinMaxScaler().fit(np.repeat([[lo], [hi]], n_features, axis=1))  # the bounds as every column's
    scaler.n_samples_seen_ = n_rows  # the rows it stands for (saved with the model)
    return scaler


def _mean_mass(A: Any) -> float:
    """``sum_i |mean(A[:, i])|`` over the rows of a dense, sparse or memory-mapped view (``lr="auto"``)."""
    if isinstance(A, MappedRows):  # chunk by chunk, as the scalers are fitted
        total = sum(A.numpy(s, e).sum(0, dtype=np.float64) for s, e in A.bounds)  # scaled
        return float(np.abs(total / A.shape[0]).sum())
    if sp.issparse(A):
        return float(np.abs(np.asarray(A.mean(axis=0, dtype=np.float64))).sum())
    return float(np.abs(np.asarray(A).reshape(len(A), -1).mean(0, dtype=np.float64)).sum())


def _mapped(A: Any) -> MappedRows:
    """A memory-mapped (or parquet) view as :class:`MappedRows`; a 1-D view is one feature (as in memory)."""
    if isinstance(A, MappedRows):
        return A
    return MappedRows(A.reshape(-1, 1) if getattr(A, "ndim", 2) == 1 else A)


def _split_tail(A: Any, n_val: int) -> tuple[Any, Any]:
    """(all rows but the last ``n_val``, the last ``n_val``); a streamed view is split without reading."""
    n = A.shape[0]
    return (A.window(0, n - n_val), A.window(n - n_val, n)) if isinstance(A, MappedRows) else (A[:-n_val], A[-n_val:])


def _split_random(X: Any, Y: Any, n_val: int, random_state: Any) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """((X, Y) without ``n_val`` random rows, (X, Y) of those rows), the rows kept in their order. The
    draw is seeded by an integer ``random_state``, else 0: the same rows every time (a resumed fit
    must see the training rows its checkpoint was made on)."""
    seed = random_state if isinstance(random_state, int | np.integer) else 0
    val = np.sort(np.random.default_rng(seed).permutation(X.shape[0])[:n_val])
    train = np.setdiff1d(np.arange(X.shape[0]), val, assume_unique=True)
    return (X[train], Y[train]), (X[val], Y[val])


@dataclass
class RunFiles:
    """What a fit writes as it runs (``fit``'s keywords of the same names)."""

    checkpoint_dir: str | os.PathLike | None = None
    checkpoint_every: int = 1
    resume: bool = False
    log_dir: str | os.PathLike | None = None


@dataclass
class FitInputs:
    """What an estimator's front end hands the shared fit path (:meth:`_CorrNetBase._fit_views`):
    the views' widths, the batch plan over its scaled sources, the paired steps per epoch (for
    ``epochs="auto"`` and the convergence patience), scaled validation views, the views the
    ``"auto"`` output activation is read from (default: the training views), an optional
    pretraining phase ``pretrain(model, config, seed)``, the run's files and its process group."""

    dims: list[int]
    plan: Plan
    steps_per_epoch: int
    val: list[torch.Tensor] | None = None
    resolve_views: list[Any] | None = None
    pretrain: Callable[[CorrNetModule, Config, int], None] | None = None
    files: RunFiles = field(default_factory=RunFiles)
    dist: Dist | None = None


# auto_wrap_output_keys=None: sklearn's set_output wrapper assumes transform(X, ...) with X
# required; ours take views as keywords or a list, so they opt out (numpy output only; every
# subclass must say so again: the option is per class).
class _CorrNetBase(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """What the two-view and N-view estimators share: the configuration, per-view scaling, the
    ``"auto"`` settings, and the training run (checkpoints, logging, convergence)."""

    _two_views = False  # correlation="auto" is canonical for two views only

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> Any:
        """An estimator with a named preset's settings (``corrnet.config.PRESETS``: ``paper``,
        ``seed_blog``, ``canonical_wide``, ``default``; ``best`` and ``canonical`` are deprecated and
        warn, naming what replaces them: ``corrnet.config.DEPRECATED_PRESETS``). An ``epochs`` override is the
        number of epochs: it drops the preset's ``min_steps`` (unless that is overridden too).
        :class:`~corrnet.MultiViewCorrNet` takes the same presets less the settings it has no
        parameter for (``validation_fraction=None``: it holds out no rows of its own)."""
        params = cls._preset_params(preset(name))
        if name in DEPRECATED_PRESETS:
            warnings.warn(
                f"The {name!r} preset is deprecated and will be removed in corrnet 0.5; use "
                f"{DEPRECATED_PRESETS[name]}.",
                FutureWarning,
                stacklevel=caller_stacklevel(),
            )
        if "epochs" in overrides and "min_steps" not in overrides:
            params.pop("min_steps", None)
        own = cls._get_param_names()
        lacking = {k: v for k, v in params.items() if k not in own}
        if any(v is not None for v in lacking.values()):
            raise ValueError(f"{cls.__name__} has no parameters {sorted(lacking)}, which the {name!r} preset sets.")
        params = {k: v for k, v in params.items() if k in own}
        params.update(overrides)
        return cls(**params)

    @classmethod
    def _preset_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """A preset's settings in this estimator's terms (the presets are written for two views)."""
        return params

    def config(self, sparse: bool = False) -> Config:
        """The validated :class:`Config` these parameters describe, for ``sparse`` views or dense ones
        (``correlation="auto"`` and the settings it decides: :func:`corrnet.config.resolve_model`)."""
        fields = Config.__dataclass_fields__
        d = resolve_model({k: getattr(self, k) for k in fields}, self._two_views, sparse)
        d["encoder_layers"] = tuple(d["encoder_layers"] or ())
        d["decoder_layers"] = None if d["decoder_layers"] is None else tuple(d["decoder_layers"])
        d["reconstruct_from"] = tuple(d["reconstruct_from"])
        return Config(**d).validate()

    # -- fitting -------------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return resolve_device(self.device)

    def _dist(self, distributed: bool) -> Dist | None:
        """The ``torch.distributed`` job to train in (``distributed=True``), else None."""
        if not distributed:
            return None
        if self.engine not in ("auto", "autograd"):  # the fused gradients are one process's
            raise ValueError(
                f"distributed=True trains with the autograd engine; use engine='auto', not {self.engine!r}."
            )
        return Dist.current()

    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _fit_scaler(self, A: np.ndarray) -> Any:
        """One view's scaling (see ``scale``), fitted on every training row that has the view."""
        if self.scale not in BY_NAME["scale"].allowed:
            raise ValueError(f"scale={self.scale!r} is not supported; use 'auto', None, 'standard' or 'minmax'.")
        cls = SCALERS[self.scale]
        if self.scale == "auto":
            if _in_unit_interval(A):
                return None
            shared = _shared_range(A)
            if shared is not None:  # e.g. pixels at 0-255: standardising would magnify near-constant ones
                return _whole_view_minmax(*shared, A.shape[1], A.shape[0])
            cls = StandardScaler
        if cls is None:
            return None
        if sp.issparse(A):  # centring would densify: sparse views are divided by their max |value|
            if cls is MinMaxScaler:
                raise ValueError(
                    "scale='minmax' would densify a sparse view; use scale='auto' (max-abs scaling) or None."
                )
            return MaxAbsScaler().fit(A.astype(np.float64))
        scaler = cls()
        for _, block in A.chunks() if isinstance(A, MappedRows) else [(0, A)]:  # fit = partial_fit of all rows
            scaler.partial_fit(block.astype(np.float64))
        if isinstance(scaler, StandardScaler):
            # a column whose spread is below float32's normal range (e.g. 0 and 1e-45) is constant
            # to the model: dividing by its std would give inf/NaN in float32
            scaler.scale_[scaler.scale_ < np.finfo(np.float32).tiny] = 1.0
        else:  # MinMaxScaler: the same for a range below float32's normal range
            flat = scaler.data_range_ < np.finfo(np.float32).tiny
            scaler.scale_[flat], scaler.min_[flat] = 1.0, -scaler.data_min_[flat]
        return scaler

    def _resolve(self, config: Config, views: list[np.ndarray], steps_per_epoch: int) -> Config:
        """Replace the ``"auto"`` settings by what they mean for these (scaled) training views."""
        out = _auto_output(config, views)
        if config.output_activation == "auto":
            if config.loss == "bce" and out != "sigmoid":
                raise ValueError(
                    "loss='bce' needs both views in [0, 1], but after scaling they are not; use scale='minmax' "
                    "or another loss ('half_squared')."
                )
        epochs = config.epochs
        if epochs == "auto" and config.optimizer == "lbfgs":
            epochs = AUTO_LBFGS_EPOCHS_SPARSE if any(sp.issparse(A) for A in views) else AUTO_LBFGS_EPOCHS
        elif epochs == "auto":
            steps = AUTO_CANONICAL_STEPS if config.correlation == "canonical" else AUTO_STEPS
            epochs = min(max(math.ceil(steps / steps_per_epoch), AUTO_MIN_EPOCHS), AUTO_MAX_EPOCHS)
        elif config.min_steps and config.optimizer != "lbfgs":
            epochs = max(epochs, math.ceil(config.min_steps / steps_per_epoch))
        lr = config.lr
        if lr == "auto" and config.correlation == "canonical":
            lr = AUTO_LR_CANONICAL
        elif lr == "auto":
            base = AUTO_LR_DEEP if config.encoder_layers else AUTO_LR
            lr = base * min(1.0, AUTO_LR_MASS / max(max(_mean_mass(A) for A in views), 1e-12))
        self.config_ = dataclasses.replace(config, output_activation=out, epochs=int(epochs), lr=lr).validate()
        return self.config_

    def _optimizer(self, config: Config, views: list[Any], plain: bool) -> Config:
        """The config with ``optimizer="auto"`` resolved for the (scaled) training ``views``, in a fit
        that is ``plain`` (one fully paired or masked in-memory source, one process); ``lbfgs`` trains
        the whole set as one batch (:meth:`_batch`). The size that decides is the values an evaluation
        reconstructs: rows x columns, or a sparse view's non-zeros when its error comes from them."""
        opt = config.optimizer
        if opt == "auto":
            n_rows = views[0].shape[0]
            sparse = any(sp.issparse(A) for A in views)
            exact = sparse and config.loss in SQUARED_LOSSES and _auto_output(config, views) == "linear"
            values = sum(A.nnz if exact and sp.issparse(A) else A.shape[0] * A.shape[1] for A in views)
            small = plain and n_rows <= AUTO_LBFGS_ROWS and values <= AUTO_LBFGS_VALUES
            deterministic = not config.weight_decay and not config.reconstruction_samples
            opt = "lbfgs" if small and config.lr_schedule == "constant" and deterministic else "adam"
        if opt == "lbfgs":
            if not plain:
                raise ValueError(
                    "optimizer='lbfgs' trains all rows as one batch: it needs paired rows in memory in one process "
                    "(no X_unpaired/Y_unpaired, memory-mapped views or distributed=True); use optimizer='adam'."
                )
            if config.lr_schedule != "constant":
                raise ValueError("optimizer='lbfgs' sets its step by line search; use lr_schedule='constant'.")
        elif config.correlation == "canonical" and config.batch_size <= config.n_components:
            raise ValueError(
                f"correlation='canonical' whitens the {config.n_components} units' covariance within each batch, "
                f"which batch_size={config.batch_size} rows cannot estimate (it needs more rows than units): raise "
                "batch_size (batch_size='auto' takes 800), or lower n_components, or use correlation='per_unit'."
            )
        return dataclasses.replace(config, optimizer=opt)

    @staticmethod
    def _patience(epochs: int, config: Config, steps_per_epoch: int) -> int:
        """A patience of ``epochs`` epochs, and under a minibatch optimiser at least
        ``MIN_PATIENCE_STEPS`` steps' worth (the convergence check's, and ``patience="auto"``'s)."""
        if config.optimizer == "lbfgs":  # an L-BFGS epoch is already many full-batch iterations
            return epochs
        return max(epochs, math.ceil(MIN_PATIENCE_STEPS / steps_per_epoch))

    @classmethod
    def _es_patience(cls, config: Config, steps_per_epoch: int) -> int:
        """``patience="auto"``: :data:`AUTO_ES_PATIENCE_LBFGS` epochs under L-BFGS, else
        :data:`AUTO_ES_PATIENCE` epochs and at least ``MIN_PATIENCE_STEPS`` steps."""
        if config.optimizer == "lbfgs":
            return AUTO_ES_PATIENCE_LBFGS
        return cls._patience(AUTO_ES_PATIENCE, config, steps_per_epoch)

    @staticmethod
    def _batch(config: Config, n_rows: int) -> int:
        """Rows per optimiser step (per process): all of them for full-batch L-BFGS."""
        return n_rows if config.optimizer == "lbfgs" else config.batch_size

    @property
    def optimizer_(self) -> str:
        """The optimiser ``optimizer="auto"`` resolved to (from ``config_``)."""
        return self.config_.optimizer

    @property
    def output_activation_(self) -> str:
        """The decoders' activation ``output_activation="auto"`` resolved to (from ``config_``)."""
        return self.config_.output_activation

    @property
    def epochs_(self) -> int:
        """The most epochs ``epochs="auto"`` resolved to (from ``config_``)."""
        return self.config_.epochs

    @staticmethod
    def _scale(A: Any, scaler: Any) -> Any:
        if isinstance(A, MappedRows):  # scaled chunk by chunk as it is read
            return A.with_(transform=None if scaler is None else lambda B: _CorrNetBase._scale(B, scaler))
        return A if scaler is None else scaler.transform(A).astype(A.dtype, copy=False)

    def _unscale(self, view: int, out: torch.Tensor) -> np.ndarray:
        """A decoded view (n, d_view), in the model's units, back in that view's own units: the one
        place that undoes a view's scaling (``reconstruct``, ``generate``, the CLI and the report
        all come through here; the ONNX graphs carry the same affine map)."""
        out = out.float().cpu().numpy()
        scaler = self.scalers_[view]
        return out if scaler is None else scaler.inverse_transform(out).astype(np.float32, copy=False)

    def _set_widths(self, widths: list[int]) -> None:
        """The fitted width attributes of views of these widths (set by ``fit`` and by ``load``)."""
        raise NotImplementedError

    def _engine(self, model: CorrNetModule, config: Config, views: list[Any], n_steps: int) -> str:
        """``engine_``. Sparse views take the same engines: the fused step densifies each batch (B rows;
        the reconstruction targets are dense in every engine)."""
        if any(sp.issparse(v) for v in views):
            if self.precision == "bfloat16" and next(model.parameters()).device.type == "cpu":
                raise ValueError(
                    "precision='bfloat16' has no sparse matmul on the CPU (torch implements it in float32 only); "
                    "use precision='float32' for sparse views, or pass them dense."
                )
        return training.resolve_engine(self.engine, model, config, self.precision, n_steps)

    def _fit_scalers(self, rows: list[Any]) -> None:
        """``scalers_``: one per view, each fitted on the training rows that have the view."""
        self.scalers_ = [self._fit_scaler(A) for A in rows]

    def _validation(self, views: list[Any] | None, device: torch.device) -> list[torch.Tensor] | None:
        """Checked validation views (one per view, fully paired), scaled and on ``device``."""
        if views is None:
            return None
        return [to_tensor(self._scale(v, sc), device) for v, sc in zip(views, self.scalers_)]

    def _fit_views(self, config: Config, views: list[Any], fit: FitInputs) -> tuple[CorrNetModule, Config]:
        """The fit path both estimators share, once their front end has checked, scaled and planned
        the data: resolve the ``"auto"`` settings, build the module, choose the engine, train.

        ``views``: the scaled training views (dense, sparse or streamed; their sparsity picks the
        engine and they key the checkpoints)."""
        if config.reconstruction_samples and not any(sp.issparse(v) for v in views):
            raise ValueError(
                "reconstruction_samples samples the columns of scipy.sparse views, and no view is sparse: "
                "pass the sparse views as scipy.sparse matrices, or set reconstruction_samples=None."
            )
        config = self._resolve(config, fit.resolve_views or views, fit.steps_per_epoch)
        with training.sized_threads(config, self._device()):
            return self._fit_resolved(config, views, fit)

    def _fit_resolved(self, config: Config, views: list[Any], fit: FitInputs) -> tuple[CorrNetModule, Config]:
        """:meth:`_fit_views` once the ``"auto"`` settings are resolved: choose ``lam``, train."""
        seed = self._seed()
        self.lam_scores_ = {}
        if config.lam == "auto":
            lam, kept = self._choose_lam(config, seed, views, fit)
            if kept is not None:  # the search's run of the chosen lam is the fit (it had no files to write)
                for k, v in kept.items():
                    setattr(self, k, v)
                return self.model_, self.config_
            config = dataclasses.replace(config, lam=lam)
        self._train(config, seed, views, fit)
        return self.model_, self.config_

    def _train(self, config: Config, seed: int, views: list[Any], fit: FitInputs) -> float:
        """Build the module from ``config`` (initial weights from ``seed``), choose the engine and
        train it (:meth:`_run`); returns the kept epoch's early-stopping score."""
        self.config_ = config
        model = CorrNetModule(fit.dims, config, generator=torch.Generator().manual_seed(seed)).to(self._device())
        n_steps = config.epochs * fit.steps_per_epoch
        self.engine_ = "autograd" if fit.dist is not None else self._engine(model, config, views, n_steps)
        pretrain = None if fit.pretrain is None else (lambda: fit.pretrain(model, config, seed))
        return self._run(model, config, seed, views, fit, pretrain)

    def _choose_lam(
        self, config: Config, seed: int, views: list[Any], fit: FitInputs
    ) -> tuple[float, dict[str, Any] | None]:
        """``lam="auto"``: :data:`AUTO_LAM`, or in a full-batch L-BFGS fit that stops early on
        validation rows the candidate of :data:`AUTO_LAM_CANDIDATES` whose fit (same initial weights,
        no files written) has the best validation score, in ``lam_scores_``; under monitor "mrr" a
        later candidate must lead by more than one standard error (:func:`_beyond_noise`), and a tie
        keeps the first.
        Returns the lam and, when the fit writes no files, the fitted attributes of its run (else
        None: the chosen lam is fitted again with the files, so checkpoints and resume see one run,
        and the weights are the same either way)."""
        if config.correlation == "canonical":
            return AUTO_LAM_CANONICAL, None
        search = config.optimizer == "lbfgs" and fit.val is not None and self._stops_early(fit) and fit.dist is None
        if not search:
            return AUTO_LAM, None
        scratch = dataclasses.replace(fit, files=RunFiles())
        per_row = self._monitor() == "mrr"
        kept: tuple[float, np.ndarray | None, dict[str, Any]] | None = None
        for lam in AUTO_LAM_CANDIDATES:
            self.lam_scores_[lam] = score = self._train(dataclasses.replace(config, lam=lam), seed, views, scratch)
            rr = training.validation_reciprocal_ranks(self.model_, fit.val) if per_row else None
            if kept is None or (score > kept[0] and _beyond_noise(rr, kept[1])):
                kept = (score, rr, {k: getattr(self, k) for k in _RUN_ATTRIBUTES})
        assert kept is not None
        return kept[2]["config_"].lam, kept[2] if fit.files == RunFiles() else None

    def _monitor(self) -> str:
        """The early-stopping metric, ``monitor`` resolved (``correlation="canonical"``: ``canon_corr``,
        as retrieval by cosine on codes not yet aligned across views measures nothing)."""
        if self.monitor != "auto":
            return self.monitor
        return "canon_corr" if self.config_.correlation == "canonical" else AUTO_MONITOR

    def _stops_early(self, fit: FitInputs) -> bool:
        """``early_stopping`` resolved: ``"auto"`` stops early whenever the fit has validation rows."""
        early = self.early_stopping
        if early not in BY_NAME["early_stopping"].allowed:
            raise ValueError(f"early_stopping must be True, False or 'auto', got {early!r}.")
        return fit.val is not None if early == "auto" else bool(early)

    def _run(
        self,
        model: CorrNetModule,
        config: Config,
        seed: int,
        views: list[Any],
        fit: FitInputs,
        pretrain: Callable[[], None] | None = None,
    ) -> float:
        """Train ``model`` on ``fit.plan``: checkpoints (keyed by a fingerprint of ``views`` and the
        parameters), logging, the convergence patience (at least ``MIN_PATIENCE_STEPS`` of the
        ``fit.steps_per_epoch`` paired steps), an optional ``pretrain()`` phase (skipped when resuming a
        run past it), the fitted attributes, and the ConvergenceWarning. Returns the early-stopping
        score of the kept epoch (higher is better; ``-inf`` without early stopping)."""
        state = training.init_state(model, config, seed + 1)
        files, dist = fit.files, fit.dist
        main = dist is None or dist.is_main  # only rank 0 writes files
        on_epoch_end = self._resume_and_callbacks(state, config, views, files, main)
        # set before any training (pretraining included): a diverged fit keeps its rolled-back model
        self.model_, self.history_ = model, state.history
        if pretrain is not None and not (files.resume and state.epoch):
            pretrain()
        patience = self._patience(int(self.n_iter_no_change), config, fit.steps_per_epoch)
        es_patience = self.patience
        if es_patience != "auto" and (
            isinstance(es_patience, bool) or not isinstance(es_patience, int | np.integer) or es_patience < 1
        ):
            raise ValueError(f"patience must be a positive int or 'auto', got {es_patience!r}.")
        options = training.RunOptions(
            validation=fit.val,
            early_stopping=self._stops_early(fit),
            patience=self._es_patience(config, fit.steps_per_epoch) if es_patience == "auto" else int(es_patience),
            monitor=self._monitor(),
            verbose=self.verbose if main else 0,
            on_epoch_end=on_epoch_end,
            engine=self.engine_,
            precision=self.precision,
            tol=self.tol,
            n_iter_no_change=patience,
            dist=dist,
        )
        try:
            training.train(state, fit.plan, config, options)
            if config.correlation == "canonical":
                training.fit_alignment(model, fit.plan.sources)
                if dist is not None:  # every process keeps rank 0's alignment (its rows are everyone's)
                    dist.broadcast_params(model)
        finally:
            self.n_epochs_ = self.n_iter_ = state.epoch
            self.best_epoch_ = state.best_epoch
            self.history_ = state.history
            self.stop_reason_ = state.stop_reason
        if self.tol is not None and self.stop_reason_ == "max_epochs" and self._still_improving():
            warnings.warn(
                f"{type(self).__name__} stopped after epochs={config.epochs} before the training loss converged "
                f"(tol={self.tol}); raise epochs (or use epochs='auto'), or raise lr.",
                ConvergenceWarning,
                stacklevel=caller_stacklevel(),
            )
        return -math.inf if state.best_score is None else float(state.best_score)

    def _resume_and_callbacks(
        self, state: training.TrainState, config: Config, views: list[Any], files: RunFiles, main: bool
    ) -> Callable[[training.TrainState], None]:
        """Restore ``state`` from the checkpoint when resuming (refused if it was made with other data
        or parameters), and return the per-epoch callback: the history log and checkpoints (rank 0)."""
        callbacks: list[Callable[[training.TrainState], None]] = []
        if files.log_dir is not None and main:
            callbacks.append(_EpochLogger(Path(files.log_dir)))
        if files.checkpoint_dir is not None:
            fingerprint = _fingerprint(views, self.get_params())
            ckpt = Path(files.checkpoint_dir)
            if files.resume and (ckpt / persistence.CKPT_META).is_file():
                extra = persistence.load_checkpoint(state, ckpt)
                if extra.get("fingerprint") != fingerprint:
                    raise ValueError(
                        f"the checkpoint in {ckpt} was made with other data or parameters; resume with the "
                        "same data and parameters, or use a new checkpoint_dir."
                    )

            def checkpoint(s: training.TrainState) -> None:
                if s.epoch % files.checkpoint_every == 0 or s.epoch == config.epochs:
                    persistence.save_checkpoint(s, ckpt, extra={"fingerprint": fingerprint})

            if main:
                callbacks.append(checkpoint)

        def on_epoch_end(s: training.TrainState) -> None:
            for cb in callbacks:
                cb(s)

        return on_epoch_end

    def _still_improving(self) -> bool:
        """Did the run end before convergence in a way worth a ConvergenceWarning? Always, for a
        fixed number of epochs; for ``epochs="auto"``, only when the run's last quarter brought more
        than ``STILL_IMPROVING`` of the whole run's decrease of the best training loss."""
        losses = [r["loss"] for r in self.history_]
        if not losses:
            return False
        if self.epochs != "auto":
            return True
        config = getattr(self, "config_", None)
        if config is not None and config.optimizer == "lbfgs":  # its "auto" budget stops early on purpose
            return False
        q = max(1, (3 * len(losses)) // 4)
        first, before, end = losses[0], min(losses[:q]), min(losses)
        return before - end > STILL_IMPROVING * max(first - end, 1e-12)
