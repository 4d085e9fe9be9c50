"""Issue 25, goal 2 (the demo's transfer >= 80 % both ways): the demo's data, split and width
(``corrnet demo``: digits halves, 1 000 training pairs, k = 20, its 300 validation pairs passed as
``validation_data``) with the defaults and with the ``canonical`` preset, seeds 0, 1, 2.

    python docs/results/demo-canonical/run.py > docs/results/demo-canonical/run.log

Prints, per setting, mean ± sd over the seeds of transfer both ways on the **validation** pairs
(what a choice rests on) and on the test pairs, generation MSE of each half from the other (test;
the mean image's beside it), retrieval recall@1 (test) and fit seconds; then per-seed JSON rows.
"""

import json
import time
import warnings

import numpy as np

from corrnet import CorrNet, metrics
from corrnet.datasets import digits_halves

warnings.simplefilter("ignore")
SETTINGS = {
    "defaults": lambda seed: CorrNet(20, random_state=seed),
    "canonical, 10 epochs (min_steps=None: 20 steps)": lambda seed: CorrNet.from_preset(
        "canonical", n_components=20, random_state=seed, min_steps=None
    ),
    "canonical (min_steps=300: 150 epochs)": lambda seed: CorrNet.from_preset(
        "canonical", n_components=20, random_state=seed
    ),
}
for name, make in SETTINGS.items():
    rows = []
    for seed in (0, 1, 2):
        d = digits_halves(random_state=seed)
        t0 = time.perf_counter()
        est = make(seed).fit(d.X_train, d.Y_train, validation_data=(d.X_val, d.Y_val))
        secs = time.perf_counter() - t0
        hx_tr, hy_tr = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
        hv1, hv2 = est.transform(X=d.X_val), est.transform(Y=d.Y_val)
        hx, hy = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
        rows.append(
            {
                "seed": seed,
                "epochs": est.n_epochs_,
                "val_t12": 100 * metrics.transfer_accuracy(hx_tr, d.y_train, hv2, d.y_val),
                "val_t21": 100 * metrics.transfer_accuracy(hy_tr, d.y_train, hv1, d.y_val),
                "t12": 100 * metrics.transfer_accuracy(hx_tr, d.y_train, hy, d.y_test),
                "t21": 100 * metrics.transfer_accuracy(hy_tr, d.y_train, hx, d.y_test),
                "gen_right": metrics.generation_mse(d.Y_test, est.generate(X=d.X_test)),
                "gen_left": metrics.generation_mse(d.X_test, est.generate(Y=d.Y_test)),
                "mean_right": metrics.generation_mse(d.Y_test, np.broadcast_to(d.Y_train.mean(0), d.Y_test.shape)),
                "mean_left": metrics.generation_mse(d.X_test, np.broadcast_to(d.X_train.mean(0), d.X_test.shape)),
                "r1": 100 * metrics.retrieval(hx, hy)["recall@1"],
                "fit_s": secs,
            }
        )
    keys = ("val_t12", "val_t21", "t12", "t21", "gen_right", "gen_left", "mean_right", "mean_left", "r1", "fit_s")
    cells = [f"{k} {np.mean([r[k] for r in rows]):.4g} ± {np.std([r[k] for r in rows], ddof=1):.2g}" for k in keys]
    print(f"{name}: " + "; ".join(cells), flush=True)
    for r in rows:
        print("  " + json.dumps(r), flush=True)
