"""Would choosing lam on the automatic validation split help? (issue 25; a probe, nothing built)

    python docs/results/lam-by-validation/run.py

On every small table with enough rows for the automatic validation split (>= 500 paired rows: the
L-BFGS regime, where a fit costs about a second), fit CorrNet(k) with lam in {0.5, 2 (default)} and
report, per seed, the lam the validation MRR would choose and the test transfer of both; plus the
demo's data (the bundled digits halves). Seeds 0, 1, 2.
"""

import json
import warnings

import numpy as np

from corrnet import CorrNet, metrics
from corrnet.datasets import digits_halves, load_dataset
from corrnet.experiments.defaults import width

warnings.simplefilter("ignore")
DATA = ("digits-halves (demo)", "digits-halves-raw", "mfeat-fac-kar", "mfeat-zer-mor", "mfeat-fou-pix")
for name in DATA:
    out = {0.5: [], 2.0: [], "chosen": []}
    for seed in (0, 1, 2):
        d = digits_halves(random_state=seed) if name.startswith("digits-halves (") else load_dataset(name)
        k = 20 if name.startswith("digits-halves (") else width(d)
        res = {}
        for lam in (0.5, 2.0):
            est = CorrNet(k, lam=lam, random_state=seed).fit(d.X_train, d.Y_train)
            hx_tr, hy_tr = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
            hx, hy = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
            t = (
                100 * metrics.transfer_accuracy(hx_tr, d.y_train, hy, d.y_test),
                100 * metrics.transfer_accuracy(hy_tr, d.y_train, hx, d.y_test),
            )
            val = max(h["val_mrr"] for h in est.history_)
            res[lam] = (val, t)
            out[lam].append(t)
        out["chosen"].append(res[max(res, key=lambda lam: res[lam][0])][1])
    print(
        json.dumps(
            {
                "data": name,
                "optimizer": est.optimizer_,
                **{str(key): [round(float(x), 1) for x in np.mean(v, 0)] for key, v in out.items()},
                "sd_default": [round(float(x), 1) for x in np.std(out[2.0], 0)],
            }
        ),
        flush=True,
    )
