"""Two-view datasets: embedded digits halves, MNIST halves, Noisy MNIST."""

from __future__ import annotations

import os

from .base import MultiViewData
from .digits import digits_halves
from .mnist import load_mnist, mnist_halves, noisy_mnist

NAMES = ("digits-halves", "mnist-halves", "noisy-mnist")


def load_dataset(name: str, data_dir: str | os.PathLike | None = None) -> MultiViewData:
    """A dataset by its CLI name (``NAMES``); ``data_dir`` is where the MNIST files are."""
    if name == "digits-halves":
        return digits_halves()
    if name == "mnist-halves":
        return mnist_halves(data_dir)
    if name == "noisy-mnist":
        return noisy_mnist(data_dir)
    raise ValueError(f"unknown dataset {name!r}; use one of {NAMES}.")


__all__ = ["NAMES", "MultiViewData", "digits_halves", "load_dataset", "load_mnist", "mnist_halves", "noisy_mnist"]
