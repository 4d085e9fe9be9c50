"""Issue 25, goal 4: 1 % paired MNIST halves (500 pairs + 49 500 single-view rows) with the defaults:
CorrNet() on the pairs alone against CorrNet() given the single-view rows too (nothing else set: no
validation_data, so validation_fraction="auto" holds out 50 of the pairs and early stopping watches
their retrieval MRR). Same split and scoring as ``corrnet experiment semi-paired``.

    python docs/results/semi-defaults/run.py 0 1 2 > docs/results/semi-defaults/log.jsonl
    (log.jsonl: lam=2 throughout, before lam="auto"; log-lam-auto.jsonl: with lam="auto")
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
    for name, kw in (("paired-only", {}), ("semi (auto)", {"X_unpaired": s["X_only"], "Y_unpaired": s["Y_only"]})):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = CorrNet(random_state=seed, device="cpu").fit(s["X"], s["Y"], **kw)
        row = {"seed": seed, "method": name, "optimizer": est.optimizer_, "strategy": est.unpaired_strategy_}
        row.update(lam=est.config_.lam, lam_scores={str(k): v for k, v in getattr(est, "lam_scores_", {}).items()})
        row.update(epochs=est.n_epochs_, best_epoch=est.best_epoch_, stop=est.stop_reason_)
        row.update(score_generation(est, d), train_seconds=time.perf_counter() - t0)
        print(json.dumps(row), flush=True)
