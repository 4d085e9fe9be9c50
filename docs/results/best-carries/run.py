"""Issue 25 goal 2 probe: does the `best` preset carry to Noisy MNIST when its Adam rate follows the
same column-mean-mass rule as ``lr="auto"`` (rate x min(1, 100 / m))?

    python docs/results/best-carries/run.py DATASET SEED LR_MODE [EPOCHS]

LR_MODE: ``preset`` (the fixed 6e-3 the preset had before) or ``mass`` (6e-3 x min(1, 100 / m), what
the preset's ``lr="auto"`` now resolves to: seeds 0 and 1 set it by hand, before the preset took it;
seed 2 ran the preset as it is). One JSON line per run appended to
``docs/results/best-carries/log.jsonl`` (the experiment runner's metrics, test split).
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

from corrnet.base import AUTO_LR_DEEP, AUTO_LR_MASS, _mean_mass
from corrnet.config import preset
from corrnet.datasets import load_dataset
from corrnet.estimator import CorrNet
from corrnet.experiments.runner import score

name, seed, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else None
d = load_dataset(name, None)
best = preset("best")
mass = max(_mean_mass(d.X_train), _mean_mass(d.Y_train))
lr = AUTO_LR_DEEP * (min(1.0, AUTO_LR_MASS / mass) if mode == "mass" else 1.0)
over = ({} if mode == "mass" else {"lr": lr}) | ({"epochs": epochs} if epochs else {})
t0 = time.perf_counter()
est = CorrNet(**{**best, **over}, random_state=seed, device="cpu").fit(d.X_train, d.Y_train)
secs = time.perf_counter() - t0
assert est.config_.lr == lr, (est.config_.lr, lr)  # the preset's lr="auto" is the rate set by hand before
row = {"dataset": name, "seed": seed, "mode": mode, "mass": mass, "lr": lr, "epochs": est.n_epochs_,
       **score(est, d, True, view1_svm=name == "noisy-mnist"), "train_seconds": secs}
print(json.dumps(row), flush=True)
with open(Path(__file__).with_name("log.jsonl"), "a") as f:
    f.write(json.dumps({k: (float(v) if isinstance(v, np.floating) else v) for k, v in row.items()}) + "\n")
