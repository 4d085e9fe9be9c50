"""Model-shape levers on CLDR names (issue 25, goal 1): CorrNet(128) with the defaults and one override.

    python docs/results/cldr-shape/run.py cldr:ru cldr:ar -- '{}' '{"tied": true}' '{"hidden_activation": "tanh"}'

Prints, per script and override (seed 0): fit seconds, epochs run and kept, the best validation MRR (what a
choice would be made on) and test recall@1 both ways (for the record). Appends JSON lines to log.jsonl.
"""

import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from bench_text import _views

from corrnet import CorrNet, metrics

warnings.simplefilter("ignore")
cut = sys.argv.index("--")
seed = 0
for data in sys.argv[1:cut]:
    v = _views(data)
    (X, Y), (Xt, Yt) = v["train"], v["test"]
    for over in sys.argv[cut + 1 :]:
        kw = json.loads(over)
        t = time.perf_counter()
        est = CorrNet(128, **{"random_state": seed, **kw}).fit(X, Y)
        s = time.perf_counter() - t
        a, b = est.transform(X=Xt), est.transform(Y=Yt)
        r = (metrics.retrieval(a, b)["recall@1"] * 100, metrics.retrieval(b, a)["recall@1"] * 100)
        val = max(h["val_mrr"] for h in est.history_)
        row = dict(data=data, over=kw, seed=seed, secs=round(s, 1), epochs=est.n_epochs_, kept=est.best_epoch_,
                   val_mrr=round(val, 4), r1_en_x=round(r[0], 1), r1_x_en=round(r[1], 1))
        print(json.dumps(row), flush=True)
        with open(Path(__file__).with_name("log.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")
