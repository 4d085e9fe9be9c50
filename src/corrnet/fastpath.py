"""Hand-derived gradients for the common single-layer CorrNet (``fusion="joint"``, no
``encoder_layers``): one forward, one backward, no autograd graph.

Autograd records ~40 small ops per step for this model and replays them backwards; at CorrNet's
sizes that bookkeeping and the unfused elementwise passes over the (3B, d) reconstructions cost
more than the matmuls. Here each gradient is one expression, computed once. It is used only where
it is exact: ``tests/test_fastpath.py`` checks loss and every gradient against autograd (and so
against the naive reference) for every activation, loss, tying and ablation it supports.

Derivation (B rows, passes p in P, c_p the code of pass p, mean over rows):
  L = (1/B) sum_p sum_rows [err(x, g(Px_p)) + err(y, g(Py_p))] - lam sum_j corr_j(h_x, h_y)
  dL/dPx_p = (1/B) err'(x_hat_p) * g'(Px_p)        (BCE with logits: (sigmoid(Px_p) - x) / B)
  dL/dh_p  = dPx_p Dx + dPy_p Dy                   (tied: Dx = W, Dy = V)
  corr_j = sum cx cy / (sx sy), sx = sqrt(sum cx^2 + eps):
  d corr_j / d hx_i = cy_i / (sx sy) - corr_j cx_i / sx^2  (and symmetrically for hy)
  dA_p = dh_p * f'(A_p);  dW = (dA_both + dA_x)^T x;  dV = (dA_both + dA_y)^T y;  db = sum dA
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import objective
from .config import Config
from .model import CorrNetModule
from .objective import LossTerms, pass_name, pass_subsets

# the objective's terms (objective.terms) whose gradients are derived here; any other term: autograd
DERIVES = frozenset({"reconstruction", "correlation"})


def supported(model: CorrNetModule, config: Config) -> bool:
    """True where the hand-derived gradients apply (otherwise autograd is used): two views, one layer,
    joint fusion (on batches without masks), and an objective made only of the terms in ``DERIVES``."""
    if not set(objective.terms(config)) <= DERIVES:
        return False
    return model.n_views == 2 and model.fusion == "joint" and not any(enc.hidden for enc in model.encoders)


def _act_grad(name: str, out: Tensor) -> Tensor | None:
    """f'(a) written with the activation's output (None: the derivative is 1)."""
    if name == "sigmoid":
        return out * (1 - out)
    if name == "tanh":
        return 1 - out * out
    if name == "relu":
        return (out > 0).to(out.dtype)
    return None


def loss_and_grads(model: CorrNetModule, x: Tensor, y: Tensor, config: Config) -> LossTerms:
    """The CorrNet objective on a paired batch, with every parameter's ``.grad`` set (overwritten).

    Equal (to float rounding) to ``corrnet_loss(...).total.backward()`` for supported models.
    """
    B, k = x.shape[0], model.k
    W, V, b = model.encoders[0].proj.weight, model.encoders[1].proj.weight, model.b  # (k, dx), (k, dy), (k,)
    f = model.f
    with torch.no_grad():
        ax, ay = x @ W.T, y @ V.T  # (B, k) each, shared by the three passes
        names = tuple(pass_name(s, 2) for s in pass_subsets(tuple(config.reconstruct_from), 2))
        A = {"x": ax + b, "y": ay + b}
        if "both" in names:
            A["both"] = ax + ay + b
        H = {p: f(a) for p, a in A.items()}
        h_x, h_y = H["x"], H["y"]
        dH = {p: torch.zeros_like(h) for p, h in H.items()}
        recon: dict[str, Tensor] = {}
        total = x.new_zeros(())
        if names:
            codes = torch.stack([H[p] for p in names]).reshape(-1, k)  # (P*B, k)
            if model.tied:
                Dx, Dy = W, V  # x_hat = g(h W + b'): "decoder weight" (k, d) used as h @ D
                bx, by = model.out_bias
            else:
                dec_x, dec_y = (dec.out for dec in model.decoders)
                Dx, Dy = dec_x.weight.T, dec_y.weight.T  # (k, d)
                bx, by = dec_x.bias, dec_y.bias
            px, py = codes @ Dx + bx, codes @ Dy + by
            P = len(names)
            gpx, ex = _recon_grad(px.view(P, B, -1), x, config.loss, model.output_activation, model.g)
            gpy, ey = _recon_grad(py.view(P, B, -1), y, config.loss, model.output_activation, model.g)
            per_pass = (ex + ey).mean(dim=1)  # (P,)
            recon = {p: per_pass[i] for i, p in enumerate(names)}
            total = per_pass.sum()
            gpx, gpy = gpx.reshape(P * B, -1) / B, gpy.reshape(P * B, -1) / B
            dcodes = (gpx @ Dx.T + gpy @ Dy.T).view(P, B, k)
            for i, p in enumerate(names):
                dH[p] += dcodes[i]
            if model.tied:
                dW_dec, dV_dec = codes.T @ gpx, codes.T @ gpy  # (k, d)
            else:
                dec_x.weight.grad, dec_y.weight.grad = gpx.T @ codes, gpy.T @ codes
            bx.grad, by.grad = gpx.sum(0), gpy.sum(0)
        elif model.tied:
            dW_dec = dV_dec = None
            for bias in model.out_bias:
                bias.grad = torch.zeros_like(bias)
        else:
            for lin in (dec.out for dec in model.decoders):
                lin.weight.grad, lin.bias.grad = torch.zeros_like(lin.weight), torch.zeros_like(lin.bias)
        # correlation term: -lam * sum_j corr_j(h_x, h_y), computed in at least float32
        cx, cy = h_x - h_x.mean(0), h_y - h_y.mean(0)
        sx = torch.sqrt((cx * cx).sum(0) + config.corr_eps)
        sy = torch.sqrt((cy * cy).sum(0) + config.corr_eps)
        corr = (cx * cy).sum(0) / (sx * sy)
        total = objective.combine(total, corr.sum(), config)
        if config.lam:
            sxy = sx * sy
            dH["x"] -= config.lam * (cy / sxy - corr * cx / (sx * sx))
            dH["y"] -= config.lam * (cx / sxy - corr * cy / (sy * sy))
        dA = {}
        for p, h in H.items():
            d = _act_grad(model.hidden_activation, h)
            dA[p] = dH[p] if d is None else dH[p] * d
        dax, day = dA["x"], dA["y"]
        if "both" in dA:
            dax, day = dax + dA["both"], day + dA["both"]
        gW, gV = dax.T @ x, day.T @ y
        if model.tied and names:
            gW, gV = gW + dW_dec, gV + dV_dec
        W.grad, V.grad = gW, gV
        b.grad = sum(a.sum(0) for a in dA.values())
    return LossTerms(total, recon, corr)


def _recon_grad(p: Tensor, t: Tensor, loss: str, out_act: str, g) -> tuple[Tensor, Tensor]:
    """For pre-activations p (P, B, d) and target t (B, d): (dErr/dp (P, B, d), err per row (P, B))."""
    if loss == "bce":  # out_act is sigmoid (validated); the logit form is exact and stable
        out = torch.sigmoid(p)
        err = torch.nn.functional.binary_cross_entropy_with_logits(p, t.expand_as(p), reduction="none").sum(-1)
        return out - t, err
    out = g(p)
    e = out - t
    scale = {"half_squared": 1.0, "squared": 2.0, "mse": 2.0 / p.shape[-1]}[loss]
    err = (e * e).sum(-1) * (scale / 2)
    d = _act_grad(out_act, out)
    grad = e * scale if d is None else e * d * scale
    return grad, err
