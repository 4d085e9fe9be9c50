"""An L2 penalty on the weights inside the full-batch L-BFGS objective, on the demo's data (issue 25,
goal 2: the demo's transfer >= 80 % both ways). A probe: the penalty is patched into the L-BFGS
closure (``training._step_parts``), ``wd / 2 * sum ||W||^2`` over the weight matrices (not the biases).

    python docs/results/lbfgs-l2/run.py 0 1e-4 1e-3 1e-2

The demo's split (1 000 training pairs, its 300 validation pairs as validation_data), CorrNet(20)
with the defaults; seeds 0, 1, 2. Prints the best validation MRR (what a choice may rest on), the
lam kept, epochs, and test transfer both ways (for the record). JSON lines to log.jsonl.
"""

import dataclasses
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from corrnet import CorrNet, metrics, training
from corrnet.datasets import digits_halves

warnings.simplefilter("ignore")
real = training._step_parts
WD = [0.0]


def with_l2(parts, sources, step, model, config, dist):
    terms, single = real(parts, sources, step, model, config, dist)
    if WD[0] and terms is not None:
        pen = 0.0
        with __import__("torch").no_grad():
            for name, p in model.named_parameters():
                if p.ndim == 2:  # weight matrices only
                    p.grad.add_(p, alpha=WD[0])
                    pen = pen + 0.5 * WD[0] * p.square().sum()
        terms = dataclasses.replace(terms, total=terms.total + pen)
    return terms, single


training._step_parts = with_l2
for wd in (float(a) for a in sys.argv[1:]):
    WD[0] = wd
    rows = []
    for seed in (0, 1, 2):
        d = digits_halves(random_state=seed)
        est = CorrNet(20, random_state=seed).fit(d.X_train, d.Y_train, validation_data=(d.X_val, d.Y_val))
        assert est.optimizer_ == "lbfgs"
        hx_tr, hy_tr = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
        hx, hy = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
        rows.append(dict(val_mrr=max(r["val_mrr"] for r in est.history_), lam=est.config_.lam, epochs=est.n_epochs_,
                         t12=100 * metrics.transfer_accuracy(hx_tr, d.y_train, hy, d.y_test),
                         t21=100 * metrics.transfer_accuracy(hy_tr, d.y_train, hx, d.y_test)))
    out = {"wd": wd, **{k: round(float(np.mean([r[k] for r in rows])), 4) for k in ("val_mrr", "t12", "t21")},
           "lam": [r["lam"] for r in rows], "epochs": [r["epochs"] for r in rows]}
    print(json.dumps(out), flush=True)
    with open(Path(__file__).with_name("log.jsonl"), "a") as f:
        f.write(json.dumps(out) + "\n")
