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

import torch
from scoring import score_and_log

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
score_and_log({"name": name, "method": "dcca", "seed": seed, "epochs": epochs, "over": over}, est, d, secs, svm_variants=False)
