"""Issue 25 probe: DCCA's canonical objective in CorrNet's place, on CLDR names (validation split).

    python docs/results/canon-probe/probe.py NAME LOCALE SEED '{"batch_size": 500, "canon": 1e-3}'

Scores recall@1 both ways on the *val* split (test is not read): on the raw codes (cosine) and after a
final linear CCA of the training codes. One JSON line per run appended to ``log.jsonl``.
"""

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from corrnet import CorrNet, metrics
from corrnet.baselines import LinearCCA
from corrnet.datasets.cldr import cldr_names
from corrnet.experiments import transliteration as T

name, loc, seed, over = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
torch.set_num_threads(1)
table = cldr_names((loc,), seed=0)
names = {s: table.pairs(loc, s) for s in ("train", "val")}
ve, vo = T._vectoriser().fit(names["train"][0]), T._vectoriser().fit(names["train"][1])
(X, Y), (Xv, Yv) = [(ve.transform(a), vo.transform(b)) for a, b in (names["train"], names["val"])]
canon = over.pop("canon", 0.0)
if canon:
    import corrnet.objective as obj

    def _inv_sqrt(c):
        w, v = torch.linalg.eigh(c + canon * torch.eye(len(c), dtype=c.dtype))
        return v @ torch.diag(w.clamp(min=1e-12).rsqrt()) @ v.T

    def correlation(hx, hy, eps=1e-8, mask=None, reduce=None):
        assert mask is None and reduce is None
        hx, hy = hx.double(), hy.double()
        cx, cy = hx - hx.mean(0), hy - hy.mean(0)
        n = len(hx) - 1
        t = _inv_sqrt(cx.T @ cx / n) @ (cx.T @ cy / n) @ _inv_sqrt(cy.T @ cy / n)
        return torch.linalg.svdvals(t).float()

    obj.correlation = correlation
    over["engine"] = "autograd"
for key in ("encoder_layers", "reconstruct_from"):
    if key in over:
        over[key] = tuple(over[key])
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    if over.pop("cca", False):
        m = LinearCCA(128, reg=over.get("reg", 1.0)).fit(X.toarray(), Y.toarray())
        a, b = m.transform(X=Xv.toarray()), m.transform(Y=Yv.toarray())
        a2, b2, ep = a, b, 0
    else:
        est = CorrNet(**{"n_components": 128, **over}, random_state=seed).fit(X, Y)
        a, b = est.transform(X=Xv), est.transform(Y=Yv)
        ha, hb = est.transform(X=X), est.transform(Y=Y)
        k = min(ha.shape[1], len(ha) - 1)
        al = LinearCCA(k, reg=1e-3).fit(ha, hb)
        a2, b2 = al.transform(X=a), al.transform(Y=b)
        ep = est.n_epochs_
secs = time.perf_counter() - t0


def r1(p, q):
    return round(metrics.retrieval(p, q)["recall@1"] * 100, 1)


row = {"name": name, "loc": loc, "seed": seed, "over": json.loads(sys.argv[4]), "epochs": ep, "secs": round(secs, 1),
       "raw": [r1(a, b), r1(b, a)], "aligned": [r1(a2, b2), r1(b2, a2)],
       "canon_val": round(float(metrics.canonical_correlations(a, b, reg=1e-3).sum()), 2)}
print(json.dumps(row))
with open(Path(__file__).with_name("log.jsonl"), "a") as f:
    f.write(json.dumps(row) + "\n")
