"""The correlation weight on CLDR names (issue 25, goal 1): CorrNet(128) with the defaults and lam set.

    python docs/results/cldr-lam/run.py cldr:ru cldr:el -- 2 8 32

Prints fit seconds, the kept epoch, the best validation MRR (what a choice would be made on) and
test recall@1 both ways (for the record), seed 0.
"""

import sys
import time
import warnings

sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "..", "..", "..", "benchmarks"))
from bench_text import _views

from corrnet import CorrNet, metrics

warnings.simplefilter("ignore")
cut = sys.argv.index("--")
for data in sys.argv[1:cut]:
    v = _views(data)
    (X, Y), (Xt, Yt) = v["train"], v["test"]
    for lam in (float(a) for a in sys.argv[cut + 1 :]):
        t = time.perf_counter()
        est = CorrNet(128, lam=lam, random_state=0).fit(X, Y)
        s = time.perf_counter() - t
        a, b = est.transform(X=Xt), est.transform(Y=Yt)
        r = (metrics.retrieval(a, b)["recall@1"] * 100, metrics.retrieval(b, a)["recall@1"] * 100)
        val = max(h["val_mrr"] for h in est.history_)
        print(
            f"{data} lam={lam:g}: {s:.1f} s, {est.n_epochs_} epochs, kept {est.best_epoch_}, val MRR {val:.3f}, "
            f"test R@1 {r[0]:.1f} / {r[1]:.1f}",
            flush=True,
        )
