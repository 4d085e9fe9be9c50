"""What the demo's transfer (issue 25: >= 80 % both ways with the defaults) responds to.

    python docs/results/demo-probe/run.py

The demo's data (sklearn's bundled 8x8 digits, left/right halves, its seeded split), CorrNet(20),
the defaults and one setting changed at a time; seeds 0 and 1. Prints the validation MRR (what the
defaults stop on), test sum-correlation and transfer both ways (%).
"""

import json
import warnings

import numpy as np

from corrnet import CorrNet, metrics
from corrnet.datasets import digits_halves

warnings.simplefilter("ignore")
VARIANTS = {
    "defaults": {},
    "early_stopping=False": {"early_stopping": False},
    "optimizer=adam": {"optimizer": "adam"},
    "lam=0.5": {"lam": 0.5},
    "lam=8": {"lam": 8.0},
    "n_components=32": {"n_components": 32},
}
for name, kw in VARIANTS.items():
    rows = []
    for seed in (0, 1):
        d = digits_halves(random_state=seed)
        est = CorrNet(**{"n_components": 20, **kw}, random_state=seed)
        est.fit(d.X_train, d.Y_train, validation_data=(d.X_val, d.Y_val))
        hx_tr, hy_tr = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
        hx, hy = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
        rows.append(
            [
                max((h.get("val_mrr", float("nan")) for h in est.history_), default=float("nan")),
                float(est.correlations(d.X_test, d.Y_test).sum()),
                100 * metrics.transfer_accuracy(hx_tr, d.y_train, hy, d.y_test),
                100 * metrics.transfer_accuracy(hy_tr, d.y_train, hx, d.y_test),
                est.n_epochs_,
            ]
        )
    m = np.array(rows).mean(0)
    print(json.dumps({"variant": name, "optimizer": est.optimizer_, "val_mrr": round(m[0], 3),
                      "test_sum_corr": round(m[1], 2), "transfer": [round(m[2], 1), round(m[3], 1)],
                      "epochs": [r[4] for r in rows]}), flush=True)
