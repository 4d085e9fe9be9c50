"""Early-stopping patience on small text tables (issue 26 §2: a CLDR script in <= 5 s).

    python docs/results/patience-probe/run.py cldr:ru cldr:el cldr:ar

For each dataset: CorrNet(128) with the defaults, patience = 3, 10 epochs and "auto" (3 epochs but at
least 500 optimiser steps under Adam); prints fit seconds, epochs run, the kept epoch and test
recall@1 both ways. Settings are judged on validation; test is printed for the record.
"""

import sys
import time
import warnings

sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "..", "..", "..", "benchmarks"))
from bench_text import _views

from corrnet import CorrNet, metrics

warnings.simplefilter("ignore")
for data in sys.argv[1:]:
    v = _views(data)
    (X, Y), (Xt, Yt) = v["train"], v["test"]
    for patience in (3, 10, "auto"):
        for seed in (0, 1):
            t = time.perf_counter()
            est = CorrNet(128, patience=patience, random_state=seed).fit(X, Y)
            s = time.perf_counter() - t
            a, b = est.transform(X=Xt), est.transform(Y=Yt)
            r = (metrics.retrieval(a, b)["recall@1"] * 100, metrics.retrieval(b, a)["recall@1"] * 100)
            val = max(h["val_mrr"] for h in est.history_)
            print(
                f"{data} patience={patience} seed={seed}: {s:.1f} s, {est.n_epochs_} epochs, kept {est.best_epoch_}, "
                f"val MRR {val:.3f}, test R@1 {r[0]:.1f} / {r[1]:.1f}",
                flush=True,
            )
