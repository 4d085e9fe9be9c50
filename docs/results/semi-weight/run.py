"""Issue 25, goal 4: the weight of the single-view rows at 1 % paired (500 pairs + 49 500 single-view
rows of MNIST halves), with the defaults otherwise (`unpaired_strategy="auto"` -> mixed, 50 of the
pairs held out for early stopping on retrieval MRR). A probe, judged on the validation MRR.

    python docs/results/semi-weight/run.py 0 1 2 > docs/results/semi-weight/log.jsonl
"""

import json
import sys
import time
import warnings

from corrnet import CorrNet
from corrnet.datasets import mnist_halves
from corrnet.experiments.semi import score_generation, split_semi

d = mnist_halves()
for seed in map(int, sys.argv[1:]):
    s = split_semi(d, 0.01, seed)
    for w in (1.0, 0.3, 0.1):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = CorrNet(random_state=seed, unpaired_weight=w, device="cpu")
            est.fit(s["X"], s["Y"], X_unpaired=s["X_only"], Y_unpaired=s["Y_only"])
        row = {"seed": seed, "unpaired_weight": w, "strategy": est.unpaired_strategy_, "epochs": est.n_epochs_}
        row.update(best_epoch=est.best_epoch_, val_mrr=max(r["val_mrr"] for r in est.history_))
        row.update(score_generation(est, d), train_seconds=time.perf_counter() - t0)
        print(json.dumps(row), flush=True)
