"""Probe: CorrNet() defaults on Noisy MNIST with lr 1e-2 / 3e-3 / 1e-3 (seed 0): saturation and validation sum-corr."""
import json, sys, time, warnings
import numpy as np
from corrnet import CorrNet
from corrnet.datasets.mnist import noisy_mnist
d = noisy_mnist("/work/shared/data/mnist", random_state=0)
for name, A in (("view1", d.X_train), ("view2", d.Y_train)):
    print(name, "mean row L1", float(np.abs(A).sum(1).mean()), "width", A.shape[1], flush=True)
for lr in map(float, sys.argv[1:]):
    t = time.time()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        est = CorrNet(lr=lr, random_state=0, verbose=0).fit(d.X_train, d.Y_train)
    r = est.correlations(d.X_val, d.Y_val)
    row = dict(lr=lr, val_sum_corr=float(np.sum(r)), saturated=est.diagnostics_.saturated_units,
               warnings=[str(x.message)[:80] for x in w if "FitWarning" in type(x.message).__name__],
               epochs=len(est.history_), s=round(time.time() - t, 1))
    print(json.dumps(row), flush=True)
