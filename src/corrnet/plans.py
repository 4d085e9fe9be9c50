"""Batch sources (where rows come from) and batch plans (which rows form each optimiser step).

The training loop only runs a plan: for each step, the plan names one or more *parts*, each a set of
rows of one source; the loop computes each part's loss, accumulates the gradients and steps the
optimiser once. The semi-paired strategies are plans, not branches of the loop:

- ``paired``: every step is one batch of fully paired rows (the paper);
- ``alternate``: single-view batches interleaved evenly with the paired batches;
- ``mixed``: every step holds ``paired_per_batch`` paired rows plus single-view rows, cycling;
- pretraining is an ``alternate`` plan without paired rows (the estimator runs it first).

Randomness: each epoch draws one permutation per source from the loop's generator, in source order
(the paired rows' only when shuffling), so a run is reproducible from its seed and resumable.
A plan with ``chunk_rows`` (a streamed source, :class:`corrnet.data.MappedRows`) shuffles the order of
the chunks and the rows within each chunk instead, so every batch lies in one chunk and an epoch reads
each chunk once; with one chunk that is the same permutation as without chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Source:
    """Rows of N views held as dense tensors on the training device.

    ``views[i]`` is (n, d_i), or None when no row of this source has view i (a single-view source);
    ``mask`` (n, N) bool, optional, says which rows have which view when that varies by row;
    ``weight`` multiplies the source's reconstruction terms (``unpaired_weight``).
    """

    views: list[Tensor | None]
    mask: Tensor | None = None
    weight: float = 1.0

    def __len__(self) -> int:
        return next(v for v in self.views if v is not None).shape[0]

    @property
    def present(self) -> tuple[int, ...]:
        """The views this source holds."""
        return tuple(i for i, v in enumerate(self.views) if v is not None)

    @property
    def paired(self) -> bool:
        """Every row has every view: the full objective, fast path included."""
        return self.mask is None and len(self.present) == len(self.views)

    def take(self, rows: Tensor | slice | None) -> tuple[list[Tensor | None], Tensor | None]:
        """The views (and mask) of these rows (None: every row, the views themselves)."""
        if rows is None:
            return list(self.views), self.mask
        xs = [None if v is None else _gather(v, rows) for v in self.views]
        return xs, None if self.mask is None else _gather(self.mask, rows)


def _gather(v: Tensor, rows: Tensor | slice) -> Tensor:
    """``v[rows]``. A dense tensor's rows by index go through ``index_select``, the same copy at
    2.5x the speed of advanced indexing (two 100-row batches of MNIST halves: 120 against 300 us,
    a tenth of a paper-recipe step; profiled)."""
    if isinstance(rows, Tensor) and isinstance(v, Tensor) and v.layout == torch.strided and rows.dtype == torch.long:
        return torch.index_select(v, 0, rows)
    return v[rows]


Part = tuple[int, "Tensor | slice | None"]  # (source index, rows of that source; None: all)


def batch_starts(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Contiguous [start, stop) slices of an epoch. A trailing batch of a single row is merged into
    the previous one (a correlation over one row is undefined)."""
    slices = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if len(slices) > 1 and slices[-1][1] - slices[-1][0] < 2:
        last = slices.pop()
        slices[-1] = (slices[-1][0], last[1])
    return slices


class Plan:
    """Which rows of which sources form each step of an epoch.

    Parameters
    ----------
    sources : the first is the paired source (it may be empty: pretraining); the others hold rows
        with a subset of the views.
    batch_size : rows per step (per single-view batch in ``alternate``).
    shuffle : visit the paired rows in a new random order each epoch (single-view rows always are),
        unless one batch holds every row of the only source.
    paired_per_batch : None: ``alternate`` (or ``paired`` with one source); an int: ``mixed``, each
        step holds that many paired rows and ``batch_size - paired_per_batch`` single-view rows,
        shared evenly by the single-view sources.
    chunk_rows : shuffle by chunks of this many rows (a multiple of ``batch_size``), then within each
        chunk; one paired source only. Unshuffled plans are the same with or without it.
    """

    def __init__(
        self,
        sources: list[Source],
        batch_size: int,
        shuffle: bool,
        paired_per_batch: int | None = None,
        chunk_rows: int | None = None,
    ) -> None:
        self.sources, self.batch_size, self.shuffle = sources, batch_size, shuffle
        if chunk_rows is not None and (len(sources) > 1 or chunk_rows % batch_size):
            raise ValueError(
                f"chunk_rows={chunk_rows} needs one paired source and a multiple of batch_size={batch_size}."
            )
        self.chunk_rows = chunk_rows
        self.mixed = paired_per_batch is not None and len(sources) > 1
        n = len(sources[0])  # 0 when pretraining: single-view rows only
        if n == 1:
            raise ValueError("one paired row cannot be trained on: the correlation needs at least 2 paired rows.")
        if self.mixed and not 2 <= paired_per_batch < batch_size:
            raise ValueError(f"paired_per_batch must be in [2, batch_size={batch_size}), got {paired_per_batch}.")
        self.paired_per_batch = paired_per_batch if self.mixed else None
        if self.mixed:  # single-view rows per step, shared evenly by the sources (the last gets the rest)
            n_single, m = batch_size - paired_per_batch, len(sources) - 1
            self.takes = [n_single // m] * (m - 1) + [n_single - (n_single // m) * (m - 1)]
        paired = [(0, s, e) for s, e in batch_starts(n, paired_per_batch if self.mixed else batch_size)] if n else []
        if self.mixed or len(sources) == 1:
            self.schedule = paired
            # one batch of all rows (full-batch L-BFGS): its order would change only float rounding,
            # and a fixed order lets an epoch reuse the previous one's last evaluation exactly
            self.shuffle = shuffle and not (len(sources) == 1 and len(paired) == 1 and chunk_rows is None)
            return
        parts = {0: paired}
        for si in range(1, len(sources)):
            parts[si] = [(si, s, e) for s, e in batch_starts(len(sources[si]), batch_size)]
        # interleave the sources evenly through the epoch (stable order: deterministic)
        keyed = [((j + 0.5) / len(p), si, b) for si, p in parts.items() for j, b in enumerate(p)]
        self.schedule = [b for *_, b in sorted(keyed)]

    @property
    def steps_per_epoch(self) -> int:
        return len(self.schedule)

    def epoch(self, generator: torch.Generator, device: torch.device) -> Iterator[list[Part]]:
        """The steps of one epoch: each a list of parts, the paired part (if any) first."""
        if self.chunk_rows is not None and self.shuffle:
            return self._chunked_epoch(generator, device)
        return iter(self._epoch(generator, device))

    def _chunked_epoch(self, generator: torch.Generator, device: torch.device) -> Iterator[list[Part]]:
        """Chunks in a random order, rows shuffled within each; drawn lazily (memory flat in rows)."""
        bounds = batch_starts(len(self.sources[0]), self.chunk_rows)
        order = torch.randperm(len(bounds), generator=generator).tolist() if len(bounds) > 1 else [0]
        for c in order:
            cs, ce = bounds[c]
            perm = (cs + torch.randperm(ce - cs, generator=generator)).to(device)
            for s, e in batch_starts(ce - cs, self.batch_size):
                yield [(0, perm[s:e])]

    def _epoch(self, generator: torch.Generator, device: torch.device) -> list[list[Part]]:
        n = len(self.sources[0])
        perms: list[Tensor | None] = [torch.randperm(n, generator=generator).to(device) if self.shuffle and n else None]
        perms += [torch.randperm(len(s), generator=generator).to(device) for s in self.sources[1:]]
        steps = []
        for bi, (si, s, e) in enumerate(self.schedule):
            rows = slice(s, e) if perms[si] is None else perms[si][s:e]
            step: list[Part] = [(si, rows)]
            if self.mixed:  # this step's share of single-view rows, cycling through each source
                for j, take in enumerate(self.takes, start=1):
                    idx = (bi * take + torch.arange(take, device=device)) % len(self.sources[j])
                    step.append((j, perms[j][idx]))
            steps.append(step)
        return steps
