"""Issue 25, Noisy MNIST: the ``canonical`` preset with one setting changed, or with more units
than it keeps.

    python docs/results/canon-wide/probe.py SEED WIDTH KEEP [JSON_OVERRIDES]

Fits ``CorrNet.from_preset("canonical")`` with ``n_components=WIDTH`` and the overrides on Noisy
MNIST's training rows (one torch thread; ``PROBE_THREADS=2`` for two), then scores only the first
``KEEP`` aligned units (the final linear CCA orders them by canonical correlation, largest first)
on the validation split with ``docs/results/noisy-screen/scoring.py`` (the test split is not
read). One JSON line appended to ``log.jsonl`` beside this file.
"""

import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "noisy-screen"))
import scoring

from corrnet import CorrNet
from corrnet.datasets import load_dataset

seed, width, keep = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
given = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}  # logged as given
over = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}  # JSON lists: tuples
torch.set_num_threads(int(os.environ.get("PROBE_THREADS", "1")))
d = load_dataset("noisy-mnist", None)
t0 = time.perf_counter()
est = CorrNet.from_preset("canonical", n_components=width, random_state=seed, device="cpu", **over).fit(
    d.X_train, d.Y_train
)
secs = time.perf_counter() - t0


class Kept:
    """The fitted estimator's first ``keep`` aligned units."""

    def transform(self, X=None, Y=None):
        return est.transform(X=X, Y=Y)[:, :keep]


head = {"name": "canonical wide", "seed": seed, "width": width, "keep": keep, "over": given, "epochs": est.n_epochs_}
head["init"] = est.config_.init
scoring.score_and_log(head, Kept(), d, secs, log=Path(__file__).with_name("log.jsonl"))
