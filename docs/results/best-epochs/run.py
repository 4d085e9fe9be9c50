"""The best preset's length on MNIST halves, judged on the validation split (issue 25, goal 2:
>= 91 / 91 % transfer in <= 10 minutes a seed).

    python docs/results/best-epochs/run.py SEED EPOCHS

``CorrNet.from_preset("best", epochs=EPOCHS)`` trained on the 50 000 training rows, scored on the
10 000 validation rows (the test split is not touched): sum-correlation, 5-fold transfer both ways
(the experiment's protocol), recall@1. One JSON line appended to log.jsonl.
"""

import json
import sys
import time
from pathlib import Path

from corrnet import CorrNet, metrics
from corrnet.datasets import load_dataset

seed, epochs = int(sys.argv[1]), int(sys.argv[2])
d = load_dataset("mnist-halves", None)
t = time.perf_counter()
est = CorrNet.from_preset("best", epochs=epochs, random_state=seed, device="cpu").fit(d.X_train, d.Y_train)
secs = time.perf_counter() - t
h1, h2 = est.transform(X=d.X_val), est.transform(Y=d.Y_val)
row = dict(seed=seed, epochs=epochs, lr=est.config_.lr, train_seconds=round(secs, 1),
           val_sum_corr=round(metrics.sum_correlation(h1, h2), 3),
           val_transfer_1to2=round(100 * metrics.transfer_accuracy_folds(h1, h2, d.y_val), 2),
           val_transfer_2to1=round(100 * metrics.transfer_accuracy_folds(h2, h1, d.y_val), 2),
           val_recall1=round(100 * metrics.retrieval(h1, h2)["recall@1"], 2))
print(json.dumps(row), flush=True)
with open(Path(__file__).with_name("log.jsonl"), "a") as f:
    f.write(json.dumps(row) + "\n")
