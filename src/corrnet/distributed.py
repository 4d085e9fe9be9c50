"""Data-parallel training on ``torch.distributed`` with the exact CorrNet objective.

The correlation term is not a sum over rows, so averaging per-process losses would optimise another
objective. Here each process computes its rows' sufficient statistics (n, Σh₁, Σh₂, Σh₁², Σh₂², Σh₁h₂
per unit and view pair, float64), they are summed over the processes (one all-reduce), and every
process computes the correlation of the global batch from the sums. The reconstruction terms are
weighted by 1 / (rows in the global batch), so the sum of the processes' losses is the global
batch's loss. After the backward pass the gradients are summed (one all-reduce of one flat buffer).

Why the all-reduce's backward is the identity: every process computes the same function ``L(S)`` of
the summed statistics ``S = Σ_r s_r``, so ``∂L/∂s_r = ∂L/∂S`` on process r, which is exactly the
gradient arriving at the all-reduce's output there. Summing the parameter gradients over the
processes afterwards gives the gradient of the global batch's loss.

Semantics: ``batch_size`` is per process. Every process builds the same batch plan (same seed, same
data) for batches of ``world_size * batch_size`` rows and keeps its contiguous share of each, so with
shuffling off, N processes with batch B train like one process with batch N·B (to float rounding).
Rank 0 alone logs, checkpoints and writes files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor


class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) whose backward passes the gradient through unchanged (see module doc)."""

    @staticmethod
    def forward(ctx, t: Tensor) -> Tensor:  # type: ignore[override]
        t = t.clone()
        dist.all_reduce(t)
        return t

    @staticmethod
    def backward(ctx, g: Tensor) -> Tensor:  # type: ignore[override]
        return g


@dataclass(frozen=True)
class Dist:
    """This process's place in the default process group."""

    rank: int
    world_size: int

    @classmethod
    def current(cls) -> Dist:
        """The initialised default group (``torchrun`` or ``init_process_group`` started it)."""
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError(
                "distributed=True needs a torch.distributed process group: start the processes with "
                "torchrun (or `corrnet train --nproc N`), or call torch.distributed.init_process_group first."
            )
        return cls(dist.get_rank(), dist.get_world_size())

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def sum(self, t: Tensor) -> Tensor:
        """Differentiable sum over the processes (identity backward)."""
        return _SumOverProcesses.apply(t)

    def shard(self, rows: Tensor | slice) -> Tensor | slice:
        """This process's contiguous share of a global batch's rows (shares differ by at most one row)."""
        start, n = (rows.start, rows.stop - rows.start) if isinstance(rows, slice) else (0, len(rows))
        bounds = np.linspace(0, n, self.world_size + 1).round().astype(int)
        lo, hi = int(bounds[self.rank]), int(bounds[self.rank + 1])
        return slice(start + lo, start + hi) if isinstance(rows, slice) else rows[lo:hi]

    def sum_grads(self, model: torch.nn.Module) -> None:
        """Sum every parameter's gradient over the processes (one flat all-reduce)."""
        params = list(model.parameters())
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        dist.all_reduce(flat)
        offset = 0
        for p in params:
            p.grad.copy_(flat[offset : offset + p.numel()].view_as(p))
            offset += p.numel()

    def broadcast_params(self, model: torch.nn.Module) -> None:
        """Start every process from rank 0's weights."""
        for t in model.state_dict().values():
            dist.broadcast(t, src=0)

    def check_same(self, what: str, values: tuple[int, ...]) -> None:
        """Fail on every rank, with one message, when the ranks disagree on ``values`` (e.g. data shapes)."""
        mine = torch.tensor(values, dtype=torch.float64)
        lo, hi = mine.clone(), mine.clone()
        dist.all_reduce(lo, op=dist.ReduceOp.MIN)
        dist.all_reduce(hi, op=dist.ReduceOp.MAX)
        if not torch.equal(lo, hi):
            raise ValueError(
                f"the processes disagree on {what} (rank {self.rank} has {values}; the range over ranks is "
                f"{lo.long().tolist()} .. {hi.long().tolist()}): every process must be given the same data."
            )
