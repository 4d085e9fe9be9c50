"""The one loop every experiment runs: each method over each seed, its rows kept as they come.

An experiment supplies ``run(method, seed)``, which fits and scores one method with one seed and
returns its row (a dict of scores and timings) or several rows (one per direction, say); the
harness puts ``method`` and ``seed`` first in each row, runs a deterministic method once, calls
``after(rows)`` after every run (so a stopped experiment keeps the tables of the runs it finished)
and prints each row when ``verbose``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

Row = dict[str, Any]


def over_methods_and_seeds(
    methods: Iterable[str],
    seeds: Sequence[int],
    run: Callable[[str, int], Row | list[Row]],
    *,
    once: Iterable[str] = (),
    after: Callable[[list[Row]], Any] | None = None,
    verbose: bool = True,
    describe: Callable[[Row], str] | None = None,
) -> list[Row]:
    """Every method (in order) over every seed; a method in ``once`` (deterministic: CCA, a random
    baseline) over the first seed only. Returns the rows, each starting with ``method`` and ``seed``.
    ``describe`` formats a row for ``verbose`` (default: JSON)."""
    once = set(once)
    rows: list[Row] = []
    for method in methods:
        for seed in seeds[:1] if method in once else seeds:
            out = run(method, seed)
            for row in out if isinstance(out, list) else [out]:
                rows.append({"method": method, "seed": seed, **row})
                if verbose:
                    print(describe(rows[-1]) if describe else json.dumps(rows[-1], default=str), flush=True)
            if after is not None:
                after(rows)
    return rows
