"""Probe: Noisy MNIST at k = 10 (Wang et al.'s protocol: a linear SVM on view 1's codes), the
large-data preset against the defaults, one seed, the machine's threads; fit seconds and test %.

    python benchmarks/probes/noisy_k10.py >> noisy_k10.log
"""

import json
import time
import warnings

import torch

from corrnet import CorrNet
from corrnet.experiments import quality

warnings.simplefilter("ignore")
task = quality.Task(quality.TASKS["noisy-mnist"].load, 10, score="classify", quick=False)
v = task.load(None)
makers = {
    "canonical_wide": lambda: CorrNet.from_preset("canonical_wide", n_components=10, random_state=0),
    "default": lambda: CorrNet(10, random_state=0),
}
for name, make in makers.items():
    t0 = time.perf_counter()
    est = make().fit(*v.train)
    fit_s = time.perf_counter() - t0
    row = {"method": name, "k": 10, "threads": torch.get_num_threads(), "fit_s": round(fit_s, 1),
           "test": round(100 * quality.score(task, est, v), 2)}
    print(json.dumps(row), flush=True)
