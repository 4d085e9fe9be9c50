"""lam="auto" (issue 25) against the previous default lam=2, on the tables in its regime.

    python docs/results/lam-auto/run.py

Every small table with enough rows for the automatic validation split (>= 500 paired rows: full-batch
L-BFGS), and the demo's data with its own validation split: CorrNet(k) with the defaults (lam="auto")
and with lam=2.0, seeds 0, 1, 2. Prints the lam chosen per seed, test transfer both ways (%), and the
CPU seconds of each fit (2 torch threads).
"""

import json
import time
import warnings

import numpy as np

from corrnet import CorrNet, metrics
from corrnet.datasets import digits_halves, load_dataset
from corrnet.experiments.defaults import width

warnings.simplefilter("ignore")
DATA = ("digits-halves (demo)", "digits-halves-raw", "mfeat-fac-kar", "mfeat-zer-mor", "mfeat-fou-pix")
for name in DATA:
    out = {"auto": [], "2.0": []}
    chosen, cpu = [], {"auto": [], "2.0": []}
    for seed in (0, 1, 2):
        demo = name.startswith("digits-halves (")
        d = digits_halves(random_state=seed) if demo else load_dataset(name)
        k = 20 if demo else width(d)
        fit_kw = {"validation_data": (d.X_val, d.Y_val)} if demo else {}
        for lam in ("auto", 2.0):
            t0 = time.process_time()
            est = CorrNet(k, lam=lam, random_state=seed).fit(d.X_train, d.Y_train, **fit_kw)
            cpu[str(lam)].append(time.process_time() - t0)
            hx_tr, hy_tr = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
            hx, hy = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
            out[str(lam)].append(
                (
                    100 * metrics.transfer_accuracy(hx_tr, d.y_train, hy, d.y_test),
                    100 * metrics.transfer_accuracy(hy_tr, d.y_train, hx, d.y_test),
                )
            )
            if lam == "auto":
                chosen.append(est.config_.lam)
    print(
        json.dumps(
            {
                "data": name,
                "optimizer": est.optimizer_,
                "lam_chosen": chosen,
                **{f"transfer_{key}": [round(float(x), 1) for x in np.mean(v, 0)] for key, v in out.items()},
                **{f"sd_{key}": [round(float(x), 1) for x in np.std(v, 0)] for key, v in out.items()},
                **{f"cpu_s_{key}": round(float(np.mean(v)), 2) for key, v in cpu.items()},
            }
        ),
        flush=True,
    )
