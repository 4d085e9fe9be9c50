"""Issue 25: does the ``canonical`` preset carry to sparse text retrieval? Multi30k EN<->DE TF-IDF
(the views of ``corrnet experiment multi30k``), scored on the 1 014 **validation** pairs (the test
split is not read): recall@1 / @10 and MRR both ways, cosine similarity of the codes.

    python docs/results/canon-text/probe.py SEED K [JSON_OVERRIDES]

Fits ``CorrNet.from_preset("canonical", n_components=K, **overrides)`` (``{"preset": "default"}``:
the defaults instead) on the 29 000 training pairs, one torch thread (``PROBE_THREADS`` for more).
One JSON line appended to ``log.jsonl`` beside this file.
"""

import json
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

from corrnet import CorrNet, metrics
from corrnet.config import preset
from corrnet.datasets.multi30k import multi30k

seed, k = int(sys.argv[1]), int(sys.argv[2])
given = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
over = {key: tuple(v) if isinstance(v, list) else v for key, v in given.items()}
base = over.pop("preset", "canonical")
torch.set_num_threads(int(os.environ.get("PROBE_THREADS", "1")))
texts = multi30k(None)
ven = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32).fit(texts["train"][0])
vde = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32).fit(texts["train"][1])
views = {s: (ven.transform(en), vde.transform(de)) for s, (en, de) in texts.items() if s in ("train", "val")}
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est = CorrNet(**{**preset(base), "n_components": k, **over}, random_state=seed, device="cpu").fit(*views["train"])
secs = time.perf_counter() - t0
E, G = views["val"]
a, b = est.transform(X=E), est.transform(Y=G)
row = {"seed": seed, "k": k, "preset": base, "over": given, "epochs": est.n_epochs_, "train_seconds": secs}
for name, (q, t) in {"en->de": (a, b), "de->en": (b, a)}.items():
    r = metrics.retrieval(q, t)
    row.update({f"val {name} {m}": float(v) for m, v in r.items()})
row["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(row), flush=True)
with open(Path(__file__).with_name("log.jsonl"), "a") as f:
    f.write(json.dumps(row) + "\n")
