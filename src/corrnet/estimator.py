"""``CorrNet``: the scikit-learn style estimator around the module and the training loop."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import persistence, training
from .config import PASSES, Config, preset
from .data import MappedRows, check_paired_rows, check_view, check_views, is_mapped, resolve_device, to_tensor
from .diagnostics import FitWarning, diagnose
from .distributed import Dist
from .model import CorrNetModule
from .objective import correlation
from .plans import Plan, Source

# Parameters added after checkpoints existed (version added), at their value that trains as before.
_FINGERPRINT_NEUTRAL: dict[str, Any] = {"lr_schedule": "constant"}  # 0.3.0
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
    # epochs may grow on resume; device, engine and verbose do not change the result
    keep = {k: v for k, v in params.items() if k not in ("verbose", "device", "epochs", "engine", "precision")}
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
# at lr 1e-2 every dataset measured had reached its validation plateau by then (README, Defaults). The
# patience of the convergence check covers at least MIN_PATIENCE_STEPS steps (10 epochs of 10 steps are
# too few to judge a trend).
AUTO_STEPS = 10_000
AUTO_MIN_EPOCHS = 10
AUTO_MAX_EPOCHS = 5_000
MIN_PATIENCE_STEPS = 500
# with epochs="auto", running out of epochs is the plan on large data; it is only worth a warning when
# the training loss was still falling: the run's last quarter brought more than this fraction of the
# whole run's decrease of the (best) training loss
STILL_IMPROVING = 0.05


def _stack(A: Any, B: Any) -> Any:
    """Rows of A then rows of B (dense or CSR)."""
    return sp.vstack([A, B], format="csr") if sp.issparse(A) or sp.issparse(B) else np.vstack([A, B])


def _in_unit_interval(A: Any) -> bool:
    """All values in [0, 1], up to float rounding (min-max scaled data may reach 1 + 1e-7). A streamed
    view answers from its scanned per-column bounds (scaling maps each column's bounds to its bounds)."""
    if isinstance(A, MappedRows):
        bounds = np.vstack([A.min_, A.max_]).astype(A.dtype)
        A = bounds if A.transform is None else A.transform(bounds)
    return bool(A.min() >= -1e-6 and A.max() <= 1.0 + 1e-6)


def _mapped(A: Any) -> MappedRows:
    """A memory-mapped (or parquet) view as :class:`MappedRows`; a 1-D view is one feature (as in memory)."""
    if isinstance(A, MappedRows):
        return A
    return MappedRows(A.reshape(-1, 1) if getattr(A, "ndim", 2) == 1 else A)


def _split_tail(A: Any, n_val: int) -> tuple[Any, Any]:
    """(all rows but the last ``n_val``, the last ``n_val``); a streamed view is split without reading."""
    n = A.shape[0]
    return (A.window(0, n - n_val), A.window(n - n_val, n)) if isinstance(A, MappedRows) else (A[:-n_val], A[-n_val:])


# auto_wrap_output_keys=None: sklearn's set_output wrapper assumes transform(X, ...) with X
# required; ours take views as keywords or a list, so they opt out (numpy output only; every
# subclass must say so again: the option is per class).
class _CorrNetBase(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """What the two-view and N-view estimators share: the configuration, per-view scaling, the
    ``"auto"`` settings, and the training run (checkpoints, logging, convergence)."""

    def config(self) -> Config:
        """The validated :class:`Config` these parameters describe."""
        fields = Config.__dataclass_fields__
        d = {k: getattr(self, k) for k in fields}
        d["encoder_layers"] = tuple(d["encoder_layers"] or ())
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
        if self.scale not in SCALERS:
            raise ValueError(f"scale={self.scale!r} is not supported; use 'auto', None, 'standard' or 'minmax'.")
        cls = SCALERS[self.scale]
        if self.scale == "auto":
            cls = None if _in_unit_interval(A) else StandardScaler
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
        out = config.output_activation
        if out == "auto":
            out = "sigmoid" if all(_in_unit_interval(A) for A in views) else "linear"
            if config.loss == "bce" and out != "sigmoid":
                raise ValueError(
                    "loss='bce' needs both views in [0, 1], but after scaling they are not; use scale='minmax' "
                    "or another loss ('half_squared')."
                )
        epochs = config.epochs
        if epochs == "auto":
            epochs = min(max(math.ceil(AUTO_STEPS / steps_per_epoch), AUTO_MIN_EPOCHS), AUTO_MAX_EPOCHS)
        self.config_ = dataclasses.replace(config, output_activation=out, epochs=int(epochs)).validate()
        return self.config_

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
        """``engine_``: sparse views train with autograd (the fused gradients are for dense views)."""
        if any(sp.issparse(v) for v in views):
            if self.engine not in ("auto", "autograd"):
                raise ValueError(f"engine={self.engine!r} needs dense views; sparse views use engine='auto'.")
            if self.precision == "bfloat16" and next(model.parameters()).device.type == "cpu":
                raise ValueError(
                    "precision='bfloat16' has no sparse matmul on the CPU (torch implements it in float32 only); "
                    "use precision='float32' for sparse views, or pass them dense."
                )
            return "autograd"
        return training.resolve_engine(self.engine, model, config, self.precision, n_steps)

    def _run(
        self,
        model: CorrNetModule,
        config: Config,
        seed: int,
        plan: Plan,
        steps_per_epoch: int,
        val: list[torch.Tensor] | None,
        views: list[np.ndarray],
        checkpoint_dir: str | os.PathLike | None,
        checkpoint_every: int,
        resume: bool,
        log_dir: str | os.PathLike | None,
        pretrain: Any = None,
        dist: Dist | None = None,
    ) -> None:
        """Train ``model`` on ``plan``: checkpoints (keyed by a fingerprint of ``views`` and the
        parameters), logging, the convergence patience (at least ``MIN_PATIENCE_STEPS`` of the
        ``steps_per_epoch`` paired steps), an optional ``pretrain()`` phase (skipped when resuming a run past it),
        the fitted attributes, and the ConvergenceWarning."""
        state = training.init_state(model, config, seed + 1)
        callbacks = []
        main = dist is None or dist.is_main  # only rank 0 writes files
        if log_dir is not None and main:
            callbacks.append(_EpochLogger(Path(log_dir)))
        if checkpoint_dir is not None:
            fingerprint = _fingerprint(views, self.get_params())
            ckpt = Path(checkpoint_dir)
            if resume and (ckpt / persistence.CKPT_META).is_file():
                extra = persistence.load_checkpoint(state, ckpt)
                if extra.get("fingerprint") != fingerprint:
                    raise ValueError(
                        f"the checkpoint in {ckpt} was made with other data or parameters; resume with the "
                        "same data and parameters, or use a new checkpoint_dir."
                    )

            def checkpoint(s: training.TrainState) -> None:
                if s.epoch % checkpoint_every == 0 or s.epoch == config.epochs:
                    persistence.save_checkpoint(s, ckpt, extra={"fingerprint": fingerprint})

            if main:
                callbacks.append(checkpoint)

        def on_epoch_end(s: training.TrainState) -> None:
            for cb in callbacks:
                cb(s)

        # set before any training (pretraining included): a diverged fit keeps its rolled-back model
        self.model_, self.history_ = model, state.history
        if pretrain is not None and not (resume and state.epoch):
            pretrain()
        try:
            training.train(
                state,
                plan,
                config,
                validation=val,
                early_stopping=self.early_stopping,
                patience=self.patience,
                monitor=self.monitor,
                verbose=self.verbose if main else 0,
                on_epoch_end=on_epoch_end,
                engine=self.engine_,
                precision=self.precision,
                tol=self.tol,
                n_iter_no_change=max(int(self.n_iter_no_change), math.ceil(MIN_PATIENCE_STEPS / steps_per_epoch)),
                dist=dist,
            )
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
                stacklevel=3,
            )

    def _still_improving(self) -> bool:
        """Did the run end before convergence in a way worth a ConvergenceWarning? Always, for a
        fixed number of epochs; for ``epochs="auto"``, only when the run's last quarter brought more
        than ``STILL_IMPROVING`` of the whole run's decrease of the best training loss."""
        losses = [r["loss"] for r in self.history_]
        if not losses:
            return False
        if self.epochs != "auto":
            return True
        q = max(1, (3 * len(losses)) // 4)
        first, before, end = losses[0], min(losses[:q]), min(losses)
        return before - end > STILL_IMPROVING * max(first - end, 1e-12)


class CorrNet(_CorrNetBase, auto_wrap_output_keys=None):
    """Correlational Neural Network (Chandar et al., Neural Computation 2016).

    Learns a common representation ``h(x, y) = f(W x + V y + b)`` of two views by reconstructing
    both views from ``(x, y)``, ``(x, 0)`` and ``(0, y)`` while maximising the per-unit correlation
    between ``h(x, 0)`` and ``h(0, y)``.

    Parameters
    ----------
    n_components : int, default=50
        Width k of the common representation.
    encoder_layers : tuple of int, default=()
        Hidden layer widths of each view's encoder before the joint layer (decoders mirror them).
        Needs ``tied=False``.
    hidden_activation : {"sigmoid", "tanh", "relu", "linear"}, default="sigmoid"
        f, the joint layer's activation.
    output_activation : {"auto", "sigmoid", "tanh", "relu", "linear"}, default="auto"
        g, the decoders' activation. ``auto``: ``sigmoid`` when both views (after scaling) lie in
        [0, 1], else ``linear`` (a sigmoid cannot reach standardised or unbounded values). The
        resolved value is in ``output_activation_``.
    tied : bool, default=False
        Decoder weights are the transposed encoder weights (the original code, and the ``paper``
        preset), with separate biases. Untied decoders did better on MNIST halves (README).
    fusion : {"joint", "sum"}, default="joint"
        ``joint``: ``f(W x + V y + b)`` (the paper); ``sum``: ``f(W x + b_x) + f(V y + b_y)`` (the
        seed Keras blog's model).
    loss : {"half_squared", "squared", "mse", "bce"}, default="half_squared"
        Per-row reconstruction error: ``sum (x - x_hat)^2 / 2`` (the original code), without the
        ``/2`` (the paper), the mean over features (Keras), or summed binary cross-entropy.
    lam : float, default=2.0
        Weight of the correlation term: the objective is ``recon - lam * sum_j corr_j``.
    reconstruct_from : tuple of {"both", "x", "y"}, default=("both", "x", "y")
        Which passes' reconstruction terms are used (the original code's ablations).
    corr_eps : float, default=1e-8
        Added inside each square root of the correlation's denominator (keeps constant units finite).
    init : {"original", "torch"}, default="original"
        ``original``: ``4 U(+-sqrt(6/(fan_in+fan_out)))`` for sigmoid layers, biases 0.
    optimizer : {"adam", "adamw", "rmsprop_original", "rmsprop", "sgd"}, default="adam"
        ``rmsprop_original`` is the original code's RMSprop (eps inside the sqrt, no momentum).
    lr : float, default=1e-2
        Adam's step size. 1e-2 reached the validation plateau 5-10x sooner than 1e-3 on every
        dataset the defaults were chosen on, MNIST halves included (README, Defaults). On inputs
        that are far from centred (Noisy MNIST: every pixel noisy, unscaled) it saturates most units
        (``FitWarning``); 1e-3 to 3e-3 trains there (README, Noisy MNIST).
    lr_schedule : {"constant", "cosine"}, default="constant"
        ``cosine``: the learning rate falls from ``lr`` to 0 by half a cosine over the ``epochs`` x
        steps-per-epoch optimiser steps (the ``best`` preset's: it allows a 6x larger ``lr`` there).
        Early stopping or ``tol`` may end the run before the rate reaches 0.
    weight_decay : float, default=0.0
    batch_size : int, default=100
    epochs : int or "auto", default="auto"
        The most epochs to run. ``auto``: enough for 10 000 optimiser steps, at least 10 and at
        most 5 000 epochs (1 000 rows: 1 000 epochs of 10 steps; MNIST's 50 000: 20 epochs; 90
        rows: 5 000 epochs of 1 step); the convergence check (``tol``) usually stops earlier. The
        resolved value is in ``epochs_``.
    tol : float or None, default=1e-4
        Convergence: training stops when the epoch's training loss has not improved on the best so
        far by ``tol * max(1, |best|)`` for ``n_iter_no_change`` epochs (at least 500 steps' worth
        of epochs). ``None`` runs exactly ``epochs`` epochs. When a fixed number of epochs runs out
        before convergence, ``fit`` warns with a ``ConvergenceWarning``; with ``epochs="auto"`` it
        warns only if the loss was still falling (the last quarter of the epochs brought more than
        5 % of the run's whole decrease).
    n_iter_no_change : int, default=10
    shuffle : bool, default=True
        Visit rows in a new random order each epoch (the original code does not: ``paper`` preset).
    scale : {"auto", None, "standard", "minmax"}, default="auto"
        Per-feature scaling fitted on the training rows of each view (paired and unpaired), undone
        on reconstructions and saved with the model. ``auto``: a view whose values all lie in
        [0, 1] (pixels, spectrograms scaled to [0, 1]) is left alone; any other view is
        standardised (zero mean, unit variance; constant columns are left at scale 1).
    validation_fraction : float, optional
        Hold out this fraction of the training rows (the last rows, no shuffling) for validation
        metrics in ``history_`` and early stopping. Ignored when ``fit`` gets ``validation_data``.
    early_stopping : bool, default=False
        Stop when the monitored validation metric has not improved for ``patience`` epochs and keep
        the best epoch's weights.
    patience : int, default=10
    monitor : {"sum_corr", "loss", "generation"}, default="sum_corr"
    random_state : int, RandomState or None
        Seeds initial weights and shuffling. Same seed, data and device give identical weights.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    engine : {"auto", "autograd", "fused", "compile"}, default="auto"
        How gradients are computed; all give the same loss and gradients (tested). ``auto``:
        ``compile`` for runs of at least 20 000 optimiser steps (where the ~8 s of compilation pays
        off; ``epochs="auto"`` runs stay below that), ``fused`` for shorter ones, ``autograd``
        where the fused path does not apply (deep encoders, ``fusion="sum"``, bfloat16); the
        choice is in ``engine_``. ``compile``
        (hand-derived gradients under ``torch.compile``) is the fastest for long runs (about 1.9x
        per epoch on MNIST halves, README) after a few seconds of compilation; ``fused`` applies to
        single-layer joint models and falls back to autograd elsewhere.
    precision : {"float32", "bfloat16"}, default="float32"
        ``bfloat16`` trains under ``torch.autocast`` (matmuls in bfloat16, the correlation and loss
        reductions in float32, float32 weights): for GPUs; on a CPU it is usually slower.
    unpaired_strategy : {"auto", "pretrain", "alternate", "mixed"}, default="auto"
        How rows with one view (``fit(..., X_unpaired=, Y_unpaired=)``) are used. ``auto``:
        ``mixed`` when fewer than 5 % of the rows are paired, else ``pretrain`` (the choice measured
        best on MNIST halves at 1 % and 10 % paired; the chosen one is in ``unpaired_strategy_``). ``pretrain``:
        ``pretrain_epochs`` epochs of self-reconstruction on every row's views (paired and unpaired),
        then the full objective on the paired rows with a fresh optimiser. ``alternate``: every epoch
        also visits single-view batches, interleaved with the paired batches. ``mixed``: every batch
        holds ``paired_per_batch`` paired rows plus single-view rows. Single-view rows only ever
        contribute ``unpaired_weight`` times their self-reconstruction error: never to the
        correlation or the cross-reconstruction terms. See the README's semi-paired table.
    unpaired_weight : float, default=1.0
    pretrain_epochs : int, default=2
    paired_per_batch : int, optional
        Paired rows per mixed batch (default ``batch_size // 2``); the correlation is computed on them.
    verbose : int, default=0
        0: silent; 1: a progress bar per fit.

    Attributes
    ----------
    model_ : CorrNetModule
    n_features_in_ : int            (width of X)
    n_features_y_ : int             (width of Y)
    history_ : list of dict         one row per epoch: loss terms, train and validation metrics
    n_iter_ : int                   epochs actually run (also ``n_epochs_``)
    stop_reason_ : str              ``"converged"``, ``"early_stopping"`` or ``"max_epochs"``
    best_epoch_ : int or None       with early stopping, the epoch whose weights were kept
    config_ : Config                the resolved configuration the model was built from
    scalers_ : list of two StandardScaler, MinMaxScaler, MaxAbsScaler or None   each view's fitted
                                    scaling (``scaler_x_``, ``scaler_y_``: its two entries)
    output_activation_, epochs_, engine_ : str, int, str   what the ``"auto"`` settings became
    diagnostics_ : Diagnostics      the post-fit checks (``corrnet.diagnostics``); their messages
                                    are also issued as ``FitWarning``
    """

    def __init__(
        self,
        n_components: int = 50,
        *,
        encoder_layers: tuple[int, ...] = (),
        hidden_activation: str = "sigmoid",
        output_activation: str = "auto",
        tied: bool = False,
        fusion: str = "joint",
        loss: str = "half_squared",
        lam: float = 2.0,
        reconstruct_from: tuple[str, ...] = PASSES,
        corr_eps: float = 1e-8,
        init: str = "original",
        optimizer: str = "adam",
        lr: float = 1e-2,
        lr_schedule: str = "constant",
        weight_decay: float = 0.0,
        batch_size: int = 100,
        epochs: int | str = "auto",
        tol: float | None = 1e-4,
        n_iter_no_change: int = 10,
        shuffle: bool = True,
        scale: str | None = "auto",
        validation_fraction: float | None = None,
        early_stopping: bool = False,
        patience: int = 10,
        monitor: str = "sum_corr",
        random_state: Any = None,
        device: str = "auto",
        engine: str = "auto",
        precision: str = "float32",
        unpaired_strategy: str = "auto",
        unpaired_weight: float = 1.0,
        pretrain_epochs: int = 2,
        paired_per_batch: int | None = None,
        verbose: int = 0,
    ) -> None:
        self.n_components = n_components
        self.encoder_layers = encoder_layers
        self.hidden_activation = hidden_activation
        self.output_activation = output_activation
        self.tied = tied
        self.fusion = fusion
        self.loss = loss
        self.lam = lam
        self.reconstruct_from = reconstruct_from
        self.corr_eps = corr_eps
        self.init = init
        self.optimizer = optimizer
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.scale = scale
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.monitor = monitor
        self.random_state = random_state
        self.device = device
        self.engine = engine
        self.precision = precision
        self.unpaired_strategy = unpaired_strategy
        self.unpaired_weight = unpaired_weight
        self.pretrain_epochs = pretrain_epochs
        self.paired_per_batch = paired_per_batch
        self.verbose = verbose

    # -- presets -------------------------------------------------------------------------------
    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> CorrNet:
        """An estimator with a named preset's settings (``paper``, ``best``, ``seed_blog``, ``default``)."""
        params = preset(name)
        params.update(overrides)
        return cls(**params)

    @classmethod
    def paper(cls, **overrides: Any) -> CorrNet:
        """The original code's exact recipe: 50 sigmoid units, tied weights, ``half_squared``,
        lam=2, its RMSprop (lr 0.01), batch 100, 50 epochs, rows in file order."""
        return cls.from_preset("paper", **overrides)

    def fit(
        self,
        X: Any,
        Y: Any,
        *,
        validation_data: tuple[Any, Any] | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int = 1,
        resume: bool = False,
        log_dir: str | os.PathLike | None = None,
        X_unpaired: Any = None,
        Y_unpaired: Any = None,
        distributed: bool = False,
    ) -> CorrNet:
        """Fit on paired views.

        Parameters
        ----------
        X : array-like of shape (n_rows, d_x)
        Y : array-like of shape (n_rows, d_y); row i pairs with row i of X.
        validation_data : (X_val, Y_val), optional
            Paired validation views, for per-epoch validation metrics and early stopping.
        checkpoint_dir : path, optional
            Write a checkpoint (model, optimiser, shuffling RNG, epoch, history) there every
            ``checkpoint_every`` epochs, atomically.
        resume : bool, default=False
            Continue from the checkpoint in ``checkpoint_dir`` if there is one. A resumed run ends with
            the same weights as an uninterrupted run with the same seed and data (same device).
        X_unpaired : array-like of shape (n_x_only, d_x), optional
            Rows that have view 1 only (semi-paired data); see ``unpaired_strategy``.
        Y_unpaired : array-like of shape (n_y_only, d_y), optional
            Rows that have view 2 only.
        log_dir : path, optional
            Append each epoch's history row to ``log_dir/history.csv``; with the ``tensorboard``
            package installed, also write TensorBoard scalars there.
        distributed : bool, default=False
            Data-parallel training in the current ``torch.distributed`` process group (``torchrun``):
            every process passes the same data; ``batch_size`` is per process; the correlation is the
            global batch's (:mod:`corrnet.distributed`). Rank 0 alone writes checkpoints and logs.
            Fully paired data, autograd engine.

        Returns
        -------
        self
        """
        config = self.config()
        # two memory-mapped views (np.load(..., mmap_mode="r")) train streamed from disk, chunk by chunk
        streamed = is_mapped(X) and is_mapped(Y) and X_unpaired is None and Y_unpaired is None
        if streamed:
            X, Y = _mapped(X), _mapped(Y)
            check_paired_rows(X, Y)
        else:
            X, Y = check_views(X, Y, min_rows=2)
        dist = self._dist(distributed)
        if dist is not None:
            if X_unpaired is not None or Y_unpaired is not None:
                raise ValueError("distributed=True supports paired rows only; drop X_unpaired/Y_unpaired.")
            dist.check_same("the shapes of X and Y", (X.shape[0], X.shape[1], Y.shape[1]))
        world = 1 if dist is None else dist.world_size
        if validation_data is None and self.validation_fraction:
            if not 0 < self.validation_fraction < 1:
                raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}.")
            n_val = round(X.shape[0] * self.validation_fraction)
            if n_val < 2 or X.shape[0] - n_val < 2:
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} leaves {n_val} validation and "
                    f"{X.shape[0] - n_val} training rows; both need at least 2."
                )
            (X, Xv), (Y, Yv) = _split_tail(X, n_val), _split_tail(Y, n_val)
            validation_data = (Xv, Yv)
        if streamed:  # checked (and their bounds scanned) once the validation rows are split off
            X, Y = check_views(X, Y, min_rows=2)
        self._set_widths([X.shape[1], Y.shape[1]])
        Xu = Yu = None
        if X_unpaired is not None:
            Xu = check_view(X_unpaired, "X_unpaired", n_features=self.n_features_in_)
        if Y_unpaired is not None:
            Yu = check_view(Y_unpaired, "Y_unpaired", n_features=self.n_features_y_, allow_1d=True)
        semi = Xu is not None or Yu is not None
        strategy = self.unpaired_strategy
        if semi and strategy not in ("auto", "pretrain", "alternate", "mixed"):
            raise ValueError(
                f"unpaired_strategy={strategy!r} is not supported; use 'auto', 'pretrain', 'alternate' or 'mixed'."
            )
        if semi and strategy == "auto":
            n_single = (0 if Xu is None else Xu.shape[0]) + (0 if Yu is None else Yu.shape[0])
            strategy = "mixed" if X.shape[0] < 0.05 * (X.shape[0] + n_single) else "pretrain"
        self.unpaired_strategy_ = strategy if semi else None
        # scalers are fitted on every row that has the view, paired or not
        self.scalers_ = [
            self._fit_scaler(X if Xu is None else _stack(X, Xu)),
            self._fit_scaler(Y if Yu is None else _stack(Y, Yu)),
        ]
        X, Y = self._scale(X, self.scalers_[0]), self._scale(Y, self.scalers_[1])
        Xu = None if Xu is None else self._scale(Xu, self.scalers_[0])
        Yu = None if Yu is None else self._scale(Yu, self.scalers_[1])
        mixed_ppb = (self.paired_per_batch or max(2, config.batch_size // 2)) if strategy == "mixed" and semi else None
        batch = mixed_ppb or config.batch_size * world
        steps_per_epoch = len(training.batch_starts(X.shape[0], batch))
        config = self._resolve(config, [X, Y], steps_per_epoch)
        device = self._device()
        seed = self._seed()
        torch_gen = torch.Generator().manual_seed(seed)
        model = CorrNetModule([X.shape[1], Y.shape[1]], config, generator=torch_gen).to(device)
        self.engine_ = (
            self._engine(model, config, [X, Y], config.epochs * steps_per_epoch) if dist is None else "autograd"
        )
        val = None
        if validation_data is not None:
            if streamed and all(is_mapped(A) for A in validation_data):
                validation_data = tuple(_mapped(A) for A in validation_data)
            Xv, Yv = check_views(*validation_data, min_rows=2)
            Xv = check_view(Xv, "X_val", n_features=self.n_features_in_)
            Yv = check_view(Yv, "Y_val", n_features=self.n_features_y_, allow_1d=True)
            val = [
                to_tensor(self._scale(Xv, self.scalers_[0]), device),
                to_tensor(self._scale(Yv, self.scalers_[1]), device),
            ]
        Xt, Yt = to_tensor(X, device), to_tensor(Y, device)
        chunk = None
        if streamed:  # both views read in chunks of the same whole number of batches
            chunk = max(1, min(X.chunk_rows, Y.chunk_rows) // batch) * batch
            Xt, Yt = Xt.with_(chunk_rows=chunk), Yt.with_(chunk_rows=chunk)
        sources = [Source([Xt, Yt])]
        pretrain = None
        if semi and strategy == "pretrain":

            def pretrain() -> None:
                """Phase 1: self-reconstruction of every row's views (a fresh optimiser follows)."""
                pre_cfg = Config(**{**config.to_dict(), "epochs": int(self.pretrain_epochs)}).validate()
                Xall = to_tensor(X if Xu is None else _stack(X, Xu), device)
                Yall = to_tensor(Y if Yu is None else _stack(Y, Yu), device)
                singles = [Source([Xall[:0], Yall[:0]]), Source([Xall, None]), Source([None, Yall])]
                pre = training.init_state(model, pre_cfg, seed + 2)
                training.train(pre, Plan(singles, config.batch_size, config.shuffle), pre_cfg, verbose=self.verbose)
                self.pretrain_history_ = pre.history
                model.train()

        elif semi and strategy in ("alternate", "mixed"):
            w = float(self.unpaired_weight)
            sources += [Source([to_tensor(Xu, device), None], weight=w)] if Xu is not None else []
            sources += [Source([None, to_tensor(Yu, device)], weight=w)] if Yu is not None else []
        plan = Plan(sources, config.batch_size * world, config.shuffle, paired_per_batch=mixed_ppb, chunk_rows=chunk)
        self._run(
            model,
            config,
            seed,
            plan,
            steps_per_epoch,
            val,
            [X, Y],
            checkpoint_dir,
            checkpoint_every,
            resume,
            log_dir,
            pretrain,
            dist,
        )
        if config.epochs > 0:
            self.diagnostics_ = diagnose(model, Xt, Yt, config.lam, lr=config.lr)  # on its first max_rows training rows
            for msg in self.diagnostics_.messages:
                warnings.warn(msg, FitWarning, stacklevel=2)
        return self

    @property
    def scaler_x_(self) -> Any:
        """X's fitted scaling (``scalers_[0]``; None when X is left alone)."""
        return self.scalers_[0]

    @property
    def scaler_y_(self) -> Any:
        """Y's fitted scaling (``scalers_[1]``)."""
        return self.scalers_[1]

    def _set_widths(self, widths: list[int]) -> None:
        self.n_features_in_, self.n_features_y_ = int(widths[0]), int(widths[1])

    # -- persistence ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, metrics: dict[str, float] | None = None) -> Path:
        """Write the fitted model to directory ``path``: ``weights.safetensors`` + ``model.json``
        (parameters, widths, scalers, history, versions, optional ``metrics``). Atomic: a crash
        never leaves a half-written model, and an existing model is replaced only on success."""
        return persistence.save_estimator(self, path, metrics)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> CorrNet:
        """Load a model directory written by :meth:`save`. Only JSON and safetensors are parsed:
        loading an untrusted directory never executes code. ``device`` overrides the saved one."""
        return persistence.load_estimator(path, cls, device)

    # -- inference -----------------------------------------------------------------------------
    def _inputs(self, X: Any, Y: Any) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        check_is_fitted(self, "model_")
        if X is None and Y is None:
            raise ValueError("pass at least one view: X=..., Y=... or both.")
        dev = next(self.model_.parameters()).device
        xt = yt = None
        if X is not None:
            Xa = check_view(X, "X", n_features=self.n_features_in_)
            xt = to_tensor(self._scale(Xa, self.scalers_[0]), dev)[:]  # a CSR view: one sparse tensor
        if Y is not None:
            Ya = check_view(Y, "Y", n_features=self.n_features_y_, allow_1d=True)
            yt = to_tensor(self._scale(Ya, self.scalers_[1]), dev)[:]
        if xt is not None and yt is not None and xt.shape[0] != yt.shape[0]:
            raise ValueError(f"X has {xt.shape[0]} rows but Y has {yt.shape[0]}; paired views need equal rows.")
        return xt, yt

    def transform(self, X: Any = None, Y: Any = None) -> np.ndarray:
        """Common representation from whichever views are given.

        ``transform(X)`` -> h(x, 0); ``transform(Y=Y)`` -> h(0, y); ``transform(X, Y)`` -> h(x, y).
        Returns an array of shape (n_rows, n_components), float32.
        """
        xt, yt = self._inputs(X, Y)
        with torch.inference_mode():
            return self.model_.encode([xt, yt]).float().cpu().numpy()

    def reconstruct(self, X: Any = None, Y: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Both views decoded from the code of the given views: ``(X_hat, Y_hat)``, shapes
        (n_rows, d_x) and (n_rows, d_y), in the input's units (scaling undone)."""
        xt, yt = self._inputs(X, Y)
        with torch.inference_mode():
            x_hat, y_hat = self.model_.decode(self.model_.encode([xt, yt]))
        return self._unscale(0, x_hat), self._unscale(1, y_hat)

    def generate(self, X: Any = None, Y: Any = None) -> np.ndarray:
        """The missing view: ``generate(X=X)`` -> Y_hat (n, d_y); ``generate(Y=Y)`` -> X_hat (n, d_x)."""
        if (X is None) == (Y is None):
            raise ValueError("generate takes exactly one view: generate(X=...) -> Y_hat, generate(Y=...) -> X_hat.")
        x_hat, y_hat = self.reconstruct(X=X, Y=Y)
        return y_hat if X is not None else x_hat

    predict_view = generate

    def correlations(self, X: Any, Y: Any) -> np.ndarray:
        """Per-unit Pearson correlation between h(x, 0) and h(0, y) over the rows, shape (k,)."""
        xt, yt = self._inputs(X, Y)
        if xt is None or yt is None or xt.shape[0] < 2:
            raise ValueError("correlations needs both views with at least 2 paired rows: correlations(X, Y).")
        with torch.inference_mode():
            hx, hy = self.model_.encode([xt, None]), self.model_.encode([None, yt])
            return correlation(hx.double().cpu(), hy.double().cpu(), 1e-12).numpy()

    def score(self, X: Any, Y: Any = None, *, y: Any = None) -> float:
        """Test sum-correlation (sum over units of ``correlations``; higher is better). ``y`` is
        scikit-learn's keyword for the second argument, an alias of ``Y``."""
        return float(np.nansum(self.correlations(X, Y if Y is not None else y)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True  # Y, the second view, is required
        tags.non_deterministic = self.device != "cpu"
        tags.transformer_tags.preserves_dtype = ["float32"]  # codes are computed in float32
        tags.input_tags.sparse = True  # scipy.sparse views: batches are sliced from CSR
        return tags
