"""The demo: CorrNet on scikit-learn's bundled digits, left half <-> right half (no download)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics, report
from ..datasets import digits_halves
from ..estimator import CorrNet


def random_projection_sum_corr(data, n_components: int, seed: int = 0) -> float:
    """Baseline: the same-width code from fixed random sigmoid projections of each view."""
    rng = np.random.default_rng(seed)
    Wx = rng.normal(size=(data.X_train.shape[1], n_components))
    Wy = rng.normal(size=(data.Y_train.shape[1], n_components))
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    return metrics.sum_correlation(sig(data.X_test @ Wx), sig(data.Y_test @ Wy))


def mean_like(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    return np.broadcast_to(train.mean(0), test.shape)


def run_demo(
    out_dir: str | Path = "corrnet-report",
    epochs: int | str = "auto",
    n_components: int = 20,
    seed: int = 0,
    verbose: int = 1,
    preset: str | None = None,
) -> dict[str, Any]:
    """Train on digits halves, print and return the test metrics, write ``out_dir/index.html``.

    ``CorrNet``'s defaults, nothing hand-picked: the same settings a user gets (``epochs="auto"``
    gives this small data set enough optimiser steps and stops when the loss has converged).
    ``preset``: a named preset's settings instead (:data:`corrnet.config.PRESETS`); ``epochs="auto"``
    then keeps the preset's own epochs.
    """
    t0 = time.perf_counter()
    data = digits_halves(random_state=seed)
    kw = {} if epochs == "auto" else {"epochs": epochs}  # "auto": the defaults' own, or the preset's epochs
    est = CorrNet.from_preset(preset or "default", n_components=n_components, random_state=seed, verbose=verbose, **kw)
    est.fit(data.X_train, data.Y_train, validation_data=(data.X_val, data.Y_val))
    train_s = time.perf_counter() - t0
    hx_tr, hy_tr = est.transform(X=data.X_train), est.transform(Y=data.Y_train)
    hx, hy = est.transform(X=data.X_test), est.transform(Y=data.Y_test)
    Y_gen, X_gen = est.generate(X=data.X_test), est.generate(Y=data.Y_test)
    corr = est.correlations(data.X_test, data.Y_test)
    res = {
        "preset": preset or "default",
        "test_sum_corr": float(corr.sum()),
        "n_components": n_components,
        "random_projection_sum_corr": random_projection_sum_corr(data, n_components, seed),
        "transfer_left_to_right": metrics.transfer_accuracy(hx_tr, data.y_train, hy, data.y_test),
        "transfer_right_to_left": metrics.transfer_accuracy(hy_tr, data.y_train, hx, data.y_test),
        "generation_mse_right_from_left": metrics.generation_mse(data.Y_test, Y_gen),
        "generation_mse_left_from_right": metrics.generation_mse(data.X_test, X_gen),
        # the trivial generator: predict the training mean image of the missing half
        "mean_image_mse_right": metrics.generation_mse(data.Y_test, mean_like(data.Y_train, data.Y_test)),
        "mean_image_mse_left": metrics.generation_mse(data.X_test, mean_like(data.X_train, data.X_test)),
        **{f"retrieval_{k}": v for k, v in metrics.retrieval(hx, hy).items()},
        "epochs": est.n_epochs_,
        "lam": est.config_.lam,  # what lam="auto" kept (the scores are in the report's configuration)
        "train_seconds": train_s,
    }
    out = Path(out_dir)
    sections = [
        ("Test metrics", [{"metric": k, "value": v} for k, v in res.items()]),
        ("Training curves", report.fig_training_curves(est.history_, est.best_epoch_)),
        (
            "Generating the missing half",
            report.fig_generation_grid(data.X_test, data.Y_test, X_gen, Y_gen, data.shape_x, data.shape_y, n=12),
        ),
        ("Per-unit correlation (test)", report.fig_unit_correlations(corr)),
        ("Codes of both views (test)", report.fig_embedding(hx, hy, data.y_test, ("left", "right"))),
        ("Configuration", _configuration_html(est)),
    ]
    title = "corrnet demo: digits halves" + (f" ({preset} preset)" if preset else "")
    res["report"] = str(report.write_report(out / "index.html", title, sections))
    res["total_seconds"] = time.perf_counter() - t0
    return res


def _configuration_html(est: CorrNet) -> str:
    """The parameters, what the ``auto`` ones resolved to, and the validation score of each λ that
    ``lam="auto"`` tried (when it ran: a preset with a fixed λ has none)."""
    lam = est.lam_scores_
    tried = ' and the validation score of each λ that <code>lam="auto"</code> tried (<code>lam_scores_</code>)'
    html = (
        f"<p>The parameters, then what the <code>auto</code> ones resolved to (<code>config_</code>)"
        f"{tried if lam else ''}.</p>"
        f"<pre>{json.dumps(est.get_params(), indent=1, default=str)}</pre>"
        f"<pre>{json.dumps(est.config_.to_dict(), indent=1, default=str)}</pre>"
    )
    return html + (f"<pre>{json.dumps({str(k): v for k, v in lam.items()}, indent=1)}</pre>" if lam else "")
