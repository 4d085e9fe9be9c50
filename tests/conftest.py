import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings

# hypothesis draws the same examples on every run (a failure found once is found again, and CI
# never fails at random); explore new ones locally with HYPOTHESIS_PROFILE=explore
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CORRNET_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _seed_every_test():
    """Every random input is seeded: a test's data does not depend on which tests ran before it
    (the suite runs in random order, pytest-randomly) or on the wall clock."""
    torch.manual_seed(0)
    np.random.seed(0)


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


def double_model_and_batch(config, d_x: int, d_y: int, n: int, seed: int):
    """A float64 CorrNetModule and a random [0, 1) batch (x (n, d_x), y (n, d_y)), all seeded."""
    from corrnet import CorrNetModule

    gen = torch.Generator().manual_seed(seed)
    model = CorrNetModule([d_x, d_y], config, generator=gen).double()
    x = torch.rand(n, d_x, generator=gen, dtype=torch.float64)
    y = torch.rand(n, d_y, generator=gen, dtype=torch.float64)
    return model, x, y


def assert_grads_close(params, got, want, **tol):
    """Gradients from ``torch.autograd.grad(..., allow_unused=True)``: None counts as zeros."""
    for p, a, b in zip(params, got, want):
        a = torch.zeros_like(p) if a is None else a
        b = torch.zeros_like(p) if b is None else b
        torch.testing.assert_close(a, b, **tol)
