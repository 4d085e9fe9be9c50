"""AV digits at raw units (held out): what scaling of the audio view (log-mel dB, -100..20) would
help? A probe for the next step after the shared-range rule (issue 25); nothing built.

    python docs/results/av-scale-probe/run.py > docs/results/av-scale-probe/run.log

Variants, CorrNet(50), seeds 0, 1, 2, the defaults table's scoring: the defaults (audio
standardised per column, images mapped to [0, 1] whole); the audio view mapped to [0, 1] whole by
hand (one affine map over its global min and max: every column keeps its relative scale), then
the defaults.
"""

import dataclasses
import json
import warnings

import numpy as np

from corrnet import CorrNet
from corrnet.experiments.defaults import LOADERS, score, width

warnings.simplefilter("ignore")
d = LOADERS["av-digits-raw"](None)
lo, hi = float(d.X_train.min()), float(d.X_train.max())
glob = lambda A: ((A - lo) / (hi - lo)).astype(np.float32)  # noqa: E731
variants = {
    "defaults": d,
    "audio whole-view [0,1]": dataclasses.replace(d, X_train=glob(d.X_train), X_val=glob(d.X_val), X_test=glob(d.X_test)),
}
for name, dd in variants.items():
    rows = []
    for seed in (0, 1, 2):
        est = CorrNet(width(dd), random_state=seed).fit(dd.X_train, dd.Y_train)
        r = score(est, dd)
        rows.append([100 * r["transfer_1to2"], 100 * r["transfer_2to1"], 100 * r["recall@1"], r["gen_2from1"], r["gen_1from2"]])
    m, s = np.mean(rows, 0), np.std(rows, 0)
    print(json.dumps({"variant": name, "out": est.output_activation_, "mean": [round(float(v), 3) for v in m],
                      "sd": [round(float(v), 3) for v in s]}), flush=True)
