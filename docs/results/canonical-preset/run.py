"""Issue 25: the ``canonical`` preset (Deep CCA's objective inside CorrNet) on a dataset's
validation or test split.

    python docs/results/canonical-preset/run.py DATASET SEED SPLIT [JSON_OVERRIDES]

``DATASET``: a :func:`corrnet.datasets.load_dataset` name (``noisy-mnist``, ``mnist-halves``, ...)
or one of the defaults table's (``av-digits-raw``: ``corrnet.experiments.defaults.LOADERS``).
``SPLIT``: ``val`` scores as ``docs/results/noisy-screen/scoring.py`` does (view-1 SVM with C chosen
on half the validation rows, scored on the other half; the test split is not read); ``test`` scores
with the experiment runner's metrics (``corrnet.experiments.runner.score``: C chosen on validation,
scored on test, as the ``best`` preset's runs in ``docs/results/best-carries/``). One torch thread.
One JSON line per run appended to ``log.jsonl`` beside this file. ``n_components`` is 10 on Noisy
MNIST (Wang et al.'s and the project's DCCA's width) unless overridden.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "noisy-screen"))
from scoring import score_and_log

from corrnet import CorrNet
from corrnet.datasets import load_dataset
from corrnet.experiments.defaults import LOADERS
from corrnet.experiments.runner import score

name, seed, split = sys.argv[1], int(sys.argv[2]), sys.argv[3]
over = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
torch.set_num_threads(1)
d = LOADERS[name](None) if name in LOADERS else load_dataset(name, None)  # av-digits-raw: the defaults table's
base = over.pop("preset", "canonical")  # '{"preset": "default"}': another preset, scored the same way
kw = {"n_components": 10 if name == "noisy-mnist" else 50, **over}  # JSON lists: config() makes them tuples
t0 = time.perf_counter()
est = CorrNet.from_preset(base, **kw, random_state=seed, device="cpu").fit(d.X_train, d.Y_train)
secs = time.perf_counter() - t0
c = est.config_
recipe = f"batch {c.batch_size}, lr {c.lr:.3g} {c.lr_schedule}, init {c.init}"  # the preset changed (summary.py)
if c.decoder_layers is not None:
    recipe += f", decoders {list(c.decoder_layers)}"
head = {"dataset": name, "seed": seed, "split": split, "over": over, "preset": base, "recipe": recipe}
head.update(lr=c.lr, epochs=est.n_epochs_)
if split == "val":
    score_and_log({"name": f"{base}-preset {name}", **head}, est, d, secs)
else:
    row = {**head, **score(est, d, True, view1_svm=name == "noisy-mnist"), "train_seconds": secs}
    row = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in row.items()}
    print(json.dumps(row), flush=True)
    with open(Path(__file__).with_name("log.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")
