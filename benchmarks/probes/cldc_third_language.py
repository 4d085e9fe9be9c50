"""Probe: does a third language help English <-> German classification? MultiViewCorrNet on the
800 SIB-200 train + dev sentences in English, German and French (three views, every row has all
three), against the two-view CorrNet on English and German alone; both scored by the cldc protocol
on EN -> DE and DE -> EN. One thread, seeds 0-2.

    OMP_NUM_THREADS=1 python benchmarks/probes/cldc_third_language.py > benchmarks/probes/cldc_third_language.log

``--linear-only`` runs only the linear rows (MAXVAR GCCA on the SVD-reduced views), seconds.
"""

import json
import sys
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


for n_views in (2, 3) if "--linear-only" not in sys.argv else ():
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

# the linear counterpart: MAXVAR generalised CCA on each language's SVD (300), standardised, one ridge
# chosen on both source languages' dev scores; two views: the same method on English and German
from corrnet.baselines import MaxVarGCCA  # noqa: E402

red = cldc._SVDViews(rep)
R = {s: [red(i, A) for i, A in enumerate(X[s])] for s in X}
Rrep = [red(i, A) for i, A in enumerate(rep)]
for n_views in (2, 3):
    t0 = time.perf_counter()
    best = None
    for reg in cldc.CCA_REGS:
        g = MaxVarGCCA(50, reg=reg).fit(Rrep[:n_views])

        def gcodes(i, A, g=g, n_views=n_views):
            return g.transform([A if j == i else None for j in range(n_views)])[i]

        res = [
            cldc.classify(gcodes(s, R["train"][s]), y["train"], gcodes(s, R["dev"][s]), y["dev"],
                          gcodes(t, R["test"][t]), y["test"])
            for s, t in ((0, 1), (1, 0))
        ]
        if best is None or res[0]["dev_accuracy"] + res[1]["dev_accuracy"] > best[0]:
            best = (res[0]["dev_accuracy"] + res[1]["dev_accuracy"], reg, [round(100 * r["accuracy"], 1) for r in res])
    row = {"views": langs[:n_views], "method": "MAXVAR GCCA", "reg": best[1], "en->de, de->en": best[2]}
    print(json.dumps({**row, "mean": float(np.mean(best[2])), "fit_s": round(time.perf_counter() - t0, 1)}), flush=True)
