"""The training loop: device-resident data, index shuffling, one optimiser step per batch.

Host syncs happen once per epoch (the per-batch terms are accumulated on the device), which keeps
the loop bound by the model's arithmetic rather than by Python-to-device round trips.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.distributed
from torch import Tensor

from . import fastpath, metrics
from .config import Config
from .data import dense
from .distributed import Dist
from .model import CorrNetModule, eval_mode
from .objective import (
    TWO_VIEW_PASSES,
    LossTerms,
    _wide,
    canonical_alignment,
    canonical_stats,
    combine,
    exact_sparse,
    multiview_loss,
    pair_from_stats,
    pair_stats,
    pass_name,
    pass_subsets,
    reconstruction_error,
    scale_row_sums,
    sparse_squared_error,
)
from .optim import make_optimizer, scheduled_lr
from .params import ENGINES, MONITORS, PRECISIONS
from .plans import Plan, Source, batch_starts  # noqa: F401  (batch_starts: re-exported)

# validation runs in chunks of about this many input values (4 MiB of float32): its memory does not
# grow with the number of validation rows
EVAL_CHUNK_VALUES = 2**20
# the code metrics of validation (retrieval MRR, canonical correlations) see at most this many rows:
# their cost is quadratic in the rows (retrieval) and every epoch pays it
CODE_METRIC_ROWS = 1_000

# engine="auto" compiles when a run has at least this many optimiser steps: compiling the step costs
# ~8 s on a 2-core CPU and saves ~0.3-0.5 ms per step over the fused engine (benchmarks/runs/README.md: Training speed).
AUTO_COMPILE_STEPS = 20_000


def resolve_engine(engine: str, model: CorrNetModule, config: Config, precision: str, n_steps: int) -> str:
    """The engine a run uses: ``auto`` -> ``compile`` for runs of at least ``AUTO_COMPILE_STEPS``
    steps, else ``fused``, where the hand-derived gradients apply (single-layer joint model; in
    float32, or with bfloat16 matrix products); ``autograd`` elsewhere. Other values are returned
    unchanged."""
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is not supported; use one of {ENGINES}.")
    if engine != "auto":
        return engine
    if not fastpath.supported(model, config):
        return "autograd"
    return "compile" if n_steps >= AUTO_COMPILE_STEPS else "fused"


def _compiled_or_fallback(fn: Callable) -> Callable:
    """``torch.compile(fn)``, but the first call falls back to ``fn`` itself (same maths, not compiled)
    when compiling fails (e.g. no C++ compiler on the machine): engine="auto" must never fail."""
    compiled = torch.compile(fn, dynamic=False)
    chosen: list[Callable] = []

    def step(*args):
        if chosen:
            return chosen[0](*args)
        try:
            with warnings.catch_warnings():  # torch's own deprecation notices from inside inductor
                warnings.filterwarnings("ignore", message=".*torch.jit.script_method.*")
                out = compiled(*args)
            chosen.append(compiled)
        except Exception as err:  # torch._dynamo raises many kinds; any of them means "not compiled"
            warnings.warn(f"torch.compile failed ({type(err).__name__}); training without it.", stacklevel=2)
            chosen.append(fn)
            out = fn(*args)
        return out

    return step


def make_step(
    model: CorrNetModule,
    config: Config,
    engine: str,
    precision: str = "float32",
    generator: torch.Generator | None = None,
) -> Callable[[list[Tensor]], LossTerms]:
    """A function (views) -> LossTerms for a fully paired batch (a list of N tensors (B, d_v)) that
    also leaves every parameter's gradient in ``.grad`` (overwritten).

    ``autograd``: the module's forward and ``backward()``. ``fused``: the hand-derived gradients of
    :mod:`corrnet.fastpath` (single-layer joint two-view models; others fall back to autograd).
    ``compile``: ``fused`` (or autograd) under ``torch.compile``, which fuses the elementwise work
    into a few loops: the fastest engine once compiled (a few seconds of compilation up front).
    ``precision="bfloat16"``: the fused step takes its matrix products from bfloat16 operands
    (:func:`corrnet.fastpath.make_step`); the autograd path runs the forward under
    ``torch.autocast`` (matmuls in bfloat16, the correlation and the loss reductions in float32).
    Weights and optimiser state stay float32. ``generator`` draws a sampled reconstruction's columns
    (``config.reconstruction_samples``; autograd path).
    """
    engine = resolve_engine(engine, model, config, precision, 0)  # "auto" without a step count: fused where it applies
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} is not supported; use one of {PRECISIONS}.")
    use_fused = engine in ("fused", "compile") and fastpath.supported(model, config)
    if use_fused:  # compile: no held buffers
        low = precision != "float32"
        fused_step = fastpath.make_step(model, config, workspace=engine != "compile", low_precision=low)
        step = _compiled_or_fallback(fused_step) if engine == "compile" else fused_step
        return lambda xs: step(*(dense(x) for x in xs))  # a sparse batch is densified (B rows)

    device_type = next(model.parameters()).device.type

    def loss_fn(*xs: Tensor) -> LossTerms:
        if precision == "bfloat16":
            with torch.autocast(device_type, dtype=torch.bfloat16):
                return multiview_loss(model, list(xs), config, sampler=generator)
        return multiview_loss(model, list(xs), config, sampler=generator)

    if engine == "compile":
        loss_fn = _compiled_or_fallback(loss_fn)

    def autograd_step(xs: list[Tensor]) -> LossTerms:
        for p in model.parameters():
            p.grad = None
        terms = loss_fn(*xs)
        terms.total.backward()
        return terms

    return autograd_step


def make_distributed_step(
    model: CorrNetModule, config: Config, dist: Dist, precision: str = "float32"
) -> Callable[[list[Tensor], int], LossTerms]:
    """The data-parallel step (:mod:`corrnet.distributed`): ``(this process's views, rows in the global
    batch, optional (B, N) row mask) -> LossTerms``; adds this process's part of the global batch's
    gradient to ``.grad`` (the loop sums the parts over the processes). The returned terms are this
    process's share (recon: its rows; total and corr divided by the world size), so their sums over
    the processes are the global batch's terms."""
    device_type = next(model.parameters()).device.type

    def step(xs: list[Tensor], n_global: int, mask: Tensor | None = None) -> LossTerms:
        w = torch.full((xs[0].shape[0],), 1.0 / n_global, device=xs[0].device)
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            terms = multiview_loss(model, xs, config, mask=mask, weight=w, reduce=dist.sum)
        terms.total.backward()
        recon = sum(t.detach() for t in terms.recon.values())
        share = recon + (terms.total.detach() - recon) / dist.world_size
        return LossTerms(share, terms.recon, terms.corr.detach() / dist.world_size)

    return step


def _n_rows(rows: Tensor | slice) -> int:
    return rows.stop - rows.start if isinstance(rows, slice) else len(rows)


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss; the model was rolled back to the last finite epoch."""


@dataclass
class TrainState:
    """What the loop carries between epochs (also what a checkpoint holds)."""

    model: CorrNetModule
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_score: float | None = None
    best_epoch: int | None = None
    best_state: dict[str, Tensor] | None = None
    bad_epochs: int = 0
    best_loss: float | None = None  # convergence check (tol) on the training loss
    loss_bad_epochs: int = 0
    stop_reason: str | None = None  # "converged", "early_stopping" or "max_epochs"
    # L-BFGS: the last objective evaluation (parameters, terms, gradients), which the next epoch's
    # first evaluation reuses when it is at the same point (not checkpointed: a resumed run recomputes it)
    lbfgs_last: tuple[Tensor, LossTerms, list[Tensor | None]] | None = field(default=None, repr=False)


def _chunk_rows(model: CorrNetModule) -> int:
    """Rows per forward pass when a whole set is read without gradients (memory flat in its size)."""
    return max(256, EVAL_CHUNK_VALUES // sum(model.dims))


@torch.inference_mode()
def evaluate(
    model: CorrNetModule, views: list[Tensor], config: Config, chunk: int | None = None, codes: tuple[str, ...] = ()
) -> dict[str, float]:
    """Validation metrics on fully paired views (a list of N tensors (n, d_v)): the objective (its
    correlation over all rows), the sum over view pairs of the per-unit (``correlation="canonical"``:
    the canonical) correlations of the single-view codes, and the generation error (mean squared
    error per feature of each view generated from each other view, averaged over the N (N - 1)
    ordered pairs).

    ``codes`` adds metrics of the single-view codes of the first ``CODE_METRIC_ROWS`` rows, averaged
    over view pairs: ``"mrr"`` (cross-view retrieval by cosine, mean reciprocal rank in [0, 1], both
    directions) and ``"canon_corr"`` (the sum of the canonical correlations between two views' codes,
    which, unlike ``sum_corr``, does not count a redundant unit twice)."""
    N, n = model.n_views, views[0].shape[0]
    chunk = chunk or _chunk_rows(model)
    configured = pass_subsets(tuple(config.reconstruct_from), N)
    subsets = configured + tuple((i,) for i in range(N) if (i,) not in configured)
    pairs = list(itertools.combinations(range(N), 2))
    stats, rec, gen = [0.0] * len(pairs), 0.0, 0.0  # per view pair: summed correlation statistics
    kept: list[list[Tensor]] = [[] for _ in range(N)]  # single-view codes of the first rows (``codes``)
    for s in range(0, n, chunk):  # memory flat in n: a streamed view is read chunk by chunk
        xs = [v[s : s + chunk] for v in views]
        exact = tuple(i for i, x in enumerate(xs) if exact_sparse(x, model, config, i))
        with eval_mode(model):
            out = model(xs, subsets, skip=exact)
        sq = {v: sparse_squared_error(model, out.codes, v, xs[v]) for v in exact}  # (P, B): not decoded
        xs = [dense(x) for x in xs]
        if codes and s < CODE_METRIC_ROWS:
            for i in range(N):
                kept[i].append(out.singles[i][: CODE_METRIC_ROWS - s].float().cpu())
        for p, (i, j) in enumerate(pairs):
            stats[p] = stats[p] + pair_stats(out.singles[i], out.singles[j], config)
        for p, sub in enumerate(subsets):
            if sub in configured:
                rec += sum(
                    float(
                        scale_row_sums(sq[v][p], config.loss, x.shape[1]).sum()
                        if v in sq
                        else reconstruction_error(x, o[p], config.loss).sum()
                    )
                    for v, (x, o) in enumerate(zip(xs, out.outs))
                )
            if len(sub) == 1:  # every other view generated from this one
                i = sub[0]
                for j in set(range(N)) - {i}:
                    err = sq[j][p] / xs[j].shape[1] if j in sq else (out.outs[j][p] - xs[j]).pow(2).mean(-1)
                    gen += float(err.sum())
    sum_corr = sum(float(pair_from_stats(S, config).sum()) for S in stats)
    loss = float(combine(rec / n, sum_corr, config))  # Python floats: float64, as before
    result = {"loss": loss, "sum_corr": sum_corr, "generation": gen / (n * N * (N - 1))}
    hs = [torch.cat(h).numpy() for h in kept] if codes else []
    for name in codes:
        result[name] = sum(CODE_METRICS[name](hs[i], hs[j]) for i, j in pairs) / len(pairs)
    return result


@torch.inference_mode()
def fit_alignment(model: CorrNetModule, sources: list[Source]) -> None:
    """``correlation="canonical"``: set the model's final linear CCA (``align_mean``, ``align_proj``,
    :func:`corrnet.objective.canonical_alignment`) from the single-view codes of every training row
    that has both views, read in chunks (a streamed source included)."""
    chunk = _chunk_rows(model)
    S: Tensor | float = 0.0
    for src in sources:
        if len(src.present) < 2:
            continue
        for s in range(0, len(src), chunk):
            xs, mask = src.take(slice(s, s + chunk))
            with eval_mode(model):
                out = model(xs, ())
            S = S + canonical_stats(out.singles[0], out.singles[1], None if mask is None else mask.all(1))
    if isinstance(S, float):
        raise ValueError("correlation='canonical' needs training rows with both views to align the codes.")
    means, proj = canonical_alignment(S)
    model.align_mean.copy_(means)
    model.align_proj.copy_(proj)


def validation_reciprocal_ranks(model: CorrNetModule, views: list[Tensor]) -> np.ndarray:
    """(n,) for each of the first ``CODE_METRIC_ROWS`` rows of the fully paired ``views`` (N tensors
    (n, d_v)): the reciprocal rank of its match among the other view's codes by cosine, averaged over
    view pairs and both directions. Its mean is :func:`evaluate`'s ``"mrr"``; per row, it lets two
    models be compared with a standard error."""
    n = min(CODE_METRIC_ROWS, views[0].shape[0])
    with torch.no_grad(), eval_mode(model):
        hs = [h.float().cpu().numpy() for h in model([v[:n] for v in views], ()).singles]
    pairs = list(itertools.combinations(range(model.n_views), 2))
    rr = [1.0 / metrics.match_ranks(hs[a], hs[b]) for i, j in pairs for a, b in ((i, j), (j, i))]
    return sum(rr) / len(rr)


def _mrr(H1, H2) -> float:
    return (metrics.retrieval(H1, H2, ks=())["mrr"] + metrics.retrieval(H2, H1, ks=())["mrr"]) / 2


# validation metrics of the single-view codes (``evaluate(..., codes=...)``), each of two code sets
CODE_METRICS: dict[str, Callable[[Any, Any], float]] = {
    "mrr": _mrr,
    "canon_corr": lambda H1, H2: float(metrics.canonical_correlations(H1, H2, reg=1e-4).sum()),
}


def init_state(model: CorrNetModule, config: Config, seed: int) -> TrainState:
    gen = torch.Generator().manual_seed(seed)
    opt = make_optimizer(config.optimizer, model.parameters(), config.lr, config.weight_decay)
    return TrainState(model=model, optimizer=opt, generator=gen)


def self_reconstruction(model: CorrNetModule, view: int, x: Tensor, config: Config) -> Tensor:
    """Rows that have view ``view`` only: ``err(x, x_hat(h(x alone)))``, mean over rows. No correlation
    and no cross-reconstruction: those need two views of a row."""
    xs: list[Tensor | None] = [None] * model.n_views
    xs[view] = x
    (pre,) = model.decode_pre(model.encode(xs), views=[view])
    logits = config.loss == "bce"
    out = pre if logits else model.g(pre)
    return _wide(reconstruction_error(dense(x), out, config.loss, logits=logits)).mean()


def _part_backward(model: CorrNetModule, source: Source, rows, config: Config) -> tuple[Tensor, LossTerms | None]:
    """Add the gradients of one non-paired part to ``.grad``: (its weighted single-view
    reconstruction, detached; the terms of a masked part, whose correlation counts as a paired step's)."""
    xs, mask = source.take(rows)
    if mask is None and len(source.present) == 1:
        (view,) = source.present
        loss = self_reconstruction(model, view, xs[view], config)
        (source.weight * loss).backward()
        return loss.detach(), None
    n = next(x for x in xs if x is not None).shape[0]
    p = next(model.parameters())
    full = [x if x is not None else p.new_zeros(n, d) for x, d in zip(xs, model.dims)]  # the model's dtype
    device = p.device
    if mask is None:
        mask = torch.zeros(n, len(full), dtype=torch.bool, device=device)
        mask[:, list(source.present)] = True
    terms = multiview_loss(model, full, config, mask=mask)
    terms.total.backward()
    return terms.recon["unpaired"].detach(), terms


@dataclass
class RunOptions:
    """How :func:`train` runs a plan (what it computes is in the :class:`Config`).

    ``validation``: fully paired views for per-epoch validation metrics. ``early_stopping``: stop
    when ``monitor`` on them has not improved for ``patience`` epochs and keep the best epoch's
    weights. ``tol``: converged (stop) when the epoch's training loss has not improved on the best
    so far by ``tol * max(1, |best|)`` for ``n_iter_no_change`` epochs in a row (scikit-learn's
    ``MLPRegressor`` rule, made scale-free). ``on_epoch_end(state)`` runs after each epoch
    (checkpoints, logs). ``dist``: data parallelism (:mod:`corrnet.distributed`).
    """

    validation: list[Tensor] | None = None
    early_stopping: bool = False
    patience: int = 10
    monitor: str = "sum_corr"
    verbose: int = 0
    on_epoch_end: Callable[[TrainState], Any] | None = None
    engine: str = "autograd"
    precision: str = "float32"
    tol: float | None = None
    n_iter_no_change: int = 10
    dist: Dist | None = None
    codes: tuple[str, ...] = ()  # code metrics to add to the history's validation columns (``evaluate``)

    def check(self, plan: Plan) -> None:
        if self.monitor not in MONITORS:
            raise ValueError(f"monitor={self.monitor!r} is not supported; use one of {sorted(MONITORS)}.")
        if self.early_stopping and self.validation is None:
            raise ValueError("early_stopping needs validation data: pass validation_data or validation_fraction.")
        src = plan.sources[0]
        if self.dist is not None and (len(plan.sources) > 1 or not (src.paired or src.mask is not None)):
            raise ValueError(
                "distributed training takes one source of rows, fully paired or with a row mask "
                "(MultiViewCorrNet's masks); single-view sources (X_unpaired/Y_unpaired) train in one process."
            )


class EpochTotals:
    """An epoch's loss terms over its steps: ``loss``, ``sum_corr`` and each pass's reconstruction
    over the steps with a correlation term; ``unpaired`` (single-view rows' self-reconstruction)
    over the steps that had such rows. Each step keeps its terms as one small tensor on the device
    (one kernel, not one per term); :meth:`row` sums them in float64 and is the epoch's one host
    sync."""

    def __init__(self, passes: list[str], device: torch.device) -> None:
        self.passes, self.device = passes, device
        self.main: list[Tensor] = []  # per step: (loss, sum_corr, *passes)
        self.single: list[Tensor] = []

    @torch.no_grad()
    def add(self, terms: LossTerms | None, single: Tensor | None) -> None:
        if terms is not None:
            rec = terms.recon
            parts = [rec[k] if k in rec else terms.total.new_zeros(()) for k in self.passes]
            self.main.append(torch.stack([terms.total, terms.corr.sum(), *parts]))
        if single is not None:
            self.single.append(single.reshape(1))

    def row(self, epoch: int, seconds: float, semi: bool, dist: Dist | None) -> dict[str, float]:
        n_main, n_single = len(self.main), len(self.single)
        f64 = dict(dtype=torch.float64, device=self.device)
        main = torch.stack(self.main).to(torch.float64).sum(0) if n_main else torch.zeros(2 + len(self.passes), **f64)
        single = torch.cat(self.single).to(torch.float64).sum(0, keepdim=True) if n_single else torch.zeros(1, **f64)
        stacked = torch.cat([main, single])
        if dist is not None:  # the processes' shares add up to the global batches' terms
            torch.distributed.all_reduce(stacked)
        sums = dict(zip(("loss", "sum_corr", *self.passes, "unpaired"), stacked.tolist()))  # the one host sync
        main_n = max(n_main, 1)
        row = {"epoch": epoch, "loss": sums["loss"] / main_n}
        row.update({f"recon_{k}": sums[k] / main_n for k in self.passes})
        row.update({"sum_corr": sums["sum_corr"] / main_n, "time_s": seconds})
        if semi:  # single-view terms are averaged over the steps that had single-view rows
            row["recon_unpaired"] = sums["unpaired"] / max(n_single, 1)
            if n_main == 0:  # pretraining on single-view rows only
                row["loss"] = row["recon_unpaired"]
        return row


class StoppingRules:
    """Divergence (roll back to the last finite epoch and raise), convergence (``tol``) and early
    stopping (``monitor``, ``patience``), applied to each epoch's history row; their bookkeeping
    lives in the :class:`TrainState`, so a resumed run continues it."""

    def __init__(self, model: CorrNetModule, config: Config, options: RunOptions) -> None:
        self.model, self.config, self.options = model, config, options
        self.sign = 1.0 if MONITORS[options.monitor] == "max" else -1.0
        self.last_good = copy.deepcopy(model.state_dict())

    def check_finite(self, row: dict[str, float], state: TrainState) -> None:
        if not math.isfinite(row["loss"]):
            self.model.load_state_dict(self.last_good)
            c = self.config
            raise DivergenceError(
                f"the training loss became {row['loss']} in epoch {state.epoch + 1}; the model was rolled "
                f"back to the end of epoch {state.epoch}. Lower lr (now {c.lr}) or lam (now "
                f"{c.lam}), or use optimizer='adam'; if the inputs were not scaled (scale=None), use "
                "scale='auto'."
            )

    def update(self, row: dict[str, float], state: TrainState) -> None:
        """After the epoch is recorded: remember its weights, and set ``state.stop_reason``."""
        with torch.no_grad():  # in place: no allocation per epoch (tiny data runs thousands of epochs)
            for k, v in self.model.state_dict().items():
                self.last_good[k].copy_(v)
        opts = self.options
        if opts.tol is not None:
            best = state.best_loss
            if best is None or row["loss"] < best - opts.tol * max(1.0, abs(best)):
                state.best_loss, state.loss_bad_epochs = row["loss"], 0
            else:
                state.loss_bad_epochs += 1
                if state.loss_bad_epochs >= opts.n_iter_no_change:
                    state.stop_reason = "converged"
        if opts.early_stopping:
            score = self.sign * row[f"val_{opts.monitor}"]
            if state.best_score is None or score > state.best_score:
                state.best_score, state.best_epoch, state.bad_epochs = score, state.epoch, 0
                state.best_state = copy.deepcopy(self.model.state_dict())
            else:
                state.bad_epochs += 1
                if state.bad_epochs >= opts.patience:
                    state.stop_reason = "early_stopping"


@contextlib.contextmanager
def sized_threads(config: Config, device: torch.device) -> Iterator[None]:
    """Run a fit on as many CPU threads as its work pays for: a full-batch L-BFGS fit (a small
    table, ``optimizer="auto"``'s choice for at most 2 000 rows of at most 10^6 values) trains on one
    thread, torch's and the BLAS's (numpy's, which scores validation), restored afterwards.

    Its steps are a few matmuls of at most a few MFLOP and L-BFGS's many vector operations on the
    ~10^4 parameters; two threads spent more time handing work over and spinning against each
    other than they saved: 2-3x the CPU time and no shorter wall time on the small tables of
    ``benchmarks/bench_fit_small.py`` (benchmarks/runs/README.md: small tables). Other fits keep the process's threads.
    ``torch.set_num_threads`` is process-wide: a fit in another Python thread at the same time
    shares the setting."""
    if config.optimizer != "lbfgs" or device.type != "cpu":
        yield
        return
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


def _step_parts(parts, sources: list[Source], step: Callable, model: CorrNetModule, config: Config, dist: Dist | None):
    """One optimiser step's gradients from its parts (rows of ``sources``): (the terms with a
    correlation, the single-view rows' self-reconstruction), either None when the step has no such part."""
    terms, single = None, None
    for si, rows in parts:
        src = sources[si]
        if dist is not None:  # this process's share; the terms are the global batch's
            xs, mask = src.take(dist.shard(rows))
            terms = step(xs, _n_rows(rows), mask)
            if mask is not None:  # as in _part_backward: rows with one view are "unpaired"
                single = terms.recon["unpaired"].detach()
        elif src.paired:  # first in its step: a fused engine overwrites .grad
            terms = step(src.take(rows)[0])
        else:
            u, masked = _part_backward(model, src, rows, config)
            single = u if single is None else single + u
            terms = masked if masked is not None else terms
    return terms, single


def run_epoch(
    state: TrainState, plan: Plan, config: Config, step: Callable, totals: EpochTotals, dist: Dist | None
) -> bool:
    """One pass over the plan: per step, zero the gradients, add every part's, step the optimiser
    (at the scheduled learning rate, from the global step count: a resumed run continues it).
    L-BFGS: one full-batch step of several iterations. Returns True when the optimiser says the
    run has converged (L-BFGS's own tolerances)."""
    model, opt = state.model, state.optimizer
    if isinstance(opt, torch.optim.LBFGS):
        return _lbfgs_epoch(state, plan, config, step, totals)
    per_epoch = plan.steps_per_epoch
    params = list(model.parameters())  # once: walking the module tree costs ~60 us a step (profiled)
    for i, parts in enumerate(plan.epoch(state.generator, params[0].device)):
        if config.lr_schedule != "constant":
            lr = scheduled_lr(config.lr, config.lr_schedule, state.epoch * per_epoch + i, config.epochs * per_epoch)
            for group in opt.param_groups:
                group["lr"] = lr
        for p in params:
            p.grad = None
        terms, single = _step_parts(parts, plan.sources, step, model, config, dist)
        if dist is not None:
            dist.sum_grads(model)
        opt.step()
        totals.add(terms, single)
    return False


def _same_point(a: Tensor, b: Tensor) -> bool:
    """Two flat parameter vectors are equal, bit for bit (an evaluation there can be reused)."""
    return torch.equal(a, b)


def _lbfgs_epoch(state: TrainState, plan: Plan, config: Config, step: Callable, totals: EpochTotals) -> bool:
    """One ``LBFGS.step`` over the whole training set (the plan's one batch): up to
    ``LBFGS_EPOCH_ITERS`` iterations, each with its strong-Wolfe line search. Its terms are those of
    the last objective evaluation. Returns True when L-BFGS stopped early (its gradient or change
    tolerances: converged)."""
    model, opt = state.model, state.optimizer
    (parts,) = plan.epoch(state.generator, next(model.parameters()).device)  # the plan's one step
    # gather the step's rows once: every evaluation of the line search sees the same batch
    sources = list(plan.sources)
    for si, rows in parts:
        xs, mask = sources[si].take(rows)
        sources[si] = replace(sources[si], views=xs, mask=mask)
    parts = [(si, None) for si, _ in parts]  # None: every row of the gathered source
    last: list[LossTerms | None] = [None]
    params = list(model.parameters())

    def closure() -> Tensor:
        # LBFGS.step evaluates its starting point first: usually where the previous epoch's line
        # search evaluated last, on the same batch (all rows, in the same order: Plan)
        flat = torch.cat([p.detach().reshape(-1) for p in params])
        prev = state.lbfgs_last
        if prev is not None and _same_point(prev[0], flat):
            last[0] = prev[1]
            for p, g in zip(params, prev[2]):  # handed over, not copied: the cache lets go of them
                p.grad = g
            state.lbfgs_last = None
            return last[0].total
        for p in params:
            p.grad = None
        last[0], _ = _step_parts(parts, sources, step, model, config, None)
        state.lbfgs_last = (flat, last[0], [None if p.grad is None else p.grad.clone() for p in params])
        return last[0].total

    st = opt.state[opt._params[0]]
    iters, evals = st.get("n_iter", 0), st.get("func_evals", 0)
    opt.step(closure)
    totals.add(last[0], None)
    return st["n_iter"] - iters < opt.defaults["max_iter"] and st["func_evals"] - evals < opt.defaults["max_eval"]


def _progress(options: RunOptions, config: Config, state: TrainState):
    if not options.verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.epochs, initial=state.epoch, desc="corrnet", unit="epoch", leave=options.verbose > 1)


def _check_batch_norm(config: Config, plan: Plan, opts: RunOptions) -> None:
    """BatchNorm encoders need batches whose rows hold their views."""
    if config.encoder_norm == "batch" and (opts.dist is not None or any(s.mask is not None for s in plan.sources)):
        raise ValueError(
            "encoder_norm='batch' normalises each view over a batch's rows, so it needs batches whose rows "
            "hold their views: not row masks (an absent view's zero rows would enter its statistics) nor "
            "data-parallel training (each process would see its own rows). Use encoder_norm='layer'."
        )


def _run_step(state: TrainState, config: Config, opts: RunOptions) -> Callable[[list[Tensor]], LossTerms]:
    """The step of this run: the engine's, or the data-parallel one (parameters broadcast first)."""
    if opts.dist is not None:
        opts.dist.broadcast_params(state.model)
        return make_distributed_step(state.model, config, opts.dist, opts.precision)
    # a sampled reconstruction draws its columns from the run's generator (checkpointed: a resumed
    # run draws the same columns)
    return make_step(state.model, config, opts.engine, opts.precision, generator=state.generator)


def _show(pbar: Any, row: dict[str, Any], validation: bool) -> None:
    """One epoch on the progress bar (if any)."""
    if pbar is None:
        return
    post = {"loss": f"{row['loss']:.3f}", "corr": f"{row['sum_corr']:.2f}"}
    post.update({"val_corr": f"{row['val_sum_corr']:.2f}"} if validation else {})
    pbar.set_postfix(post)
    pbar.update(1)


def train(
    state: TrainState, plan: Plan, config: Config, options: RunOptions | None = None, **kwargs: Any
) -> TrainState:
    """Run epochs ``state.epoch .. config.epochs - 1`` of ``plan`` (which rows of which sources form
    each step; :mod:`corrnet.plans`); ``options`` (or its fields as keywords) say how.

    Each step zeroes the gradients, adds every part's (the paired part through the engine's
    ``step``; single-view parts their self-reconstruction times the source's weight; masked parts
    the masked objective) and steps the optimiser once. Single-view rows never reach the
    correlation or the cross-reconstruction terms. Once per epoch: one host sync, the history row,
    validation, the stopping rules, ``on_epoch_end``. Everything the loop needs between epochs is in
    ``state``, so it resumes. With early stopping the best epoch's weights are restored at the end;
    ``state.stop_reason`` says why the loop ended. Data parallel (``dist``): every process runs this
    loop on the same plan, keeps its share of each batch's rows, and uses the exact global-batch
    objective (one source, fully paired or masked; autograd).
    """
    opts = options or RunOptions(**kwargs)
    opts.check(plan)
    _check_batch_norm(config, plan, opts)
    model = state.model
    step = _run_step(state, config, opts)
    device = next(model.parameters()).device
    semi = len(plan.sources) > 1 or not plan.sources[0].paired
    N = model.n_views
    passes = (
        list(TWO_VIEW_PASSES) if N == 2 else [pass_name(s, N) for s in pass_subsets(tuple(config.reconstruct_from), N)]
    )
    rules = StoppingRules(model, config, opts)
    model.train()
    pbar = _progress(opts, config, state)
    if state.stop_reason == "max_epochs":  # a resumed run may be given more epochs
        state.stop_reason = None
    try:
        while state.epoch < config.epochs and state.stop_reason is None:
            t0 = time.perf_counter()
            totals = EpochTotals(passes, device)
            converged = run_epoch(state, plan, config, step, totals, opts.dist)
            row = totals.row(state.epoch + 1, time.perf_counter() - t0, semi, opts.dist)
            rules.check_finite(row, state)
            if opts.validation is not None:
                codes = tuple(k for k in (opts.monitor, *opts.codes) if k in CODE_METRICS)
                row.update({f"val_{k}": v for k, v in evaluate(model, opts.validation, config, codes=codes).items()})
            state.history.append(row)
            state.epoch += 1
            rules.update(row, state)
            state.stop_reason = state.stop_reason or ("converged" if converged else None)
            _show(pbar, row, opts.validation is not None)
            if opts.on_epoch_end is not None:
                opts.on_epoch_end(state)  # a stop_reason set above ends the loop after this
    finally:
        if pbar is not None:
            pbar.close()
    state.stop_reason = state.stop_reason or "max_epochs"
    if opts.early_stopping and state.best_state is not None:
        model.load_state_dict(state.best_state)
    model.eval()
    return state
