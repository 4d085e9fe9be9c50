"""The CorrNet network: per-view input layers into one shared hidden layer, and per-view decoders.

``h(x, y) = f(W x + V y + b)``; ``x_hat = g(W' h + b')``, ``y_hat = g(V' h + c')``. A missing view is
fed as zeros, so ``h(x, 0)`` and ``h(0, y)`` are the common representation computed from one view.

The three training passes, from ``(x, y)``, ``(x, 0)`` and ``(0, y)``, share the per-view
pre-activations ``W x`` and ``V y``: :meth:`CorrNetModule.forward` computes each once, adds the
(constant) contribution of an all-zero view, and decodes the three codes with one matmul per view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .config import Config


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

    ``codes`` is (P, B, k) for the P requested passes in ``names`` order (subset of
    ``("both", "x", "y")``); ``h_x``/``h_y`` are (B, k) views into it (or computed separately
    when the correlation needs them but their reconstruction pass is switched off);
    ``x_hat``/``y_hat`` are (P, B, d_x) / (P, B, d_y) *pre-activations* when ``logits=True``
    (for a fused BCE) else activated outputs.
    """

    names: tuple[str, ...]
    codes: Tensor
    h_x: Tensor
    h_y: Tensor
    x_hat: Tensor | None
    y_hat: Tensor | None


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


class ViewEncoder(nn.Module):
    """One view's path to the joint layer: optional hidden layers, then a bias-free projection to k.

    The joint bias ``b`` lives in :class:`CorrNetModule` (one shared hidden bias, as the original);
    with ``fusion='sum'`` each view gets its own bias and activation instead.
    """

    def __init__(self, d_in: int, layers: tuple[int, ...], k: int, act: str, bias_last: bool) -> None:
        super().__init__()
        self.hidden = nn.ModuleList()
        d = d_in
        for width in layers:
            self.hidden.append(nn.Linear(d, width))
            d = width
        self.proj = nn.Linear(d, k, bias=bias_last)
        self.act = activation(act)

    def forward(self, x: Tensor) -> Tensor:  # (B, d_in) -> (B, k) pre-activation
        for layer in self.hidden:
            x = self.act(layer(x))
        return self.proj(x)


class ViewDecoder(nn.Module):
    """k -> d_out, mirroring the encoder's hidden layers; untied weights."""

    def __init__(self, k: int, layers: tuple[int, ...], d_out: int, act: str) -> None:
        super().__init__()
        self.hidden = nn.ModuleList()
        d = k
        for width in reversed(layers):
            self.hidden.append(nn.Linear(d, width))
            d = width
        self.out = nn.Linear(d, d_out)
        self.act = activation(act)

    def forward(self, h: Tensor) -> Tensor:  # (N, k) -> (N, d_out) pre-activation
        for layer in self.hidden:
            h = self.act(layer(h))
        return self.out(h)


class CorrNetModule(nn.Module):
    """CorrNet as a ``torch.nn.Module``.

    Parameters
    ----------
    d_x, d_y : int
        Widths of the two views.
    config : Config
        Architecture fields used: ``n_components`` (k), ``encoder_layers``, ``hidden_activation``,
        ``output_activation``, ``tied``, ``fusion``, ``init``.
    generator : torch.Generator, optional
        Source of randomness for the initial weights (determinism).
    """

    def __init__(self, d_x: int, d_y: int, config: Config, generator: torch.Generator | None = None):
        super().__init__()
        c = config
        if c.output_activation == "auto":
            raise ValueError("output_activation='auto' is resolved by CorrNet.fit; pass a concrete activation.")
        self.d_x, self.d_y, self.k = int(d_x), int(d_y), int(c.n_components)
        self.fusion, self.tied = c.fusion, c.tied
        self.hidden_activation, self.output_activation = c.hidden_activation, c.output_activation
        self.f = activation(c.hidden_activation)
        self.g = activation(c.output_activation)
        layers = tuple(int(s) for s in c.encoder_layers)
        sum_fusion = c.fusion == "sum"
        self.enc_x = ViewEncoder(self.d_x, layers, self.k, c.hidden_activation, bias_last=sum_fusion)
        self.enc_y = ViewEncoder(self.d_y, layers, self.k, c.hidden_activation, bias_last=sum_fusion)
        self.b = None if sum_fusion else nn.Parameter(torch.zeros(self.k))
        if c.tied:
            # x_hat = g(W^T h + b'): the encoder's weight is reused, only the biases are new.
            self.dec_x = self.dec_y = None
            self.b_x = nn.Parameter(torch.zeros(self.d_x))
            self.b_y = nn.Parameter(torch.zeros(self.d_y))
        else:
            self.dec_x = ViewDecoder(self.k, layers, self.d_x, c.hidden_activation)
            self.dec_y = ViewDecoder(self.k, layers, self.d_y, c.hidden_activation)
            self.b_x = self.b_y = None
        for m in self.modules():
            if isinstance(m, nn.Linear):
                out_act = c.output_activation if m in (self._out_layers()) else c.hidden_activation
                _init_linear(m, c.init, out_act, generator)

    def _out_layers(self) -> tuple[nn.Linear, ...]:
        if self.dec_x is None:
            return ()
        return (self.dec_x.out, self.dec_y.out)

    # -- building blocks ---------------------------------------------------------------------
    def _pre_x(self, x: Tensor | None, n: int) -> Tensor:
        """View x's contribution to the joint pre-activation, (n, k); an absent view is zeros."""
        if x is not None:
            return self.enc_x(x)
        if not self.enc_x.hidden and self.enc_x.proj.bias is None:
            return self.b.new_zeros(1, self.k).expand(n, self.k)
        return self.enc_x(self.enc_x.proj.weight.new_zeros(1, self.d_x)).expand(n, self.k)

    def _pre_y(self, y: Tensor | None, n: int) -> Tensor:
        if y is not None:
            return self.enc_y(y)
        if not self.enc_y.hidden and self.enc_y.proj.bias is None:
            return self.b.new_zeros(1, self.k).expand(n, self.k)
        return self.enc_y(self.enc_y.proj.weight.new_zeros(1, self.d_y)).expand(n, self.k)

    def _fuse(self, ax: Tensor, ay: Tensor) -> Tensor:
        if self.fusion == "sum":
            return self.f(ax) + self.f(ay)
        return self.f(ax + ay + self.b)

    def _decode_pre(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """(N, k) codes -> pre-activations (N, d_x), (N, d_y)."""
        if self.tied:
            return h @ self.enc_x.proj.weight + self.b_x, h @ self.enc_y.proj.weight + self.b_y
        return self.dec_x(h), self.dec_y(h)

    # -- public API --------------------------------------------------------------------------
    def encode(self, x: Tensor | None = None, y: Tensor | None = None) -> Tensor:
        """Common representation, (B, k), from whichever views are given (missing = zeros)."""
        if x is None and y is None:
            raise ValueError("encode needs at least one view: pass x, y or both.")
        n = (x if x is not None else y).shape[0]
        return self._fuse(self._pre_x(x, n), self._pre_y(y, n))

    def decode(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """Reconstructions (x_hat (B, d_x), y_hat (B, d_y)) from codes h (B, k)."""
        px, py = self._decode_pre(h)
        return self.g(px), self.g(py)

    def forward(
        self,
        x: Tensor,
        y: Tensor,
        passes: tuple[str, ...] = ("both", "x", "y"),
        logits: bool = False,
    ) -> Passes:
        """Fused three-pass forward for a paired batch.

        Parameters
        ----------
        x : (B, d_x) tensor
        y : (B, d_y) tensor
        passes : which reconstruction passes to decode, a subset of ``("both", "x", "y")``;
            ``h_x = h(x, 0)`` and ``h_y = h(0, y)`` are always returned (the correlation needs them).
        logits : return decoder pre-activations instead of ``g(...)`` (for a fused BCE).
        """
        n = x.shape[0]
        ax, ay = self.enc_x(x), self.enc_y(y)  # (B, k) each: computed once, shared by all passes
        ax0, ay0 = self._pre_x(None, n), self._pre_y(None, n)  # an all-zero view: (B, k) broadcast
        h_x = self._fuse(ax, ay0)
        h_y = self._fuse(ax0, ay)
        by_name = {"x": h_x, "y": h_y}
        if "both" in passes:
            by_name["both"] = self._fuse(ax, ay)
        names = tuple(p for p in ("both", "x", "y") if p in passes)
        codes = torch.stack([by_name[p] for p in names]) if names else h_x.new_zeros(0, n, self.k)
        x_hat = y_hat = None
        if names:
            px, py = self._decode_pre(codes.reshape(-1, self.k))  # one matmul per view for all passes
            x_hat = px.view(len(names), n, self.d_x)
            y_hat = py.view(len(names), n, self.d_y)
            if not logits:
                x_hat, y_hat = self.g(x_hat), self.g(y_hat)
        return Passes(names, codes, h_x, h_y, x_hat, y_hat)
