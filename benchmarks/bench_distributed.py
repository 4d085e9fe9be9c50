"""Data-parallel throughput: `corrnet train --nproc N` for N = 1, 2 (this machine) on MNIST-halves-sized data.

    python benchmarks/bench_distributed.py [--rows 50000] [--batch 100] [--epochs 2] [--nproc 1,2]

Synthetic views of MNIST halves' shape (392 + 392, values in [0, 1]), 50 hidden units, shuffling off,
autograd engine everywhere (the engine data parallelism uses), `batch_size` per process. Each run is
a real CLI process (N = 1: one process; N > 1: torchrun's launcher and N gloo workers). Rows/s are
the training rows of all epochs over the fit's wall time as the CLI reports it (the history's
per-epoch times, summed), so process start-up is left out. All runs in one go, so the ratios share
the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--nproc", default="1,2")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        z = rng.normal(size=(args.rows, 10)).astype(np.float32)
        for name in ("X", "Y"):
            W = rng.normal(size=(10, 392)).astype(np.float32)
            np.save(Path(tmp) / f"{name}.npy", 1 / (1 + np.exp(-(z @ W))))
        out = []
        for n in (int(v) for v in args.nproc.split(",")):
            cmd = [sys.executable, "-m", "corrnet", "train", "--x", f"{tmp}/X.npy", "--y", f"{tmp}/Y.npy"]
            cmd += ["--out", f"{tmp}/m{n}", "--epochs", str(args.epochs), "--device", "cpu", "--json", "-q"]
            cmd += ["--set", f"batch_size={args.batch}", "--set", "shuffle=false", "--set", "tol=none"]
            cmd += ["--set", "engine=autograd", "--set", "scale=none", "--nproc", str(n)]
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            r = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
            hist = json.loads(open(f"{tmp}/m{n}/model.json").read())["history"]
            secs = sum(h["time_s"] for h in hist)
            row = {"nproc": n, "batch_per_process": args.batch, "epochs": len(hist), "train_s": secs}
            row["rows_per_s"] = args.rows * len(hist) / secs
            out.append(row)
            print(json.dumps(row), flush=True)
            del r
    base = out[0]["rows_per_s"]
    for row in out:
        print(f"nproc {row['nproc']}: {row['rows_per_s']:,.0f} rows/s ({row['rows_per_s'] / base:.2f}x)")


if __name__ == "__main__":
    main()
