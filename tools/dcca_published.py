"""Deep CCA on Noisy MNIST at its published architecture: the baseline issue 25 asks for first.

Wang et al. (ICML 2015), Table 1: DCCA 97.1 % view-1 SVM accuracy (2.9 % error), with 3 hidden
layers of 1024 ReLU units per view and a 10-dimensional output. Public re-implementations train it
with Adam and batch normalisation (97.2 %). This runs that (``--batch-norm``) or the plain network,
for one seed, and prints the protocol's metrics (view-1 linear SVM with C chosen on validation,
transfer, sum of canonical correlations) as JSON:

    OMP_NUM_THREADS=1 python tools/dcca_published.py --epochs 60 --batch-norm --out benchmarks/runs/dcca-published
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from corrnet.baselines import DeepCCA
from corrnet.datasets import load_dataset
from corrnet.experiments.runner import score


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=800)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--batch-norm", action="store_true")
    p.add_argument("--rows", type=int, help="train on the first ROWS training rows only (timing)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir")
    p.add_argument("--out", type=Path)
    a = p.parse_args()
    d = load_dataset("noisy-mnist", a.data_dir)
    X, Y = (d.X_train, d.Y_train) if a.rows is None else (d.X_train[: a.rows], d.Y_train[: a.rows])
    model = DeepCCA(
        10,
        (1024, 1024, 1024),
        epochs=a.epochs,
        batch_size=a.batch_size,
        lr=a.lr,
        activation="relu",
        batch_norm=a.batch_norm,
        weight_decay=a.weight_decay,
        random_state=a.seed,
    )
    t = time.perf_counter()
    model.fit(X, Y)
    res = {"train_seconds": time.perf_counter() - t, "threads": torch.get_num_threads(), **vars(a)}
    res["out"] = str(a.out) if a.out else None
    res["train_objective_last_epochs"] = model.history_[-5:]
    res.update(score(model, d, generative=False, view1_svm=True))
    text = json.dumps(res, indent=1, default=str)
    print(text)
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
        tag = f"{'bn' if a.batch_norm else 'plain'}-e{a.epochs}-s{a.seed}"
        (a.out / f"{tag}.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
