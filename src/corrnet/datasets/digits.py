"""scikit-learn's bundled 8x8 digits, split into left and right halves (no download)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from .base import MultiViewData, split_halves


def digits_halves(random_state: int = 0, n_val: int = 300, n_test: int = 497) -> MultiViewData:
    """The 1 797 digits as two views of 32 pixels each (4 left, 4 right columns), in [0, 1].

    Rows are shuffled once with ``random_state`` and cut into train (1 000 by default), validation
    and test.
    """
    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)  # pixel values 0..16 -> [0, 1]
    order = np.random.default_rng(random_state).permutation(len(images))
    images, labels = images[order], d.target[order].astype(np.int64)
    left, right = split_halves(images)
    n_train = len(images) - n_val - n_test
    if n_train < 2:
        raise ValueError(f"n_val + n_test = {n_val + n_test} leaves no training rows out of {len(images)}.")
    a, b = n_train, n_train + n_val
    return MultiViewData(
        "digits-halves",
        left[:a],
        right[:a],
        labels[:a],
        left[a:b],
        right[a:b],
        labels[a:b],
        left[b:],
        right[b:],
        labels[b:],
        shape_x=(8, 4),
        shape_y=(8, 4),
    )
