"""How should scale="auto" treat a dense view that is not in [0, 1]? (issue 25, goal 1: MNIST halves
at 0-255 retrieves at 8 % where the same pixels in [0, 1] reach 21 %.) It led to the shared-range rule
of scale="auto" (docs/results.md, "Scaling views whose columns share one range").

    python docs/results/scale-probe/run.py > docs/results/scale-probe/run.log

The defaults table's datasets (tuning and held out), CorrNet(k) with the defaults and scale =
"standard" (what "auto" does to them today) or "minmax" (each column to [0, 1]); seeds 0, 1, 2;
the defaults table's test metrics (transfer both ways %, recall@1 %, generation / mean-predictor).
"""

import json
import sys

import numpy as np

from corrnet import CorrNet
from corrnet.experiments.defaults import HELD_OUT, LOADERS, TUNING, score, width

datasets = sys.argv[1:] or [*TUNING, *HELD_OUT]
for name in datasets:
    d = LOADERS[name](None)
    print(json.dumps({"data": name, "min": float(d.X_train.min()), "max": float(d.X_train.max())}), flush=True)
    for scale in ("standard", "minmax"):
        rows = []
        for seed in (0, 1, 2):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = CorrNet(width(d), scale=scale, random_state=seed).fit(d.X_train, d.Y_train)
            r = score(est, d)
            rows.append([100 * r["transfer_1to2"], 100 * r["transfer_2to1"], 100 * r["recall@1"], r["gen_2from1"], r["gen_1from2"]])
        m, s = np.mean(rows, 0), np.std(rows, 0)
        print(json.dumps({"data": name, "scale": scale, "mean": [round(float(v), 3) for v in m],
                          "sd": [round(float(v), 3) for v in s]}), flush=True)
