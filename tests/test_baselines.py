"""Baselines checked against scikit-learn or closed-form answers."""

import numpy as np
import pytest
import torch
from sklearn.cross_decomposition import CCA

from corrnet import metrics
from corrnet.baselines import DeepCCA, KernelCCA, LinearCCA, cca_objective


@pytest.fixture
def latent_views(rng):
    n = 600
    z = rng.normal(size=(n, 2))
    X = np.c_[z, rng.normal(size=(n, 3))] @ rng.normal(size=(5, 6)) + 0.3 * rng.normal(size=(n, 6))
    Y = np.c_[z, rng.normal(size=(n, 2))] @ rng.normal(size=(4, 5)) + 0.3 * rng.normal(size=(n, 5))
    return X, Y


def test_linear_cca_matches_sklearn_and_closed_form(latent_views):
    X, Y = latent_views
    ours = LinearCCA(2, reg=0).fit(X, Y)
    U, V = CCA(n_components=2, max_iter=5000, tol=1e-12).fit(X, Y).transform(X, Y)
    sk = [abs(np.corrcoef(U[:, i], V[:, i])[0, 1]) for i in range(2)]
    np.testing.assert_allclose(ours.correlations_, sk, atol=1e-4)
    H1, H2 = ours.transform(X=X), ours.transform(Y=Y)
    np.testing.assert_allclose(metrics.per_unit_correlation(H1, H2), ours.correlations_, atol=1e-8)
    np.testing.assert_allclose(ours.correlations_, metrics.canonical_correlations(X, Y, reg=0)[:2], atol=1e-8)


def test_cca_objective_equals_closed_form_sum(latent_views):
    X, Y = latent_views
    got = cca_objective(torch.tensor(X), torch.tensor(Y), reg=0.0).item()
    assert got == pytest.approx(metrics.canonical_correlations(X, Y, reg=0).sum(), rel=1e-6)


def test_kernel_cca_finds_nonlinear_relation(rng):
    n = 800
    t = rng.uniform(-2, 2, size=n)
    X = np.c_[t, rng.normal(size=n) * 0.1]
    Y = np.c_[t**2 + 0.05 * rng.normal(size=n), rng.normal(size=n)]  # linear CCA misses t -> t^2
    lin = LinearCCA(1, reg=1e-6).fit(X[:600], Y[:600])
    ker = KernelCCA(1, n_features=200, reg=1e-3).fit(X[:600], Y[:600])
    r_lin = metrics.sum_correlation(lin.transform(X=X[600:]), lin.transform(Y=Y[600:]))
    r_ker = metrics.sum_correlation(ker.transform(X=X[600:]), ker.transform(Y=Y[600:]))
    assert abs(r_lin) < 0.3 and r_ker > 0.8


def test_deep_cca_learns_correlated_codes(latent_views):
    X, Y = latent_views
    m = DeepCCA(2, layers=(16,), epochs=40, batch_size=200, lr=1e-2).fit(X[:500], Y[:500])
    r = metrics.per_unit_correlation(m.transform(X=X[500:]), m.transform(Y=Y[500:]))
    assert r.sum() > 1.2


def test_maxvar_gcca_with_two_views_finds_the_canonical_directions():
    """For N = 2, MAXVAR's eigenvalues are 1 + the canonical correlations, and its per-view codes
    correlate like linear CCA's (an independent closed form)."""
    from corrnet.baselines import LinearCCA, MaxVarGCCA

    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 3))
    X = z @ rng.normal(size=(3, 6)) + 0.5 * rng.normal(size=(500, 6))
    Y = z @ rng.normal(size=(3, 5)) + 0.5 * rng.normal(size=(500, 5))
    g = MaxVarGCCA(3, reg=1e-6).fit([X, Y])
    cca = LinearCCA(3, reg=1e-6).fit(X, Y)
    np.testing.assert_allclose(g.eigenvalues_, 1 + cca.correlations_, rtol=1e-4)
    hx, hy = g.transform([X, Y])
    r = [abs(np.corrcoef(hx[:, j], hy[:, j])[0, 1]) for j in range(3)]
    np.testing.assert_allclose(r, cca.correlations_, rtol=1e-3)
    with pytest.raises(ValueError, match="two or more views"):
        MaxVarGCCA(2).fit([X])
