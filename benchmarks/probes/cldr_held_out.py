"""Probe: the defaults against the gate's tuned SVD + CCA on CLDR names in the scripts the gate does
not hold (Greek, Hindi, Arabic: never tuned on), scored as the gate scores cldr-names-ru/-ko.

    OMP_NUM_THREADS=1 python benchmarks/probes/cldr_held_out.py [LOCALES] [SEEDS] >> cldr_held_out.log
"""

import json
import sys
import time
import warnings

from corrnet.experiments import quality

warnings.simplefilter("ignore")
locales = sys.argv[1].split(",") if len(sys.argv) > 1 else ["el", "hi", "ar"]
seeds = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [0, 1, 2]
for loc in locales:
    task = quality.Task(quality._cldr(loc), 128, score="retrieval", quick=False)
    v = task.load(None)
    for method, method_seeds in (("default", seeds), ("cca", [0])):
        for seed in method_seeds:
            t0 = time.perf_counter()
            est = quality._fit(method, v, task, seed)
            fit_s = time.perf_counter() - t0
            row = {"locale": loc, "method": method, "seed": seed, "fit_s": round(fit_s, 1),
                   "test": round(100 * quality.score(task, est, v), 1)}
            print(json.dumps(row), flush=True)
