"""MNIST halves, CorrNet() at explicit lam values (seed 0; 5-fold test transfer).

    python docs/results/lam-auto/mnist_lam.py 2 0.5   # mnist_lam.log
"""
import json, sys, time, warnings
import numpy as np
from corrnet import CorrNet, metrics
from corrnet.datasets import mnist_halves
warnings.simplefilter("ignore")
d = mnist_halves()
print({k: getattr(d, k).shape for k in ("X_train", "X_test")}, flush=True)
for lam in [float(a) for a in sys.argv[1:]]:
    t = time.time()
    est = CorrNet(random_state=0, lam=lam).fit(d.X_train, d.Y_train)
    hx, hy = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
    print(json.dumps({"lam": lam, "val_mrr": max(h.get("val_mrr", np.nan) for h in est.history_),
        "sc": float(est.correlations(d.X_test, d.Y_test).sum()),
        "t12": 100 * metrics.transfer_accuracy_folds(hx, hy, d.y_test, 5),
        "t21": 100 * metrics.transfer_accuracy_folds(hy, hx, d.y_test, 5),
        "r1": metrics.retrieval(hx, hy)["recall@1"], "ep": est.n_epochs_, "s": time.time() - t}), flush=True)
