"""The CorrNet network for N views: per-view input layers into one shared hidden layer, and per-view
decoders.

``h(x_1, ..., x_N) = f(sum_i W_i x_i + b)``; ``x_hat_v = g(W'_v h + b'_v)``. A missing view is fed as
zeros, so ``h(x_i, 0, ..., 0)`` is the common representation computed from view i alone. Two views
(``h(x, y) = f(W x + V y + b)``, the paper) are the case N = 2.

A view is an index: ``encoders[i]``, ``decoders[i]``. The reconstruction passes (the code computed
from a subset S of the views) share the per-view pre-activations ``W_i x_i``:
:meth:`CorrNetModule.forward` computes each once, adds the (constant) contribution of an all-zero
view for the views outside S, and decodes all passes' codes with one matmul per view.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import Config
from .data import dense, linear


def _identity(t: Tensor) -> Tensor:
    return t


_ACT = {  # module-level functions, not lambdas: a fitted estimator must pickle
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "linear": _identity,
}


def activation(name: str):
    """Return the elementwise function for an activation name (see ``config.ACTIVATIONS``)."""
    return _ACT[name]


@dataclass
class Passes:
    """Output of :meth:`CorrNetModule.forward` for a batch of B rows.

    ``subsets`` are the P passes' input views (tuples of view indices); ``codes`` is (P, B, k),
    their codes in that order; ``singles[i]`` is (B, k), ``h`` from view i alone (the correlation
    needs them whether or not a single-view pass is decoded); ``outs[v]`` is (P, B, d_v), view v
    decoded from every pass: *pre-activations* when ``logits=True`` (for a fused BCE), else
    activated outputs (empty list when P = 0; None for a view the forward was told to skip).
    """

    subsets: tuple[tuple[int, ...], ...]
    codes: Tensor
    singles: list[Tensor]
    outs: list[Tensor | None]


def _init_linear(layer: nn.Linear, scheme: str, act: str, generator: torch.Generator | None) -> None:
    """``original``: the Theano code's ``4 * U(+-sqrt(6 / (fan_in + fan_out)))`` for sigmoid units
    (Glorot's sigmoid variant; plain Glorot for tanh/linear, He-uniform for relu); biases 0.
    ``torch``: PyTorch's own ``nn.Linear`` default (kept for the seed-blog preset)."""
    fan_out, fan_in = layer.weight.shape
    with torch.no_grad():
        if scheme == "torch":
            bound = 1 / math.sqrt(fan_in)
            layer.weight.uniform_(-bound, bound, generator=generator)
            if layer.bias is not None:
                layer.bias.uniform_(-bound, bound, generator=generator)
            return
        if act == "relu":
            bound = math.sqrt(6.0 / fan_in)
        else:
            bound = math.sqrt(6.0 / (fan_in + fan_out)) * (4.0 if act == "sigmoid" else 1.0)
        layer.weight.uniform_(-bound, bound, generator=generator)
        if layer.bias is not None:
            layer.bias.zero_()


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in inference mode inside the block (batch norm's running statistics), then back in
    the mode it was in: a read of the model during training leaves it training, one after ``fit``
    leaves it in inference mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


class ViewEncoder(nn.Module):
    """One view's path to the joint layer: optional hidden layers (each ``act(W x + b)``, or
    ``act(LayerNorm(W x + b))`` with ``norm="layer"``, or ``act(BatchNorm(W x + b))`` with
    ``norm="batch"``), then a bias-free projection to k.

    The joint bias ``b`` lives in :class:`CorrNetModule` (one shared hidden bias, as the original);
    with ``fusion='sum'`` each view gets its own bias and activation instead.
    """

    def __init__(
        self, d_in: int, layers: tuple[int, ...], k: int, act: str, bias_last: bool, norm: str | None = None
    ) -> None:
        super().__init__()
        self.hidden = nn.ModuleList()
        d = d_in
        for width in layers:
            self.hidden.append(nn.Linear(d, width))
            d = width
        self.proj = nn.Linear(d, k, bias=bias_last)
        self.act = activation(act)
        self.norm = norm
        if norm == "batch":  # BatchNorm1d's defaults (affine, momentum 0.1, eps 1e-5), as Deep CCA's baseline
            self.batch_norms = nn.ModuleList(nn.BatchNorm1d(layer.out_features) for layer in self.hidden)

    def zero_row(self, d_in: int) -> Tensor:
        """An absent view's input, (1, d_in) zeros, on the layer's device and dtype."""
        return self.proj.weight.new_zeros(1, d_in)

    def forward(self, x: Tensor, constant: bool = False) -> Tensor:
        """(B, d_in) -> (B, k) pre-activation. ``constant``: x is an absent view's zero row, which
        batch norm normalises with its running statistics (a batch of one has none of its own)."""
        for i, layer in enumerate(self.hidden):
            z = linear(layer, x)  # (B, width)
            if self.norm == "layer":
                z = F.layer_norm(z, (layer.out_features,))  # a Python int: ONNX export traces it
            elif self.norm == "batch":
                bn = self.batch_norms[i]
                if constant:
                    z = F.batch_norm(z, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
                else:
                    z = bn(z)
            x = self.act(z)
        return linear(self.proj, x)


def _expect_shape(out: Tensor, shape: tuple[int, int], name: str, meaning: str, role: str) -> Tensor:
    """``out``, a custom module's output, checked to have ``shape`` (not while tracing for export)."""
    if not torch.jit.is_tracing() and tuple(out.shape) != shape:
        raise ValueError(
            f"{name} returned shape {tuple(out.shape)} for {shape[0]} rows; it must return {meaning} = {shape}, "
            f"{role}."
        )
    return out


class CustomEncoder(nn.Module):
    """A user's ``nn.Module`` as one view's encoder: (B, d_in) -> (B, k), the view's contribution to
    the joint layer's pre-activation. A sparse batch reaches it dense (B rows); an absent view's zero
    row is encoded in inference mode (batch norm's running statistics), as the built-in encoder does."""

    hidden = True  # not the single-layer model the fused engine derives: autograd trains it
    proj = None

    def __init__(self, module: nn.Module, view: int, k: int) -> None:
        super().__init__()
        self.module, self.view, self.k = module, view, k

    def zero_row(self, d_in: int) -> Tensor:
        like = next(iter(self.module.parameters()), None)
        return torch.zeros(1, d_in) if like is None else like.new_zeros(1, d_in)

    def forward(self, x: Tensor, constant: bool = False) -> Tensor:
        if constant:
            with eval_mode(self.module):
                out = self.module(x)
        else:
            out = self.module(dense(x))
        return _expect_shape(out, (x.shape[0], self.k), f"encoders[{self.view}]", "(n_rows, n_components)",
                             "the view's contribution to the joint layer")


class CustomDecoder(nn.Module):
    """A user's ``nn.Module`` as one view's decoder: codes (N, k) -> (N, d_out), the pre-activation
    of the output activation."""

    hidden = True

    def __init__(self, module: nn.Module, view: int, d_out: int) -> None:
        super().__init__()
        self.module, self.view, self.d_out = module, view, d_out

    def forward(self, h: Tensor) -> Tensor:
        return _expect_shape(self.module(h), (h.shape[0], self.d_out), f"decoders[{self.view}]",
                             "(n_rows, the view's width)", "the pre-activation of the output activation")


def _custom(modules: Sequence[nn.Module | None] | None, n_views: int, name: str) -> list[nn.Module | None]:
    """The given per-view modules (copied: a fit never changes the user's), checked; None: built in."""
    if modules is None:
        return [None] * n_views
    if isinstance(modules, nn.Module) or len(modules) != n_views:
        raise ValueError(
            f"{name} must be a list of {n_views} entries, one per view (an nn.Module, or None for the built-in "
            f"one), got {modules!r:.80}."
        )
    for i, m in enumerate(modules):
        if m is not None and not isinstance(m, nn.Module):
            raise ValueError(f"{name}[{i}] is a {type(m).__name__}, not a torch.nn.Module (or None).")
    return [None if m is None else copy.deepcopy(m) for m in modules]


class ViewDecoder(nn.Module):
    """k -> d_out through hidden layers of the given widths (from the code outwards); untied weights."""

    def __init__(self, k: int, layers: tuple[int, ...], d_out: int, act: str) -> None:
        super().__init__()
        self.hidden = nn.ModuleList()
        d = k
        for width in layers:
            self.hidden.append(nn.Linear(d, width))
            d = width
        self.out = nn.Linear(d, d_out)
        self.act = activation(act)

    def forward(self, h: Tensor) -> Tensor:  # (N, k) -> (N, d_out) pre-activation
        for layer in self.hidden:
            h = self.act(layer(h))
        return self.out(h)


class CorrNetModule(nn.Module):
    """CorrNet over N views as a ``torch.nn.Module``.

    Parameters
    ----------
    dims : sequence of int
        Widths of the views (two or more).
    config : Config
        Architecture fields used: ``n_components`` (k), ``encoder_layers``, ``decoder_layers``,
        ``encoder_activation``, ``encoder_norm``, ``hidden_activation``, ``output_activation``, ``tied``,
        ``fusion``, ``init``, ``correlation`` (``canonical``: two views, and the alignment buffers below).
    generator : torch.Generator, optional
        Source of randomness for the initial weights (determinism).

    Attributes
    ----------
    encoders : ModuleList of ViewEncoder, one per view
    decoders : ModuleList of ViewDecoder, one per view (None when ``tied``)
    out_bias : ParameterList of (d_v,) decoder biases (tied only: the weights are the encoders')
    b : (k,) joint bias (None with ``fusion='sum'``)
    align_mean, align_proj : (2, k) and (2, k, k) buffers, ``correlation="canonical"`` only: the final
        linear CCA of the training codes that :meth:`represent` applies (see
        :func:`corrnet.objective.canonical_alignment`)
    """

    def __init__(
        self,
        dims: Sequence[int],
        config: Config,
        generator: torch.Generator | None = None,
        encoders: Sequence[nn.Module | None] | None = None,
        decoders: Sequence[nn.Module | None] | None = None,
    ):
        super().__init__()
        c = config
        if c.output_activation == "auto":
            raise ValueError("output_activation='auto' is resolved by CorrNet.fit; pass a concrete activation.")
        self.dims = tuple(int(d) for d in dims)
        if len(self.dims) < 2:
            raise ValueError(f"CorrNet needs at least two views, got {len(self.dims)}.")
        self.k = int(c.n_components)
        self.fusion, self.tied = c.fusion, c.tied
        self.hidden_activation, self.output_activation = c.hidden_activation, c.output_activation
        self.f = activation(c.hidden_activation)
        self.g = activation(c.output_activation)
        layers = tuple(int(s) for s in c.encoder_layers)
        sum_fusion = c.fusion == "sum"
        enc_act = c.encoder_activation or c.hidden_activation  # the encoder (and mirrored decoder) layers'
        custom_enc = _custom(encoders, len(self.dims), "encoders")
        custom_dec = _custom(decoders, len(self.dims), "decoders")
        if c.tied and any(m is not None for m in custom_enc + custom_dec):
            raise ValueError(
                "tied=True reuses the encoders' weights as decoders: not with custom modules; use tied=False."
            )
        self.encoders = nn.ModuleList(
            ViewEncoder(d, layers, self.k, enc_act, bias_last=sum_fusion, norm=c.encoder_norm)
            if m is None
            else CustomEncoder(m, i, self.k)
            for i, (d, m) in enumerate(zip(self.dims, custom_enc))
        )
        self.b = None if sum_fusion else nn.Parameter(torch.zeros(self.k))
        if c.tied:  # x_hat_v = g(W_v^T h + b'_v): the encoder's weight is reused, only the biases are new
            self.decoders = None
            self.out_bias = nn.ParameterList(nn.Parameter(torch.zeros(d)) for d in self.dims)
        else:
            dec_layers = layers[::-1] if c.decoder_layers is None else tuple(int(s) for s in c.decoder_layers)
            self.decoders = nn.ModuleList(
                ViewDecoder(self.k, dec_layers, d, enc_act) if m is None else CustomDecoder(m, i, d)
                for i, (d, m) in enumerate(zip(self.dims, custom_dec))
            )
            self.out_bias = None
        out_layers = () if self.decoders is None else tuple(getattr(dec, "out", None) for dec in self.decoders)
        projections = tuple(enc.proj for enc in self.encoders)
        given = {id(m) for w in self.modules() if isinstance(w, CustomEncoder | CustomDecoder) for m in w.modules()}
        for m in self.modules():  # encoders first, then decoders: the order fixes the seeded weights
            # each layer initialised for the activation that follows it; a user's module keeps its own weights
            if isinstance(m, nn.Linear) and id(m) not in given:
                act = c.output_activation if m in out_layers else c.hidden_activation if m in projections else enc_act
                _init_linear(m, c.init, act, generator)
        self.canonical = c.correlation == "canonical"
        if self.canonical:  # the final linear CCA of the training codes (fit sets it; until then: identity)
            if self.n_views != 2:
                raise ValueError(f"correlation='canonical' is for two views, got {self.n_views}; use 'per_unit'.")
            self.register_buffer("align_mean", torch.zeros(2, self.k))  # (2, k): each view's code mean
            self.register_buffer("align_proj", torch.eye(self.k).repeat(2, 1, 1))  # (2, k, k)

    @property
    def n_views(self) -> int:
        return len(self.dims)

    # -- building blocks ---------------------------------------------------------------------
    def pre(self, i: int, x: Tensor | None, n: int) -> Tensor:
        """View i's contribution to the joint pre-activation, (n, k); an absent view is zeros."""
        enc = self.encoders[i]
        if x is not None:
            return enc(x)
        if not enc.hidden and enc.proj.bias is None:  # W 0 = 0
            return enc.proj.weight.new_zeros(1, self.k).expand(n, self.k)
        return enc(enc.zero_row(self.dims[i]), constant=True).expand(n, self.k)

    def fuse(self, pres: Sequence[Tensor]) -> Tensor:
        """The code from every view's pre-activation (absent views' constant included), (n, k)."""
        if self.fusion == "sum":
            return sum(self.f(a) for a in pres)
        return self.f(sum(pres) + self.b)

    def decode_pre(self, h: Tensor, views: Sequence[int] | None = None) -> list[Tensor]:
        """(N, k) codes -> the decoder pre-activations [(N, d_v)] of ``views`` (default: all)."""
        views = range(self.n_views) if views is None else views
        if self.tied:
            return [h @ self.encoders[v].proj.weight + self.out_bias[v] for v in views]
        return [self.decoders[v](h) for v in views]

    def decoder_head(self, h: Tensor, view: int) -> tuple[Tensor, Tensor, Tensor]:
        """View ``view``'s decoder split before its last (linear) layer: ``(z, W, b)`` with z (N, m)
        the last hidden layer's output for codes h (N, k) (h itself when the decoder has none), W
        (d, m) and b (d,), so that :meth:`decode_pre` is ``z @ W.T + b``."""
        if self.tied:
            return h, self.encoders[view].proj.weight.T, self.out_bias[view]  # (d, k), (d,)
        dec = self.decoders[view]
        if not self.linear_head(view):
            raise ValueError(f"decoders[{view}] is a custom module: it has no linear last layer to split.")
        for layer in dec.hidden:
            h = dec.act(layer(h))
        return h, dec.out.weight, dec.out.bias

    def linear_head(self, view: int) -> bool:
        """Whether view ``view``'s decoder ends in a linear layer :meth:`decoder_head` can split (every
        built-in decoder; not a custom one)."""
        return self.tied or not isinstance(self.decoders[view], CustomDecoder)

    def decode_columns(self, h: Tensor, view: int, cols: Tensor) -> Tensor:
        """(N, k) codes -> view ``view``'s decoder pre-activations at columns ``cols`` (L,) only,
        (N, L): :meth:`decode_pre`'s output at those columns, decoding L columns instead of d."""
        z, W, b = self.decoder_head(h, view)
        return torch.addmm(b[cols], z, W[cols].T)

    # -- public API --------------------------------------------------------------------------
    def encode(self, xs: Sequence[Tensor | None]) -> Tensor:
        """Common representation, (B, k), from the given views (``None`` = absent = zeros)."""
        if len(xs) != self.n_views:
            raise ValueError(f"encode takes a list of {self.n_views} views (None for absent ones), got {len(xs)}.")
        given = [x for x in xs if x is not None]
        if not given:
            raise ValueError("encode needs at least one view.")
        n = given[0].shape[0]
        return self.fuse([self.pre(i, x, n) for i, x in enumerate(xs)])

    def represent(self, xs: Sequence[Tensor | None]) -> Tensor:
        """What ``transform`` returns, (B, k): :meth:`encode`, except under ``correlation="canonical"``,
        where each given view's code is mapped by its half of the final linear CCA, ``(h_i - mean_i)
        @ proj_i`` (unit i of both views then correlates by the i-th canonical correlation), and
        several given views give the mean of their mapped single-view codes."""
        if not self.canonical:
            return self.encode(xs)
        given = [i for i, x in enumerate(xs) if x is not None]
        out = [self.align(self.encode([xs[i] if j == i else None for j in range(self.n_views)]), i) for i in given]
        if not out:
            raise ValueError("encode needs at least one view.")
        return out[0] if len(out) == 1 else sum(out) / len(out)

    def align(self, h: Tensor, view: int) -> Tensor:
        """View ``view``'s single-view codes h (B, k) as :meth:`represent` returns them: ``(h - mean)
        @ proj`` under ``correlation="canonical"``, else h itself."""
        return (h - self.align_mean[view]) @ self.align_proj[view] if self.canonical else h

    def decode(self, h: Tensor) -> list[Tensor]:
        """Every view reconstructed from codes h (B, k): [(B, d_v)]."""
        return [self.g(p) for p in self.decode_pre(h)]

    def forward(
        self,
        xs: Sequence[Tensor],
        subsets: Sequence[tuple[int, ...]],
        logits: bool = False,
        skip: Sequence[int] = (),
    ) -> Passes:
        """Fused multi-pass forward for a batch whose every view is given (absent rows as zeros).

        Parameters
        ----------
        xs : list of N tensors (B, d_v)
        subsets : the passes to decode, each a tuple of the view indices it is computed from
            (``(0, 1)``: h(x, y); ``(0,)``: h(x, 0)). The single-view codes are always returned.
        logits : return decoder pre-activations instead of ``g(...)`` (for a fused BCE).
        skip : views not to decode (their entry of ``outs`` is None): a sampled or sparse exact
            reconstruction computes their error from ``codes`` itself (:meth:`decode_columns`,
            :meth:`decoder_head`).
        """
        n = xs[0].shape[0]
        act = [enc(x) for enc, x in zip(self.encoders, xs)]  # (B, k) each: computed once, shared by all passes
        zero = [self.pre(i, None, n) for i in range(self.n_views)]  # an all-zero view: (B, k) broadcast

        def code(subset: tuple[int, ...]) -> Tensor:
            return self.fuse([act[i] if i in subset else zero[i] for i in range(self.n_views)])

        singles = [code((i,)) for i in range(self.n_views)]
        by_subset = {(i,): h for i, h in enumerate(singles)}
        subsets = tuple(tuple(s) for s in subsets)
        if not subsets:
            return Passes(subsets, singles[0].new_zeros(0, n, self.k), singles, [])
        codes = torch.stack([by_subset[s] if s in by_subset else code(s) for s in subsets])  # (P, B, k)
        P = len(subsets)
        views = [v for v in range(self.n_views) if v not in skip]
        pre = dict(zip(views, self.decode_pre(codes.reshape(-1, self.k), views)))  # one matmul per view
        outs = [pre[v].view(P, n, -1) if v in pre else None for v in range(self.n_views)]
        if not logits:
            outs = [None if o is None else self.g(o) for o in outs]
        return Passes(subsets, codes, singles, outs)
