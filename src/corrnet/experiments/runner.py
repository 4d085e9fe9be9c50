"""``corrnet experiment NAME``: CorrNet (paper recipe and corrnet's best) next to the baselines on the
same data and the same metrics, over several seeds; writes Markdown, CSV, JSON and an HTML report."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics, report
from .._version import __version__
from ..baselines import DeepCCA, KernelCCA, LinearCCA
from ..config import preset
from ..datasets import MultiViewData, load_dataset
from ..estimator import CorrNet
from . import tables
from .harness import over_methods_and_seeds

# corrnet's best configuration on MNIST halves: the "best" preset (config.PRESETS, README "Presets").
BEST = preset("best")

GENERATIVE = {"corrnet-paper", "corrnet-default", "corrnet-best", "seed-blog", "mae"}
DETERMINISTIC = {"cca"}  # no randomness: run once, whatever the seeds


def methods_for(name: str, epochs: int | None) -> dict[str, Callable[[int], Any]]:
    """Factories seed -> unfitted model, for the experiment ``name``."""
    ep = {} if epochs is None else {"epochs": epochs}
    best_ep = {"epochs": epochs} if epochs is not None else {}
    return {
        "corrnet-paper": lambda s: CorrNet.paper(random_state=s, device="cpu", **ep),
        "corrnet-default": lambda s: CorrNet(**ep, random_state=s, device="cpu"),
        "corrnet-per-unit": lambda s: CorrNet(correlation="per_unit", **ep, random_state=s, device="cpu"),
        "corrnet-best": lambda s: CorrNet(**{**BEST, **best_ep}, random_state=s, device="cpu"),
        "seed-blog": lambda s: CorrNet.from_preset("seed_blog", random_state=s, device="cpu", **ep),
        "mae": lambda s: CorrNet.paper(lam=0.0, random_state=s, device="cpu", **ep),
        "cca": lambda s: LinearCCA(50, reg=1e-3),
        "kcca": lambda s: KernelCCA(50, n_features=1000, random_state=s),
        "dcca": lambda s: DeepCCA(50, (500, 300), epochs=epochs or 30, random_state=s),
    }


def load(name: str, data_dir: str | None) -> MultiViewData:
    if name not in ("mnist-halves", "noisy-mnist"):
        raise ValueError(f"unknown experiment {name!r}; use mnist-halves, noisy-mnist or av-digits.")
    return load_dataset(name, data_dir)


def score(model: Any, d: MultiViewData, generative: bool, view1_svm: bool = False) -> dict[str, float]:
    """The full metric set on the test split (C of the tuned SVM chosen on the validation split);
    ``view1_svm`` adds Wang et al. (2015)'s view-1 classification accuracy (``classify_1``)."""
    h1, h2 = model.transform(X=d.X_test), model.transform(Y=d.Y_test)
    res: dict[str, float] = {
        "sum_corr": metrics.sum_correlation(h1, h2),
        "sum_canonical_corr": float(metrics.canonical_correlations(h1, h2).sum()),
        "transfer_1to2": metrics.transfer_accuracy_folds(h1, h2, d.y_test),
        "transfer_2to1": metrics.transfer_accuracy_folds(h2, h1, d.y_test),
    }
    v1, v2 = model.transform(X=d.X_val), model.transform(Y=d.Y_val)
    half = len(v1) // 2
    c12 = metrics.tune_svc_C(v1[:half], d.y_val[:half], v2[half:], d.y_val[half:])
    c21 = metrics.tune_svc_C(v2[:half], d.y_val[:half], v1[half:], d.y_val[half:])
    res["transfer_1to2_tuned"] = metrics.transfer_accuracy_folds(h1, h2, d.y_test, C=c12)
    res["transfer_2to1_tuned"] = metrics.transfer_accuracy_folds(h2, h1, d.y_test, C=c21)
    if view1_svm:  # Wang et al. 2015: SVM trained and tested on view-1 codes, C chosen on validation
        t1 = model.transform(X=d.X_train)
        res["classify_1"], res["classify_1_C"] = metrics.view_classification(t1, d.y_train, v1, d.y_val, h1, d.y_test)
    r = metrics.retrieval(h1, h2)
    res["recall@1"], res["mrr"] = r["recall@1"], r["mrr"]
    if generative:
        res["gen_mse_2from1"] = metrics.generation_mse(d.Y_test, model.generate(X=d.X_test))
        res["gen_mse_1from2"] = metrics.generation_mse(d.X_test, model.generate(Y=d.Y_test))
    return res


COLUMNS = [
    "sum_corr",
    "sum_canonical_corr",
    "transfer_1to2",
    "transfer_2to1",
    "transfer_1to2_tuned",
    "transfer_2to1_tuned",
    "classify_1",
    "recall@1",
    "mrr",
    "gen_mse_2from1",
    "gen_mse_1from2",
    "train_seconds",
]
PERCENT = {"transfer_1to2", "transfer_2to1", "transfer_1to2_tuned", "transfer_2to1_tuned", "classify_1", "recall@1"}


def aggregate(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds, per method, in run order."""
    out = []
    for m in dict.fromkeys(r["method"] for r in runs):
        rows = [r for r in runs if r["method"] == m]
        agg: dict[str, Any] = {"method": m, "seeds": len(rows)}
        for c in COLUMNS:
            vals = [r[c] for r in rows if c in r]
            if vals:
                agg[c] = float(np.mean(vals))
                agg[c + "_std"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
        out.append(agg)
    return out


HEADINGS = {
    "sum_corr": "sum-corr",
    "sum_canonical_corr": "sum canon. corr",
    "transfer_1to2": "transfer 1→2 %",
    "transfer_2to1": "transfer 2→1 %",
    "transfer_1to2_tuned": "tuned 1→2 %",
    "transfer_2to1_tuned": "tuned 2→1 %",
    "classify_1": "view-1 SVM %",
    "recall@1": "recall@1 %",
    "gen_mse_2from1": "MSE 2 from 1",
    "train_seconds": "train s",
}


def markdown(agg: list[dict[str, Any]]) -> str:
    """The Markdown table of ``aggregate``'s rows: one column per metric that some method has (the
    JSON/CSV have every column, MRR and the 1-from-2 generation error included)."""
    keys = [c for c in HEADINGS if any(c in a for a in agg)]
    head = ["method", "seeds", *(HEADINGS[k] for k in keys)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for a in agg:
        cells = [a["method"], str(a["seeds"])]
        for k in keys:
            if k not in a:
                cells.append("–")
                continue
            scale = 100 if k in PERCENT else 1
            fmt = "{:.4f}" if k.startswith("gen") else ("{:.0f}" if k == "train_seconds" else "{:.2f}")
            cell = fmt.format(a[k] * scale)
            if a["seeds"] > 1 and k != "train_seconds":
                cell += " ± " + fmt.format(a[k + "_std"] * scale)
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_tables(
    outdir: Path, runs: list[dict[str, Any]], header: dict[str, Any]
) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    """Write ``results.md``, ``results.csv`` and ``results.json`` for the runs so far (atomically);
    return the JSON's content, the Markdown table and the per-method summary."""
    agg = aggregate(runs)
    md = markdown(agg)
    meta = {**header, "runs": runs, "summary": agg}
    tables.write_tables(outdir, md, meta, csv_rows=runs, csv_columns=["method", "seed", *COLUMNS])
    return meta, md, agg


def _run_methods(
    name: str, d: Any, factories: dict[str, Any], chosen: list[str], seeds: Any, outdir: Path,
    header: dict[str, Any], verbose: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any], Any]:
    """Fit and score each chosen method for each seed (once for a deterministic one), rewriting the
    tables after every run: (the runs, each method's first fitted model, the last tables written)."""
    keep: dict[str, Any] = {}
    tables = None

    def run(m: str, seed: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        model = factories[m](seed).fit(d.X_train, d.Y_train)
        secs = time.perf_counter() - t0
        row = {**score(model, d, m in GENERATIVE, view1_svm=name == "noisy-mnist"), "train_seconds": secs}
        if hasattr(model, "get_params"):
            row["params"] = json.dumps(model.get_params(), default=str)
        keep.setdefault(m, model)
        return row

    def describe(row: dict[str, Any]) -> str:
        return (
            f"{row['method']:14s} seed {row['seed']}: sum-corr {row['sum_corr']:.2f}, transfer "
            f"{100 * row['transfer_1to2']:.2f} / {100 * row['transfer_2to1']:.2f} %, {row['train_seconds']:.0f} s"
        )

    def after(runs: list[dict[str, Any]]) -> None:  # a stopped run keeps the runs it finished
        nonlocal tables
        tables = write_tables(outdir, runs, header)

    runs = over_methods_and_seeds(
        chosen, seeds, run, once=DETERMINISTIC, after=after, verbose=verbose, describe=describe
    )
    return runs, keep, tables


def _report_sections(name: str, d: Any, keep: dict[str, Any], md: str, meta: dict[str, Any]) -> list[tuple[str, Any]]:
    """The HTML report's sections: the table, the first corrnet model's figures, the configuration."""
    sections: list[tuple[str, Any]] = [("Results (test split, mean ± std over seeds)", report.md_table_to_html(md))]
    for m in ("corrnet-paper", "corrnet-best"):
        if m in keep:
            est = keep[m]
            sections.append(
                (f"{m}: per-unit test correlation", report.fig_unit_correlations(est.correlations(d.X_test, d.Y_test)))
            )
            sections.append((f"{m}: training curves", report.fig_training_curves(est.history_, est.best_epoch_)))
    gen_m = next((m for m in ("corrnet-best", "corrnet-paper") if m in keep), None)
    if gen_m and d.shape_x and name == "mnist-halves":
        est = keep[gen_m]
        sections.append(
            (
                f"{gen_m}: generating the missing half (test)",
                report.fig_generation_grid(
                    d.X_test, d.Y_test, est.generate(Y=d.Y_test), est.generate(X=d.X_test), d.shape_x, d.shape_y, 12
                ),
            )
        )
    elif gen_m and d.shape_x:
        est = keep[gen_m]
        sections.append(
            (
                f"{gen_m}: view 2 generated from view 1 (test)",
                report.fig_image_grid(
                    [("view 1", d.X_test), ("view 2", d.Y_test), ("view 2 from 1", est.generate(X=d.X_test))], d.shape_y
                ),
            )
        )
    if gen_m:
        est = keep[gen_m]
        sections.append(
            (
                f"{gen_m}: codes of both views (test, 2 000 rows)",
                report.fig_embedding(
                    est.transform(X=d.X_test[:2000]), est.transform(Y=d.Y_test[:2000]), d.y_test[:2000]
                ),
            )
        )
    sections.append(
        (
            "Configuration and seeds",
            f"<pre>{json.dumps({k: v for k, v in meta.items() if k not in ('runs', 'summary')}, indent=1)}</pre>",
        )
    )
    return sections


def run_experiment(
    name: str,
    out: str | Path,
    seeds: list[int] = (0, 1, 2),
    epochs: int | None = None,
    subset: int | None = None,
    methods: list[str] | None = None,
    data_dir: str | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """Train and score every method for every seed; write ``results.{md,csv,json}`` and ``index.html``
    into ``out``. ``epochs``/``subset`` shrink the run for smoke tests."""
    if name == "av-digits":
        from .semi import run_av_experiment

        return run_av_experiment(
            out, seeds=list(seeds), epochs=epochs, subset=subset, data_dir=data_dir, verbose=verbose
        )
    if name == "semi-paired":
        from .semi import run_semi_paired

        return run_semi_paired(out, seeds=list(seeds), epochs=epochs, subset=subset, data_dir=data_dir, verbose=verbose)
    d = load(name, data_dir)
    if subset:
        d = d.subset(subset)
    factories = methods_for(name, epochs)
    chosen = methods or list(factories)
    bad = set(chosen) - set(factories)
    if bad:
        raise ValueError(f"unknown methods {sorted(bad)}; choose from {sorted(factories)}.")
    header = {
        "experiment": name,
        "seeds": list(seeds),
        "epochs_override": epochs,
        "subset": subset,
        "corrnet": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "best_config": {k: list(v) if isinstance(v, tuple) else v for k, v in BEST.items()},
    }
    outdir = Path(out)
    runs, keep, tables = _run_methods(name, d, factories, chosen, seeds, outdir, header, verbose)
    meta, md, agg = tables if runs else write_tables(outdir, runs, header)  # written after the last run
    sections = _report_sections(name, d, keep, md, meta)
    report.write_report(outdir / "index.html", f"corrnet experiment: {name}", sections)
    return {"dir": str(outdir), "markdown": md, "runs": runs, "summary": agg}
