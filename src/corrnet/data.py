"""Input validation and conversion: numpy / pandas / lists -> validated float arrays -> tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
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
        if np.all(A == A[:1]):
            raise ValueError(
                f"every column of {name} is constant over the rows: there is nothing to correlate or "
                "learn. Check that the right file or columns were passed (a few constant columns are fine)."
            )
    return Xa, Ya


def to_tensor(A: np.ndarray, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A validated array -> a contiguous tensor on ``device`` (copied once, up front)."""
    return torch.as_tensor(np.ascontiguousarray(A), dtype=dtype).to(device)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; any other value is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available; use 'cpu' or 'auto'.")
    return dev
