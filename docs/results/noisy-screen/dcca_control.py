"""Issue 25 goal 2, the Noisy MNIST gap's controls: the project's DeepCCA on the *validation* split,
scored exactly as ``screen.py`` scores CorrNet, at settings that isolate one suspect each.

    python docs/results/noisy-screen/dcca_control.py NAME SEED EPOCHS '{"layers": [500, 300]}'

The base setting is the published one (``tools/dcca_published.py --batch-norm``: 3 x 1024 ReLU
layers with BatchNorm into 10 linear outputs, Adam lr 1e-3, weight decay 1e-5, batches of 800);
the JSON overrides DeepCCA's arguments. One JSON line per run appended to ``log.jsonl``.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from corrnet import metrics
from corrnet.baselines import DeepCCA
from corrnet.datasets import load_dataset

name, seed, epochs, over = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
torch.set_num_threads(1)
d = load_dataset("noisy-mnist", "/work/shared/data/mnist")
kw = {"n_components": 10, "layers": (1024, 1024, 1024), "batch_size": 800, "lr": 1e-3, "activation": "relu",
      "batch_norm": True, "weight_decay": 1e-5, **over}
kw["layers"] = tuple(kw["layers"])
t0 = time.perf_counter()
est = DeepCCA(**kw, epochs=epochs, random_state=seed).fit(d.X_train, d.Y_train)
secs = time.perf_counter() - t0
t1 = est.transform(X=d.X_train)
v1, v2 = est.transform(X=d.X_val), est.transform(Y=d.Y_val)
h = len(v1) // 2
acc, C = metrics.view_classification(t1, d.y_train, v1[:h], d.y_val[:h], v1[h:], d.y_val[h:])
row = {
    "name": name,
    "method": "dcca",
    "seed": seed,
    "epochs": epochs,
    "over": over,
    "val_classify_1": acc,
    "C": C,
    "val_sum_corr": metrics.sum_correlation(v1, v2),
    "val_canon": float(metrics.canonical_correlations(v1, v2).sum()),
    "val_transfer_1to2": metrics.transfer_accuracy_folds(v1, v2, d.y_val),
    "val_transfer_2to1": metrics.transfer_accuracy_folds(v2, v1, d.y_val),
    "train_seconds": secs,
}
row = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in row.items()}
print(json.dumps(row), flush=True)
with open(Path(__file__).with_name("log.jsonl"), "a") as f:
    f.write(json.dumps(row) + "\n")
