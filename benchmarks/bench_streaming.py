"""Views larger than memory: rows/s and peak resident memory against the number of rows, for views
loaded in memory and the same .npy files memory-mapped and streamed (corrnet.data.MappedRows).

    python benchmarks/bench_streaming.py [--rows 100000,1000000,10000000] [--width 32] [--dir DIR]

Two float32 views of ``--width`` columns each (values in [0, 1], correlated through 8 latent
factors) are written to DIR (default: a temporary directory; 10⁷ rows of width 32 take 2.6 GB).
Each (rows, mode) runs in a fresh process: a warm-up fit on 8 000 in-memory rows (imports, kernels,
allocator), then one epoch of ``CorrNet(n_components=50, batch_size=1000)`` with shuffling on the
file's views: ``memory`` loads them (``np.load``), ``stream`` memory-maps them (``mmap_mode="r"``).
Reported: the epoch's training rows/s (history's ``time_s``), the whole fit's wall time (the
streamed fit first scans the views once: checks and scaling), and the peak resident set size
(``VmHWM``, reset at the process start: Linux carries it across ``exec``) before the data was touched
and at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

RUN = """
import json, sys, time, numpy as np
from corrnet import CorrNet
def hwm():  # peak resident memory (VmHWM) in bytes; reset once at start (it is inherited across exec)
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
open("/proc/self/clear_refs", "w").write("5")
kw = dict(n_components=50, batch_size=1000, epochs=1, tol=None, random_state=0, device="cpu", validation_fraction=None)
A = np.random.default_rng(1).random((8000, int(sys.argv[3])), dtype=np.float32)
CorrNet(**kw).fit(A, A[:, ::-1].copy())
rss0 = hwm()
X, Y = (np.load(f"{sys.argv[1]}/{v}.npy", mmap_mode="r") for v in ("x", "y"))
t = time.perf_counter()
if sys.argv[2] == "memory":
    X, Y = np.load(f"{sys.argv[1]}/x.npy"), np.load(f"{sys.argv[1]}/y.npy")
est = CorrNet(**kw).fit(X, Y)
wall = time.perf_counter() - t
rss1 = hwm()
print(json.dumps({"epoch_s": est.history_[0]["time_s"], "wall_s": wall, "rss0": rss0, "rss1": rss1}))
"""


def write_views(folder: Path, n: int, width: int) -> None:
    rng = np.random.default_rng(0)
    for name in ("x", "y"):
        mm = np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=np.float32, shape=(n, width))
        W = rng.normal(size=(8, width)).astype(np.float32)
        for s in range(0, n, 100_000):  # in blocks: writing stays small in memory too
            z = np.random.default_rng(s).normal(size=(min(100_000, n - s), 8)).astype(np.float32)
            noise = rng.normal(size=(len(z), width)).astype(np.float32)
            mm[s : s + len(z)] = 1 / (1 + np.exp(-(z @ W / 2 + noise)))
        mm.flush()
        del mm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="100000,1000000,10000000")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--dir")
    ap.add_argument("--modes", default="memory,stream")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        rows = []
        for n in (int(v) for v in args.rows.split(",")):
            write_views(Path(tmp), n, args.width)
            for mode in args.modes.split(","):
                cmd = [sys.executable, "-c", RUN, tmp, mode, str(args.width)]
                r = subprocess.run(cmd, capture_output=True, text=True, check=True)
                res = json.loads(r.stdout.strip().splitlines()[-1])
                rows.append((n, mode, res))
                print(
                    f"rows {n:>10,}  {mode:<6}  {n / res['epoch_s']:>9,.0f} rows/s  fit {res['wall_s']:6.1f} s  "
                    f"peak RSS {res['rss0'] / 2**20:6.0f} MiB before -> {res['rss1'] / 2**20:6.0f} MiB",
                    flush=True,
                )
    gb = 2 * args.width * 4 / 1e9
    print("\n| rows | on disk | mode | rows/s (epoch) | fit wall time | peak RSS (before data → end) |")
    print("|---|---|---|---|---|---|")
    for n, mode, r in rows:
        print(
            f"| {n:,} | {n * gb:.2f} GB | {mode} | {n / r['epoch_s']:,.0f} | {r['wall_s']:.1f} s | "
            f"{r['rss0'] / 2**20:,.0f} → {r['rss1'] / 2**20:,.0f} MiB |"
        )


if __name__ == "__main__":
    main()
