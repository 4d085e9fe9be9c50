"""Seeded fits whose weights a refactoring must not change: record them once, check them after.

    python tools/fit_identity.py --record tools/fit_identity.json   # before the change
    python tools/fit_identity.py --check  tools/fit_identity.json   # after: every fit bit-identical

Each fit hashes its fitted tensors (names, shapes, dtypes and bytes of the module's state_dict and
the scalers' arrays) and its history's losses. Bit-identity holds for the same torch build on the
same CPU (the kernels MKL picks depend on the CPU): the committed record was made on the machine
named in its "machine" entry; on another machine, record on the old commit first, then check.

The fits cover what the redesign touches: the presets (paper, best, default), semi-paired data
with each unpaired strategy, N views with masks, sparse views, a streamed (memory-mapped) fit,
validation with early stopping, a cosine schedule, deep encoders, and 2-process data parallelism.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import socket
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from corrnet import CorrNet, MultiViewCorrNet


def _halves(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's bundled 8x8 digits, left and right halves in [0, 1] (no download)."""
    from sklearn.datasets import load_digits

    img = load_digits().images[:n].astype(np.float32) / 16.0
    return img[:, :, :4].reshape(n, -1), img[:, :, 4:].reshape(n, -1)


def _digest(est: Any) -> str:
    h = hashlib.sha256()
    for name, t in est.model_.state_dict().items():
        t = t.detach().cpu().contiguous()
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.numpy().tobytes())
    scalers = est.scalers_ if hasattr(est, "scalers_") else [est.scaler_x_, est.scaler_y_]
    for sc in scalers:
        for attr in ("mean_", "scale_", "min_", "max_abs_"):
            if sc is not None and getattr(sc, attr, None) is not None:
                h.update(np.ascontiguousarray(getattr(sc, attr), np.float64).tobytes())
    h.update(json.dumps([r.get("loss") for r in est.history_]).encode())
    return h.hexdigest()[:24]


CPU = dict(device="cpu", random_state=0)


def _fits() -> dict[str, Any]:
    X, Y = _halves()
    Xs = sp.csr_matrix(np.where(X > 0.5, X, 0).astype(np.float32))
    rng = np.random.default_rng(0)
    raw = (Y * 40 + 100).astype(np.float32)  # pixels on one shared range: mapped to [0, 1] whole by scale="auto"
    # a table far from [0, 1], each column its own unit: standardised by scale="auto"
    table = (Y * np.linspace(1, 1000, Y.shape[1]) + 5).astype(np.float32)
    Z = (0.5 * X[:, :16] + 0.5 * Y[:, :16]).astype(np.float32)
    masks = rng.random((len(X), 3)) > 0.3
    masks[~masks.any(1), 0] = True
    fits = {
        "paper": lambda: CorrNet.paper(epochs=3, **CPU).fit(X, Y),
        "best": lambda: CorrNet.from_preset("best", epochs=3, **CPU).fit(X, Y),
        "default": lambda: CorrNet(**CPU).fit(X[:300], Y[:300]),
        "default_raw_scale": lambda: CorrNet(8, epochs=5, **CPU).fit(X, raw),
        "default_table_scale": lambda: CorrNet(8, epochs=5, **CPU).fit(X, table),
        "tied_autograd": lambda: CorrNet(8, tied=True, engine="autograd", epochs=4, **CPU).fit(X, Y),
        "deep": lambda: CorrNet(8, encoder_layers=(16,), epochs=4, **CPU).fit(X, Y),
        "cosine_early_stopping": lambda: CorrNet(
            8, lr_schedule="cosine", epochs=12, validation_fraction=0.2, early_stopping=True, patience=2, **CPU
        ).fit(X, Y),
        "sparse": lambda: CorrNet(8, epochs=4, **CPU).fit(Xs, Y),
        "sparse_unpaired": lambda: CorrNet(8, epochs=4, unpaired_strategy="alternate", **CPU).fit(
            Xs[:200], Y[:200], X_unpaired=Xs[200:400], Y_unpaired=Y[400:]
        ),
    }
    for strategy in ("pretrain", "alternate", "mixed"):
        fits[f"semi_{strategy}"] = lambda s=strategy: CorrNet(8, epochs=4, unpaired_strategy=s, **CPU).fit(
            X[:100], Y[:100], X_unpaired=X[100:350], Y_unpaired=Y[350:]
        )
    fits["multiview_masks"] = lambda: MultiViewCorrNet(8, epochs=4, **CPU).fit(
        [X, Y, Z], masks=[masks[:, i] for i in range(3)]
    )
    fits["multiview_sparse_masks"] = lambda: MultiViewCorrNet(8, epochs=4, **CPU).fit(
        [Xs, Y, Z], masks=[masks[:, i] for i in range(3)]
    )

    def streamed() -> CorrNet:
        with tempfile.TemporaryDirectory() as d:
            np.save(f"{d}/x.npy", X)
            np.save(f"{d}/y.npy", raw)
            Xm, Ym = np.load(f"{d}/x.npy", mmap_mode="r"), np.load(f"{d}/y.npy", mmap_mode="r")
            return CorrNet(8, epochs=3, validation_fraction=0.1, **CPU).fit(Xm, Ym)

    fits["streamed"] = streamed
    fits["distributed_2proc"] = _distributed
    return fits


def _worker(rank: int, port: int, out: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        X, Y = _halves()
        est = CorrNet(8, batch_size=50, epochs=3, tol=None, **CPU).fit(X, Y, distributed=True)
        if rank == 0:
            Path(out).write_text(_digest(est))
    finally:
        dist.destroy_process_group()


def _distributed() -> str:
    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as d:
        out = f"{d}/digest"
        mp.start_processes(_worker, args=(port, out), nprocs=2, start_method="spawn")
        return Path(out).read_text()


def _cpu() -> str:
    """The CPU's model name and its widest vector extension (MKL picks kernels by them)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line for line in info.splitlines() if line.startswith("flags")), "")
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{platform.machine()} {name} ({simd})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--record", type=Path)
    g.add_argument("--check", type=Path)
    p.add_argument("--only", nargs="*", help="run these fits only")
    a = p.parse_args()
    got: dict[str, str] = {}
    for name, fit in _fits().items():
        if a.only and name not in a.only:
            continue
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fit()
        got[name] = out if isinstance(out, str) else _digest(out)
        print(f"{name:24s} {got[name]}  {time.perf_counter() - t:5.1f} s", flush=True)
    machine = f"{_cpu()}, torch {torch.__version__}"
    if a.record:
        a.record.write_text(json.dumps({"machine": machine, "fits": got}, indent=1) + "\n")
        return 0
    want = json.loads(a.check.read_text())
    bad = [k for k in got if want["fits"].get(k) != got[k]]
    print(f"recorded on: {want['machine']}; now: {machine}")
    print("all bit-identical" if not bad else f"DIFFERENT: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
