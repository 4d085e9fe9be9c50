"""Each metric against a hand-computed case or an independent library computation."""

import numpy as np
import pytest
from sklearn.svm import LinearSVC

from corrnet import metrics


def test_per_unit_and_sum_correlation_hand_case():
    H1 = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    H2 = np.array([[2.0, 5.0], [4.0, 5.0], [6.0, 5.0]])  # unit 0 perfectly correlated, unit 1 constant
    np.testing.assert_allclose(metrics.per_unit_correlation(H1, H2), [1.0, 0.0])
    assert metrics.sum_correlation(H1, H2) == pytest.approx(1.0)
    assert metrics.sum_correlation(H1, -H2 + 1, top_k=1) == pytest.approx(0.0)


def test_canonical_correlations_against_sklearn_cca(rng):
    z = rng.normal(size=(500, 2))
    A = np.c_[z[:, 0], rng.normal(size=500), z[:, 1] + 0.5 * rng.normal(size=500)]
    B = np.c_[z[:, 0] + 0.1 * rng.normal(size=500), z[:, 1], rng.normal(size=500)]
    got = metrics.canonical_correlations(A, B, reg=0)
    from sklearn.cross_decomposition import CCA

    U, V = CCA(n_components=2, max_iter=5000, tol=1e-12).fit(A, B).transform(A, B)
    want = [np.corrcoef(U[:, i], V[:, i])[0, 1] for i in range(2)]
    np.testing.assert_allclose(got[:2], want, atol=1e-4)
    assert got[0] >= got[1] >= got[2] >= 0


def test_transfer_accuracy_folds_are_contiguous_and_match_manual_loop(rng):
    n = 100
    labels = np.repeat(np.arange(4), 25)  # sorted labels: contiguous folds hold unseen classes
    H1 = rng.normal(size=(n, 3)) + labels[:, None]
    H2 = H1 + 0.1 * rng.normal(size=(n, 3))
    got = metrics.transfer_accuracy_folds(H1, H2, labels, n_folds=5)
    accs = []
    for i in range(5):
        te = np.arange(i * 20, (i + 1) * 20)
        tr = np.setdiff1d(np.arange(n), te)
        clf = LinearSVC().fit(H1[tr], labels[tr])
        accs.append((clf.predict(H2[te]) == labels[te]).mean())
    assert got == pytest.approx(np.mean(accs))


def test_view_classification_picks_C_on_validation_and_scores_test(rng):
    """Against a manual loop: C is the grid value with the best validation accuracy (first on ties);
    the reported accuracy is that classifier's on the test codes, not on validation."""
    labels = rng.integers(0, 3, size=300)
    H = rng.normal(size=(300, 4)) + 0.8 * labels[:, None]  # overlapping classes: C matters
    tr, va, te = slice(0, 150), slice(150, 225), slice(225, 300)
    grid = (0.0001, 0.01, 1.0)
    got, C = metrics.view_classification(H[tr], labels[tr], H[va], labels[va], H[te], labels[te], grid)
    val = [(LinearSVC(C=c).fit(H[tr], labels[tr]).predict(H[va]) == labels[va]).mean() for c in grid]
    want_C = grid[int(np.argmax(val))]
    clf = LinearSVC(C=want_C).fit(H[tr], labels[tr])
    assert C == want_C
    assert got == pytest.approx((clf.predict(H[te]) == labels[te]).mean())
    assert len(set(val)) > 1  # the case is not degenerate: the grid changes validation accuracy


def test_retrieval_hand_case():
    H1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    H2 = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # rows 0 and 1 swapped: their match ranks 2nd
    r = metrics.retrieval(H1, H2, ks=(1, 2))
    # query 0: sims to H2 = [0, 1, .707] -> match (row 0, sim 0) ranks 3; query 1 -> rank 3; query 2 -> 1
    assert r["recall@1"] == pytest.approx(1 / 3)
    assert r["recall@2"] == pytest.approx(1 / 3)
    assert r["mrr"] == pytest.approx((1 / 3 + 1 / 3 + 1) / 3)


def test_class_precision_at_k_hand_case():
    Hq = np.array([[1.0, 0.0], [0.0, 1.0]])
    Hg = np.array([[2.0, 0.1], [0.1, 3.0], [1.0, 0.2], [0.2, 1.0]])
    yg = np.array([0, 1, 1, 1])
    # query 0 (label 0): nearest are gallery 0 (label 0) then 2 (label 1) -> 1/2
    # query 1 (label 1): nearest are gallery 1 and 3, both label 1 -> 2/2
    assert metrics.class_precision_at_k(Hq, Hg, np.array([0, 1]), yg, k=2) == pytest.approx(0.75)


def test_generation_mse_and_shape_errors():
    assert metrics.generation_mse(np.zeros((2, 2)), np.ones((2, 2))) == 1.0
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.generation_mse(np.zeros((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="equal shape"):
        metrics.sum_correlation(np.zeros((3, 2)), np.zeros((3, 3)))


def test_evaluate_codes_keys(rng):
    H = rng.normal(size=(50, 3))
    out = metrics.evaluate_codes(H, H + 0.01 * rng.normal(size=H.shape), np.arange(50) % 2)
    assert {"sum_corr", "sum_canonical_corr", "transfer_1to2", "transfer_2to1", "recall@1", "mrr"} <= set(out)
    assert out["sum_corr"] > 2.9 and out["recall@1"] > 0.9
