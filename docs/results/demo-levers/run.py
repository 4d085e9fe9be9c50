"""Levers on the demo's data (issue 25, goal 2: the demo's transfer >= 80 % both ways).

    python docs/results/demo-levers/run.py > docs/results/demo-levers/run.log

The bundled digits halves in [0, 1] with the demo's split (1 000 training pairs, its 300 validation
pairs passed as validation_data), CorrNet(20) with the defaults and one setting changed; seeds 0, 1,
2. Prints the best validation MRR (what a choice may be made on), the lam kept, epochs, and test
transfer both ways (for the record only).
"""

import json
import sys
import warnings

import numpy as np

from corrnet import CorrNet, metrics
from corrnet.datasets import digits_halves

warnings.simplefilter("ignore")
LEVERS = {
    "defaults": {},
    "patience=10": {"patience": 10},
    "epochs=50": {"epochs": 50},
    "epochs=50,patience=10": {"epochs": 50, "patience": 10},
    "tied": {"tied": True},
    "hidden=tanh": {"hidden_activation": "tanh"},
    "hidden=relu": {"hidden_activation": "relu"},
    "scale=standard": {"scale": "standard"},
    "output=linear": {"output_activation": "linear"},
    # depth (2026-12-02, second round): one hidden layer per view before the 20-unit joint layer
    "encoder=(64,)": {"encoder_layers": (64,)},
    "encoder=(128,)": {"encoder_layers": (128,)},
    "encoder=(256,128)": {"encoder_layers": (256, 128)},
}
for name in sys.argv[1:] or LEVERS:
    rows = []
    for seed in (0, 1, 2):
        d = digits_halves(random_state=seed)
        est = CorrNet(20, random_state=seed, **LEVERS[name])
        est.fit(d.X_train, d.Y_train, validation_data=(d.X_val, d.Y_val))
        hx_tr, hy_tr = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
        hx, hy = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
        rows.append(
            {
                "val_mrr": max(r["val_mrr"] for r in est.history_),
                "lam": est.config_.lam,
                "epochs": est.n_epochs_,
                "t12": 100 * metrics.transfer_accuracy(hx_tr, d.y_train, hy, d.y_test),
                "t21": 100 * metrics.transfer_accuracy(hy_tr, d.y_train, hx, d.y_test),
            }
        )
    mean = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in ("val_mrr", "t12", "t21")}
    print(json.dumps({"lever": name, **mean, "lam": [r["lam"] for r in rows], "epochs": [r["epochs"] for r in rows]}), flush=True)
