"""Per view, after CorrNet's auto scaling: sum over columns of |column mean| (the pre-activation drift per step
per unit lr when Adam moves every weight of a unit the same way) and the mean row L1 mass."""
import dataclasses
import warnings

import numpy as np

from corrnet import CorrNet
from corrnet.datasets import mnist_halves, noisy_mnist
from corrnet.experiments.defaults import LOADERS

L = dict(LOADERS)
L["mnist-halves"] = lambda d: mnist_halves(d)
L["noisy-mnist"] = lambda d: noisy_mnist(d)


def inverted(m):
    """MNIST halves with inverted pixels (1 - x): white background, the same digits."""
    views = ("X_train", "Y_train", "X_val", "Y_val", "X_test", "Y_test")
    return dataclasses.replace(m, **{v: 1 - getattr(m, v) for v in views})


L["mnist-halves-inverted"] = lambda d: inverted(mnist_halves(d))
for name, load in L.items():
    d = load("/work/shared/data/mnist") if "av" not in name else load("/work/shared/data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = CorrNet(epochs=0, tol=None).fit(d.X_train, d.Y_train)
    out = []
    for sc, A in ((est.scaler_x_, d.X_train), (est.scaler_y_, d.Y_train)):
        Z = np.asarray(sc.transform(A) if sc is not None else A, dtype=np.float64)
        out.append(f"sum|mean| {np.abs(Z.mean(0)).sum():8.1f}  rowL1 {np.abs(Z).sum(1).mean():8.1f}  d {Z.shape[1]}")
    print(f"{name:24s} scaled={est.scaler_x_ is not None}  " + " | ".join(out), flush=True)
