"""Sparse text views with a linear output layer (issue 25 goal 1, issue 26 §2): does a linear
decoder cost retrieval? A linear decoder's squared error on a sparse view can be computed exactly
without reconstructing the zero columns, so it is the precondition for a cheap exact step.

    python docs/results/sparse-linear/probe.py cldr:ru cldr:el cldr:ar > docs/results/sparse-linear/probe.log

CorrNet(128) with the defaults (Adam, early stopping on validation MRR) and with
output_activation="linear"; seed 0; prints the best validation MRR, epochs, fit seconds and test
recall@1 both ways.
"""

import json
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "benchmarks"))
from bench_text import _views  # noqa: E402

from corrnet import CorrNet, metrics  # noqa: E402

warnings.simplefilter("ignore")
for data in sys.argv[1:]:
    v = _views(data)
    (X, Y), (Xt, Yt) = v["train"], v["test"]
    for name, kw in (("defaults", {}), ("linear output", {"output_activation": "linear"})):
        t = time.perf_counter()
        est = CorrNet(128, random_state=0, **kw).fit(X, Y)
        s = time.perf_counter() - t
        a, b = est.transform(X=Xt), est.transform(Y=Yt)
        r = (metrics.retrieval(a, b)["recall@1"] * 100, metrics.retrieval(b, a)["recall@1"] * 100)
        val = max(h["val_mrr"] for h in est.history_)
        print(json.dumps({"data": data, "setting": name, "val_mrr": round(val, 4), "epochs": est.n_epochs_,
                          "best": est.best_epoch_, "fit_s": round(s, 1), "r1": [round(x, 1) for x in r]}), flush=True)
