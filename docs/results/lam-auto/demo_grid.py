"""The lambda grid on the demo's data (bundled digits halves, its own validation split, CorrNet(20), seeds 0-2).

    python docs/results/lam-auto/demo_grid.py   # demo_grid.log: run before lam="auto" existed (lam2 was the default)
"""
import json, sys, warnings
import numpy as np
from corrnet import CorrNet, metrics
from corrnet.datasets import digits_halves
warnings.simplefilter("ignore")
V = {"lam2": {"lam": 2.0}, "lam1": {"lam": 1.0}, "lam0.5": {"lam": 0.5}, "lam0.25": {"lam": 0.25}, "lam0.1": {"lam": 0.1},
     "std": {"scale": "standard", "lam": 2.0}, "std_lam0.5": {"scale": "standard", "lam": 0.5}, "std_lam8": {"scale": "standard", "lam": 8.0}}
for name, kw in V.items():
    rows = []
    for seed in (0, 1, 2):
        d = digits_halves(random_state=seed)
        est = CorrNet(20, random_state=seed, **kw)
        est.fit(d.X_train, d.Y_train, validation_data=(d.X_val, d.Y_val))
        hx_tr, hy_tr = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
        hx, hy = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
        rows.append([max(h.get("val_mrr", np.nan) for h in est.history_), float(est.correlations(d.X_test, d.Y_test).sum()),
                     100 * metrics.transfer_accuracy(hx_tr, d.y_train, hy, d.y_test),
                     100 * metrics.transfer_accuracy(hy_tr, d.y_train, hx, d.y_test), est.n_epochs_])
    r = np.array(rows); m = r.mean(0); s = r.std(0)
    print(json.dumps({"v": name, "val_mrr": round(m[0], 3), "sc": round(m[1], 2), "t12": f"{m[2]:.1f}±{s[2]:.1f}", "t21": f"{m[3]:.1f}±{s[3]:.1f}", "ep": r[:, 4].tolist()}), flush=True)
