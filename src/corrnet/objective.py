"""The CorrNet objective as small pure functions of tensors.

``loss = mean_rows( sum_passes [ err(x, x_hat_p) + err(y, y_hat_p) ] ) - lam * sum_j corr_j``

with passes p in {(x, y), (x, 0), (0, y)} (each switchable: the original code's ablations) and
``corr_j`` the Pearson correlation over the batch between unit j of ``h(x, 0)`` and ``h(0, y)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .config import Config
from .model import CorrNetModule


def _wide(t: Tensor) -> Tensor:
    """Half-precision tensors are upcast to float32 for reductions; float32/64 stay as they are."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def correlation(hx: Tensor, hy: Tensor, eps: float = 1e-8) -> Tensor:
    """Per-unit Pearson correlation over the rows, numerically safe.

    Parameters
    ----------
    hx, hy : (B, k) tensors
    eps : added inside each square root of the denominator (the original code's ``1e-8``). It keeps
        the value and its gradient finite when a unit is constant over the batch (then corr = 0) and
        for B = 1 or 2; it shrinks the correlation of units whose centred norm is comparable to
        ``sqrt(eps) = 1e-4`` (negligible for any unit that varies).

    Returns
    -------
    (k,) tensor in [-1, 1]; float32 (at least) even under fp16/bf16 autocast.
    """
    hx, hy = _wide(hx), _wide(hy)
    cx = hx - hx.mean(dim=0, keepdim=True)
    cy = hy - hy.mean(dim=0, keepdim=True)
    num = (cx * cy).sum(dim=0)
    den = torch.sqrt((cx * cx).sum(dim=0) + eps) * torch.sqrt((cy * cy).sum(dim=0) + eps)
    return num / den


def reconstruction_error(target: Tensor, out: Tensor, loss: str, logits: bool = False) -> Tensor:
    """Per-row reconstruction error, summed over the last dimension (features).

    ``target`` (..., B, d) broadcasts against ``out`` (..., B, d). ``loss``: ``half_squared``
    (sum (x - x_hat)^2 / 2, the original code), ``squared`` (sum (x - x_hat)^2, the paper),
    ``mse`` (mean over features, Keras' ``mse``), ``bce`` (sum of binary cross-entropies; with
    ``logits=True`` ``out`` holds pre-sigmoid values and the stable fused form is used).
    Returns a (..., B) tensor.
    """
    if loss == "bce":
        target = target.expand_as(out)
        if logits:
            return F.binary_cross_entropy_with_logits(out, target, reduction="none").sum(-1)
        return F.binary_cross_entropy(out.clamp(1e-7, 1 - 1e-7), target, reduction="none").sum(-1)
    sq = (out - target).pow(2)
    if loss == "mse":
        return sq.mean(-1)
    s = sq.sum(-1)
    return 0.5 * s if loss == "half_squared" else s


@dataclass
class LossTerms:
    """Scalars of one batch; ``total`` is what is minimised. ``recon`` maps pass name to the mean
    over rows of the x plus y reconstruction error of that pass; ``corr`` is (k,)."""

    total: Tensor
    recon: dict[str, Tensor]
    corr: Tensor


def corrnet_loss(model: CorrNetModule, x: Tensor, y: Tensor, config: Config) -> LossTerms:
    """The CorrNet objective on a paired batch x (B, d_x), y (B, d_y)."""
    use_logits = config.loss == "bce"
    out = model(x, y, passes=tuple(config.reconstruct_from), logits=use_logits)
    recon: dict[str, Tensor] = {}
    total = x.new_zeros(())
    if out.names:
        ex = reconstruction_error(x, out.x_hat, config.loss, logits=use_logits)  # (P, B)
        ey = reconstruction_error(y, out.y_hat, config.loss, logits=use_logits)
        per_pass = _wide(ex + ey).mean(dim=1)  # (P,)
        recon = {name: per_pass[i] for i, name in enumerate(out.names)}
        total = per_pass.sum()
    corr = correlation(out.h_x, out.h_y, config.corr_eps)
    if config.lam:
        total = total - config.lam * corr.sum()
    return LossTerms(total, recon, corr)


def single_view_loss(model: CorrNetModule, config: Config, x: Tensor | None = None, y: Tensor | None = None) -> Tensor:
    """Self-reconstruction of rows that have one view only: ``err(x, x_hat(h(x, 0)))`` for x-only
    rows (or the same for y-only rows), mean over rows. No correlation and no cross-reconstruction:
    those need both views of a row."""
    if (x is None) == (y is None):
        raise ValueError("single_view_loss takes exactly one view.")
    h = model.encode(x=x, y=y)
    px, py = model._decode_pre(h)
    target, pre = (x, px) if x is not None else (y, py)
    logits = config.loss == "bce"
    out = pre if logits else model.g(pre)
    return _wide(reconstruction_error(target, out, config.loss, logits=logits)).mean()


def semi_paired_loss(
    model: CorrNetModule,
    config: Config,
    x: Tensor,
    y: Tensor,
    x_only: Tensor | None = None,
    y_only: Tensor | None = None,
    weight: float = 1.0,
) -> LossTerms:
    """The objective of a batch with paired rows (x, y) and unpaired rows: the full CorrNet
    objective on the paired rows only, plus ``weight`` times the self-reconstruction of the
    x-only and y-only rows. The correlation and cross-reconstruction terms never see an unpaired row."""
    terms = corrnet_loss(model, x, y, config)
    total = terms.total
    recon = dict(terms.recon)
    for name, rows in (("x_only", x_only), ("y_only", y_only)):
        if rows is not None and len(rows):
            e = single_view_loss(model, config, **{name[0]: rows})
            recon[name] = e
            total = total + weight * e
    return LossTerms(total, recon, terms.corr)
