"""Issue 25, goal 1: the ``canonical`` preset on CLDR names, on the transliteration experiment's split.

    python docs/results/canon-cldr/probe.py LOCALES SEED JSON_OVERRIDES [JSON_OVERRIDES ...]

Builds the views exactly as ``corrnet experiment transliteration`` does (its split over the five
scripts, seed 0; character n-gram TF-IDF fitted on each view's training names), fits
``CorrNet.from_preset("canonical", ...)`` with each override on each script (``LOCALES``: comma
separated), and scores it with the experiment's own ``_evaluate`` (validation MRR, which the
experiment chooses settings by; test recall@1 both ways). One JSON line per fit appended to
``log.jsonl`` beside this file. Two torch threads.
"""

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from corrnet import CorrNet
from corrnet.datasets.cldr import cldr_names
from corrnet.experiments import transliteration as T

locales, seed = tuple(sys.argv[1].split(",")), int(sys.argv[2])
torch.set_num_threads(2)
table = cldr_names(T.LOCALES, kinds=T.KINDS, seed=0)  # the experiment's split, over its five scripts
for loc in locales:
    names = {s: table.pairs(loc, s) for s in ("train", "val", "test")}
    ve, vo = T._vectoriser().fit(names["train"][0]), T._vectoriser().fit(names["train"][1])
    views = {s: (ve.transform(en), vo.transform(o)) for s, (en, o) in names.items()}
    rng = np.random.default_rng(seed)
    negs = {s: T._negatives(len(names[s][1]), names[s][1], rng) for s in ("val", "test")}
    for over in map(json.loads, sys.argv[3:]):
        base = over.pop("preset", "canonical")
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = CorrNet.from_preset(base, **over, random_state=seed).fit(*views["train"])
        secs = time.perf_counter() - t0
        res = T._evaluate(lambda s, e=est, v=views: (e.transform(X=v[s][0]), e.transform(Y=v[s][1])), negs)
        row = {"locale": loc, "seed": seed, "preset": base, "over": over, "epochs": est.n_epochs_, "fit_s": secs}
        row |= {k: round(float(v), 4) for k, v in res.items()}
        print(f"{loc} {base} {over}: val MRR {row['val_mrr']:.3f}  test R@1 {100 * row['en->x recall@1']:.1f} / "
              f"{100 * row['x->en recall@1']:.1f}  ({secs:.1f} s, {est.n_epochs_} epochs)", flush=True)
        with open(Path(__file__).with_name("log.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")
