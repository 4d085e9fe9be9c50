"""Where a fit's time goes: torch.profiler's per-operator table for the two workloads whose speed
goals are open, in one run.

    python benchmarks/profile_fit.py                  # both workloads, 2 torch threads
    python benchmarks/profile_fit.py --workload paper --threads 1

* ``paper``: the paper's recipe on MNIST halves' shapes (392 + 392, k = 50, batch 100, the fused
  engine, float32 and bfloat16 products), 20 000 training rows (200 steps an epoch), 2 epochs
  after a warm-up fit.
* ``sparse``: the defaults on CLDR Russian names (sparse character n-grams, the canonical objective,
  full-batch L-BFGS), one whole fit.

For each: wall time, the time inside torch operators (self CPU, summed), the rest (Python, the
loop, the optimiser's own bookkeeping), and the operators grouped: matrix products, elementwise
and reductions, sparse kernels, the rest; then the top operators. Needs MNIST in ``$CORRNET_DATA``
(or ``../shared/data``) for ``paper`` (synthetic data of the same shapes otherwise) and babel for
``sparse``.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

MATMUL = ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear", "aten::baddbmm")
SPARSE = ("sparse", "csr", "_to_dense", "to_dense")


def _group(name: str) -> str:
    if name in MATMUL:
        return "matrix products"
    if any(s in name.lower() for s in SPARSE):
        return "sparse kernels"
    if name.startswith("aten::") or name.startswith("Optimizer"):
        return "elementwise, reductions, copies"
    return "other"


def _report(title: str, prof: profile, wall: float, top: int) -> None:
    events = [e for e in prof.key_averages() if e.key.startswith("aten::")]
    inside = sum(e.self_cpu_time_total for e in events) / 1e6
    rest = wall - inside
    print(f"\n== {title}: wall {wall:.3f} s; inside torch operators {inside:.3f} s ({100 * inside / wall:.0f} %),"
          f" the rest (Python, loop, optimiser bookkeeping) {rest:.3f} s ({100 * rest / wall:.0f} %)")
    groups: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    for e in events:
        groups[_group(e.key)] += e.self_cpu_time_total / 1e6
        calls[_group(e.key)] += e.count
    for g, t in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"   {g:34s} {t:8.3f} s  {100 * t / wall:5.1f} % of wall  {calls[g]:8d} calls")
    print(f"   top {top} operators by self CPU time:")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:top]:
        print(f"   {e.key:40s} {e.self_cpu_time_total / 1e3:9.1f} ms  {e.count:7d} calls"
              f"  {e.self_cpu_time_total / max(e.count, 1):7.1f} us/call")


def _paper_views() -> tuple[np.ndarray, np.ndarray, str]:
    try:
        from corrnet.datasets import mnist_halves

        d = mnist_halves()
        return d.X_train[:20000], d.Y_train[:20000], "MNIST halves"
    except (FileNotFoundError, OSError, ValueError):
        rng = np.random.default_rng(0)
        return rng.random((20000, 392), dtype=np.float32), rng.random((20000, 392), dtype=np.float32), "synthetic"


def paper(top: int) -> None:
    from corrnet import CorrNet

    X, Y, what = _paper_views()
    for precision in ("float32", "bfloat16"):
        kw = dict(engine="fused", device="cpu", random_state=0, precision=precision)
        CorrNet.paper(epochs=1, **kw).fit(X[:2000], Y[:2000])  # warm-up
        est = CorrNet.paper(epochs=2, **kw)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t = time.perf_counter()
            est.fit(X, Y)
            wall = time.perf_counter() - t
        steps = 2 * len(X) // 100
        title = f"paper recipe, fused engine, {precision} products, {what}, {steps} steps"
        _report(f"{title} ({1e3 * wall / steps:.2f} ms a step, the fit's set-up and checks included)", prof, wall, top)


def sparse(top: int) -> None:
    from corrnet import CorrNet
    from corrnet.experiments.quality import TASKS

    v = TASKS["cldr-names-ru"].load(None)
    CorrNet(128, random_state=0).fit(v.train[0][:200], v.train[1][:200])  # warm-up
    est = CorrNet(128, random_state=0)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t = time.perf_counter()
        est.fit(*v.train)
        wall = time.perf_counter() - t
    shape = f"{v.train[0].shape[0]} rows, {v.train[0].shape[1]} + {v.train[1].shape[1]} columns"
    _report(f"defaults on CLDR Russian ({shape}; {est.optimizer_}, {est.n_iter_} epochs)", prof, wall, top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=("paper", "sparse", "both"), default="both")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    if args.workload in ("paper", "both"):
        paper(args.top)
    if args.workload in ("sparse", "both"):
        sparse(args.top)


if __name__ == "__main__":
    main()
