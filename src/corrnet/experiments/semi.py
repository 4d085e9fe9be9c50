"""Semi-paired experiments: paired-only vs semi-paired training at several paired fractions of MNIST
halves, and the audio <-> image digits (AV digits) experiment."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from .. import metrics, report
from ..datasets import MultiViewData, mnist_halves
from ..estimator import CorrNet
from . import tables

# corrnet defaults, with early stopping on the validation generation error (compare best checkpoints)
# the recipe the semi-paired tables were measured with (lr 1e-3, no convergence stop, autograd); on
# these [0, 1] views scale="auto" and output_activation="auto" change nothing
# the per-unit objective: these experiments generate the missing view, which the canonical
# objective's heavy correlation weight does not train for
V01 = dict(correlation="per_unit", lr=1e-3, tol=None, engine="autograd")
SEMI_BASE = dict(
    n_components=50, epochs=200, early_stopping=True, patience=10, monitor="generation", device="cpu", **V01
)
STRATEGIES = {
    "paired-only": {},
    "pretrain": dict(unpaired_strategy="pretrain", pretrain_epochs=10),
    "pretrain-2": dict(unpaired_strategy="pretrain", pretrain_epochs=2),
    "mixed-50": dict(unpaired_strategy="mixed", paired_per_batch=50, unpaired_weight=1.0),
    "alternate-0.3": dict(unpaired_strategy="alternate", unpaired_weight=0.3),
    "auto": dict(unpaired_strategy="auto"),  # mixed-50 below 5 % paired, else pretrain-2
}


def split_semi(d: MultiViewData, fraction: float, seed: int) -> dict[str, np.ndarray]:
    """A seeded ``fraction`` of the training rows keep both views; the rest are split in half into
    left-only and right-only rows."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(d.X_train))
    n_p = max(2, round(fraction * len(order)))
    rest = order[n_p:]
    half = len(rest) // 2
    return {
        "X": d.X_train[order[:n_p]],
        "Y": d.Y_train[order[:n_p]],
        "y": d.y_train[order[:n_p]],
        "X_only": d.X_train[rest[:half]],
        "Y_only": d.Y_train[rest[half:]],
    }


def score_generation(est: CorrNet, d: MultiViewData) -> dict[str, float]:
    h1, h2 = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
    return {
        "sum_corr": metrics.sum_correlation(h1, h2),
        "transfer_1to2": metrics.transfer_accuracy_folds(h1, h2, d.y_test),
        "transfer_2to1": metrics.transfer_accuracy_folds(h2, h1, d.y_test),
        "gen_mse_2from1": metrics.generation_mse(d.Y_test, est.generate(X=d.X_test)),
        "gen_mse_1from2": metrics.generation_mse(d.X_test, est.generate(Y=d.Y_test)),
    }


def _semi_table(runs: list[dict[str, Any]], fractions: Any, strategies: Any) -> tuple[list[dict[str, Any]], str]:
    """(the per-(fraction, strategy) means and sds, the Markdown table) of the semi-paired runs."""
    keys = ["sum_corr", "transfer_1to2", "transfer_2to1", "gen_mse_2from1", "gen_mse_1from2"]
    summary = []
    for frac in fractions:
        for strat in strategies:
            rows = [r for r in runs if r["fraction"] == frac and r["strategy"] == strat]
            if not rows:
                continue
            agg = {"fraction": frac, "strategy": strat, "seeds": len(rows), "n_paired": rows[0]["n_paired"]}
            for k in keys:
                v = np.array([r[k] for r in rows])
                agg[k], agg[k + "_std"] = float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
            summary.append(agg)
    md = [
        "| paired | strategy | seeds | sum-corr | transfer 1→2 % | transfer 2→1 % | MSE right from left | "
        "MSE left from right |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in summary:

        def pct(k: str, a: dict = a) -> str:
            return f"{100 * a[k]:.2f} ± {100 * a[k + '_std']:.2f}"

        md.append(
            f"| {100 * a['fraction']:g} % ({a['n_paired']}) | {a['strategy']} | {a['seeds']} | "
            f"{a['sum_corr']:.2f} ± {a['sum_corr_std']:.2f} | {pct('transfer_1to2')} | {pct('transfer_2to1')} | "
            f"{a['gen_mse_2from1']:.5f} ± {a['gen_mse_2from1_std']:.5f} | "
            f"{a['gen_mse_1from2']:.5f} ± {a['gen_mse_1from2_std']:.5f} |"
        )
    table = "\n".join(md)
    return summary, table


def run_semi_paired(
    out: str | Path,
    fractions=(0.01, 0.1, 1.0),
    seeds=(0, 1, 2),
    strategies=("paired-only", "pretrain", "pretrain-2", "mixed-50"),
    epochs: int | None = None,
    subset: int | None = None,
    data_dir: str | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    d = mnist_halves(data_dir)
    if subset:
        d = d.subset(subset)
    runs = []
    for frac in fractions:
        for strat in strategies:
            if frac >= 1.0 and strat != "paired-only":
                continue  # nothing is unpaired
            for seed in seeds:
                s = split_semi(d, frac, seed)
                params = {**SEMI_BASE, **STRATEGIES[strat], "random_state": seed}
                if epochs:
                    params["epochs"] = epochs
                est = CorrNet(**params)
                t0 = time.perf_counter()
                kw = {} if strat == "paired-only" else {"X_unpaired": s["X_only"], "Y_unpaired": s["Y_only"]}
                est.fit(s["X"], s["Y"], validation_data=(d.X_val, d.Y_val), **kw)
                row = {
                    "fraction": frac,
                    "strategy": strat,
                    "seed": seed,
                    "n_paired": len(s["X"]),
                    "best_epoch": est.best_epoch_,
                    **score_generation(est, d),
                    "train_seconds": time.perf_counter() - t0,
                }
                runs.append(row)
                if verbose:
                    print(json.dumps(row), flush=True)
    summary, table = _semi_table(runs, fractions, strategies)
    outdir = Path(out)
    data = {"base_params": SEMI_BASE, "strategies": STRATEGIES, "runs": runs, "summary": summary}
    sections = [("Paired-only vs semi-paired (test split)", report.md_table_to_html(table))]
    tables.write_tables(outdir, table, data, html=("corrnet: semi-paired MNIST halves", sections))
    return {"dir": str(outdir), "markdown": table, "runs": runs, "summary": summary}


# -- audio <-> image --------------------------------------------------------------------------------
AV_PARAMS = dict(n_components=50, lam=2.0, epochs=150, early_stopping=True, patience=15, device="cpu", **V01)
_AV_KEYS = (
    "sum_corr",
    "spoken_digit_acc_image_trained",
    "image_digit_acc_audio_trained",
    "audio_to_image_precision@10",
    "gen_mse_image_from_audio",
    "generated_image_digit_acc",
)


def _av_variants(d: Any, seed: int) -> dict[str, tuple[Any, Any, dict[str, Any]]]:
    """The AV experiment's training sets for one seed: every clip paired; half of them paired; that
    half plus a quarter audio-only and a quarter image-only."""
    order = np.random.default_rng(seed).permutation(len(d.X_train))
    n = len(order)
    p, a_only, i_only = order[: n // 2], order[n // 2 : 3 * n // 4], order[3 * n // 4 :]
    return {
        "paired (all clips)": (d.X_train, d.Y_train, {}),
        "paired-only (50 %)": (d.X_train[p], d.Y_train[p], {}),
        "semi-paired (50 % + 25 % audio-only + 25 % image-only)": (
            d.X_train[p],
            d.Y_train[p],
            {"X_unpaired": d.X_train[a_only], "Y_unpaired": d.Y_train[i_only]},
        ),
    }


def _av_scores(est: Any, d: Any, digit_clf: Any) -> dict[str, float]:
    """One AV fit's test scores: correlation, cross-modal transfer and retrieval, generated images."""
    ha_tr, hi_tr = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
    ha, hi = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
    gen = est.generate(X=d.X_test)
    return {
        "sum_corr": metrics.sum_correlation(ha, hi),
        "spoken_digit_acc_image_trained": metrics.transfer_accuracy(hi_tr, d.y_train, ha, d.y_test),
        "image_digit_acc_audio_trained": metrics.transfer_accuracy(ha_tr, d.y_train, hi, d.y_test),
        "audio_to_image_precision@10": metrics.class_precision_at_k(ha, hi, d.y_test, d.y_test),
        "gen_mse_image_from_audio": metrics.generation_mse(d.Y_test, gen),
        "generated_image_digit_acc": float((digit_clf.predict(gen) == d.y_test).mean()),
    }


def _av_table(runs: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """(the Markdown table, the per-variant means and sds) of the AV runs."""
    lines = [
        "| variant | seeds | sum-corr | spoken digit from image-trained SVM % | image digit from audio-trained "
        "SVM % | audio→image precision@10 % | MSE image from audio | generated images read as the "
        "spoken digit % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary = []
    for name in dict.fromkeys(r["variant"] for r in runs):
        rows = [r for r in runs if r["variant"] == name]
        agg = {"variant": name, "seeds": len(rows)}
        cells = [name, str(len(rows))]
        for k in _AV_KEYS:
            v = np.array([r[k] for r in rows])
            agg[k], agg[k + "_std"] = float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
            if k == "sum_corr":
                cells.append(f"{agg[k]:.2f} ± {agg[k + '_std']:.2f}")
            elif k.startswith("gen_mse"):
                cells.append(f"{agg[k]:.4f} ± {agg[k + '_std']:.4f}")
            else:
                cells.append(f"{100 * agg[k]:.1f} ± {100 * agg[k + '_std']:.1f}")
        summary.append(agg)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), summary


def run_av_experiment(
    out: str | Path,
    seeds=(0, 1, 2),
    epochs: int | None = None,
    subset: int | None = None,
    data_dir: str | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """CorrNet audio <-> image on AV digits: paired, and semi-paired (half the training clips keep
    both views, a quarter audio-only, a quarter image-only) against paired-only on the same pairs."""
    from ..datasets.av_digits import av_digits
    from ..datasets.mnist import load_mnist

    d = av_digits(data_dir)
    if subset:
        d = d.subset(subset)
    tr_img, tr_lab, _, _ = load_mnist(data_dir)
    digit_clf = LogisticRegression(max_iter=300).fit(tr_img[:10000].reshape(10000, -1) / 255.0, tr_lab[:10000])
    runs, keep = [], {}
    for seed in seeds:
        for name, (Xa, Yi, kw) in _av_variants(d, seed).items():
            params = {**AV_PARAMS, "random_state": seed, **({"epochs": epochs} if epochs else {})}
            if kw:
                params.update(unpaired_strategy="pretrain", pretrain_epochs=10)
            t0 = time.perf_counter()
            est = CorrNet(**params).fit(Xa, Yi, validation_data=(d.X_val, d.Y_val), **kw)
            secs = time.perf_counter() - t0
            row = {"variant": name, "seed": seed, **_av_scores(est, d, digit_clf), "train_seconds": secs}
            runs.append(row)
            keep.setdefault(name, est)
            if verbose:
                print(json.dumps(row), flush=True)
    table, summary = _av_table(runs)
    outdir = Path(out)
    tables.write_tables(outdir, table, {"params": AV_PARAMS, "runs": runs, "summary": summary})
    est = keep["paired (all clips)"]
    sections = [
        ("Results (held-out speaker)", report.md_table_to_html(table)),
        (
            "Images generated from spoken digits (test speaker)",
            report.fig_image_grid(
                [("from audio", est.generate(X=d.X_test[:12])), ("same digit", d.Y_test[:12])],
                (28, 28),
                n=12,
            ),
        ),
        ("Log-mel spectrograms of those clips", report.fig_image_grid([("audio", d.X_test[:12])], d.shape_x, n=12)),
        (
            "Audio and image codes (test)",
            report.fig_embedding(est.transform(X=d.X_test), est.transform(Y=d.Y_test), d.y_test, ("audio", "image")),
        ),
    ]
    report.write_report(outdir / "index.html", "corrnet: spoken digits <-> handwritten digits", sections)
    return {"dir": str(outdir), "markdown": table, "runs": runs, "summary": summary}
