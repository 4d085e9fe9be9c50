"""N-view experiments on MNIST: ``corrnet experiment mnist-quadrants`` and ``corrnet experiment bridge``.

``mnist-quadrants``: each digit cut into its four 14x14 quadrants, four views of 196 pixels.
``MultiViewCorrNet`` (defaults, k = 50) next to generalised CCA (MAXVAR, k = 50). Metrics on the test
split, averaged over the 12 ordered pairs of views (i, j): transfer accuracy (the original 5-fold
protocol: LinearSVC trained on view i's codes, tested on view j's), recall@1 (view i's code finds
its own row among view j's codes by cosine) and the sum-correlation of the codes.

``bridge`` (Bridge CorrNet's setting, Rajendran et al. 2016, built on MNIST here): the left half and
the right half of a digit are never seen together; each is paired only with a pivot view, the whole
digit at 14x14 (the mean of each 2x2 block). The first half of the training rows has (left, pivot),
the second half (right, pivot). Reported: left -> right transfer accuracy and recall@1 on the test
split, next to the same model trained on direct (left, right) pairs.
"""

from __future__ import annotations

import itertools
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics, report
from ..baselines import MaxVarGCCA
from ..datasets.mnist import load_mnist
from ..multiview import MultiViewCorrNet
from . import tables
from .harness import over_methods_and_seeds


def _images(data_dir: str | None, subset: int | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    tr, ytr, te, yte = load_mnist(data_dir)
    tr, te = tr.reshape(-1, 28, 28).astype(np.float32) / 255, te.reshape(-1, 28, 28).astype(np.float32) / 255
    out = {"train": (tr[:50000], ytr[:50000]), "test": (te, yte)}
    if subset:
        out = {k: (a[:subset], y[:subset]) for k, (a, y) in out.items()}
    return out


def quadrants(img: np.ndarray) -> list[np.ndarray]:
    """(n, 28, 28) -> four views (n, 196): top-left, top-right, bottom-left, bottom-right."""
    return [img[:, r : r + 14, c : c + 14].reshape(len(img), -1) for r in (0, 14) for c in (0, 14)]


def bridge_views(img: np.ndarray) -> list[np.ndarray]:
    """(n, 28, 28) -> [pivot (n, 196): the digit at 14x14, left half (n, 392), right half (n, 392)]."""
    n = len(img)
    pivot = img.reshape(n, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(n, -1)
    return [pivot, img[:, :, :14].reshape(n, -1), img[:, :, 14:].reshape(n, -1)]


def _pair_metrics(codes: list[np.ndarray], y: np.ndarray, pairs: list[tuple[int, int]]) -> dict[str, float]:
    acc = [metrics.transfer_accuracy_folds(codes[i], codes[j], y) for i, j in pairs]
    r1 = [metrics.retrieval(codes[i], codes[j], ks=(1,))["recall@1"] for i, j in pairs]
    sc = [metrics.sum_correlation(codes[i], codes[j]) for i, j in pairs]
    return {"transfer": float(np.mean(acc)), "recall@1": float(np.mean(r1)), "sum_corr": float(np.mean(sc))}


def _write(out: Path, title: str, rows: list[dict[str, Any]], cols: list[str]) -> str:
    lines = ["| method | seed | " + " | ".join(cols) + " | fit s |", "|---" * (len(cols) + 3) + "|"]
    for r in rows:
        cells = [f"{100 * r[c]:.1f}" if c != "sum_corr" else f"{r[c]:.2f}" for c in cols]
        lines.append(f"| {r['method']} | {r['seed']} | " + " | ".join(cells) + f" | {r['fit_s']:.0f} |")
    md = "\n".join(lines)
    tables.write_tables(out, md, rows, html=(title, [("Test split", report.md_table_to_html(md))]))
    return md


def run_quadrants(
    out: str | Path = "results/mnist-quadrants",
    seeds: tuple[int, ...] = (0,),
    data_dir: str | None = None,
    subset: int | None = None,
    epochs: int | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    data = _images(data_dir, subset)
    train, (te, yte) = quadrants(data["train"][0]), data["test"]
    test = quadrants(te)
    pairs = list(itertools.permutations(range(4), 2))

    def run(method: str, seed: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        if method == "maxvar-gcca":
            model = MaxVarGCCA(50).fit(train)
            codes = model.transform(test)
        else:
            kw = {"epochs": epochs} if epochs else {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = MultiViewCorrNet(50, random_state=seed, **kw).fit(train)
            codes = [model.transform([v if j == i else None for j in range(4)]) for i, v in enumerate(test)]
        return {"fit_s": time.perf_counter() - t0, **_pair_metrics(codes, yte, pairs)}

    methods = ("multiview-corrnet", "maxvar-gcca")  # MAXVAR is deterministic
    rows = over_methods_and_seeds(methods, seeds, run, once=("maxvar-gcca",), verbose=verbose)
    md = _write(Path(out), "MNIST quadrants: four views", rows, ["transfer", "recall@1", "sum_corr"])
    return {"markdown": md, "rows": rows, "dir": str(out)}


def run_bridge(
    out: str | Path = "results/bridge",
    seeds: tuple[int, ...] = (0,),
    data_dir: str | None = None,
    subset: int | None = None,
    epochs: int | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    data = _images(data_dir, subset)
    pivot, left, right = bridge_views(data["train"][0])
    _, tl, tr = bridge_views(data["test"][0])
    yte = data["test"][1]
    n = len(pivot)
    first = np.arange(n) < n // 2
    kw = {"epochs": epochs} if epochs else {}

    def run(method: str, seed: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "direct pairs":  # the same 50 000 rows, left and right paired, no pivot
                model = MultiViewCorrNet(50, random_state=seed, **kw).fit([left, right])
                hl, hr = model.transform([tl, None]), model.transform([None, tr])
            else:
                masks = [np.ones(n, bool), first, ~first]
                model = MultiViewCorrNet(50, random_state=seed, **kw).fit([pivot, left, right], masks=masks)
                hl, hr = model.transform([None, tl, None]), model.transform([None, None, tr])
        return {"fit_s": time.perf_counter() - t0, **_pair_metrics([hl, hr], yte, [(0, 1), (1, 0)])}

    rows = over_methods_and_seeds(("bridge (never paired)", "direct pairs"), seeds, run, verbose=verbose)
    md = _write(Path(out), "Bridge: left and right halves through a pivot", rows, ["transfer", "recall@1", "sum_corr"])
    return {"markdown": md, "rows": rows, "dir": str(out)}
