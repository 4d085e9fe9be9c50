"""Probe: candidate default recipes on the quality gate's two-view tasks (test score as the gate
computes it; the gate's validation score beside it). One thread.

    OMP_NUM_THREADS=1 python benchmarks/probes/recipe.py VARIANTS TASKS [SEEDS] >> benchmarks/probes/recipe.log

"default" is the per-unit recipe (the defaults when this was measured); "canon-1h" is the canonical
recipe that became the default on dense views (there with batches of 100; the default takes 800).
"""

import json
import sys
import time
import warnings

import torch

from corrnet import CorrNet
from corrnet.experiments import quality

torch.set_num_threads(1)
warnings.simplefilter("ignore")
# the settings each variant had when it was measured (the defaults then: per-unit, batches of 100)
LIN = dict(correlation="canonical", hidden_activation="linear", init="torch", encoder_layers=(), batch_size=100)
VARIANTS = {
    "default": {"correlation": "per_unit"},
    "canon-lin": {**LIN, "lam": 64.0},
    "canon-lin-lam8": {**LIN, "lam": 8.0},
    "canon-sig": {"correlation": "canonical", "lam": 64.0, "encoder_layers": (), "init": "original", "batch_size": 100},
    "canon-1h": {**LIN, "lam": 64.0, "encoder_layers": (256,), "encoder_activation": "relu", "encoder_norm": "layer"},
    "canon-1h-adam": {
        **LIN, "lam": 64.0, "encoder_layers": (256,), "encoder_activation": "relu", "encoder_norm": "layer",
        "optimizer": "adam", "lr": 1e-3, "batch_size": 800, "epochs": 10, "min_steps": 300,
        "tol": None, "validation_fraction": None, "early_stopping": False,
    },
}
VARIANTS["canon-1h-lindec"] = {**VARIANTS["canon-1h"], "decoder_layers": ()}
VARIANTS["canon-1h-adam-lindec"] = {**VARIANTS["canon-1h-adam"], "decoder_layers": ()}
VARIANTS["canon-1h-lbfgs"] = {**VARIANTS["canon-1h"], "optimizer": "lbfgs"}
VARIANTS["canon-1h-b800"] = {**VARIANTS["canon-1h"], "batch_size": 800}
VARIANTS["canon-lin-lbfgs"] = {**VARIANTS["canon-lin"], "optimizer": "lbfgs"}
VARIANTS["canon-1h-big"] = {**VARIANTS["canon-1h"], "optimizer": "adam", "lr": 1e-3, "batch_size": 800, "epochs": 10}
VARIANTS["canon-1h-big-es"] = {**VARIANTS["canon-1h-big"], "epochs": 30}
VARIANTS["canon-1h-big-ms"] = {**VARIANTS["canon-1h-big"], "min_steps": 300}
VARIANTS["canon-lin-lbfgs-norecon"] = {**VARIANTS["canon-lin-lbfgs"], "reconstruct_from": ()}
VARIANTS["canon-lin-lbfgs-linout"] = {**VARIANTS["canon-lin-lbfgs"], "output_activation": "linear"}
VARIANTS["canon-lin-linout"] = {**VARIANTS["canon-lin"], "output_activation": "linear", "batch_size": 800}
VARIANTS["defaults"] = {}  # the current defaults
VARIANTS["defaults-500-300"] = {"encoder_layers": (500, 300)}
names = sys.argv[1].split(",")
tasks = sys.argv[2].split(",")
seeds = [int(s) for s in sys.argv[3].split(",")] if len(sys.argv) > 3 else [0, 1, 2]
for task_name in tasks:
    task = quality.TASKS[task_name]
    v = task.load(None)
    for name in names:
        for seed in seeds:
            t0 = time.perf_counter()
            est = CorrNet(task.k, random_state=seed, **VARIANTS[name]).fit(*v.train)
            fit_s = time.perf_counter() - t0
            row = {"task": task_name, "variant": name, "seed": seed, "fit_s": round(fit_s, 1),
                   "test": round(100 * quality.score(task, est, v), 1),
                   "val": round(100 * quality._validation_score(task, est, v), 1),
                   "opt": est.config_.optimizer, "lam": est.config_.lam, "epochs": est.n_epochs_}
            print(json.dumps(row), flush=True)
