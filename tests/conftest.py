import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CORRNET_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def two_views(rng):
    """Small correlated two-view data in [0, 1]: both views are noisy functions of a latent z."""
    n, dz = 120, 3
    z = rng.normal(size=(n, dz))
    X = 1 / (1 + np.exp(-(z @ rng.normal(size=(dz, 7)) + 0.3 * rng.normal(size=(n, 7)))))
    Y = 1 / (1 + np.exp(-(z @ rng.normal(size=(dz, 5)) + 0.3 * rng.normal(size=(n, 5)))))
    return X.astype(np.float32), Y.astype(np.float32)


def mnist_dir() -> Path:
    """MNIST ships in ../shared/data for CI; elsewhere set CORRNET_DATA. Missing data fails (no skip)."""
    for d in (SHARED / "mnist", SHARED):
        if (d / "train-images-idx3-ubyte.gz").is_file():
            return d
    pytest.fail(f"MNIST IDX files not found under {SHARED}; set CORRNET_DATA to their directory.")
