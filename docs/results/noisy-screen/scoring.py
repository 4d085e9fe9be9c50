"""The validation scoring both probe scripts share (``screen.py`` for CorrNet, ``dcca_control.py``
for DeepCCA): view-1 SVM (Wang et al.'s protocol: LinearSVC on the training codes of view 1, C
chosen on the first half of the validation rows, scored on the second half), the correlation sums
and transfer on the validation rows; one JSON line printed and appended to ``log.jsonl``. The test
split is never read."""

import json
from pathlib import Path
from typing import Any

import numpy as np

from corrnet import metrics


def score_and_log(
    head: dict[str, Any], est: Any, d: Any, secs: float, svm_variants: bool = False, log: Path | None = None
) -> dict:
    """``head`` (the run's name and settings) + the scores of the fitted ``est`` on ``d``'s
    validation rows + ``train_seconds``. ``svm_variants``: also the view-1 SVM with the C grid
    extended to 1 000 and on standardised codes (the usual grid's top, 10, was chosen in almost
    every CorrNet run). ``log``: the JSON-lines file to append to (default: ``log.jsonl`` here)."""
    t1 = est.transform(X=d.X_train)
    v1, v2 = est.transform(X=d.X_val), est.transform(Y=d.Y_val)
    h = len(v1) // 2
    acc, C = metrics.view_classification(t1, d.y_train, v1[:h], d.y_val[:h], v1[h:], d.y_val[h:])
    variants = {}
    if svm_variants:
        acc_wide, C_wide = metrics.view_classification(
            t1, d.y_train, v1[:h], d.y_val[:h], v1[h:], d.y_val[h:], grid=(0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
        )
        mu, sd = t1.mean(0), t1.std(0) + 1e-8
        acc_std, C_std = metrics.view_classification(
            (t1 - mu) / sd, d.y_train, (v1[:h] - mu) / sd, d.y_val[:h], (v1[h:] - mu) / sd, d.y_val[h:]
        )
        variants = {
            "val_classify_1_wide_grid": acc_wide,
            "C_wide_grid": C_wide,
            "val_classify_1_standardised": acc_std,
            "C_standardised": C_std,
        }
    row = {
        **head,
        **variants,
        "val_classify_1": acc,
        "C": C,
        "val_sum_corr": metrics.sum_correlation(v1, v2),
        "val_canon": float(metrics.canonical_correlations(v1, v2).sum()),
        "val_transfer_1to2": metrics.transfer_accuracy_folds(v1, v2, d.y_val),
        "val_transfer_2to1": metrics.transfer_accuracy_folds(v2, v1, d.y_val),
        "train_seconds": secs,
    }
    row = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in row.items()}
    print(json.dumps(row), flush=True)
    with open(log or Path(__file__).with_name("log.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")
    return row
