"""Which validation metric should early stopping watch? (issue 25)

Fits CorrNet with the defaults (only ``n_components`` set) and a validation split, records every
epoch's validation metrics (objective, per-unit sum-correlation, retrieval MRR, sum of canonical
correlations of the codes) and, every ``--every`` epochs, the test metrics (recall@1 both ways,
transfer accuracy when labelled). For each monitor it reports the test metrics at the epoch that
monitor picks (its best over the run) against the last epoch's.

    python docs/results/monitor-probe/probe.py digits-halves 20
    python docs/results/monitor-probe/probe.py cldr:ru 128 --every 20
    python docs/results/monitor-probe/probe.py multi30k 100
"""

import argparse
import json
import sys
import time
import warnings

import numpy as np

from corrnet import CorrNet, metrics, training
from corrnet.datasets import load_dataset

MONITORS = {"val_loss": -1, "val_sum_corr": 1, "val_mrr": 1, "val_canon_corr": 1}


def views(name):
    """(train, val, test) pairs and labels (or None) of a dataset."""
    if name.startswith("cldr:"):
        from corrnet.datasets.cldr import cldr_names
        from corrnet.experiments import transliteration as T

        loc = name.split(":")[1]
        table = cldr_names((loc,), seed=0)
        names = {s: table.pairs(loc, s) for s in ("train", "val", "test")}
        ve, vo = T._vectoriser().fit(names["train"][0]), T._vectoriser().fit(names["train"][1])
        return {s: (ve.transform(a), vo.transform(b), None) for s, (a, b) in names.items()}
    if name == "multi30k":
        from sklearn.feature_extraction.text import TfidfVectorizer

        from corrnet.datasets.multi30k import multi30k

        t = multi30k(None)
        ven = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32).fit(t["train"][0])
        vde = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32).fit(t["train"][1])
        return {
            s: (ven.transform(a), vde.transform(b), None) for s, (a, b) in t.items() if s in ("train", "val", "test")
        }
    if name in ("av-digits", "av-digits-raw"):
        from corrnet.datasets.av_digits import av_digits

        d = av_digits(None, raw=name.endswith("-raw"))
    else:
        d = load_dataset(name)
    return {
        "train": (d.X_train, d.Y_train, d.y_train),
        "val": (d.X_val, d.Y_val, d.y_val),
        "test": (d.X_test, d.Y_test, d.y_test),
    }


def test_metrics(est, v):
    Xtr, Ytr, ytr = v["train"]
    X, Y, y = v["test"]
    hx, hy = est.transform(X=X), est.transform(Y=Y)
    r12, r21 = metrics.retrieval(hx, hy), metrics.retrieval(hy, hx)
    out = {"R@1 1->2": 100 * r12["recall@1"], "R@1 2->1": 100 * r21["recall@1"], "mrr": (r12["mrr"] + r21["mrr"]) / 2}
    out["canon"] = float(metrics.canonical_correlations(hx, hy, reg=1e-4).sum())
    if ytr is not None:
        n = min(len(ytr), 10_000)
        hx_tr, hy_tr = est.transform(X=Xtr[:n]), est.transform(Y=Ytr[:n])
        out["tr 1->2"] = 100 * metrics.transfer_accuracy(hx_tr, ytr[:n], hy, y)
        out["tr 2->1"] = 100 * metrics.transfer_accuracy(hy_tr, ytr[:n], hx, y)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("k", type=int)
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--params", default="{}")
    a = ap.parse_args()
    v = views(a.data)
    est = CorrNet(a.k, random_state=a.seed, **json.loads(a.params))
    tests = {}
    orig_train = training.train

    def train(state, plan, config, options=None, **kw):
        options.codes = ("mrr", "canon_corr")
        inner = options.on_epoch_end

        def hook(st):
            if inner is not None:
                inner(st)
            if st.epoch % a.every == 0 or st.epoch == config.epochs:
                st.model.eval()
                est.model_ = st.model
                tests[st.epoch] = test_metrics(est, v)
                st.model.train()

        options.on_epoch_end = hook
        return orig_train(state, plan, config, options)

    training.train = train
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(v["train"][0], v["train"][1], validation_data=v["val"][:2])
    print(
        f"{a.data} k={a.k} seed={a.seed} {est.optimizer_} lr={est.config_.lr:.2g} epochs={est.n_epochs_} "
        f"({est.stop_reason_}) {time.perf_counter() - t0:.0f}s incl. probes",
        flush=True,
    )
    h = {r["epoch"]: r for r in est.history_}
    cols = list(next(iter(tests.values())))
    print("| pick | epoch | " + " | ".join(f"val {m[4:]}" for m in MONITORS) + " | " + " | ".join(cols) + " |")
    print("|---" * (2 + len(MONITORS) + len(cols)) + "|")

    def line(label, e):
        vals = " | ".join(f"{h[e][m]:.3f}" for m in MONITORS)
        print(f"| {label} | {e} | {vals} | " + " | ".join(f"{tests[e][c]:.3f}" for c in cols) + " |")

    for m, sign in MONITORS.items():
        e = max(tests, key=lambda e: sign * h[e][m])
        line(m, e)
    line("last", max(tests))
    line("oracle test mrr", max(tests, key=lambda e: tests[e]["mrr"]))
    if "tr 1->2" in cols:
        line("oracle test transfer", max(tests, key=lambda e: tests[e]["tr 1->2"] + tests[e]["tr 2->1"]))
    json.dump(
        {"history": est.history_, "tests": tests},
        open(f"/tmp/probe-{a.data.replace(':', '-')}-{a.k}-{a.seed}.json", "w"),
    )


if __name__ == "__main__":
    sys.exit(main())
