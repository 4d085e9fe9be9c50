"""The original CorrNet code's RMSprop variant.

``v = rho * v + (1 - rho) * g^2;  p -= lr * g / sqrt(v + eps)`` with rho = 0.9, eps = 1e-8 *inside*
the square root and no momentum. ``torch.optim.RMSprop`` differs: it adds eps outside the sqrt
(``sqrt(v) + eps``), which changes the first steps, where v is tiny.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor


def _undecorated(fn: Any) -> Any:
    """``fn`` without the wrappers torch puts around it (``functools.wraps`` chains)."""
    return inspect.unwrap(fn)


class _Eager:
    """Mixin for a torch optimiser that leaves ``torch._dynamo`` unimported.

    torch wraps ``Optimizer.add_param_group``, ``state_dict``, ``load_state_dict``, ``zero_grad``
    and each built-in ``step`` so that ``torch.compile`` does not trace them. The wrappers import
    ``torch._dynamo`` on their first call: 1.3-2.7 CPU seconds, and seconds more of garbage
    collection when the process exits, which was most of a small table's first fit in a new process
   . corrnet never calls an optimiser inside ``torch.compile`` (its ``compile`` engine
    compiles the loss and its gradients only), so the undecorated methods do the same work; the
    steps run under ``no_grad``, as torch's wrappers do for a non-differentiable optimiser.
    """

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        _undecorated(torch.optim.Optimizer.add_param_group)(self, param_group)

    def state_dict(self) -> dict[str, Any]:
        return _undecorated(torch.optim.Optimizer.state_dict)(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _undecorated(torch.optim.Optimizer.load_state_dict)(self, state_dict)

    def zero_grad(self, set_to_none: bool = True) -> None:
        _undecorated(torch.optim.Optimizer.zero_grad)(self, set_to_none)

    @torch.no_grad()
    def step(self, closure=None):
        return _undecorated(super().step.__func__)(self, closure)


class Adam(_Eager, torch.optim.Adam):
    """``torch.optim.Adam`` without the ``torch._dynamo`` import (:class:`_Eager`)."""


class AdamW(_Eager, torch.optim.AdamW):
    """``torch.optim.AdamW`` without the ``torch._dynamo`` import (:class:`_Eager`)."""


class RMSprop(_Eager, torch.optim.RMSprop):
    """``torch.optim.RMSprop`` without the ``torch._dynamo`` import (:class:`_Eager`)."""


class SGD(_Eager, torch.optim.SGD):
    """``torch.optim.SGD`` without the ``torch._dynamo`` import (:class:`_Eager`)."""


class LBFGS(_Eager, torch.optim.LBFGS):
    """``torch.optim.LBFGS`` without the ``torch._dynamo`` import (:class:`_Eager`)."""


class OriginalRMSprop(_Eager, torch.optim.Optimizer):
    """RMSprop exactly as the original Theano CorrNet code (``lr=0.01, rho=0.9, eps=1e-8``)."""

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        rho: float = 0.9,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if lr <= 0 or not 0 <= rho < 1 or eps <= 0:
            raise ValueError(f"invalid RMSprop settings lr={lr}, rho={rho}, eps={eps}.")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            if group["weight_decay"]:
                grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
            vs = []
            for p in params:
                state = self.state[p]
                if "v" not in state:
                    state["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                vs.append(state["v"])
            rho = group["rho"]
            torch._foreach_mul_(vs, rho)
            torch._foreach_addcmul_(vs, grads, grads, value=1 - rho)
            denom = torch._foreach_add(vs, group["eps"])
            torch._foreach_sqrt_(denom)
            torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])
        return loss


# optimizer="lbfgs": one epoch is one LBFGS.step() of this many iterations (each step() call
# re-evaluates the objective once before it starts, so an epoch of one iteration would cost ~2x)
LBFGS_EPOCH_ITERS = 10


def make_optimizer(name: str, params: Iterable[Tensor], lr: float, weight_decay: float = 0.0):
    """Build the optimiser named in ``config.OPTIMIZERS``."""
    params = list(params)
    if name == "rmsprop_original":
        return OriginalRMSprop(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":  # Keras' RMSprop defaults: rho 0.9, eps 1e-7
        return RMSprop(params, lr=lr, alpha=0.9, eps=1e-7, weight_decay=weight_decay)
    if name == "adam":
        return Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "adamw":
        return AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "sgd":
        return SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if name == "lbfgs":  # full batch; the line search sets the step (lr does not apply)
        if weight_decay:
            raise ValueError("optimizer='lbfgs' has no weight_decay; use optimizer='adamw' (or 'adam').")
        return LBFGS(
            params,
            lr=1.0,
            max_iter=LBFGS_EPOCH_ITERS,
            max_eval=4 * LBFGS_EPOCH_ITERS,  # line searches included (torch's default, 1.25x, cuts epochs short)
            history_size=10,
            line_search_fn="strong_wolfe",
        )
    raise ValueError(f"unknown optimizer {name!r}.")


def scheduled_lr(lr: float, schedule: str, step: int, total_steps: int) -> float:
    """The learning rate of optimiser step ``step`` (0-based) of a run of ``total_steps`` steps.

    ``constant``: ``lr`` throughout. ``cosine``: ``lr * (1 + cos(pi * step / total_steps)) / 2``,
    from ``lr`` at the first step down to 0 at the end (half a cosine, no restarts, no warm-up).
    """
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * min(step / max(total_steps, 1), 1.0)))
    raise ValueError(f"unknown lr_schedule {schedule!r}; use 'constant' or 'cosine'.")
