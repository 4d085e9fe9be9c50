"""The single-view rows' weight under ``alternate`` (which ``unpaired_weight="auto"`` leaves at 1):
the 1 % MNIST halves split of run_val.py, ``unpaired_strategy="alternate"``, w = 1 and 0.1, scored
on the validation split (and test, for the record).

    python docs/results/semi-weight/run_alternate.py 0 1 2 > docs/results/semi-weight/alternate.jsonl
"""

import dataclasses
import json
import sys
import time
import warnings

from corrnet import CorrNet
from corrnet.datasets import mnist_halves
from corrnet.experiments.semi import score_generation, split_semi

d = mnist_halves()
val = dataclasses.replace(d, X_test=d.X_val, Y_test=d.Y_val, y_test=d.y_val)
for seed in map(int, sys.argv[1:]):
    s = split_semi(d, 0.01, seed)
    for w in (1.0, 0.1):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = CorrNet(random_state=seed, unpaired_strategy="alternate", unpaired_weight=w, device="cpu")
            est.fit(s["X"], s["Y"], X_unpaired=s["X_only"], Y_unpaired=s["Y_only"])
        row = {"data": "mnist-halves", "seed": seed, "method": f"alternate w={w}", "epochs": est.n_epochs_}
        row.update(best_epoch=est.best_epoch_, train_seconds=round(time.perf_counter() - t0, 1))
        row["val"] = score_generation(est, val)
        row["test"] = score_generation(est, d)
        print(json.dumps(row), flush=True)
