"""Linear CCA on MNIST halves at its strength on validation (issue 25, goals 1 and 5): the ridge
``reg`` chosen on the validation split's retrieval MRR (k = 50, the width every method gets), then
the test split scored once with the experiment's metrics (``corrnet.experiments.runner.score``).

    python docs/results/cca-tuned-mnist/run.py > docs/results/cca-tuned-mnist/run.log
"""

import json

from corrnet import metrics
from corrnet.baselines import LinearCCA
from corrnet.datasets import load_dataset
from corrnet.experiments.runner import score

d = load_dataset("mnist-halves", None)
best = None
for reg in (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 0.3, 1.0):
    m = LinearCCA(50, reg=reg).fit(d.X_train, d.Y_train)
    a, b = m.transform(X=d.X_val), m.transform(Y=d.Y_val)
    mrr = (metrics.retrieval(a, b)["mrr"] + metrics.retrieval(b, a)["mrr"]) / 2
    r1 = metrics.retrieval(a, b)["recall@1"]
    print(json.dumps({"reg": reg, "val_mrr": round(mrr, 4), "val_recall@1": round(100 * r1, 2)}), flush=True)
    if best is None or mrr > best[0]:
        best = (mrr, reg, m)
res = score(best[2], d, False)
print(json.dumps({"chosen_reg": best[1], **{k: round(float(v), 4) for k, v in res.items()}}))
