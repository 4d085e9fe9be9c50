"""Side-by-side training speed on MNIST halves (392 + 392, 50 hidden, batch 100, 50 000 rows).

    python benchmarks/bench_speed.py                 # all systems, 3 epochs each, table + JSON
    python benchmarks/bench_speed.py --sweep         # corrnet scale sweep (synthetic data, ~15 min)
    python benchmarks/bench_speed.py --device cuda   # the same on a GPU

Each system runs in its own subprocess (clean peak-RSS numbers), all in this one run, so the
ratios are measured under the same machine load. Prints a table and writes benchmarks/results/*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
SYSTEMS = (
    "corrnet-compile",
    "corrnet-fused",
    "corrnet-fused-bf16",
    "corrnet-autograd",
    "plain-pytorch",
    "keras-seed-blog",
    "keras-seed-blog-b32",
)


def flops_per_row(dx: int, dy: int, k: int) -> float:
    """Matmul FLOPs of one training row of the fused step: encoder forward 2k(dx+dy), encoder weight
    gradients 2k(dx+dy), three decodes 6k(dx+dy), their weight and input gradients 12k(dx+dy)."""
    return 22.0 * k * (dx + dy)


def matmul_floor(
    dx: int, dy: int, k: int, B: int, device: str, reps: int = 300, dtype: torch.dtype = torch.float32
) -> dict[str, float]:
    """Time the step's matmuls alone at their real shapes: the physical floor of one step (in
    ``dtype``: bfloat16 is the floor of ``precision="bfloat16"``, its operands already rounded)."""
    dev = torch.device(device)
    x, y = torch.rand(B, dx, device=dev, dtype=dtype), torch.rand(B, dy, device=dev, dtype=dtype)
    W, V = torch.rand(k, dx, device=dev, dtype=dtype), torch.rand(k, dy, device=dev, dtype=dtype)
    H = torch.rand(3 * B, k, device=dev, dtype=dtype)
    Gx, Gy = torch.rand(3 * B, dx, device=dev, dtype=dtype), torch.rand(3 * B, dy, device=dev, dtype=dtype)
    dA = torch.rand(B, k, device=dev, dtype=dtype)

    def step():
        x @ W.T, y @ V.T  # encoder forward
        H @ W, H @ V  # decode the three passes
        Gx @ W.T, Gy @ V.T  # gradient w.r.t. the codes
        H.T @ Gx, H.T @ Gy  # decoder weight gradients
        dA.T @ x, dA.T @ y  # encoder weight gradients

    for _ in range(20):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    per_step = (time.perf_counter() - t) / reps
    fl = flops_per_row(dx, dy, k) * B
    return {"step_s": per_step, "gflops": fl / per_step / 1e9, "flops_per_row": fl / B}


def run_one(system: str, epochs: int, device: str) -> dict:
    sys.path.insert(0, str(HERE))
    import systems

    from corrnet.datasets import mnist_halves

    d = mnist_halves()
    if system == "corrnet-compile":
        r = systems.corrnet(d, epochs, engine="compile", device=device)
    elif system == "corrnet-fused":  # what engine="auto" picks for runs under 20 000 steps
        r = systems.corrnet(d, epochs, engine="fused", device=device)
    elif system == "corrnet-fused-bf16":  # the fused step with bfloat16 matrix products
        r = systems.corrnet(d, epochs, engine="fused", device=device, precision="bfloat16")
    elif system == "corrnet-autograd":
        r = systems.corrnet(d, epochs, engine="autograd", device=device)
    elif system == "plain-pytorch":
        r = systems.plain_pytorch(d, epochs, device=device)
    elif system == "keras-seed-blog":
        r = systems.keras_seed_blog(d, epochs)
    elif system == "keras-seed-blog-b32":
        r = systems.keras_seed_blog(d, epochs, batch_size=32)
    else:
        raise SystemExit(f"unknown system {system}")
    r["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return r


def sweep_rows(rows: int, device: str, steps: int = 100) -> list[dict]:
    """corrnet at one row count (synthetic 392 + 392 data), hidden 50 / 500 / 2000, batch 100 / 1000,
    engines compile and autograd. Hidden 50 trains full epochs on all rows (the second epoch is
    timed, the first compiles/warms up); wider models are timed over ``steps`` optimiser steps and
    rows/s is extrapolated. Memory: this process's peak RSS next to the data's own size."""
    from corrnet import CorrNet

    rng = np.random.default_rng(0)
    X = rng.random((rows, 392), dtype=np.float32)
    Y = rng.random((rows, 392), dtype=np.float32)
    data_mb = (X.nbytes + Y.nbytes) / 2**20
    out = []
    for k in (50, 500, 2000):
        for B in (100, 1000):
            n = rows if k == 50 else min(rows, steps * B)
            for engine in ("compile", "autograd"):
                est = CorrNet.paper(
                    n_components=k, batch_size=B, epochs=2, engine=engine, device=device, random_state=0
                )
                est.fit(X[:n], Y[:n])
                s = est.history_[-1]["time_s"]
                out.append(
                    {
                        "rows": rows,
                        "hidden": k,
                        "batch": B,
                        "engine": engine,
                        "timed_rows": n,
                        "rows_per_s": n / s,
                        "s_per_epoch": rows / (n / s),
                        "data_mb": data_mb,
                        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    }
                )
                print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--epochs", type=int, default=3, help="epochs per system (the first is warm-up)")
    ap.add_argument("--keras-epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sweep", action="store_true", help="run the corrnet scale sweep instead")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--sweep-rows", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(HERE / "results"))
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.one:
        print(json.dumps(run_one(a.one, a.epochs, a.device)))
        return
    Path(a.out).mkdir(parents=True, exist_ok=True)
    info = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": a.device,
    }
    if a.device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    if a.sweep_rows:
        print(json.dumps(sweep_rows(a.sweep_rows, a.device)))
        return
    if a.sweep:
        res = []
        for rows in (10_000, 100_000, 1_000_000):  # one process per row count: clean peak RSS
            cmd = [sys.executable, __file__, "--sweep-rows", str(rows), "--device", a.device]
            if a.threads:
                cmd += ["--threads", str(a.threads)]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode:
                raise SystemExit(p.stderr)
            res += json.loads(p.stdout.strip().splitlines()[-1])
        print("| rows | hidden | batch | engine | rows/s | s/epoch | peak RSS MB (data MB) |")
        print("|---|---|---|---|---|---|---|")
        for r in res:
            print(
                f"| {r['rows']:,} | {r['hidden']} | {r['batch']} | {r['engine']} | {r['rows_per_s']:,.0f} | "
                f"{r['s_per_epoch']:.2f} | {r['peak_rss_mb']:.0f} ({r['data_mb']:.0f}) |"
            )
        (Path(a.out) / f"sweep-{a.device}.json").write_text(json.dumps({"info": info, "results": res}, indent=1))
        return
    floor = matmul_floor(392, 392, 50, 100, a.device)
    floor_epoch = floor["step_s"] * 500
    floor_bf16 = matmul_floor(392, 392, 50, 100, a.device, dtype=torch.bfloat16)
    print(
        f"machine: {info}\nFLOP floor: {floor['flops_per_row'] / 1e6:.2f} MFLOP/row, matmuls at "
        f"{floor['gflops']:.0f} GFLOP/s -> {floor_epoch:.3f} s/epoch (bfloat16 operands: "
        f"{floor_bf16['step_s'] * 500:.3f} s/epoch)",
        flush=True,
    )
    results = {}
    for s in a.systems.split(","):
        ep = a.keras_epochs if s.startswith("keras") else a.epochs
        env = dict(os.environ, KERAS_BACKEND="torch")
        cmd = [sys.executable, __file__, "--one", s, "--epochs", str(ep), "--device", a.device]
        if a.threads:
            cmd += ["--threads", str(a.threads)]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode != 0:
            results[s] = {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"}
            print(f"{s}: failed: {results[s]['error']}", flush=True)
            continue
        results[s] = json.loads(p.stdout.strip().splitlines()[-1])
        print(f"{s}: {results[s]['s_per_epoch']:.3f} s/epoch", flush=True)
    # the floor again after the systems: the machine's speed drifts; the ratios use the mean of the two
    floor_end = matmul_floor(392, 392, 50, 100, a.device)
    floor_epoch = (floor["step_s"] + floor_end["step_s"]) / 2 * 500
    print(f"FLOP floor after the systems: {floor_end['step_s'] * 500:.3f} s/epoch; mean {floor_epoch:.3f}")
    ref = results.get("corrnet-fused", {}).get("s_per_epoch")  # the default engine of runs < 20 000 steps
    print("\n| system | s/epoch | rows/s | x fused | x FLOP floor | peak RSS MB | test sum-corr after epochs |")
    print("|---|---|---|---|---|---|---|")
    for s, r in results.items():
        if "error" in r:
            print(f"| {s} | failed: {r['error'][:60]} | | | | | |")
            continue
        ratio = r["s_per_epoch"] / ref if ref else float("nan")
        n_ep = len(r["epoch_times"])
        print(
            f"| {s} | {r['s_per_epoch']:.3f} | {r['rows_per_s']:,.0f} | {ratio:.2f} | "
            f"{r['s_per_epoch'] / floor_epoch:.2f} | {r['peak_rss_mb']:.0f} | {r['test_sum_corr']:.2f} ({n_ep}) |"
        )
    keras = results.get("keras-seed-blog", {}).get("s_per_epoch")
    for name in ("corrnet-fused", "corrnet-fused-bf16", "corrnet-compile"):
        r = results.get(name, {})
        if "s_per_epoch" in r:  # start-up: the fit's wall time beyond its steady epochs (compilation)
            start = r["wall_s"] - len(r["epoch_times"]) * r["s_per_epoch"]
            speedup = f"{keras / r['s_per_epoch']:.1f}x the seed's Keras model, " if keras else ""
            print(f"{name}: {speedup}{r['s_per_epoch'] / floor_epoch:.2f}x the floor, start-up {start:.1f} s")
    bf16 = results.get("corrnet-fused-bf16", {})
    if "s_per_epoch" in bf16:
        print(f"corrnet-fused-bf16: {bf16['s_per_epoch'] / (floor_bf16['step_s'] * 500):.2f}x the bfloat16 floor")
    out = {"info": info, "floor": {**floor, "s_per_epoch": floor_epoch, "end": floor_end, "bfloat16": floor_bf16},
           "results": results}
    path = Path(a.out) / f"speed-{a.device}.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
