"""The ``"auto"`` settings: the policy constants (each with the measurement behind it) and the
functions that read the (scaled) training views to resolve them. The model settings that follow the
objective are resolved in :func:`corrnet.config.resolve_model`; the estimators call these."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from . import data
from .config import Config
from .objective import SQUARED_LOSSES, exact_output
from .params import BY_NAME

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
# iterations (benchmarks/runs/README.md: small tables). The values are those an evaluation reconstructs: rows x the
# views' widths, or a sparse view's non-zeros when its error comes from them (a linear output). A
# sparse view decoded column by column trains Adam: on CLDR names (1 100 rows x 7 000-10 000 n-gram
# columns, sigmoid output) L-BFGS took ~350 s a script (benchmarks/runs/README.md: transliteration). With a sparse view
# the budget is AUTO_LBFGS_EPOCHS_SPARSE epochs: its linear code fits in a few iterations and then
# overfits a thousand rows (5 epochs against 20, 3 seeds: CLDR names ru +0.6, ko +0.2 recall@1,
# SIB-200 -1.3 accuracy within its sd of 2.6, in a quarter of the time; benchmarks/probes/recipe.log)
# lr="auto": AUTO_LR * min(1, AUTO_LR_MASS / m), m the largest column-mean mass sum_i |mean(x_i)| of
# a scaled training view (benchmarks/runs/lr-probe/); with encoder_layers the base
# is AUTO_LR_DEEP, the best preset's rate (chosen on MNIST halves' validation split, guide: Presets),
# which the mass rule keeps from collapsing on un-centred views (Noisy MNIST;
# benchmarks/runs/best-carries/)
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
# (benchmarks/runs/README.md: early stopping on validation)
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
# to [0, 1] as a whole instead of column by column (benchmarks/runs/README.md: scale probe)
SHARED_RANGE_MIN_COLUMNS = 8
SHARED_RANGE_FRACTION = 0.5
# lam="auto": AUTO_LAM, or in a full-batch L-BFGS fit with validation rows the better on validation of
# AUTO_LAM_CANDIDATES. The first is kept unless another beats it by more than one standard error of
# the per-row difference of validation reciprocal ranks (monitor "mrr"; other monitors: a tie keeps
# the first): on ~100 validation rows a difference of 0.01-0.02 MRR is noise, and following it cost
# up to 11 points of transfer (benchmarks/runs/README.md: choosing lambda on validation)
AUTO_LAM = BY_NAME["lam"].config_value()  # Config's concrete lam: the paper's 2
AUTO_LAM_CANDIDATES = (AUTO_LAM, 0.5)
# under the canonical objective the reconstruction is a regulariser, weighted 64x less than the
# correlation (Noisy MNIST's validation split: 96.4 % view-1 accuracy against 90.0 % at lam = 4)
AUTO_LAM_CANONICAL = 64.0

# with epochs="auto", running out of epochs is the plan on large data; it is only worth a warning when
# the training loss was still falling: the run's last quarter brought more than this fraction of the
# whole run's decrease of the (best) training loss
STILL_IMPROVING = 0.05


def beyond_noise(rr: np.ndarray | None, kept_rr: np.ndarray | None) -> bool:
    """Whether per-row scores ``rr`` beat ``kept_rr`` (the same rows) by more than one standard error
    of their paired difference; True when there are no per-row scores to judge by."""
    if rr is None or kept_rr is None:
        return True
    d = rr - kept_rr
    return len(d) > 1 and bool(d.mean() > d.std(ddof=1) / math.sqrt(len(d)))


def output_activation(config: Config, views: list[Any]) -> str:
    """``output_activation``, ``"auto"`` resolved for the (scaled) training views: ``linear`` under the
    canonical objective when a view is sparse (its error then comes from the non-zeros alone,
    :func:`corrnet.objective.sparse_squared_error`), else ``sigmoid`` for views in [0, 1], else ``linear``."""
    if config.output_activation != "auto":
        return config.output_activation
    if config.correlation == "canonical" and config.loss in SQUARED_LOSSES and data.any_sparse(views):
        return "linear"
    return "sigmoid" if all(in_unit_interval(A) for A in views) else "linear"


def in_unit_interval(A: Any) -> bool:
    """All values in [0, 1], up to float rounding (min-max scaled data may reach 1 + 1e-7). A streamed
    view answers from its scanned per-column bounds (scaling maps each column's bounds to its bounds)."""
    lo, hi = data.value_range(A)
    return bool(lo >= -1e-6 and hi <= 1.0 + 1e-6)


def shared_range(A: Any) -> tuple[float, float] | None:
    """``(lo, hi)`` when the view's columns share one range, as pixels of one image do: at least
    :data:`SHARED_RANGE_MIN_COLUMNS` non-constant columns, at least :data:`SHARED_RANGE_FRACTION` of
    them reaching the view's maximum and as many its minimum (MNIST at 0-255: 81 % and 100 %;
    the tables measured: at most 17 % and 20 %). Else None."""
    bounds = data.column_bounds(A)
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


def whole_view_minmax(lo: float, hi: float, n_features: int, n_rows: int) -> MinMaxScaler:
    """A MinMaxScaler that maps the range [lo, hi] of every column to [0, 1] (one affine map for the
    whole view: the columns keep their relative scales)."""
    scaler = MinMaxScaler().fit(np.repeat([[lo], [hi]], n_features, axis=1))  # the bounds as every column's
    scaler.n_samples_seen_ = n_rows  # the rows it stands for (saved with the model)
    return scaler


def mean_mass(A: Any) -> float:
    """``sum_i |mean(A[:, i])|`` over the rows of a dense, sparse or memory-mapped view (``lr="auto"``)."""
    return float(np.abs(data.column_means(A)).sum())


def resolve_data(config: Config, views: list[Any], steps_per_epoch: int) -> Config:
    """``config`` with the ``"auto"`` settings that read the data resolved for these (scaled)
    training views: the output activation, the epochs (from ``steps_per_epoch`` paired steps) and
    the learning rate; validated."""
    out = output_activation(config, views)
    if config.output_activation == "auto":
        if config.loss == "bce" and out != "sigmoid":
            raise ValueError(
                "loss='bce' needs both views in [0, 1], but after scaling they are not; use scale='minmax' "
                "or another loss ('half_squared')."
            )
    epochs = config.epochs
    if epochs == "auto" and config.optimizer == "lbfgs":
        epochs = AUTO_LBFGS_EPOCHS_SPARSE if data.any_sparse(views) else AUTO_LBFGS_EPOCHS
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
        lr = base * min(1.0, AUTO_LR_MASS / max(max(mean_mass(A) for A in views), 1e-12))
    return dataclasses.replace(config, output_activation=out, epochs=int(epochs), lr=lr).validate()


def choose_optimizer(config: Config, views: list[Any], plain: bool) -> Config:
    """The config with ``optimizer="auto"`` resolved for the (scaled) training ``views``, in a fit
    that is ``plain`` (one fully paired or masked in-memory source, one process); ``lbfgs`` trains
    the whole set as one batch. The size that decides is the values an evaluation
    reconstructs: rows x columns, or a sparse view's non-zeros when its error comes from them."""
    opt = config.optimizer
    if opt == "auto":
        n_rows = views[0].shape[0]
        exact = data.any_sparse(views) and exact_output(output_activation(config, views), config.loss)
        values = sum(data.n_values(A, nonzeros=exact) for A in views)
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


def patience(epochs: int, config: Config, steps_per_epoch: int) -> int:
    """A patience of ``epochs`` epochs, and under a minibatch optimiser at least
    ``MIN_PATIENCE_STEPS`` steps' worth (the convergence check's, and ``patience="auto"``'s)."""
    if config.optimizer == "lbfgs":  # an L-BFGS epoch is already many full-batch iterations
        return epochs
    return max(epochs, math.ceil(MIN_PATIENCE_STEPS / steps_per_epoch))


def es_patience(config: Config, steps_per_epoch: int) -> int:
    """``patience="auto"``: :data:`AUTO_ES_PATIENCE_LBFGS` epochs under L-BFGS, else
    :data:`AUTO_ES_PATIENCE` epochs and at least ``MIN_PATIENCE_STEPS`` steps."""
    if config.optimizer == "lbfgs":
        return AUTO_ES_PATIENCE_LBFGS
    return patience(AUTO_ES_PATIENCE, config, steps_per_epoch)
