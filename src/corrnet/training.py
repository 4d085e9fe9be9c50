"""The training loop: device-resident data, index shuffling, one optimiser step per batch.

Host syncs happen once per epoch (the per-batch terms are accumulated on the device), which keeps
the loop bound by the model's arithmetic rather than by Python-to-device round trips.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from . import fastpath
from .config import Config
from .model import CorrNetModule
from .objective import LossTerms, correlation, corrnet_loss, reconstruction_error, single_view_loss
from .optim import make_optimizer

MONITORS = {"sum_corr": "max", "loss": "min", "generation": "min"}
ENGINES = ("auto", "autograd", "fused", "compile")
# engine="auto" compiles when a run has at least this many optimiser steps: compiling the step costs
# ~8 s on a 2-core CPU and saves ~0.3-0.5 ms per step over the fused engine (README, Training speed).
AUTO_COMPILE_STEPS = 20_000


def resolve_engine(engine: str, model: CorrNetModule, config: Config, precision: str, n_steps: int) -> str:
    """The engine a run uses: ``auto`` -> ``compile`` for runs of at least ``AUTO_COMPILE_STEPS``
    steps, else ``fused``, where the hand-derived gradients apply (single-layer joint model,
    float32); ``autograd`` elsewhere. Other values are returned unchanged."""
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is not supported; use one of {ENGINES}.")
    if engine != "auto":
        return engine
    if not (fastpath.supported(model, config) and precision == "float32"):
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


PRECISIONS = ("float32", "bfloat16")


def make_step(
    model: CorrNetModule, config: Config, engine: str, precision: str = "float32"
) -> Callable[[Tensor, Tensor], LossTerms]:
    """A function (x, y) -> LossTerms that also leaves every parameter's gradient in ``.grad``.

    ``autograd``: the module's forward and ``backward()``. ``fused``: the hand-derived gradients of
    :mod:`corrnet.fastpath` (single-layer joint models; others fall back to autograd). ``compile``:
    ``fused`` (or autograd) under ``torch.compile``, which fuses the elementwise work into a few
    loops: the fastest engine once compiled (a few seconds of compilation up front).
    ``precision="bfloat16"`` runs the forward under ``torch.autocast`` (matmuls in bfloat16, the
    correlation and the loss reductions in float32; weights and optimiser state stay float32); it
    uses the autograd path.
    """
    engine = resolve_engine(engine, model, config, precision, 0)  # "auto" without a step count: fused where it applies
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} is not supported; use one of {PRECISIONS}.")
    use_fused = engine in ("fused", "compile") and fastpath.supported(model, config) and precision == "float32"
    if use_fused:

        def step(x: Tensor, y: Tensor) -> LossTerms:
            return fastpath.loss_and_grads(model, x, y, config)

        if engine == "compile":
            return _compiled_or_fallback(step)
        return step

    device_type = next(model.parameters()).device.type

    def loss_fn(x: Tensor, y: Tensor) -> LossTerms:
        if precision == "bfloat16":
            with torch.autocast(device_type, dtype=torch.bfloat16):
                return corrnet_loss(model, x, y, config)
        return corrnet_loss(model, x, y, config)

    if engine == "compile":
        loss_fn = _compiled_or_fallback(loss_fn)

    def autograd_step(x: Tensor, y: Tensor) -> LossTerms:
        for p in model.parameters():
            p.grad = None
        terms = loss_fn(x, y)
        terms.total.backward()
        return terms

    return autograd_step


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


def batch_starts(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Contiguous [start, stop) slices of an epoch. A trailing batch of a single row is merged into
    the previous one (a correlation over one row is undefined)."""
    slices = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if len(slices) > 1 and slices[-1][1] - slices[-1][0] < 2:
        last = slices.pop()
        slices[-1] = (slices[-1][0], last[1])
    return slices


@torch.inference_mode()
def evaluate(model: CorrNetModule, X: Tensor, Y: Tensor, config: Config, chunk: int = 8192) -> dict[str, float]:
    """Validation metrics on full views: objective (correlation over all rows), sum-correlation of
    h(x,0) vs h(0,y), and generation error (mean squared error per feature of y from x and x from y)."""
    model.eval()
    hx, hy, rec, gen, n = [], [], 0.0, 0.0, X.shape[0]
    for s in range(0, n, chunk):
        xb, yb = X[s : s + chunk], Y[s : s + chunk]
        out = model(xb, yb, passes=("both", "x", "y"))
        hx.append(out.h_x)
        hy.append(out.h_y)
        x_hat, y_hat = out.x_hat, out.y_hat  # (3, b, d)
        names = out.names
        for i, p in enumerate(names):
            if p in config.reconstruct_from:
                rec += float(
                    (
                        reconstruction_error(xb, x_hat[i], config.loss)
                        + reconstruction_error(yb, y_hat[i], config.loss)
                    ).sum()
                )
        gen += (
            float(
                (y_hat[names.index("x")] - yb).pow(2).mean(-1).sum()
                + (x_hat[names.index("y")] - xb).pow(2).mean(-1).sum()
            )
            / 2
        )
    corr = correlation(torch.cat(hx), torch.cat(hy), config.corr_eps)
    model.train()
    sum_corr = float(corr.sum())
    return {"loss": rec / n - config.lam * sum_corr, "sum_corr": sum_corr, "generation": gen / n}


def init_state(model: CorrNetModule, config: Config, seed: int) -> TrainState:
    gen = torch.Generator().manual_seed(seed)
    opt = make_optimizer(config.optimizer, model.parameters(), config.lr, config.weight_decay)
    return TrainState(model=model, optimizer=opt, generator=gen)


def train(
    state: TrainState,
    X: Tensor,
    Y: Tensor,
    config: Config,
    *,
    validation: tuple[Tensor, Tensor] | None = None,
    early_stopping: bool = False,
    patience: int = 10,
    monitor: str = "sum_corr",
    verbose: int = 0,
    on_epoch_end: Callable[[TrainState], Any] | None = None,
    engine: str = "autograd",
    precision: str = "float32",
    unpaired: tuple[Tensor | None, Tensor | None] | None = None,
    unpaired_weight: float = 1.0,
    paired_per_batch: int | None = None,
    tol: float | None = None,
    n_iter_no_change: int = 10,
) -> TrainState:
    """Run epochs ``state.epoch .. config.epochs - 1`` on paired views X (n, d_x), Y (n, d_y).

    ``unpaired = (X_only, Y_only)`` adds rows that have one view: each epoch also visits them in
    their own batches, interleaved with the paired ones (``paired_per_batch=None``), or appends
    them to every paired batch, which then holds ``paired_per_batch`` paired rows (mixed batches);
    they contribute ``unpaired_weight`` times their self-reconstruction error, never to the
    correlation or the cross-reconstruction terms.

    The loop is resumable: everything it needs between epochs is in ``state`` (model, optimiser,
    RNG for shuffling, history, early-stopping bookkeeping). ``on_epoch_end`` is called after each
    epoch (checkpointing). With ``early_stopping`` the best epoch's weights (by ``monitor`` on
    ``validation``) are restored at the end. With ``tol``, training has converged (and stops) when
    the epoch's training loss has not improved on the best so far by ``tol * max(1, |best|)`` for
    ``n_iter_no_change`` epochs in a row (scikit-learn's ``MLPRegressor`` rule, made scale-free).
    ``state.stop_reason`` says why the loop ended.
    """
    if monitor not in MONITORS:
        raise ValueError(f"monitor={monitor!r} is not supported; use one of {sorted(MONITORS)}.")
    if early_stopping and validation is None:
        raise ValueError("early_stopping needs validation data: pass validation_data or validation_fraction.")
    model, opt = state.model, state.optimizer
    step = make_step(model, config, engine, precision)
    n = X.shape[0]
    Xu, Yu = unpaired if unpaired is not None else (None, None)
    Xu = Xu if Xu is not None and len(Xu) else None
    Yu = Yu if Yu is not None and len(Yu) else None
    semi = Xu is not None or Yu is not None
    mixed = semi and paired_per_batch is not None
    if mixed and not 2 <= paired_per_batch < config.batch_size:
        raise ValueError(f"paired_per_batch must be in [2, batch_size={config.batch_size}), got {paired_per_batch}.")
    slices = batch_starts(n, paired_per_batch if mixed else config.batch_size) if n else []
    if n == 1:
        raise ValueError("one paired row cannot be trained on: the correlation needs at least 2 paired rows.")
    schedule = [("p", s, e) for s, e in slices]
    if semi and not mixed:
        for kind, A in (("x", Xu), ("y", Yu)):
            if A is not None:
                schedule += [(kind, s, e) for s, e in batch_starts(len(A), config.batch_size)]
        # interleave the kinds evenly through the epoch (stable order: deterministic)
        counts = {k: sum(1 for b in schedule if b[0] == k) for k in "pxy"}
        seen = dict.fromkeys("pxy", 0)
        keyed = []
        for b in schedule:
            keyed.append(((seen[b[0]] + 0.5) / counts[b[0]], "pxy".index(b[0]), b))
            seen[b[0]] += 1
        schedule = [b for *_, b in sorted(keyed)]
    n_u = config.batch_size - (paired_per_batch or 0)

    def unpaired_grads(xo: Tensor | None, yo: Tensor | None) -> Tensor:
        """Add weight * self-reconstruction gradients of single-view rows to .grad."""
        parts = []
        if xo is not None and len(xo):
            parts.append(single_view_loss(model, config, x=xo))
        if yo is not None and len(yo):
            parts.append(single_view_loss(model, config, y=yo))
        if not parts:
            return X.new_zeros(())
        loss = sum(parts)
        (unpaired_weight * loss).backward()
        return loss.detach()

    model.train()
    pbar = None
    if verbose:
        from tqdm.auto import tqdm

        pbar = tqdm(total=config.epochs, initial=state.epoch, desc="corrnet", unit="epoch", leave=verbose > 1)
    last_good = copy.deepcopy(model.state_dict())
    sign = 1.0 if MONITORS[monitor] == "max" else -1.0
    if state.stop_reason == "max_epochs":  # a resumed run may be given more epochs
        state.stop_reason = None
    try:
        while state.epoch < config.epochs and state.stop_reason is None:
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=state.generator).to(X.device) if config.shuffle and n else None
            perms = {}
            for kind, A in (("x", Xu), ("y", Yu)):
                if A is not None:
                    perms[kind] = torch.randperm(len(A), generator=state.generator).to(X.device)
            acc = torch.zeros(6, device=X.device)  # total, recon both/x/y, sum corr, unpaired recon
            n_paired_steps = 0
            for bi, (kind, s, e) in enumerate(schedule):
                if kind != "p":
                    A = Xu if kind == "x" else Yu
                    rows = A[perms[kind][s:e]]
                    for p in model.parameters():
                        p.grad = None
                    u = unpaired_grads(rows if kind == "x" else None, rows if kind == "y" else None)
                    opt.step()
                    acc[5] += u
                    continue
                n_paired_steps += 1
                if perm is None:
                    xb, yb = X[s:e], Y[s:e]
                else:
                    idx = perm[s:e]
                    xb, yb = X[idx], Y[idx]
                terms = step(xb, yb)  # sets .grad of every parameter
                if mixed:  # this batch's share of single-view rows, cycling through them
                    xo = yo = None
                    half = n_u // 2 if (Xu is not None and Yu is not None) else n_u
                    if Xu is not None:
                        xo = Xu[perms["x"][(bi * half + torch.arange(half, device=X.device)) % len(Xu)]]
                    if Yu is not None:
                        k_y = n_u - half if Xu is not None else n_u
                        yo = Yu[perms["y"][(bi * k_y + torch.arange(k_y, device=X.device)) % len(Yu)]]
                    acc[5] += unpaired_grads(xo, yo)
                opt.step()
                with torch.no_grad():
                    r = terms.recon
                    z = terms.total.new_zeros(())
                    acc[:5] += torch.stack(
                        [
                            terms.total.detach(),
                            r.get("both", z).detach(),
                            r.get("x", z).detach(),
                            r.get("y", z).detach(),
                            terms.corr.detach().sum(),
                        ]
                    )
            sums = acc.tolist()  # the epoch's one host sync
            vals = [v / max(n_paired_steps, 1) for v in sums]
            if semi:  # single-view terms are averaged over the steps that had single-view rows
                n_u_steps = max(len(schedule) - n_paired_steps, 1) if not mixed else max(n_paired_steps, 1)
                vals[5] = sums[5] / n_u_steps
            row = {
                "epoch": state.epoch + 1,
                "loss": vals[0],
                "recon_both": vals[1],
                "recon_x": vals[2],
                "recon_y": vals[3],
                "sum_corr": vals[4],
                "time_s": time.perf_counter() - t0,
            }
            if semi:
                row["recon_unpaired"] = vals[5]
                if n_paired_steps == 0:  # pretraining on single-view rows only
                    row["loss"] = vals[0] = vals[5]
            if not math.isfinite(vals[0]):
                model.load_state_dict(last_good)
                raise DivergenceError(
                    f"the training loss became {vals[0]} in epoch {state.epoch + 1}; the model was rolled "
                    f"back to the end of epoch {state.epoch}. Lower lr (now {config.lr}) or lam (now "
                    f"{config.lam}), or use optimizer='adam'; if the inputs were not scaled (scale=None), use "
                    "scale='auto'."
                )
            if validation is not None:
                v = evaluate(model, validation[0], validation[1], config)
                row.update({f"val_{k}": val for k, val in v.items()})
            state.history.append(row)
            state.epoch += 1
            with torch.no_grad():  # in place: no allocation per epoch (tiny data runs thousands of epochs)
                for k, v in model.state_dict().items():
                    last_good[k].copy_(v)
            if tol is not None:
                best = state.best_loss
                if best is None or row["loss"] < best - tol * max(1.0, abs(best)):
                    state.best_loss, state.loss_bad_epochs = row["loss"], 0
                else:
                    state.loss_bad_epochs += 1
                    if state.loss_bad_epochs >= n_iter_no_change:
                        state.stop_reason = "converged"
            if early_stopping:
                score = sign * row[f"val_{monitor}"]
                if state.best_score is None or score > state.best_score:
                    state.best_score, state.best_epoch, state.bad_epochs = score, state.epoch, 0
                    state.best_state = copy.deepcopy(model.state_dict())
                else:
                    state.bad_epochs += 1
                    if state.bad_epochs >= patience:
                        state.stop_reason = "early_stopping"
            if pbar is not None:
                post = {"loss": f"{row['loss']:.3f}", "corr": f"{row['sum_corr']:.2f}"}
                if validation is not None:
                    post["val_corr"] = f"{row['val_sum_corr']:.2f}"
                pbar.set_postfix(post)
                pbar.update(1)
            if on_epoch_end is not None:
                on_epoch_end(state)  # a stop_reason set above ends the loop after this
    finally:
        if pbar is not None:
            pbar.close()
    if state.stop_reason is None:
        state.stop_reason = "max_epochs"
    if early_stopping and state.best_state is not None:
        model.load_state_dict(state.best_state)
    model.eval()
    return state
