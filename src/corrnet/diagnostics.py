"""Checks run after ``CorrNet.fit`` that say when a fit looks broken, and what to do about it.

Each check compares the fitted model with a trivial baseline on (a sample of) the training rows,
in the model's own (scaled) units:

* **saturated units**: a sigmoid/tanh unit whose code is within 0.01 of its bound on 99 % of the
  rows, or a relu unit that is 0 on every row, carries no information. Half or more of the units
  like that means the inputs are on too large a scale or the learning rate is too high.
* **no correlation**: the per-unit correlation of ``h(x, 0)`` and ``h(0, y)``, averaged over the
  units, below 0.1 although ``lam > 0``: the correlation term did not move (views not paired row by
  row, views that share nothing, or training far too short).
* **worse than the mean**: reconstructing a view from *both* views (or generating it from the other
  view) is worse than predicting every row as the training mean of that view: the output
  activation cannot reach the data's range, or training stopped far from convergence. When the fit
  chose it (a heavy correlation weight, as the canonical objective's, or an early epoch kept by
  early stopping), the codes are not at fault: the warning is raised when the model is asked to
  ``generate`` or ``reconstruct``, not at fit.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field

import numpy as np
import torch

from .data import dense
from .model import CorrNetModule, eval_mode
from .objective import correlation

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def caller_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` that names the caller of corrnet's outermost frame (the
    user's line), however many frames lie between: corrnet's own, and wrappers such as mutation
    testing's trampolines (pandas' ``find_stack_level``, which stops at the first outside frame)."""
    frame, level, outermost = inspect.currentframe(), 0, 0
    while frame is not None:
        if os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
            outermost = level
        frame, level = frame.f_back, level + 1
    return outermost + 1


class FitWarning(UserWarning):
    """A fitted CorrNet looks broken (see :mod:`corrnet.diagnostics`); the message says the fix."""


@dataclass
class Diagnostics:
    """What the checks measured (``CorrNet.diagnostics_``) and the warnings they raised."""

    saturated_units: int
    n_units: int
    mean_unit_correlation: float
    recon_mse: tuple[float, float]  # (x from both views, y from both views), scaled units
    generation_mse: tuple[float, float]  # (y from x, x from y)
    mean_mse: tuple[float, float]  # (x, y) predicted as their training means
    messages: list[str] = field(default_factory=list)
    # a poor reconstruction that the fit chose (a heavy lam, or early stopping's epoch): not a fault
    # of the codes, so it is raised when the model is asked to generate or reconstruct, not at fit
    generation: str | None = None


UNIT_SCALE = 10.0  # inputs with |value| above this are "on a large scale" for the saturation advice
RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, np.inf)}  # what g can output


def _saturated(h: np.ndarray, act: str) -> np.ndarray:
    """(n, k) codes -> (k,) bool: units stuck at a bound of the activation."""
    if act == "sigmoid":
        return ((h < 0.01) | (h > 0.99)).mean(0) >= 0.99
    if act == "tanh":
        return (np.abs(h) > 0.99).mean(0) >= 0.99
    if act == "relu":
        return (h <= 0).all(0)
    return np.zeros(h.shape[1], bool)


@torch.inference_mode()
def diagnose(
    model: CorrNetModule,
    X: torch.Tensor,
    Y: torch.Tensor,
    lam: float,
    max_rows: int = 2000,
    lr: float | None = None,
    kept_epoch: int | None = None,
) -> Diagnostics:
    """Run the checks on the first ``max_rows`` rows of the (scaled, paired) views X (n, d_x),
    Y (n, d_y); the returned ``messages`` are empty for a healthy fit. ``lr``, the learning rate the
    model was trained with, goes into the advice when units saturate on inputs of unit scale;
    ``kept_epoch``, the epoch early stopping kept (None: the last), into the advice on a poor
    reconstruction."""
    x, y = dense(X[:max_rows]), dense(Y[:max_rows])  # a sparse view: its first rows only
    d = _measure(model, x, y)
    worse, chosen = _worse_than_the_mean(d, model, x, y, lam, kept_epoch)
    if chosen:
        d.generation, worse = worse, None
    for msg in (_saturation(d, model, x, y, lr), _uncorrelated(d, lam), worse):
        if msg:
            d.messages.append(msg)
    return d


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).pow(2).mean())


def _measure(model: CorrNetModule, x: torch.Tensor, y: torch.Tensor) -> Diagnostics:
    """The numbers the checks read, from the model in eval mode on dense views x (n, d_x), y (n, d_y)."""
    with eval_mode(model):
        h = model.encode([x, y])
        hx, hy = model.encode([x, None]), model.encode([None, y])
        xb, yb = model.decode(h)
        _, y_from_x = model.decode(hx)
        x_from_y, _ = model.decode(hy)
        ax, ay = model.align(hx, 0), model.align(hy, 1)  # canonical: the aligned codes (else hx, hy)
    corr = correlation(ax.double(), ay.double(), 1e-12).numpy()
    sat = _saturated(h.float().cpu().numpy(), model.hidden_activation)
    return Diagnostics(
        saturated_units=int(sat.sum()),
        n_units=int(sat.size),
        mean_unit_correlation=float(corr.mean()),
        recon_mse=(_mse(xb, x), _mse(yb, y)),
        generation_mse=(_mse(y_from_x, y), _mse(x_from_y, x)),
        mean_mse=(_mse(x, x.mean(0, keepdim=True)), _mse(y, y.mean(0, keepdim=True))),
    )


def _saturation(
    d: Diagnostics, model: CorrNetModule, x: torch.Tensor, y: torch.Tensor, lr: float | None
) -> str | None:
    """Half or more of the units stuck at a bound: the inputs' scale, or else the learning rate."""
    if d.saturated_units * 2 < d.n_units:
        return None
    what = (
        f"{d.saturated_units} of {d.n_units} hidden units are saturated (stuck at a bound of "
        f"{model.hidden_activation} on 99 % of the training rows): "
    )
    top = max(float(x.abs().max()), float(y.abs().max())) if x.numel() and y.numel() else 0.0
    if top > UNIT_SCALE:
        return what + f"the inputs are on a large scale (|value| up to {top:.3g}). Use scale='auto' (or 'standard')."
    # scaling cannot help: the inputs are already small; the steps were too large
    lower = f" (e.g. lr={lr / 10:g})" if lr else ""
    return what + (
        f"the inputs are already on a unit scale (|value| <= {top:.3g}), so the learning rate is "
        f"probably too high{f' (lr={lr:g})' if lr else ''}: lower lr{lower}."
    )


def _uncorrelated(d: Diagnostics, lam: float) -> str | None:
    """The two views' codes nearly uncorrelated although the objective asks for correlation."""
    if not (lam > 0 and d.mean_unit_correlation < 0.1):
        return None
    return (
        f"the codes of the two views are nearly uncorrelated (mean per-unit correlation "
        f"{d.mean_unit_correlation:.3f} on the training rows): check that row i of X is paired with row i "
        "of Y; otherwise train longer (epochs='auto'), raise lam, or scale the inputs (scale='auto')."
    )


# lam at or above this weights the reconstruction so little (the canonical preset's 64) that a poor one
# may be the objective's choice, not a short run
HEAVY_LAM = 16.0


def _worse_than_the_mean(
    d: Diagnostics,
    model: CorrNetModule,
    x: torch.Tensor,
    y: torch.Tensor,
    lam: float = 0.0,
    kept_epoch: int | None = None,
) -> tuple[str | None, bool]:
    """(the message, whether the fit chose it) when reconstruction or generation is worse than
    predicting the training mean, and why: the output range; a heavy ``lam`` that traded the
    reconstruction away (the canonical defaults: chosen); early stopping's choice of an early epoch
    (``kept_epoch``: chosen); or training stopped far from convergence."""
    worse = []
    for name, rec, gen, base in (
        ("X", d.recon_mse[0], d.generation_mse[1], d.mean_mse[0]),
        ("Y", d.recon_mse[1], d.generation_mse[0], d.mean_mse[1]),
    ):
        if rec > base:
            worse.append(f"{name} reconstructed from both views (MSE {rec:.4g} vs {base:.4g})")
        elif gen > 1.05 * base:
            other = "Y" if name == "X" else "X"
            worse.append(f"{name} generated from {other} (MSE {gen:.4g} vs {base:.4g})")
    if not worse:
        return None, False
    lo, hi = RANGES.get(model.output_activation, (-np.inf, np.inf))
    out_of_range = any(float(t.min()) < lo or float(t.max()) > hi for t in (x, y))
    if out_of_range:
        cause = (
            f"the views have values the output activation ({model.output_activation}, range [{lo:g}, {hi:g}]) "
            "cannot produce: use output_activation='auto' (or 'linear'), or scale='auto'"
        )
    elif lam >= HEAVY_LAM:
        cause = (
            f"lam={lam:g} weights the reconstruction little against the correlation, so a poor one is the "
            "objective's choice (the canonical objective's default): the codes are what this fit is for and "
            "are fine for transform, but generate and the reconstructions are not; to generate a view, fit "
            "with correlation='per_unit' (or a lower lam)"
        )
    elif kept_epoch is not None:
        cause = (
            f"early stopping kept epoch {kept_epoch}, whose codes matched best on the held-out pairs, before "
            "the reconstruction beat the mean: the codes are fine for transform, but generate and the "
            "reconstructions are not; if you need them, fit with early_stopping=False"
        )
    else:
        cause = "training probably stopped far from convergence: use epochs='auto' (or more epochs), or raise lr"
    chosen = not out_of_range and (lam >= HEAVY_LAM or kept_epoch is not None)
    msg = "predicting the training mean beats " + " and ".join(worse)
    return f"{msg} (in the model's units, after any scaling): {cause}.", chosen
