"""Probe: sampled reconstruction of sparse views (``reconstruction_samples``) on SIB-200
cross-language classification (EN <-> DE, one fit scores both directions) and CLDR names (ru,
recall@1 both ways), and with ``--multi30k`` Multi30k (recall@1): accuracy / recall and fit
seconds against the full reconstruction.

    OMP_NUM_THREADS=1 python benchmarks/probes/sampled_reconstruction.py > benchmarks/probes/sampled_reconstruction.log
"""

import json
import sys
import time
import warnings

import numpy as np
import torch

from corrnet import CorrNet
from corrnet.experiments import cldc, quality

torch.set_num_threads(1)
warnings.simplefilter("ignore")
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
SAMPLES = [None if s == "full" else int(s) for s in (ARGS[0] if ARGS else "full,100,300").split(",")]
SEEDS = (0, 1, 2)

p = cldc.load_pair("eng_Latn", "deu_Latn")
X, rep, _ = cldc.features(p)
for m in SAMPLES:
    for seed in SEEDS:
        t0 = time.perf_counter()
        est = CorrNet(50, random_state=seed, reconstruction_samples=m).fit(*rep)
        fit_s = time.perf_counter() - t0
        enc = cldc._Encoder(lambda i, A, est=est: est.transform(X=A) if i == 0 else est.transform(Y=A))
        acc = [round(100 * r["accuracy"], 1) for r in cldc._transfer(enc, X, p)]
        row = {"task": "sib200 en<->de", "samples": m, "seed": seed, "acc": acc, "mean": float(np.mean(acc))}
        print(json.dumps({**row, "fit_s": round(fit_s, 1), "epochs": est.n_epochs_}), flush=True)



def retrieval(name: str) -> None:
    """Recall@1 (both ways) of the defaults with each sample count, every seed, on a gate task."""
    task = quality.TASKS[name]
    v = task.load(None)
    for m in SAMPLES:
        for seed in SEEDS:
            t0 = time.perf_counter()
            est = CorrNet(task.k, random_state=seed, reconstruction_samples=m).fit(*v.train)
            fit_s = time.perf_counter() - t0
            row = {"task": name, "samples": m, "seed": seed, "recall@1": round(100 * quality.score(task, est, v), 1)}
            print(json.dumps({**row, "fit_s": round(fit_s, 1), "epochs": est.n_epochs_}), flush=True)


retrieval("cldr-names-ru")
if "--multi30k" in sys.argv:  # the log's Multi30k lines: `... sampled_reconstruction.py full,300 --multi30k`
    retrieval("multi30k")
