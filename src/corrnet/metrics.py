"""Evaluation of two-view codes: correlation, transfer accuracy, retrieval, generation error.

Every function takes plain arrays (codes from view 1 alone ``H1`` (n, k), from view 2 alone ``H2``
(n, k)), so the same harness scores CorrNet and the baselines.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC


def _pair(H1: np.ndarray, H2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    H1, H2 = np.asarray(H1, dtype=np.float64), np.asarray(H2, dtype=np.float64)
    if H1.ndim != 2 or H1.shape != H2.shape:
        raise ValueError(f"codes must be 2-D arrays of equal shape, got {H1.shape} and {H2.shape}.")
    if H1.shape[0] < 2:
        raise ValueError("correlations need at least 2 rows.")
    return H1, H2


def per_unit_correlation(H1: np.ndarray, H2: np.ndarray) -> np.ndarray:
    """Pearson correlation of column j of H1 with column j of H2, shape (k,). A constant column
    gets correlation 0 (undefined; it carries no shared information)."""
    H1, H2 = _pair(H1, H2)
    c1, c2 = H1 - H1.mean(0), H2 - H2.mean(0)
    den = np.sqrt((c1**2).sum(0) * (c2**2).sum(0))
    num = (c1 * c2).sum(0)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def sum_correlation(H1: np.ndarray, H2: np.ndarray, top_k: int | None = None) -> float:
    """Sum of the per-unit correlations (the paper's and the original code's score); with
    ``top_k``, the sum of the ``top_k`` largest."""
    r = per_unit_correlation(H1, H2)
    if top_k is not None:
        r = np.sort(r)[::-1][:top_k]
    return float(r.sum())


def canonical_correlations(H1: np.ndarray, H2: np.ndarray, reg: float = 1e-6) -> np.ndarray:
    """Canonical correlations of the two code sets (linear CCA on the codes), descending, shape
    (min(k1, k2),). Closed form: singular values of ``C11^-1/2 C12 C22^-1/2`` with ``reg`` added to
    the diagonals (relative to their mean) so rank-deficient codes stay finite."""
    H1, H2 = np.asarray(H1, np.float64), np.asarray(H2, np.float64)
    if H1.shape[0] != H2.shape[0] or H1.shape[0] < 2:
        raise ValueError("canonical_correlations needs two code sets with the same (>= 2) rows.")
    c1, c2 = H1 - H1.mean(0), H2 - H2.mean(0)
    n = H1.shape[0] - 1
    C11, C22, C12 = c1.T @ c1 / n, c2.T @ c2 / n, c1.T @ c2 / n

    def inv_sqrt(C: np.ndarray) -> np.ndarray:
        C = C + reg * max(np.trace(C) / len(C), 1e-12) * np.eye(len(C))
        w, V = np.linalg.eigh(C)
        return (V / np.sqrt(np.maximum(w, 1e-300))) @ V.T

    T = inv_sqrt(C11) @ C12 @ inv_sqrt(C22)
    return np.clip(np.linalg.svd(T, compute_uv=False), 0.0, 1.0)


def _svc(C: float = 1.0) -> LinearSVC:
    return LinearSVC(C=C)


def _fit_score(train_X, train_y, test_X, test_y, C: float = 1.0) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = _svc(C).fit(train_X, train_y)
    return float((clf.predict(test_X) == test_y).mean())


def transfer_accuracy_folds(
    H_from: np.ndarray, H_to: np.ndarray, labels: np.ndarray, n_folds: int = 5, C: float = 1.0
) -> float:
    """The original code's transfer protocol: cut the rows into ``n_folds`` contiguous folds (no
    shuffling); for each fold train ``LinearSVC(C)`` on the other folds' ``H_from`` codes and test on
    this fold's ``H_to`` codes; return the mean accuracy in [0, 1]."""
    H_from, H_to = _pair(H_from, H_to)
    labels = np.asarray(labels)
    if len(labels) != len(H_from):
        raise ValueError(f"labels has {len(labels)} rows but the codes have {len(H_from)}.")
    if len(labels) < n_folds:
        raise ValueError(f"need at least n_folds={n_folds} rows for the fold protocol.")
    bounds = np.linspace(0, len(labels), n_folds + 1).astype(int)
    accs = []
    for i in range(n_folds):
        test = np.zeros(len(labels), bool)
        test[bounds[i] : bounds[i + 1]] = True
        accs.append(_fit_score(H_from[~test], labels[~test], H_to[test], labels[test], C))
    return float(np.mean(accs))


def transfer_accuracy(
    H_from_train: np.ndarray, y_train: np.ndarray, H_to_test: np.ndarray, y_test: np.ndarray, C: float = 1.0
) -> float:
    """Train ``LinearSVC(C)`` on one view's codes of a training set, test on the other view's codes
    of a test set; accuracy in [0, 1]."""
    return _fit_score(np.asarray(H_from_train), np.asarray(y_train), np.asarray(H_to_test), np.asarray(y_test), C)


def tune_svc_C(
    H_from_train: np.ndarray,
    y_train: np.ndarray,
    H_to_val: np.ndarray,
    y_val: np.ndarray,
    grid: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0),
) -> float:
    """The C of ``LinearSVC`` with the best accuracy on a validation split (first on ties): trained
    on ``H_from_train``, tested on ``H_to_val`` (the other view's codes for transfer, the same
    view's for :func:`view_classification`)."""
    scores = [transfer_accuracy(H_from_train, y_train, H_to_val, y_val, C) for C in grid]
    return float(grid[int(np.argmax(scores))])


def view_classification(
    H_train: np.ndarray,
    y_train: np.ndarray,
    H_val: np.ndarray,
    y_val: np.ndarray,
    H_test: np.ndarray,
    y_test: np.ndarray,
    grid: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0),
) -> tuple[float, float]:
    """Wang et al. (2015)'s classification protocol for Noisy MNIST: train ``LinearSVC(C)`` on the
    codes of one view of the training split (n_train, k) for each C in ``grid``, keep the C with the
    best accuracy on the same view's validation codes, and return ``(test accuracy in [0, 1], C)``.
    Unlike transfer, training and test codes come from the same view."""
    C = tune_svc_C(H_train, y_train, H_val, y_val, grid)
    return transfer_accuracy(H_train, y_train, H_test, y_test, C), C


def _unit_rows(H: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero), for cosine similarities."""
    return H / np.maximum(np.linalg.norm(H, axis=1, keepdims=True), 1e-12)


def retrieval(H1: np.ndarray, H2: np.ndarray, ks: tuple[int, ...] = (1, 5, 10), chunk: int = 2048) -> dict[str, float]:
    """Cross-view retrieval by cosine similarity: for each row i of H1, rank all rows of H2; the
    match is row i. Returns ``recall@k`` for each k and ``mrr`` (mean reciprocal rank), in [0, 1].
    Ties count against the match (pessimistic rank)."""
    ranks = match_ranks(H1, H2, chunk)
    out = {f"recall@{k}": float((ranks <= k).mean()) for k in ks}
    out["mrr"] = float((1.0 / ranks).mean())
    return out


def match_ranks(H1: np.ndarray, H2: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """(n,) int: for each row i of H1 (n, k), the rank (1 = nearest) of row i of H2 (n, k) among all
    rows of H2 by cosine similarity, ties counted against it (what :func:`retrieval` summarises)."""
    H1, H2 = _pair(H1, H2)
    A, B = _unit_rows(H1), _unit_rows(H2)
    ranks = np.empty(len(A), dtype=np.int64)
    for s in range(0, len(A), chunk):
        S = A[s : s + chunk] @ B.T  # (c, n)
        own = S[np.arange(len(S)), np.arange(s, s + len(S))]
        ranks[s : s + len(S)] = (S >= own[:, None]).sum(1)  # 1 = best
    return ranks


def class_precision_at_k(
    H_query: np.ndarray, H_gallery: np.ndarray, y_query: np.ndarray, y_gallery: np.ndarray, k: int = 10
) -> float:
    """Cross-view retrieval by class: the mean fraction of each query's k nearest gallery rows
    (cosine) that have the query's label, in [0, 1]."""
    top = np.argsort(-(_unit_rows(H_query) @ _unit_rows(H_gallery).T), axis=1)[:, :k]
    return float((np.asarray(y_gallery)[top] == np.asarray(y_query)[:, None]).mean())


def generation_mse(target: np.ndarray, generated: np.ndarray) -> float:
    """Mean squared error per feature between a view and its generated version."""
    target, generated = np.asarray(target, np.float64), np.asarray(generated, np.float64)
    if target.shape != generated.shape:
        raise ValueError(f"shapes differ: {target.shape} vs {generated.shape}.")
    return float(((target - generated) ** 2).mean())


def evaluate_codes(
    H1_test: np.ndarray, H2_test: np.ndarray, y_test: np.ndarray | None = None, *, n_folds: int = 5
) -> dict[str, float]:
    """All code metrics at once: sum-correlation, sum of canonical correlations, transfer
    accuracy both ways (fold protocol, needs labels), retrieval."""
    out = {
        "sum_corr": sum_correlation(H1_test, H2_test),
        "sum_canonical_corr": float(canonical_correlations(H1_test, H2_test).sum()),
    }
    if y_test is not None:
        out["transfer_1to2"] = transfer_accuracy_folds(H1_test, H2_test, y_test, n_folds)
        out["transfer_2to1"] = transfer_accuracy_folds(H2_test, H1_test, y_test, n_folds)
    out.update(retrieval(H1_test, H2_test))
    return out
