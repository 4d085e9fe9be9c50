"""Input validation and conversion: numpy / pandas / lists / scipy.sparse -> validated float arrays ->
tensors (dense views) or :class:`SparseRows` (CSR views, sliced into sparse batches, never densified whole)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_array, check_consistent_length


def check_view(
    A: Any, name: str, *, min_rows: int = 1, n_features: int | None = None, allow_1d: bool = False
) -> np.ndarray:
    """Validate one view: 2-D, numeric, finite, float32/float64.

    Parameters
    ----------
    A : array-like of shape (n_rows, n_features), or (n_rows,) with ``allow_1d``
    name : ``"X"`` or ``"Y"``, used in error messages.
    min_rows : fewest rows allowed (2 for fitting: a correlation needs two rows).
    n_features : width this view must have (the width seen in ``fit``), or None.
    allow_1d : a 1-D array is one feature, shape (n_rows, 1) (the second view, as in
        ``sklearn.cross_decomposition.CCA``); otherwise a 1-D array is an error.

    Returns
    -------
    ndarray of shape (n_rows, n_features), float32 or float64, C-contiguous.
    """
    if A is None:
        hint = " (CorrNet requires y to be passed, but the target y is None)" if name == "Y" else ""
        raise ValueError(f"{name} is None{hint}; pass a 2-D array of shape (n_rows, n_features).")
    if allow_1d and _is_1d(A):
        A = np.asarray(A).reshape(-1, 1)  # one feature, as CCA reads a 1-D y
    try:
        arr = check_array(
            A,
            dtype=[np.float32, np.float64],
            ensure_all_finite=True,
            ensure_min_samples=min_rows,
            input_name=name,
            order="C",
            accept_sparse="csr",  # COO/CSC are converted; sorted indices below
        )
    except ValueError as err:
        msg = str(err)
        if "convert" in msg or "could not" in msg.lower():
            raise ValueError(
                f"{name} holds non-numeric data ({msg}). Encode categorical or text columns as "
                "numbers first (e.g. sklearn.preprocessing.OneHotEncoder) or drop them."
            ) from err
        if "NaN" in msg or "infinity" in msg:
            raise ValueError(
                f"{name} contains NaN or infinity ({msg}). Impute or drop those rows first "
                "(e.g. sklearn.impute.SimpleImputer)."
            ) from err
        if "minimum of" in msg:
            raise ValueError(
                f"{name} has too few rows ({msg}). CorrNet needs at least {min_rows} paired rows: "
                "the correlation term is computed across rows."
            ) from err
        raise
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features, but CorrNet is expecting {n_features} features as input "
            f"(it was fitted with {n_features} features for {name}). Pass the same columns, in the same order, "
            "as in fit."
        )
    if sp.issparse(arr):
        arr.sum_duplicates()  # canonical CSR: sorted indices, no duplicates
    return arr


def _is_1d(A: Any) -> bool:
    """A 1-D array-like (numpy, pandas Series, list of scalars, objects with ``__array__``)."""
    ndim = getattr(A, "ndim", None)
    if ndim is None:
        try:
            ndim = np.asarray(A).ndim
        except (ValueError, TypeError):  # ragged nested lists: let check_array explain
            return False
    return ndim == 1


def check_views(X: Any, Y: Any, *, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair of views with the same number of rows (row i of X pairs with row i of Y)."""
    Xa = check_view(X, "X", min_rows=min_rows)
    Ya = check_view(Y, "Y", min_rows=min_rows, allow_1d=True)
    try:
        check_consistent_length(Xa, Ya)
    except ValueError as err:
        raise ValueError(
            f"X has {Xa.shape[0]} rows but Y has {Ya.shape[0]}: row i of X must be paired with "
            "row i of Y, so both views need the same number of rows."
        ) from err
    for name, A in (("X", Xa), ("Y", Ya)):
        if is_constant(A):
            raise ValueError(
                f"every column of {name} is constant over the rows: there is nothing to correlate or "
                "learn. Check that the right file or columns were passed (a few constant columns are fine)."
            )
    return Xa, Ya


def is_constant(A: Any) -> bool:
    """Every column constant over the rows (dense or CSR)."""
    if sp.issparse(A):
        return bool(abs(A - A[np.zeros(A.shape[0], dtype=int)]).sum() == 0)
    return bool(np.all(A == A[:1]))


class SparseRows:
    """A CSR view kept on the host as scipy; indexing rows (a slice or an index tensor) gives a torch
    sparse CSR tensor of those rows on ``device``: batches are sparse, the view is never densified.
    The first layer multiplies it with ``torch.sparse`` (``nn.Linear`` accepts CSR input)."""

    def __init__(self, A: sp.csr_matrix, device: torch.device) -> None:
        self.A = sp.csr_matrix(A, dtype=np.float32)
        self.device = torch.device(device)
        self.shape = self.A.shape

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: Any) -> torch.Tensor:
        if isinstance(rows, torch.Tensor):
            rows = rows.cpu().numpy()
        return csr_tensor(self.A[rows], self.device)


def csr_tensor(A: sp.csr_matrix, device: torch.device) -> torch.Tensor:
    """A scipy CSR matrix as a torch sparse CSR tensor on ``device``."""
    with warnings.catch_warnings():  # "sparse CSR support is in beta": the ops used here are tested
        warnings.simplefilter("ignore", UserWarning)
        t = torch.sparse_csr_tensor(
            torch.from_numpy(A.indptr.astype(np.int64)),
            torch.from_numpy(A.indices.astype(np.int64)),
            torch.from_numpy(A.data.astype(np.float32, copy=False)),
            size=A.shape,
            check_invariants=False,
        )
    return t.to(device)


def dense(x: torch.Tensor) -> torch.Tensor:
    """A batch as a dense tensor (a sparse batch is densified: B rows only)."""
    return x if x.layout == torch.strided else x.to_dense()


def to_tensor(A: Any, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor | SparseRows:
    """A validated array -> a contiguous tensor on ``device`` (copied once, up front); a CSR matrix ->
    :class:`SparseRows` (stays on the host, batches move)."""
    if sp.issparse(A):
        return SparseRows(A, device)
    return torch.as_tensor(np.ascontiguousarray(A), dtype=dtype).to(device)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; any other value is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available; use 'cpu' or 'auto'.")
    return dev
