"""Issue 25, goal 4: the weight of the single-view rows at 1 % paired, chosen on a validation split
and checked on held-out data.

    python docs/results/semi-weight/run_val.py mnist-halves 0 1 2 > docs/results/semi-weight/val.jsonl
    python docs/results/semi-weight/run_val.py noisy-mnist 0 1 2 > docs/results/semi-weight/noisy.jsonl

1 % of the training rows keep both views (500 pairs), the rest are split into left-only and
right-only rows (`split_semi`); `CorrNet()` with the defaults (`unpaired_strategy="auto"` -> mixed
batches, early stopping on 50 of the pairs) and `unpaired_weight` w, and the pairs alone
(paired-only). Scored on the dataset's validation split (10 000 rows, what a choice may rest on)
and on its test split (for the record): per-unit sum-correlation, cross-view transfer both ways,
generation MSE both ways.
"""

import dataclasses
import json
import sys
import time
import warnings

from corrnet import CorrNet
from corrnet.datasets import mnist_halves, noisy_mnist
from corrnet.experiments.semi import score_generation, split_semi

name = sys.argv[1]
d = mnist_halves() if name == "mnist-halves" else noisy_mnist()
val = dataclasses.replace(d, X_test=d.X_val, Y_test=d.Y_val, y_test=d.y_val)
weights = (1.0, 0.3, 0.1, 0.03) if name == "mnist-halves" else (1.0, 0.1)
for seed in map(int, sys.argv[2:]):
    s = split_semi(d, 0.01, seed)
    for w in (None, *weights):
        t0 = time.perf_counter()
        kw = {} if w is None else {"X_unpaired": s["X_only"], "Y_unpaired": s["Y_only"]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = CorrNet(random_state=seed, unpaired_weight=1.0 if w is None else w, device="cpu")
            est.fit(s["X"], s["Y"], **kw)
        row = {"data": name, "seed": seed, "method": "paired-only" if w is None else f"semi w={w}"}
        row.update(epochs=est.n_epochs_, best_epoch=est.best_epoch_, train_seconds=round(time.perf_counter() - t0, 1))
        row["val"] = score_generation(est, val)
        row["test"] = score_generation(est, d)
        print(json.dumps(row), flush=True)
