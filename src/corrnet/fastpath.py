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

from collections.abc import Callable

import torch
from torch import Tensor

from . import objective
from .config import Config
from .model import CorrNetModule
from .objective import LossTerms, pass_name, pass_subsets

# the objective's terms (objective.terms) whose gradients are derived here; any other term: autograd
DERIVES = frozenset({"reconstruction", "correlation"})


def supported(model: CorrNetModule, config: Config) -> bool:
    """True where the hand-derived gradients apply (otherwise autograd is used): two views, one layer
    each way (no hidden encoder or decoder layers), joint fusion (on batches without masks), and an
    objective made only of the terms in ``DERIVES``, every column reconstructed."""
    if not set(objective.terms(config)) <= DERIVES or config.reconstruction_samples:
        return False
    hidden = [m.hidden for m in (*model.encoders, *(model.decoders or ()))]
    return model.n_views == 2 and model.fusion == "joint" and not any(hidden)


# f(a) and grad * f'(a) (from the activation's output f(a)), each one fused kernel written over
# its input: every tensor they touch is the step's own (its buffers or a fresh gradient), so no
# new (P, B, d) or (Q, B, k) allocation. The identity ("linear") has no entry: it is a no-op.
_ACT_INPLACE = {"sigmoid": Tensor.sigmoid_, "tanh": Tensor.tanh_, "relu": Tensor.relu_}
_ACT_BACKWARD_INPLACE = {
    "sigmoid": lambda grad, out: torch.ops.aten.sigmoid_backward.grad_input(grad, out, grad_input=grad),
    "tanh": lambda grad, out: torch.ops.aten.tanh_backward.grad_input(grad, out, grad_input=grad),
    "relu": lambda grad, out: torch.ops.aten.threshold_backward.grad_input(grad, out, 0, grad_input=grad),
}
_SCALE = {"half_squared": 1.0, "squared": 2.0}  # dErr/dx_hat = scale * (x_hat - x); mse: 2 / d


def _act_(name: str, a: Tensor) -> Tensor:
    """f(a), written over ``a``."""
    fn = _ACT_INPLACE.get(name)
    return a if fn is None else fn(a)


def _act_backward_(name: str, grad: Tensor, out: Tensor) -> Tensor:
    """grad * f'(a), written over ``grad``, from the activation's output ``out = f(a)``."""
    fn = _ACT_BACKWARD_INPLACE.get(name)
    return grad if fn is None else fn(grad, out)


def make_step(
    model: CorrNetModule, config: Config, workspace: bool = True, low_precision: bool = False
) -> Callable[[Tensor, Tensor], LossTerms]:
    """``step(x, y)``: :func:`loss_and_grads` for this model and configuration, with what depends only
    on the configuration (the passes, their order, the constants) worked out once.

    ``workspace``: the two (P, B, d) buffers of each view's reconstruction (its output, then its
    error and gradient, each overwritten in place) are kept and reused by the next step of the same
    batch size, not allocated afresh. A fresh multi-megabyte buffer per step costs about as much
    as the elementwise pass that first writes it (the allocator returns such blocks to the system
    and the next step page-faults them back in: about 1 000 faults a step on a 1 080 x 316 table).
    The buffers never leave the step. ``False`` (for ``torch.compile``) allocates each step.

    The codes of all passes live in one (Q, B, k) tensor (``both`` first when it is reconstructed,
    then ``x`` and ``y``), so each elementwise step is one kernel over every pass, and the
    correlation term works on the last two as one (2, B, k) tensor. The constant factor of the
    reconstruction gradient (the loss's scale over B) is applied to the small (P*B, k), (k, d) and
    (d,) results, never to the (P, B, d) reconstructions. At CorrNet's sizes each kernel launch
    from Python costs about as much as the elementwise work it does, so fewer kernels is the lever.

    ``low_precision``: the ten matrix products take bfloat16 operands (rounded from the float32
    weights, inputs, codes and error gradients; the products accumulate in float32 and come back as
    float32); everything else stays float32: the activations, the errors, the correlation term, the
    weights and the optimiser. On CPUs with bfloat16 instructions (AVX512-BF16, AMX) the products
    run 2-3x faster at CorrNet's shapes. Against float32 (``tests/test_fastpath.py``): the loss
    within 1 %, each per-unit correlation within 0.005, each gradient within 3 % in norm with smooth
    hidden units (ReLU units near their kink may switch, so theirs can differ more).
    """
    return _FusedStep(model, config, workspace, low_precision)


def _bf16(t: Tensor) -> Tensor:
    return t.to(torch.bfloat16)


def _wide(t: Tensor) -> Tensor:
    """A product from bfloat16 operands back in float32; any other tensor as it is."""
    return t.float() if t.dtype == torch.bfloat16 else t


def _mm(a: Tensor, b: Tensor, out: Tensor) -> Tensor:
    """``a @ b`` written into the float32 ``out`` (from bfloat16 operands: their product, converted)."""
    return torch.mm(a, b, out=out) if a.dtype == out.dtype else out.copy_(a @ b)


class _FusedStep:
    """The step :func:`make_step` returns: the forward and every gradient of one paired batch."""

    def __init__(self, model: CorrNetModule, config: Config, workspace: bool, low_precision: bool = False) -> None:
        self.model, self.config, self.workspace = model, config, workspace
        self.low = low_precision
        self.rounded: dict[str, Tensor] = {}  # low precision: this step's operands, rounded to bfloat16
        self.names = tuple(pass_name(s, 2) for s in pass_subsets(tuple(config.reconstruct_from), 2))
        self.order = ("both", "x", "y") if "both" in self.names else ("x", "y")
        self.sel = [self.order.index(p) for p in self.names]
        self.every = len(self.sel) == len(self.order)  # every code tensor is reconstructed: no gather, no scatter
        self.buffers: dict[tuple[str, tuple[int, ...]], Tensor] = {}

    def buffer(self, name: str, shape: tuple[int, ...], like: Tensor) -> Tensor:
        """An uninitialised (shape) tensor like ``like``: this step's own, reused across steps."""
        if not self.workspace:
            return like.new_empty(shape)
        b = self.buffers.get((name, shape))
        if b is None or b.device != like.device or b.dtype != like.dtype:
            if len(self.buffers) >= 20:  # 5 buffers per batch size; batch sizes come and go: keep about 4
                self.buffers.clear()
            b = self.buffers[(name, shape)] = like.new_empty(shape)
        return b

    def recon_grad(self, pre: Tensor, t: Tensor, view: str) -> tuple[Tensor, Tensor, float]:
        """(G (P, B, d), summed error per pass (P,), c): dErr/dpre = c * G, for pre-activations
        pre (P, B, d) of target t (B, d); ``pre`` is overwritten."""
        loss = self.config.loss
        if loss == "bce":  # sigmoid output (validated): the logit form is exact and stable
            err = torch.nn.functional.binary_cross_entropy_with_logits(pre, t.expand_as(pre), reduction="none")
            return torch.sigmoid(pre) - t, err.sum((1, 2)), 1.0
        # two (P, B, d) buffers, each written in place: pre becomes the output g(pre), e = out - t
        # becomes the gradient. At these sizes a fresh buffer per elementwise op cost about as much
        # again as the op (allocation, page faults, cold cache lines).
        out_act = self.model.output_activation
        out = _act_(out_act, pre)
        e = torch.sub(out, t, out=self.buffer("err_" + view, tuple(pre.shape), pre))
        scale = _SCALE.get(loss) or 2.0 / pre.shape[-1]
        sq = torch.linalg.vector_norm(e.view(e.shape[0], -1), dim=1).square()
        return _act_backward_(out_act, e, out), sq * (scale / 2), scale

    def codes(self, x: Tensor, y: Tensor) -> Tensor:
        """The codes of every pass, (Q, B, k): ``both`` (when reconstructed), ``x``, ``y``."""
        model = self.model
        W, V, b = model.encoders[0].proj.weight, model.encoders[1].proj.weight, model.b  # (k, d_v), (k,)
        A = self.buffer("codes", (len(self.order), x.shape[0], model.k), x)  # pre-activations, then the codes
        if self.low:  # each operand rounded once a step: the inputs and the tied weights are used twice
            self.rounded = {"x": _bf16(x), "y": _bf16(y), "W": _bf16(W), "V": _bf16(V)}
            r = self.rounded
            ax, ay = A[-2].copy_(r["x"] @ r["W"].T), A[-1].copy_(r["y"] @ r["V"].T)
        else:
            ax, ay = torch.mm(x, W.T, out=A[-2]), torch.mm(y, V.T, out=A[-1])  # (B, k) each, shared by the passes
        if len(self.order) == 3:
            torch.add(ax, ay, out=A[0])
        return _act_(model.hidden_activation, A.add_(b))  # (Q, B, k)

    def decoders(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(Dx, Dy, bx, by): each view's decoder weight as (k, d), used as ``h @ D``, and its bias."""
        model = self.model
        if model.tied:
            return (model.encoders[0].proj.weight, model.encoders[1].proj.weight, *model.out_bias)
        dec_x, dec_y = (dec.out for dec in model.decoders)
        return dec_x.weight.T, dec_y.weight.T, dec_x.bias, dec_y.bias

    def reconstruction(self, H: Tensor, x: Tensor, y: Tensor) -> tuple[Tensor, dict, Tensor, tuple]:
        """(the summed error, per pass, dL/dH (Q, B, k), the tied decoders' weight gradients); sets
        the untied decoders' and the output biases' ``.grad``."""
        model, sel, B, k = self.model, self.sel, x.shape[0], self.model.k
        P = len(sel)
        codes = H.view(-1, k) if self.every else H[sel].reshape(-1, k)  # (P*B, k)
        Dx, Dy, bx, by = self.decoders()
        # codes @ D, then the bias added in place (addmm would first copy the broadcast bias into a
        # (P*B, d) buffer: one more pass over it)
        ox, oy = self.buffer("out_x", (P * B, x.shape[1]), x), self.buffer("out_y", (P * B, y.shape[1]), y)
        if self.low:  # rounded once, used twice
            codes = _bf16(codes)
            Dx, Dy = (self.rounded["W"], self.rounded["V"]) if model.tied else (_bf16(Dx), _bf16(Dy))
        gx, ex, cx = self.recon_grad(_mm(codes, Dx, ox).add_(bx).view(P, B, -1), x, "x")
        gy, ey, cy = self.recon_grad(_mm(codes, Dy, oy).add_(by).view(P, B, -1), y, "y")
        per_pass = (ex + ey) / B  # (P,) mean over rows
        recon = {p: per_pass[i] for i, p in enumerate(self.names)}
        cx, cy = cx / B, cy / B
        gx, gy = gx.view(P * B, -1), gy.view(P * B, -1)
        if self.low:
            gx_mm, gy_mm = _bf16(gx), _bf16(gy)
            dcodes = (gx_mm @ Dx.T).float().mul_(cx).add_((gy_mm @ Dy.T).float(), alpha=cy).view(P, B, k)
        else:
            gx_mm, gy_mm = gx, gy
            dcodes = (gx @ Dx.T).addmm_(gy, Dy.T, beta=cx, alpha=cy).view(P, B, k)
        if self.every:
            dH = dcodes
        else:
            dH = H.new_zeros(H.shape)
            dH[sel] = dcodes
        tied_grads: tuple = ()
        if model.tied:
            tied_grads = _wide(codes.T @ gx_mm).mul_(cx), _wide(codes.T @ gy_mm).mul_(cy)  # (k, d)
        else:
            dec_x, dec_y = (dec.out for dec in model.decoders)
            dec_x.weight.grad = _wide(gx_mm.T @ codes).mul_(cx)
            dec_y.weight.grad = _wide(gy_mm.T @ codes).mul_(cy)
        bx.grad, by.grad = gx.sum(0).mul_(cx), gy.sum(0).mul_(cy)
        return per_pass.sum(), recon, dH, tied_grads

    def no_reconstruction(self, H: Tensor) -> Tensor:
        """dL/dH without reconstruction terms (zeros), the decoders' gradients zero."""
        model = self.model
        if model.tied:
            for bias in model.out_bias:
                bias.grad = torch.zeros_like(bias)
        else:
            for lin in (dec.out for dec in model.decoders):
                lin.weight.grad, lin.bias.grad = torch.zeros_like(lin.weight), torch.zeros_like(lin.bias)
        return torch.zeros_like(H)

    def correlation(self, H: Tensor, dH: Tensor) -> Tensor:
        """The per-unit correlations (k,) of the two single-view codes; adds -lam * their gradient to dH.
        Both views' codes are one (2, B, k) tensor."""
        lam = self.config.lam
        C = H[-2:] - H[-2:].mean(1, keepdim=True)  # centred codes from x alone and from y alone
        s2 = (C * C).sum(1).add_(self.config.corr_eps)  # (2, k): squared centred norms (+ eps)
        sxy = s2.prod(0).sqrt_()  # sx * sy
        corr = torch.linalg.vecdot(C[0], C[1], dim=0) / sxy  # (k,)
        if lam:  # d corr / d h_x = c_y / (sx sy) - corr c_x / sx^2 (and symmetrically)
            dH[-2:] -= (C.flip(0) / sxy - C * (corr / s2).unsqueeze(1)).mul_(lam)
        return corr

    def encoder_grads(self, H: Tensor, dH: Tensor, x: Tensor, y: Tensor, tied_grads: tuple) -> None:
        """The encoders' ``.grad`` (and the shared bias's) from dL/dH; ``dH`` is overwritten."""
        model = self.model
        W, V = model.encoders[0].proj.weight, model.encoders[1].proj.weight
        dA = _act_backward_(model.hidden_activation, dH, H)  # (Q, B, k), over dH (the step's own)
        dax, day = (dA[1] + dA[0], dA[2] + dA[0]) if len(self.order) == 3 else (dA[0], dA[1])
        if self.low:
            r = self.rounded
            dW, dV = (_bf16(dax).T @ r["x"]).float(), (_bf16(day).T @ r["y"]).float()
            W.grad, V.grad = (tied_grads[0].add_(dW), tied_grads[1].add_(dV)) if tied_grads else (dW, dV)
        elif tied_grads:
            dW_dec, dV_dec = tied_grads
            W.grad, V.grad = dW_dec.addmm_(dax.T, x), dV_dec.addmm_(day.T, y)  # in place: no copy of dW_dec
        else:
            W.grad, V.grad = dax.T @ x, day.T @ y
        model.b.grad = dA.sum((0, 1))

    def __call__(self, x: Tensor, y: Tensor) -> LossTerms:
        with torch.no_grad():
            H = self.codes(x, y)
            recon: dict[str, Tensor] = {}
            total, tied_grads = x.new_zeros(()), ()
            if self.names:
                total, recon, dH, tied_grads = self.reconstruction(H, x, y)
            else:
                dH = self.no_reconstruction(H)
            corr = self.correlation(H, dH)
            total = objective.combine(total, corr.sum(), self.config)
            self.encoder_grads(H, dH, x, y, tied_grads)
        return LossTerms(total, recon, corr)


def loss_and_grads(model: CorrNetModule, x: Tensor, y: Tensor, config: Config) -> LossTerms:
    """The CorrNet objective on a paired batch x (B, d_x), y (B, d_y), with every parameter's
    ``.grad`` set (overwritten). Equal (to float rounding) to ``corrnet_loss(...).total.backward()``
    for supported models. A training loop builds the step once with :func:`make_step`."""
    return make_step(model, config)(x, y)
