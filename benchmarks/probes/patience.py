"""Early stopping's patience on small tables (full-batch L-BFGS fits): ``CorrNet()``'s defaults with
``patience`` at 3, 10 and 20 epochs (20 = every epoch of the L-BFGS budget, the best one kept) on
every table the defaults take L-BFGS on and hold out validation rows for: digits-halves-raw and the
15 pairs of UCI Multiple Features' six feature sets (raw scale).

    python benchmarks/probes/patience.py > patience.log      # about 10 minutes on one core

Each table is split three ways (``random_state`` 0-2 of its loader) and fitted with model seeds
0-2. Printed per fit: epochs run, the kept epoch, and transfer accuracy (LinearSVC on one view's
training codes, tested on another view's codes; the mean of both directions, or of all 30 ordered
pairs for N views) on the validation split and on the test split. The last lines: the mean per
table and rule.
"""

from __future__ import annotations

import itertools
import json
import sys
import time

import numpy as np

from corrnet import CorrNet, MultiViewCorrNet, metrics
from corrnet.datasets import digits_halves_raw
from corrnet.datasets.tabular import MFEAT, mfeat_views
from corrnet.experiments.defaults import width

RULES = {"p3": 3, "p10": 10, "p20": 20}


def transfer(est, views_train, views_eval, y_train, y_eval) -> float:
    """Mean transfer accuracy over every ordered pair of views."""
    n = len(views_train)
    enc = (lambda i, A: est.transform(X=A) if i == 0 else est.transform(Y=A)) if n == 2 else None
    if n != 2:
        enc = lambda i, A: est.transform([A if j == i else None for j in range(n)])  # noqa: E731
    htr = [enc(i, A) for i, A in enumerate(views_train)]
    hev = [enc(i, A) for i, A in enumerate(views_eval)]
    accs = [metrics.transfer_accuracy(htr[i], y_train, hev[j], y_eval) for i, j in itertools.permutations(range(n), 2)]
    return float(np.mean(accs))


def tables(split: int):
    d = digits_halves_raw(random_state=split)
    yield "digits-halves-raw", [d.X_train, d.Y_train], [d.X_val, d.Y_val], [d.X_test, d.Y_test], d, width(d)
    for x, y in itertools.combinations(MFEAT, 2):
        d = mfeat_views(x, y, random_state=split)
        yield f"mfeat-{x}-{y}", [d.X_train, d.Y_train], [d.X_val, d.Y_val], [d.X_test, d.Y_test], d, width(d)


def six_views(split: int):
    names = list(MFEAT)
    ds = [mfeat_views(names[0], v, random_state=split) for v in names[1:]]
    pick = lambda part: [getattr(ds[0], f"X_{part}")] + [getattr(d, f"Y_{part}") for d in ds]  # noqa: E731
    return "mfeat-six-views", pick("train"), pick("val"), pick("test"), ds[0], 6


def main() -> None:
    rows = []
    for split in (0, 1, 2):
        for name, tr, va, te, d, k in tables(split):
            for seed in (0, 1, 2):
                for rule, patience in RULES.items():
                    t0 = time.perf_counter()
                    if len(tr) == 2:
                        est = CorrNet(k, patience=patience, random_state=seed).fit(*tr)
                    else:
                        est = MultiViewCorrNet(k, patience=patience, random_state=seed).fit(tr)
                    row = dict(table=name, split=split, seed=seed, rule=rule, epochs=est.n_epochs_)
                    row.update(best=est.best_epoch_, opt=est.config_.optimizer, s=round(time.perf_counter() - t0, 2))
                    row["val"] = transfer(est, tr, va, d.y_train, d.y_val)
                    row["test"] = transfer(est, tr, te, d.y_train, d.y_test)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print("table | rule | epochs | val transfer % | test transfer %")
    for name in dict.fromkeys(r["table"] for r in rows):
        for rule in RULES:
            rs = [r for r in rows if r["table"] == name and r["rule"] == rule]
            v, t = [100 * r["val"] for r in rs], [100 * r["test"] for r in rs]
            epochs = np.mean([r["epochs"] for r in rs])
            cells = [f"{np.mean(a):.1f} ± {np.std(a, ddof=1):.1f}" for a in (v, t)]
            print(f"{name} | {rule} | {epochs:.1f} | {cells[0]} | {cells[1]}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
