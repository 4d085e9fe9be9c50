"""``CorrNet``: the scikit-learn style estimator around the module and the training loop."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from . import auto, data, training
from .base import (
    FitInputs,
    _CorrNetBase,
    _split_random,
)
from .config import Config
from .data import as_streamed, check_paired_rows, check_view, check_views, is_mapped, split_tail, stack_rows, to_tensor
from .diagnostics import FitWarning, caller_stacklevel, diagnose
from .distributed import Dist
from .model import CorrNetModule
from .objective import correlation
from .params import UNPAIRED_STRATEGIES, with_parameters
from .plans import Plan, Source
from .runfiles import RunFiles


@with_parameters(n_views=False)
class CorrNet(_CorrNetBase, auto_wrap_output_keys=None):
    """Correlational Neural Network (Chandar et al., Neural Computation 2016).

    Learns a common representation ``h(x, y) = f(W x + V y + b)`` of two views by reconstructing
    both views from ``(x, y)``, ``(x, 0)`` and ``(0, y)`` while maximising the correlation between
    ``h(x, 0)`` and ``h(0, y)``: per unit (the paper's, ``correlation="per_unit"``) or the sum of
    their canonical correlations (Deep CCA's, the default for two views: through one ReLU encoder
    layer per view into a linear code on dense views, a linear code on sparse ones; ``transform``
    then returns codes aligned by a final linear CCA).

    Parameters
    ----------
    {parameters}

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
                                    (``config_.lam``: the correlation weight ``lam="auto"`` kept)
    lam_scores_ : dict              ``{lam: best validation score}`` of each fit ``lam="auto"``
                                    compared; empty when it did not search
    unpaired_strategy_ : str or None   how single-view rows were used (None without them)
    scalers_ : list of two StandardScaler, MinMaxScaler, MaxAbsScaler or None   each view's fitted
                                    scaling (``scaler_x_``, ``scaler_y_``: its two entries)
    output_activation_, epochs_, engine_ : str, int, str   what the ``"auto"`` settings became
    diagnostics_ : Diagnostics      the post-fit checks (``corrnet.diagnostics``); their messages
                                    are also issued as ``FitWarning``
    generation_warning_ : str or None  a poor reconstruction the fit chose (a heavy ``lam``, as the
                                    canonical objective's, or early stopping's epoch): issued as a
                                    ``FitWarning`` by ``generate`` and ``reconstruct``, not by ``fit``
    """

    _two_views = True

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
        X : array-like, sparse matrix or memory-mapped array of shape (n_rows, d_x)
            View 1. Two ``np.load(..., mmap_mode="r")`` arrays (or parquet files) train streamed
            from disk, chunk by chunk.
        Y : array-like, sparse matrix or memory-mapped array of shape (n_rows, d_y)
            View 2; row i pairs with row i of X. A 1-D Y is one feature.
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
        checkpoint_every : int, default=1
            Epochs between checkpoints.

        Returns
        -------
        self : CorrNet
            The fitted estimator: ``model_``, ``config_`` (every ``"auto"`` setting resolved),
            ``history_``, ``scalers_``, ``engine_``, ``optimizer_``, ``stop_reason_`` and the rest.

        Raises
        ------
        ValueError
            A parameter is out of its range, or the data is invalid: different row counts, NaN or
            infinity, non-numeric columns, fewer than 2 paired rows, a view whose columns are all
            constant, settings that cannot go together (each message names the fix).
        corrnet.training.DivergenceError
            The loss became non-finite; the model is rolled back to the last finite epoch first.

        Warns
        -----
        corrnet.diagnostics.FitWarning
            A fitted model that is likely poor: saturated units, uncorrelated codes, reconstructions
            worse than predicting the mean (each with its likely cause and fix; ``diagnostics_``).
        sklearn.exceptions.ConvergenceWarning
            A fixed ``epochs`` ran out while the loss was still falling.
        """
        self.config()  # bad settings are named before the data is checked
        X, Y, Xu, Yu, validation_data, dist = self._check_fit_inputs(
            X, Y, X_unpaired, Y_unpaired, validation_data, distributed
        )
        config = self.config(sparse=data.any_sparse([X, Y]))
        strategy = self._strategy(X, Xu, Yu)
        X, Y, Xu, Yu = self._fit_scale(X, Y, Xu, Yu)
        files = RunFiles(checkpoint_dir, checkpoint_every, resume, log_dir)
        config, fit, Xt, Yt = self._fit_inputs(config, strategy, X, Y, Xu, Yu, validation_data, dist, files)
        model, config = self._fit_views(config, [X, Y], fit)
        if config.epochs > 0:
            self._diagnose(model, Xt, Yt, config)
        return self

    def _fit_inputs(
        self, config: Config, strategy: str | None, X: Any, Y: Any, Xu: Any, Yu: Any,
        validation_data: Any, dist: Dist | None, files: RunFiles,
    ) -> tuple[Config, FitInputs, Any, Any]:
        """(config with its optimiser chosen, what the shared fit path trains on, the paired views as
        tensors) for the scaled views: the batch plan, the validation views and the pretraining."""
        world = 1 if dist is None else dist.world_size
        plain = strategy is None and not data.is_streamed(X) and dist is None
        config = auto.choose_optimizer(config, [X, Y], plain)
        paired_per_batch = (self.paired_per_batch or max(2, config.batch_size // 2)) if strategy == "mixed" else None
        step_rows = self._batch(config, X.shape[0]) * world  # rows per step over all processes
        batch = paired_per_batch or step_rows
        device = self._device()
        val = self._validation(self._check_validation(validation_data, data.is_streamed(X)), device)
        Xt, Yt = to_tensor(X, device), to_tensor(Y, device)
        chunk = None
        if data.is_streamed(X):  # both views read in chunks of the same whole number of batches
            chunk = max(1, min(X.chunk_rows, Y.chunk_rows) // batch) * batch
            Xt, Yt = Xt.with_(chunk_rows=chunk), Yt.with_(chunk_rows=chunk)
        sources, pretrain = self._sources(strategy, Xt, Yt, X, Y, Xu, Yu, device)
        fit = FitInputs(
            dims=[X.shape[1], Y.shape[1]],
            plan=Plan(sources, step_rows, config.shuffle, paired_per_batch=paired_per_batch, chunk_rows=chunk),
            steps_per_epoch=len(training.batch_starts(X.shape[0], batch)),
            val=val,
            pretrain=pretrain,
            files=files,
            dist=dist,
        )
        return config, fit, Xt, Yt

    def _fit_scale(self, X: Any, Y: Any, Xu: Any, Yu: Any) -> tuple[Any, Any, Any, Any]:
        """Fit ``scalers_`` on every row that has the view, paired or not; return the four inputs scaled."""
        self._fit_scalers([X if Xu is None else stack_rows(X, Xu), Y if Yu is None else stack_rows(Y, Yu)])
        sx, sy = self.scalers_
        return (self._scale(X, sx), self._scale(Y, sy),
                None if Xu is None else self._scale(Xu, sx), None if Yu is None else self._scale(Yu, sy))

    def _diagnose(self, model: Any, Xt: Any, Yt: Any, config: Config) -> None:
        """Set ``diagnostics_`` (on the first ``max_rows`` training rows) and warn with its messages."""
        lr = None if config.optimizer == "lbfgs" else config.lr  # L-BFGS's line search sets its steps
        kept = self.best_epoch_ if getattr(self, "stop_reason_", None) == "early_stopping" else None
        self.diagnostics_ = diagnose(model, Xt, Yt, config.lam, lr=lr, kept_epoch=kept)
        self.generation_warning_ = self.diagnostics_.generation
        for msg in self.diagnostics_.messages:
            warnings.warn(msg, FitWarning, stacklevel=caller_stacklevel())

    def _check_fit_inputs(
        self, X: Any, Y: Any, X_unpaired: Any, Y_unpaired: Any, validation_data: Any, distributed: bool
    ) -> tuple[Any, Any, Any, Any, Any, Dist | None]:
        """The checked paired views (streamed when both are memory-mapped), single-view rows,
        validation views (split off the tail with ``validation_fraction``) and process group."""
        # two memory-mapped views (np.load(..., mmap_mode="r")) train streamed from disk, chunk by chunk
        streamed = is_mapped(X) and is_mapped(Y) and X_unpaired is None and Y_unpaired is None
        if streamed:
            X, Y = as_streamed(X), as_streamed(Y)
            check_paired_rows(X, Y)
        else:
            X, Y = check_views(X, Y, min_rows=2)
        dist = self._dist(distributed)
        if dist is not None:
            if X_unpaired is not None or Y_unpaired is not None:
                raise ValueError("distributed=True supports paired rows only; drop X_unpaired/Y_unpaired.")
            dist.check_same("the shapes of X and Y", (X.shape[0], X.shape[1], Y.shape[1]))
        frac = self.validation_fraction
        if frac not in ("auto", None) and (
            isinstance(frac, bool) or not isinstance(frac, float | int) or not 0 < frac < 1
        ):
            raise ValueError(f"validation_fraction must be in (0, 1), 'auto' or None, got {frac!r}.")
        if validation_data is None and frac == "auto":
            if not streamed and X.shape[0] >= auto.AUTO_VAL_MIN_ROWS:
                n_val = min(round(auto.AUTO_VAL_FRACTION * X.shape[0]), auto.AUTO_VAL_MAX_ROWS)
                (X, Y), validation_data = _split_random(X, Y, n_val, self.random_state)
        elif validation_data is None and frac:
            n_val = round(X.shape[0] * frac)
            if n_val < 2 or X.shape[0] - n_val < 2:
                raise ValueError(
                    f"validation_fraction={frac} leaves {n_val} validation and "
                    f"{X.shape[0] - n_val} training rows; both need at least 2."
                )
            (X, Xv), (Y, Yv) = split_tail(X, n_val), split_tail(Y, n_val)
            validation_data = (Xv, Yv)
        if streamed:  # checked (and their bounds scanned) once the validation rows are split off
            X, Y = check_views(X, Y, min_rows=2)
        self._set_widths([X.shape[1], Y.shape[1]])
        Xu = None if X_unpaired is None else check_view(X_unpaired, "X_unpaired", n_features=self.n_features_in_)
        Yu = (
            None
            if Y_unpaired is None
            else check_view(Y_unpaired, "Y_unpaired", n_features=self.n_features_y_, allow_1d=True)
        )
        return X, Y, Xu, Yu, validation_data, dist

    def _strategy(self, X: Any, Xu: Any, Yu: Any) -> str | None:
        """``unpaired_strategy_``: the strategy ``"auto"`` resolves to (None for fully paired data)."""
        strategy = self.unpaired_strategy
        semi = Xu is not None or Yu is not None
        if semi and strategy not in UNPAIRED_STRATEGIES:
            raise ValueError(
                f"unpaired_strategy={strategy!r} is not supported; use 'auto', 'pretrain', 'alternate' or 'mixed'."
            )
        if semi and strategy == "auto":
            n_single = (0 if Xu is None else Xu.shape[0]) + (0 if Yu is None else Yu.shape[0])
            strategy = "mixed" if X.shape[0] < 0.05 * (X.shape[0] + n_single) else "pretrain"
        self.unpaired_strategy_ = strategy if semi else None
        return self.unpaired_strategy_

    def _check_validation(self, validation_data: Any, streamed: bool) -> list[Any] | None:
        if validation_data is None:
            return None
        if streamed and all(is_mapped(A) for A in validation_data):
            validation_data = tuple(as_streamed(A) for A in validation_data)
        Xv, Yv = check_views(*validation_data, min_rows=2)
        Xv = check_view(Xv, "X_val", n_features=self.n_features_in_)
        Yv = check_view(Yv, "Y_val", n_features=self.n_features_y_, allow_1d=True)
        return [Xv, Yv]

    def _sources(self, strategy: str | None, Xt, Yt, X, Y, Xu, Yu, device: torch.device) -> tuple[list[Source], Any]:
        """The batch sources of each unpaired strategy (:mod:`corrnet.plans`), and the pretraining
        phase of ``pretrain``: self-reconstruction of every row's views, then a fresh optimiser."""
        sources = [Source([Xt, Yt])]
        w = self.unpaired_weight
        if isinstance(w, bool) or not isinstance(w, int | float | np.integer | np.floating) or not 0 <= w < np.inf:
            raise ValueError(f"unpaired_weight must be a finite number >= 0, got {w!r}.")
        if strategy in ("alternate", "mixed"):
            sources += [Source([to_tensor(Xu, device), None], weight=float(w))] if Xu is not None else []
            sources += [Source([None, to_tensor(Yu, device)], weight=float(w))] if Yu is not None else []
        if strategy != "pretrain":
            return sources, None

        def pretrain(model: CorrNetModule, config: Config, seed: int) -> None:
            pre_cfg = Config(**{**config.to_dict(), "epochs": int(self.pretrain_epochs)}).validate()
            Xall = to_tensor(X if Xu is None else stack_rows(X, Xu), device)
            Yall = to_tensor(Y if Yu is None else stack_rows(Y, Yu), device)
            singles = [Source([Xall[:0], Yall[:0]]), Source([Xall, None]), Source([None, Yall])]
            pre = training.init_state(model, pre_cfg, seed + 2)
            training.train(pre, Plan(singles, config.batch_size, config.shuffle), pre_cfg, verbose=self.verbose)
            self.pretrain_history_ = pre.history
            model.train()

        return sources, pretrain

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
        Under the canonical objective the codes are aligned by the final linear CCA (unit j of the
        two views' codes correlate by the j-th canonical correlation).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_rows, d_x), optional
        Y : array-like or sparse matrix of shape (n_rows, d_y), optional
            At least one view; with both, row i of X pairs with row i of Y.

        Returns
        -------
        ndarray of shape (n_rows, n_components), float32

        Raises
        ------
        ValueError
            No view is given, a view has another width than in ``fit``, holds NaN, infinity or
            non-numeric values, or the two views have different numbers of rows.
        sklearn.exceptions.NotFittedError
            The estimator has not been fitted.
        """
        xt, yt = self._inputs(X, Y)
        with torch.inference_mode():
            return self.model_.represent([xt, yt]).float().cpu().numpy()

    def reconstruct(self, X: Any = None, Y: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Both views decoded from the code of the given views, in each view's own units (its
        scaling undone).

        Parameters
        ----------
        X, Y : array-like or sparse matrix, optional
            As for :meth:`transform`.

        Returns
        -------
        X_hat : ndarray of shape (n_rows, d_x), float32
        Y_hat : ndarray of shape (n_rows, d_y), float32

        Raises
        ------
        ValueError, sklearn.exceptions.NotFittedError
            As :meth:`transform`.
        """
        xt, yt = self._inputs(X, Y)
        self._warn_generation()
        with torch.inference_mode():
            x_hat, y_hat = self.model_.decode(self.model_.encode([xt, yt]))
        return self._unscale(0, x_hat), self._unscale(1, y_hat)

    def generate(self, X: Any = None, Y: Any = None) -> np.ndarray:
        """The missing view, decoded from the code of the view given, in its own units.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_rows, d_x), optional
        Y : array-like or sparse matrix of shape (n_rows, d_y), optional
            Exactly one of them.

        Returns
        -------
        ndarray of shape (n_rows, d_y) for ``generate(X=X)``, (n_rows, d_x) for ``generate(Y=Y)``, float32

        Raises
        ------
        ValueError
            Both views or none are given, or the view is invalid (as :meth:`transform`).
        """
        if (X is None) == (Y is None):
            raise ValueError("generate takes exactly one view: generate(X=...) -> Y_hat, generate(Y=...) -> X_hat.")
        x_hat, y_hat = self.reconstruct(X=X, Y=Y)
        return y_hat if X is not None else x_hat


    def correlations(self, X: Any, Y: Any) -> np.ndarray:
        """Per-unit Pearson correlation between the codes of each view alone over the rows.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_rows, d_x)
        Y : array-like or sparse matrix of shape (n_rows, d_y)
            Paired rows, at least 2.

        Returns
        -------
        ndarray of shape (n_components,), float64
            ``corr(transform(X)[:, j], transform(Y=Y)[:, j])`` for each unit j.

        Raises
        ------
        ValueError
            A view is missing, there are fewer than 2 rows, or a view is invalid (as :meth:`transform`).
        """
        xt, yt = self._inputs(X, Y)
        if xt is None or yt is None or xt.shape[0] < 2:
            raise ValueError("correlations needs both views with at least 2 paired rows: correlations(X, Y).")
        with torch.inference_mode():
            hx, hy = self.model_.represent([xt, None]), self.model_.represent([None, yt])
            return correlation(hx.double().cpu(), hy.double().cpu(), 1e-12).numpy()

    def score(self, X: Any, Y: Any = None, *, y: Any = None) -> float:
        """Sum-correlation of paired views: the sum over units of :meth:`correlations` (higher is
        better; at most ``n_components``).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_rows, d_x)
        Y : array-like or sparse matrix of shape (n_rows, d_y)
        y : alias of ``Y``, scikit-learn's keyword for the second argument (``cross_val_score``).

        Returns
        -------
        float

        Raises
        ------
        ValueError
            As :meth:`correlations`.
        """
        return float(np.nansum(self.correlations(X, Y if Y is not None else y)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True  # Y, the second view, is required
        tags.non_deterministic = self.device != "cpu"
        tags.transformer_tags.preserves_dtype = ["float32"]  # codes are computed in float32
        tags.input_tags.sparse = True  # scipy.sparse views: batches are sliced from CSR
        return tags
