"""Weight decay on CLDR names, judged on the held-out validation names (issue 25, goal 1).

    python docs/results/cldr-wd/run.py ru el hi ar ko -- 0 1e-3 3e-3

Per script (``cldr_names((loc,), seed=0)``: the split of ``benchmarks/bench_text.py``), CorrNet(128)
with the defaults and ``weight_decay`` set, fitted on the training names (its own 10 % hold-out for
early stopping, as always). Scored on the split's *validation* names (about 230, never used by the
fit): recall@1 both ways, the number a choice may rest on. Test names are not touched. Seed 0. One
JSON line per fit, appended to log.jsonl.
"""

import json
import sys
import time
import warnings
from pathlib import Path

from corrnet import CorrNet, metrics
from corrnet.datasets.cldr import cldr_names
from corrnet.experiments import transliteration as T

warnings.simplefilter("ignore")
cut = sys.argv.index("--")
for loc in sys.argv[1:cut]:
    table = cldr_names((loc,), seed=0)
    names = {s: table.pairs(loc, s) for s in ("train", "val")}
    ve, vo = T._vectoriser().fit(names["train"][0]), T._vectoriser().fit(names["train"][1])
    (X, Y), (Xv, Yv) = ((ve.transform(a), vo.transform(b)) for a, b in (names["train"], names["val"]))
    for wd in (float(a) for a in sys.argv[cut + 1 :]):
        t = time.perf_counter()
        est = CorrNet(128, weight_decay=wd, random_state=0).fit(X, Y)
        s = time.perf_counter() - t
        a, b = est.transform(X=Xv), est.transform(Y=Yv)
        row = dict(script=loc, weight_decay=wd, secs=round(s, 1), epochs=est.n_epochs_, kept=est.best_epoch_,
                   inner_val_mrr=round(max(h["val_mrr"] for h in est.history_), 4), n_val=len(names["val"][0]),
                   val_r1_en_x=round(100 * metrics.retrieval(a, b)["recall@1"], 1),
                   val_r1_x_en=round(100 * metrics.retrieval(b, a)["recall@1"], 1))
        print(json.dumps(row), flush=True)
        with open(Path(__file__).with_name("log.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")
