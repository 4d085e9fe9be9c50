import json, sys, time, warnings
import numpy as np
from corrnet import CorrNet
from corrnet.datasets import mnist_halves, noisy_mnist
which = sys.argv[1]
m = mnist_halves("/work/shared/data/mnist") if which == "inverted" else noisy_mnist("/work/shared/data/mnist")
f = (lambda a: 1 - a) if which == "inverted" else (lambda a: a)
X, Y, Xv, Yv = f(m.X_train), f(m.Y_train), f(m.X_val), f(m.Y_val)
for lr in map(float, sys.argv[2:]):
    t = time.time()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        est = CorrNet(lr=lr, random_state=0).fit(X, Y)
    print(json.dumps(dict(data=which, lr=lr, val_sum_corr=round(float(np.sum(est.correlations(Xv, Yv))), 2),
        saturated=est.diagnostics_.saturated_units, fitwarn=sum("FitWarning" in type(x.message).__name__ for x in w),
        s=round(time.time() - t, 1))), flush=True)
