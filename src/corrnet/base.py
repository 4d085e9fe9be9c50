"""``_CorrNetBase``: what the two-view and N-view estimators share (the configuration, per-view
scaling and its undoing, the ``"auto"`` settings, and the training run: checkpoints, logging,
convergence)."""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from sklearn.utils import check_random_state

from . import auto, data, persistence, training
from .config import DEPRECATED_PRESETS, Config, preset, resolve_model
from .data import resolve_device, to_tensor
from .diagnostics import FitWarning, caller_stacklevel
from .distributed import Dist
from .model import CorrNetModule
from .params import BY_NAME
from .plans import Plan
from .runfiles import EpochLogger, RunFiles, fingerprint

# what one training run sets on the estimator (lam="auto" keeps the better run's)
_RUN_ATTRIBUTES = ("model_", "config_", "engine_", "history_", "n_epochs_", "n_iter_", "best_epoch_", "stop_reason_")


def _split_random(X: Any, Y: Any, n_val: int, random_state: Any) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """((X, Y) without ``n_val`` random rows, (X, Y) of those rows), the rows kept in their order. The
    draw is seeded by an integer ``random_state``, else 0: the same rows every time (a resumed fit
    must see the training rows its checkpoint was made on)."""
    seed = random_state if isinstance(random_state, int | np.integer) else 0
    val = np.sort(np.random.default_rng(seed).permutation(X.shape[0])[:n_val])
    train = np.setdiff1d(np.arange(X.shape[0]), val, assume_unique=True)
    return (X[train], Y[train]), (X[val], Y[val])


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
_Estimator = TypeVar("_Estimator", bound="_CorrNetBase")


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
        cls = auto.SCALERS[self.scale]
        if self.scale == "auto":
            if auto.in_unit_interval(A):
                return None
            shared = auto.shared_range(A)
            if shared is not None:  # e.g. pixels at 0-255: standardising would magnify near-constant ones
                return auto.whole_view_minmax(*shared, A.shape[1], A.shape[0])
            cls = StandardScaler
        if cls is None:
            return None
        if data.is_sparse(A):  # centring would densify: sparse views are divided by their max |value|
            if cls is MinMaxScaler:
                raise ValueError(
                    "scale='minmax' would densify a sparse view; use scale='auto' (max-abs scaling) or None."
                )
            return MaxAbsScaler().fit(A.astype(np.float64))
        scaler = cls()
        for block in data.row_blocks(A):  # fit = partial_fit of all rows
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
        """Replace the ``"auto"`` settings by what they mean for these (scaled) training views
        (:func:`corrnet.auto.resolve_data`); the result is ``config_``."""
        self.config_ = auto.resolve_data(config, views, steps_per_epoch)
        return self.config_

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
        return data.map_rows(A, None if scaler is None else lambda B: scaler.transform(B).astype(B.dtype, copy=False))

    # -- persistence ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, metrics: dict[str, float] | None = None) -> Path:
        """Write the fitted model to directory ``path``: ``weights.safetensors`` + ``model.json``
        (parameters, widths, one scaler per view, history, versions, optional ``metrics``). Atomic: a
        crash never leaves a half-written model, and an existing model is replaced only on success.

        Parameters
        ----------
        path : str or path-like
            The directory to write (created, or replaced).
        metrics : dict of str to float, optional
            Scores to keep with the model (shown by ``corrnet evaluate``).

        Returns
        -------
        pathlib.Path
            The directory written.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            The estimator has not been fitted.
        """
        return persistence.save_estimator(self, path, metrics)

    @classmethod
    def load(
        cls: type[_Estimator],
        path: str | os.PathLike,
        device: str | None = None,
        encoders: list[torch.nn.Module | None] | None = None,
        decoders: list[torch.nn.Module | None] | None = None,
    ) -> _Estimator:
        """Load a model directory written by :meth:`save`. Only JSON and safetensors are parsed:
        loading an untrusted directory never executes code.

        Parameters
        ----------
        path : str or path-like
            A directory written by :meth:`save`.
        device : str, optional
            Where to put the model (``"cpu"``, ``"cuda"``); default: the saved ``device``.
        encoders, decoders : list of torch.nn.Module or None, optional
            For a model fitted with custom modules: the same classes, built afresh with the same
            arguments (``None`` for a built-in one); the fitted weights are loaded into copies.

        Returns
        -------
        CorrNet or MultiViewCorrNet
            The fitted estimator (of the class ``load`` is called on), as it was saved.

        Raises
        ------
        corrnet.persistence.ModelFormatError
            The directory is not a corrnet model, is corrupt or inconsistent, was written in a format
            this version does not read, holds another estimator's model, or needs custom modules that
            were not given (or were given of other classes or shapes).
        """
        return persistence.load_estimator(path, cls, device, encoders=encoders, decoders=decoders)

    def _warn_generation(self) -> None:
        """The fit's note on its reconstructions (``generation_warning_``), as a FitWarning, when the
        model is asked to generate or reconstruct: set when predicting the training mean beat them
        because the fit chose so (a heavy ``lam``, or early stopping's epoch)."""
        msg = getattr(self, "generation_warning_", None)
        if msg:
            warnings.warn(msg, FitWarning, stacklevel=caller_stacklevel())

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
        if data.any_sparse(views):
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
        the data: resolve the ``"auto"`` settings, choose ``lam``, then build, choose the engine and
        train (:meth:`_train`).

        ``views``: the scaled training views (dense, sparse or streamed; their sparsity picks the
        engine and they key the checkpoints)."""
        if config.reconstruction_samples and not data.any_sparse(views):
            raise ValueError(
                "reconstruction_samples samples the columns of scipy.sparse views, and no view is sparse: "
                "pass the sparse views as scipy.sparse matrices, or set reconstruction_samples=None."
            )
        config = self._resolve(config, fit.resolve_views or views, fit.steps_per_epoch)
        seed = self._seed()
        self.lam_scores_ = {}
        with training.sized_threads(config, self._device()):
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
        model = CorrNetModule(
            fit.dims, config, torch.Generator().manual_seed(seed), encoders=self.encoders, decoders=self.decoders
        ).to(self._device())
        n_steps = config.epochs * fit.steps_per_epoch
        self.engine_ = "autograd" if fit.dist is not None else self._engine(model, config, views, n_steps)
        pretrain = None if fit.pretrain is None else (lambda: fit.pretrain(model, config, seed))
        return self._run(model, config, seed, views, fit, pretrain)

    def _choose_lam(
        self, config: Config, seed: int, views: list[Any], fit: FitInputs
    ) -> tuple[float, dict[str, Any] | None]:
        """``lam="auto"``: :data:`auto.AUTO_LAM`, or in a full-batch L-BFGS fit that stops early on
        validation rows the candidate of :data:`auto.AUTO_LAM_CANDIDATES` whose fit (same initial weights,
        no files written) has the best validation score, in ``lam_scores_``; under monitor "mrr" a
        later candidate must lead by more than one standard error (:func:`_beyond_noise`), and a tie
        keeps the first.
        Returns the lam and, when the fit writes no files, the fitted attributes of its run (else
        None: the chosen lam is fitted again with the files, so checkpoints and resume see one run,
        and the weights are the same either way)."""
        if config.correlation == "canonical":
            return auto.AUTO_LAM_CANONICAL, None
        search = config.optimizer == "lbfgs" and fit.val is not None and self._stops_early(fit) and fit.dist is None
        if not search:
            return auto.AUTO_LAM, None
        scratch = dataclasses.replace(fit, files=RunFiles())
        per_row = self._monitor() == "mrr"
        kept: tuple[float, np.ndarray | None, dict[str, Any]] | None = None
        for lam in auto.AUTO_LAM_CANDIDATES:
            self.lam_scores_[lam] = score = self._train(dataclasses.replace(config, lam=lam), seed, views, scratch)
            rr = training.validation_reciprocal_ranks(self.model_, fit.val) if per_row else None
            if kept is None or (score > kept[0] and auto.beyond_noise(rr, kept[1])):
                kept = (score, rr, {k: getattr(self, k) for k in _RUN_ATTRIBUTES})
        assert kept is not None
        return kept[2]["config_"].lam, kept[2] if fit.files == RunFiles() else None

    def _monitor(self) -> str:
        """The early-stopping metric, ``monitor`` resolved (``correlation="canonical"``: ``canon_corr``,
        as retrieval by cosine on codes not yet aligned across views measures nothing)."""
        if self.monitor != "auto":
            return self.monitor
        return "canon_corr" if self.config_.correlation == "canonical" else auto.AUTO_MONITOR

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
        patience = auto.patience(int(self.n_iter_no_change), config, fit.steps_per_epoch)
        es_patience = self.patience
        if es_patience != "auto" and (
            isinstance(es_patience, bool) or not isinstance(es_patience, int | np.integer) or es_patience < 1
        ):
            raise ValueError(f"patience must be a positive int or 'auto', got {es_patience!r}.")
        options = training.RunOptions(
            validation=fit.val,
            early_stopping=self._stops_early(fit),
            patience=auto.es_patience(config, fit.steps_per_epoch) if es_patience == "auto" else int(es_patience),
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
            callbacks.append(EpochLogger(Path(files.log_dir)))
        if files.checkpoint_dir is not None:
            key = fingerprint(views, self.get_params())
            ckpt = Path(files.checkpoint_dir)
            if files.resume and (ckpt / persistence.CKPT_META).is_file():
                extra = persistence.load_checkpoint(state, ckpt)
                if extra.get("fingerprint") != key:
                    raise ValueError(
                        f"the checkpoint in {ckpt} was made with other data or parameters; resume with the "
                        "same data and parameters, or use a new checkpoint_dir."
                    )

            def checkpoint(s: training.TrainState) -> None:
                if s.epoch % files.checkpoint_every == 0 or s.epoch == config.epochs:
                    persistence.save_checkpoint(s, ckpt, extra={"fingerprint": key})

            if main:
                callbacks.append(checkpoint)

        def on_epoch_end(s: training.TrainState) -> None:
            for cb in callbacks:
                cb(s)

        return on_epoch_end

    def _still_improving(self) -> bool:
        """Did the run end before convergence in a way worth a ConvergenceWarning? Always, for a
        fixed number of epochs; for ``epochs="auto"``, only when the run's last quarter brought more
        than ``auto.STILL_IMPROVING`` of the whole run's decrease of the best training loss."""
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
        return before - end > auto.STILL_IMPROVING * max(first - end, 1e-12)
