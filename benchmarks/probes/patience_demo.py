"""The demo's split (scikit-learn's digits halves, 1 000 training pairs, k = 20) with ``patience`` at
3 epochs and at ``"auto"`` (10 under L-BFGS): test transfer both ways, seeds 0-4 (split and model).

    python benchmarks/probes/patience_demo.py
"""

import numpy as np

from corrnet import CorrNet, metrics
from corrnet.datasets import digits_halves

for patience in (3, "auto"):
    res = []
    for seed in range(5):
        d = digits_halves(random_state=seed)
        est = CorrNet(20, patience=patience, random_state=seed).fit(d.X_train, d.Y_train)
        h1, h2 = est.transform(X=d.X_train), est.transform(Y=d.Y_train)
        t1, t2 = est.transform(X=d.X_test), est.transform(Y=d.Y_test)
        res.append((metrics.transfer_accuracy(h1, d.y_train, t2, d.y_test),
                    metrics.transfer_accuracy(h2, d.y_train, t1, d.y_test), est.n_epochs_))
    a = 100 * np.array(res)
    print(f"patience={patience}: transfer {a[:, 0].mean():.1f} ± {a[:, 0].std(ddof=1):.1f} / "
          f"{a[:, 1].mean():.1f} ± {a[:, 1].std(ddof=1):.1f} %, epochs {a[:, 2].mean() / 100:.1f}")
