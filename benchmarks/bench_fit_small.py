"""Fit time of ``CorrNet()``'s defaults on small data, end to end (validation, scaling, training,
post-fit checks), next to corrnet 0.1's defaults and linear CCA; one process, the machine's threads.

    python benchmarks/bench_fit_small.py            # digits halves (1 078 pairs), breast cancer, wine

Prints one line per dataset and method: seconds (median of --repeats), epochs run, why it stopped,
engine, and the test transfer accuracy view 1 -> view 2.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from corrnet import CorrNet, metrics
from corrnet.baselines import LinearCCA
from corrnet.datasets import breast_cancer_views, digits_halves_raw, wine_views
from corrnet.experiments.defaults import OLD_DEFAULTS, width


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    for load in (digits_halves_raw, breast_cancer_views, wine_views):
        d = load()
        k = width(d)
        makers = {
            "CorrNet()": lambda k=k: CorrNet(k, random_state=0),
            "corrnet 0.1 defaults": lambda k=k: CorrNet(k, random_state=0, **OLD_DEFAULTS),
            "linear CCA": lambda k=k: LinearCCA(k),
        }
        for name, make in makers.items():
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                est = make().fit(d.X_train, d.Y_train)
                times.append(time.perf_counter() - t0)
            acc = metrics.transfer_accuracy(est.transform(X=d.X_train), d.y_train, est.transform(Y=d.Y_test), d.y_test)
            extra = f"{est.n_iter_:5d} epochs ({est.stop_reason_}, {est.engine_})" if isinstance(est, CorrNet) else ""
            print(f"{d.name:18s} {name:22s} {statistics.median(times):7.2f} s  transfer {100 * acc:5.1f} %  {extra}")


if __name__ == "__main__":
    main()
