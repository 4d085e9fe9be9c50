"""Probe: does a third language help English <-> German classification? MultiViewCorrNet on the
800 SIB-200 train + dev sentences in English, German and French (three views, every row has all
three), against the two-view CorrNet on English and German alone; both scored by the cldc protocol
on EN -> DE and DE -> EN. One thread, seeds 0-2.

    OMP_NUM_THREADS=1 python benchmarks/probes/cldc_third_language.py > benchmarks/probes/cldc_third_language.log
"""

import json
import time
import warnings

import numpy as np
import torch

from corrnet import MultiViewCorrNet
from corrnet.datasets.sib200 import sib200
from corrnet.experiments import cldc

torch.set_num_threads(1)
warnings.simplefilter("ignore")
langs = ("eng_Latn", "deu_Latn", "fra_Latn")
d = sib200(langs)
texts = {s: [d[s].texts[lang] for lang in langs] for s in d}
y = {s: d[s].labels for s in d}
vecs = [cldc._vectoriser(texts["train"][i] + texts["dev"][i]) for i in range(3)]
X = {s: [v.transform(t) for v, t in zip(vecs, texts[s])] for s in texts}
rep = [v.transform(texts["train"][i] + texts["dev"][i]) for i, v in enumerate(vecs)]


def codes(est, i, A, n_views):
    return est.transform([A if j == i else None for j in range(n_views)])


for n_views in (2, 3):
    for seed in (0, 1, 2):
        t0 = time.perf_counter()
        est = MultiViewCorrNet(50, random_state=seed).fit(rep[:n_views])
        fit_s = time.perf_counter() - t0
        acc = []
        for s, t in ((0, 1), (1, 0)):
            r = cldc.classify(
                codes(est, s, X["train"][s], n_views),
                y["train"],
                codes(est, s, X["dev"][s], n_views),
                y["dev"],
                codes(est, t, X["test"][t], n_views),
                y["test"],
            )
            acc.append(round(100 * r["accuracy"], 1))
        row = {"views": langs[:n_views], "seed": seed, "en->de, de->en": acc, "mean": float(np.mean(acc))}
        print(json.dumps({**row, "fit_s": round(fit_s, 1)}), flush=True)
