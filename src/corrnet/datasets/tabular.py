"""Two-view datasets from feature groups of scikit-learn's bundled tables, at their published scale.

No download: the tables ship with scikit-learn. Each loader shuffles the rows once with
``random_state`` and cuts them into train / validation / test (60 / 20 / 20 %). The values are left
as published (areas in the thousands, signed or unbounded features): these sets exist to check that
``CorrNet()``'s defaults work on data that is *not* in [0, 1].
"""

from __future__ import annotations

import numpy as np
from sklearn import datasets as skd

from .base import MultiViewData


def _split(name: str, X: np.ndarray, Y: np.ndarray, labels: np.ndarray, random_state: int) -> MultiViewData:
    order = np.random.default_rng(random_state).permutation(len(X))
    X, Y, labels = X[order].astype(np.float32), Y[order].astype(np.float32), labels[order].astype(np.int64)
    a, b = int(0.6 * len(X)), int(0.8 * len(X))
    return MultiViewData(name, X[:a], Y[:a], labels[:a], X[a:b], Y[a:b], labels[a:b], X[b:], Y[b:], labels[b:])


def breast_cancer_views(random_state: int = 0) -> MultiViewData:
    """Wisconsin breast cancer (569 tumours): the 10 *mean* cell-nucleus features vs the 10 *worst*
    (largest) ones; labels malignant / benign. Areas reach ~2 500 (mean) and ~4 250 (worst)."""
    d = skd.load_breast_cancer()
    return _split("breast-cancer", d.data[:, :10], d.data[:, 20:30], d.target, random_state)


def wine_views(random_state: int = 0) -> MultiViewData:
    """Wine recognition (178 wines, 3 cultivars): 6 measurements (alcohol, malic acid, ash, its
    alkalinity, magnesium, total phenols) vs the other 7 (flavanoids ... proline, up to 1 680)."""
    d = skd.load_wine()
    return _split("wine", d.data[:, :6], d.data[:, 6:], d.target, random_state)


def iris_views(random_state: int = 0) -> MultiViewData:
    """Iris (150 flowers, 3 species): sepal length and width vs petal length and width (cm)."""
    d = skd.load_iris()
    return _split("iris", d.data[:, :2], d.data[:, 2:], d.target, random_state)


def digits_halves_raw(random_state: int = 0) -> MultiViewData:
    """scikit-learn's 8x8 digits as left / right halves (32 + 32 pixels) at their published scale
    0..16 (``digits_halves`` divides by 16)."""
    d = skd.load_digits()
    img = d.images.astype(np.float32)
    X, Y = img[:, :, :4].reshape(len(img), -1), img[:, :, 4:].reshape(len(img), -1)
    data = _split("digits-halves-raw", X, Y, d.target, random_state)
    data.shape_x = data.shape_y = (8, 4)
    return data
