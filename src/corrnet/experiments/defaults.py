"""``corrnet experiment defaults``: ``CorrNet()`` with no settings, next to a tuned CorrNet, the
defaults of corrnet 0.1 and linear / kernel CCA, on two-view datasets at their published scale.

Datasets are split into the ones the defaults were tuned on (``TUNING``) and the ones held out
from that tuning (``HELD_OUT``); the README reports them separately. Every method gets the same
code width ``k`` per dataset. Metrics on the test split:

* transfer: ``LinearSVC`` trained on the training rows' codes of one view, tested on the test
  rows' codes of the other view (accuracy);
* recall@1: for each test row's view-1 code, is its own view-2 code the nearest by cosine;
* generation: MSE of view 2 generated from view 1 (and back), divided by the MSE of predicting the
  training mean of that view: below 1 beats the trivial generator;
* fit seconds (one process, the machine's torch threads).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.preprocessing import StandardScaler

from .. import metrics
from ..baselines import KernelCCA, LinearCCA
from ..datasets import MultiViewData, digits_halves_raw, mnist_halves
from ..datasets.av_digits import av_digits
from ..datasets.tabular import breast_cancer_views, iris_views, wine_views
from ..estimator import CorrNet
from . import tables
from .harness import over_methods_and_seeds

TUNING = ("breast-cancer", "wine", "digits-halves-raw")
HELD_OUT = ("iris", "mnist-halves-raw", "av-digits-raw")
LOADERS: dict[str, Callable[[str | None], MultiViewData]] = {
    "breast-cancer": lambda _: breast_cancer_views(),
    "wine": lambda _: wine_views(),
    "digits-halves-raw": lambda _: digits_halves_raw(),
    "iris": lambda _: iris_views(),
    "mnist-halves-raw": lambda data_dir: mnist_halves(data_dir, raw=True),
    "av-digits-raw": lambda data_dir: av_digits(data_dir, raw=True),
}
# corrnet 0.1's defaults: the per-unit objective's one sigmoid layer, no scaling, sigmoid outputs, Adam
# at lr 1e-3 on batches of 100, exactly 50 epochs, autograd
OLD_DEFAULTS = dict(
    correlation="per_unit", scale=None, output_activation="sigmoid", epochs=50, tol=None, engine="autograd",
    optimizer="adam", lr=1e-3,
)
TUNED_LAMS = (0.5, 2.0, 8.0)
METHODS = ("corrnet-default", "corrnet-tuned", "corrnet-0.1-defaults", "cca", "kcca")


def width(d: MultiViewData) -> int:
    """The code width every method gets on ``d``: 50, or fewer for narrow views (CCA's limit)."""
    return min(d.X_train.shape[1], d.Y_train.shape[1], 50 if d.X_train.shape[1] > 100 else 20)


class _Standardised:
    """A two-view model fitted on standardised views (kernel CCA's RBF needs comparable scales)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def fit(self, X: np.ndarray, Y: np.ndarray) -> _Standardised:
        self.sx, self.sy = StandardScaler().fit(X), StandardScaler().fit(Y)
        self.model.fit(self.sx.transform(X), self.sy.transform(Y))
        return self

    def transform(self, X: np.ndarray | None = None, Y: np.ndarray | None = None) -> np.ndarray:
        if X is not None:
            return self.model.transform(X=self.sx.transform(X))
        return self.model.transform(Y=self.sy.transform(Y))


def _val_transfer(est: Any, d: MultiViewData) -> float:
    h1, h2 = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
    v1, v2 = est.transform(X=d.X_val), est.transform(Y=d.Y_val)
    return (
        metrics.transfer_accuracy(h1, d.y_train, v2, d.y_val) + metrics.transfer_accuracy(h2, d.y_train, v1, d.y_val)
    ) / 2


def fit_method(method: str, d: MultiViewData, seed: int) -> tuple[Any, dict[str, Any]]:
    """Fit ``method`` on the training split; returns the model and extra facts to record."""
    k = width(d)
    info: dict[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if method == "corrnet-default":
            est = CorrNet(k, random_state=seed).fit(d.X_train, d.Y_train)
        elif method == "corrnet-0.1-defaults":
            est = CorrNet(k, random_state=seed, **OLD_DEFAULTS).fit(d.X_train, d.Y_train)
        elif method == "corrnet-tuned":  # lam chosen on the validation split's transfer accuracy
            cands = [CorrNet(k, lam=lam, random_state=seed).fit(d.X_train, d.Y_train) for lam in TUNED_LAMS]
            scores = [_val_transfer(c, d) for c in cands]
            est = cands[int(np.argmax(scores))]
            info["lam"] = est.lam
        elif method == "cca":
            est = LinearCCA(k, reg=1e-3).fit(d.X_train, d.Y_train)
        elif method == "kcca":
            est = _Standardised(KernelCCA(k, n_features=min(1000, len(d.X_train)), random_state=seed))
            est.fit(d.X_train, d.Y_train)
        else:
            raise ValueError(f"unknown method {method!r}; use some of {METHODS}.")
    if isinstance(est, CorrNet):
        info.update(epochs=est.n_iter_, stop=est.stop_reason_, engine=est.engine_, out=est.output_activation_)
        info["warnings"] = sorted({type(w.message).__name__ for w in caught})
    return est, info


def score(est: Any, d: MultiViewData) -> dict[str, float]:
    h1, h2 = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
    t1, t2 = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
    res = {
        "transfer_1to2": metrics.transfer_accuracy(h1, d.y_train, t2, d.y_test),
        "transfer_2to1": metrics.transfer_accuracy(h2, d.y_train, t1, d.y_test),
        "recall@1": metrics.retrieval(t1, t2)["recall@1"],
        "sum_corr": metrics.sum_correlation(t1, t2),
    }
    if isinstance(est, CorrNet):
        for name, target, train, gen in (
            ("gen_2from1", d.Y_test, d.Y_train, est.generate(X=d.X_test)),
            ("gen_1from2", d.X_test, d.X_train, est.generate(Y=d.Y_test)),
        ):
            base = metrics.generation_mse(target, np.broadcast_to(train.mean(0), target.shape))
            res[name] = metrics.generation_mse(target, gen) / base
    return res


def run_defaults(
    out: str | Path = "results/defaults",
    datasets: tuple[str, ...] = TUNING + HELD_OUT,
    methods: tuple[str, ...] = METHODS,
    seeds: tuple[int, ...] = (0, 1, 2),
    data_dir: str | None = None,
    subset: int | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """Run every method on every dataset and seed; write ``results.json`` and ``results.md``."""
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    for name in datasets:
        d = LOADERS[name](data_dir)
        if subset:
            d = d.subset(subset)
        runs = runs + _run_dataset(name, d, methods, seeds, outdir, runs, verbose)
    md = markdown(runs)
    tables.write_tables(outdir, md, {"runs": runs})
    return {"dir": str(outdir), "runs": runs, "markdown": md}


def _run_dataset(
    name: str, d: Any, methods: Any, seeds: Any, outdir: Path, before: list[dict[str, Any]], verbose: bool
) -> list[dict[str, Any]]:
    """Every method and seed on one dataset; the tables rewritten after each run (``before``: the
    earlier datasets' rows), so a stopped run keeps its rows."""

    def run(method: str, seed: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        est, info = fit_method(method, d, seed)
        return {"dataset": name, "k": width(d), "fit_seconds": time.perf_counter() - t0, **score(est, d), **info}

    def after(rows: list[dict[str, Any]]) -> None:
        tables.write_tables(outdir, markdown(before + rows), {"runs": before + rows})

    return over_methods_and_seeds(methods, seeds, run, once=("cca",), after=after, verbose=verbose)


COLS = ("transfer_1to2", "transfer_2to1", "recall@1", "gen_2from1", "gen_1from2", "fit_seconds")


def markdown(runs: list[dict[str, Any]]) -> str:
    """One table row per (dataset, method): mean ± std over seeds."""
    head = [
        "dataset",
        "method",
        "k",
        "seeds",
        "transfer 1→2 %",
        "transfer 2→1 %",
        "recall@1 %",
        "gen 2←1 / mean",
        "gen 1←2 / mean",
        "fit s",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for ds in dict.fromkeys(r["dataset"] for r in runs):
        for m in dict.fromkeys(r["method"] for r in runs if r["dataset"] == ds):
            rows = [r for r in runs if r["dataset"] == ds and r["method"] == m]
            cells = [ds + (" (held out)" if ds in HELD_OUT else ""), m, str(rows[0]["k"]), str(len(rows))]
            for c in COLS:
                vals = [r[c] for r in rows if c in r]
                if not vals:
                    cells.append("–")
                    continue
                scale = 100 if c.startswith(("transfer", "recall")) else 1
                fmt = "{:.1f}" if scale == 100 or c == "fit_seconds" else "{:.3f}"
                cell = fmt.format(np.mean(vals) * scale)
                if len(vals) > 1 and c != "fit_seconds":
                    cell += " ± " + fmt.format(np.std(vals, ddof=1) * scale)
                cells.append(cell)
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
