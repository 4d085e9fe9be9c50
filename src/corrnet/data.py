"""Input validation and conversion: numpy / pandas / lists / scipy.sparse -> validated float arrays ->
tensors (dense views) or :class:`SparseRows` (CSR views, sliced into sparse batches, never densified whole);
``numpy.memmap`` views -> :class:`MappedRows` (on disk, read a chunk at a time, never loaded whole)."""

from __future__ import annotations

import mmap
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_array


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
    if isinstance(A, MappedRows):  # on disk: checked chunk by chunk, never loaded
        return scan(A, name, min_rows=min_rows, n_features=n_features)
    if A is None:
        hint = " (CorrNet requires y to be passed, but the target y is None)" if name == "Y" else ""
        raise ValueError(f"{name} is None{hint}; pass a 2-D array of shape (n_rows, n_features).")
    if allow_1d and _is_1d(A):  # one feature, as CCA reads a 1-D y
        A = sp.csr_matrix(A.reshape((-1, 1))) if sp.issparse(A) else np.asarray(A).reshape(-1, 1)
    arr = _check_array(A, name, min_rows)
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features, but CorrNet is expecting {n_features} features as input "
            f"(it was fitted with {n_features} features for {name}). Pass the same columns, in the same order, "
            "as in fit."
        )
    if sp.issparse(arr):
        arr.sum_duplicates()  # canonical CSR: sorted indices, no duplicates
    return arr


def _check_array(A: Any, name: str, min_rows: int) -> np.ndarray:
    """scikit-learn's ``check_array`` (float32/float64, finite, C order, CSR), its errors reworded to
    name the fix."""
    try:
        return check_array(
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


def _is_1d(A: Any) -> bool:
    """A 1-D array-like (numpy, pandas Series, list of scalars, objects with ``__array__``)."""
    ndim = getattr(A, "ndim", None)
    if ndim is None:
        try:
            ndim = np.asarray(A).ndim
        except (ValueError, TypeError):  # ragged nested lists: let check_array explain
            return False
    return ndim == 1


def check_paired_rows(X: Any, Y: Any) -> None:
    """Row i of X pairs with row i of Y: the views need the same number of rows."""
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows but Y has {Y.shape[0]}: row i of X must be paired with "
            "row i of Y, so both views need the same number of rows."
        )


def check_views(X: Any, Y: Any, *, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair of views with the same number of rows (row i of X pairs with row i of Y)."""
    Xa = check_view(X, "X", min_rows=min_rows)
    Ya = check_view(Y, "Y", min_rows=min_rows, allow_1d=True)
    check_paired_rows(Xa, Ya)
    for name, A in (("X", Xa), ("Y", Ya)):
        if is_constant(A):
            raise ValueError(
                f"every column of {name} is constant over the rows: there is nothing to correlate or "
                "learn. Check that the right file or columns were passed (a few constant columns are fine)."
            )
    return Xa, Ya


def is_constant(A: Any) -> bool:
    """Every column constant over the rows (dense, CSR, or a scanned MappedRows)."""
    if isinstance(A, MappedRows):
        return bool(np.all(A.min_ == A.max_))
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


class _SparseProduct(torch.autograd.Function):
    """``x @ W`` for a sparse CSR x (B, d) and a dense W (d, m), differentiable in W: the backward
    multiplies by x's transpose (:func:`transposed`, built once per batch) instead of transposing
    x at every backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        ctx.x = x
        return x @ W

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, transposed(ctx.x) @ grad


def transposed(x: torch.Tensor) -> torch.Tensor:
    """The sparse CSR batch x (B, d) transposed, (d, B) CSR, kept on x: a batch evaluated many times
    (full-batch L-BFGS) or multiplied twice (encoder and reconstruction) is transposed once."""
    t = getattr(x, "_corrnet_transposed", None)
    if t is None:
        t = x.t().to_sparse_csr()
        x._corrnet_transposed = t
    return t


def sparse_product(x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """``x @ W`` (B, m) for a sparse CSR batch x (B, d) and a dense W (d, m) (see :class:`_SparseProduct`)."""
    return _SparseProduct.apply(x, W)


def linear(layer: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)``, through :func:`sparse_product` for a sparse CSR x."""
    if x.layout != torch.sparse_csr:
        return layer(x)
    out = sparse_product(x, layer.weight.T)
    return out if layer.bias is None else out + layer.bias


def dense(x: torch.Tensor) -> torch.Tensor:
    """A batch as a dense tensor (a sparse batch is densified: B rows only)."""
    return x if x.layout == torch.strided else x.to_dense()


# A streamed view is read this many bytes at a time (rounded to whole batches): the training rows of one
# chunk are shuffled together, and only about one chunk per view is resident at a time.
CHUNK_BYTES = 32 * 2**20


class MappedRows:
    """A dense view that stays on disk: a ``numpy.memmap`` (``np.load(path, mmap_mode="r")``) read in
    contiguous chunks of ``chunk_rows`` rows, each converted (float32 or float64, as ``check_view``
    would), passed through ``transform`` (the fitted scaler, or None) and moved to ``device``.

    Indexing rows (a slice, or an index tensor whose rows lie in one chunk, as a chunked plan's
    batches do) gives a float32 tensor (n_rows, n_features); the last chunk read is cached, so an
    epoch reads each chunk once. After each read the mapping's pages are released
    (``madvise(MADV_DONTNEED)``: the file stays in the OS page cache, not in this process's memory),
    so resident memory does not grow with the number of rows. ``window(start, stop)`` is a view of
    some rows (the validation split) without reading anything.
    """

    def __init__(
        self,
        A: np.ndarray,
        device: torch.device | str = "cpu",
        *,
        chunk_rows: int | None = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        rows: tuple[int, int] | None = None,
    ) -> None:
        if A.ndim != 2:
            raise ValueError(f"a memory-mapped view must be 2-D (n_rows, n_features), got shape {A.shape}.")
        self.A, self.device, self.transform = A, torch.device(device), transform
        self.rows = rows or (0, A.shape[0])  # the rows of A this view covers
        self.shape = (self.rows[1] - self.rows[0], A.shape[1])
        # the dtype check_view would convert to: float32/float64 kept, anything else float32
        self.dtype = np.dtype(A.dtype if A.dtype in (np.float32, np.float64) else np.float32)
        row_bytes = max(1, A.shape[1] * self.dtype.itemsize)
        self.chunk_rows = max(2, int(chunk_rows or CHUNK_BYTES // row_bytes))
        from .plans import batch_starts

        # [start, stop) of each chunk; a trailing chunk of one row joins the previous one
        self.bounds = batch_starts(len(self), self.chunk_rows)
        self._cached: tuple[int, torch.Tensor] | None = None
        self.min_: np.ndarray | None = None  # per-column bounds of the raw values, set by scan()
        self.max_: np.ndarray | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def with_(self, **changes: Any) -> MappedRows:
        """A copy with other ``device``, ``chunk_rows`` or ``transform`` (the bounds are kept)."""
        kw = {"device": self.device, "chunk_rows": self.chunk_rows, "transform": self.transform, **changes}
        out = MappedRows(self.A, kw.pop("device"), rows=self.rows, **kw)
        out.min_, out.max_ = self.min_, self.max_
        return out

    def window(self, start: int, stop: int) -> MappedRows:
        """Rows [start, stop) as another MappedRows (nothing is read)."""
        s = self.rows[0]
        return MappedRows(
            self.A, self.device, chunk_rows=self.chunk_rows, transform=self.transform, rows=(s + start, s + stop)
        )

    def numpy(self, start: int, stop: int, step: int = 1) -> np.ndarray:
        """Rows start:stop:step, converted and transformed, as a C-contiguous array."""
        s = self.rows[0]
        block = np.array(self.A[s + start : s + stop : step], dtype=self.dtype, order="C")
        mm = getattr(self.A, "_mmap", None)
        if isinstance(mm, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            mm.madvise(mmap.MADV_DONTNEED)  # read-only file pages: dropped here, re-read on demand
        return block if self.transform is None else self.transform(block)

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(start row, converted rows) of every chunk in order, untransformed: for scans."""
        raw = self.with_(transform=None)
        for s, e in self.bounds:
            yield s, raw.numpy(s, e)

    def _tensor(self, start: int, stop: int) -> torch.Tensor:
        return torch.from_numpy(self.numpy(start, stop)).to(self.device, torch.float32)

    def __getitem__(self, rows: Any) -> torch.Tensor:
        if isinstance(rows, slice):
            start, stop, step = rows.indices(len(self))
            if step != 1:
                raise IndexError("a streamed view takes contiguous row slices or index tensors.")
            if stop <= start:
                return torch.empty(0, self.shape[1], device=self.device)
            lo, hi, local = start, stop - 1, slice(None)
        else:
            idx = torch.as_tensor(rows).to("cpu", torch.int64)
            if len(idx) == 0:
                return torch.empty(0, self.shape[1], device=self.device)
            lo, hi = int(idx.min()), int(idx.max())
            local = None
        c = min(lo // self.chunk_rows, len(self.bounds) - 1)
        cs, ce = self.bounds[c]
        if hi < ce:  # within one chunk: read it once, serve its batches from memory
            if self._cached is None or self._cached[0] != c:
                self._cached = None  # release the previous chunk before reading the next
                self._cached = (c, self._tensor(cs, ce))
            block, base = self._cached[1], cs
        else:  # spans chunks (evaluation, diagnostics): read just these rows
            block, base = self._tensor(lo, hi + 1), lo
        if local is not None:
            return block[lo - base : hi + 1 - base]
        return block[(idx - base).to(self.device)]


class ParquetArray:
    """A parquet file's columns as a read-only 2-D array that is read by row groups, never whole:
    ``A[start:stop:step]`` reads only the row groups those rows fall in (numeric columns, in file
    order; the shape comes from the file's metadata). :class:`MappedRows` streams it like a memmap."""

    def __init__(self, path: str | Any) -> None:
        import pyarrow.parquet as pq

        self.path, self.file = path, pq.ParquetFile(path)
        meta = self.file.metadata
        self.starts = np.cumsum([0] + [meta.row_group(i).num_rows for i in range(meta.num_row_groups)])
        schema = self.file.schema_arrow
        bad = [f.name for f in schema if not (pa_is_numeric(f.type))]
        if bad:
            raise ValueError(
                f"{path} has non-numeric columns {bad[:5]}; encode them as numbers first "
                "(e.g. sklearn.preprocessing.OneHotEncoder) or drop them."
            )
        kinds = {np.dtype(f.type.to_pandas_dtype()) for f in schema}
        self.dtype = np.dtype(np.float64) if np.dtype(np.float64) in kinds else np.dtype(np.float32)
        self.shape = (int(self.starts[-1]), len(schema))
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: slice) -> np.ndarray:
        if not isinstance(rows, slice):
            raise IndexError("a parquet view is read by row slices.")
        start, stop, step = rows.indices(len(self))
        if stop <= start:
            return np.empty((0, self.shape[1]), self.dtype)
        first = int(np.searchsorted(self.starts, start, side="right")) - 1
        last = int(np.searchsorted(self.starts, stop - 1, side="right")) - 1
        table = self.file.read_row_groups(list(range(first, last + 1)))
        block = np.column_stack([c.to_numpy().astype(self.dtype, copy=False) for c in table.columns])
        base = int(self.starts[first])
        return block[start - base : stop - base : step]


def pa_is_numeric(t: Any) -> bool:
    """An arrow type read as a number (integers, floats, booleans)."""
    import pyarrow.types as pat

    return pat.is_integer(t) or pat.is_floating(t) or pat.is_boolean(t)


def is_mapped(A: Any) -> bool:
    """A view to stream from disk rather than load: a ``numpy.memmap``, a :class:`ParquetArray`
    (or a MappedRows)."""
    return isinstance(A, (np.memmap, ParquetArray, MappedRows))


def scan(view: MappedRows, name: str, *, min_rows: int = 2, n_features: int | None = None) -> MappedRows:
    """Validate a streamed view chunk by chunk, as ``check_view`` does in memory (numeric, finite,
    enough rows, the fitted width), and record its per-column bounds (``min_``, ``max_``). A view
    scanned before (its bounds known) is not read again: only its shape is checked."""
    if not np.issubdtype(view.A.dtype, np.number) or np.issubdtype(view.A.dtype, np.complexfloating):
        raise ValueError(f"{name} holds non-numeric data (dtype {view.A.dtype}); save it as float32 or float64.")
    if len(view) < min_rows:
        raise ValueError(
            f"{name} has too few rows ({len(view)}). CorrNet needs at least {min_rows} paired rows: "
            "the correlation term is computed across rows."
        )
    if n_features is not None and view.shape[1] != n_features:
        raise ValueError(
            f"{name} has {view.shape[1]} features, but CorrNet is expecting {n_features} features as input "
            f"(it was fitted with {n_features} features for {name}). Pass the same columns, in the same order, "
            "as in fit."
        )
    if view.min_ is not None:  # already read once (e.g. validation rows checked as a pair, then by name)
        return view
    lo = np.full(view.shape[1], np.inf)
    hi = np.full(view.shape[1], -np.inf)
    for s, block in view.chunks():
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            row = s + int(np.argmin(finite))
            raise ValueError(
                f"{name} contains NaN or infinity (first in row {row}). Impute or drop those rows first "
                "(e.g. sklearn.impute.SimpleImputer), then save the file again."
            )
        np.minimum(lo, block.min(axis=0), out=lo)
        np.maximum(hi, block.max(axis=0), out=hi)
    view.min_, view.max_ = lo, hi
    return view


def to_tensor(
    A: Any, device: torch.device, dtype: torch.dtype = torch.float32
) -> torch.Tensor | SparseRows | MappedRows:
    """A validated array -> a contiguous tensor on ``device`` (copied once, up front); a CSR matrix ->
    :class:`SparseRows` (stays on the host, batches move); a :class:`MappedRows` stays on disk."""
    if sp.issparse(A):
        return SparseRows(A, device)
    if isinstance(A, MappedRows):
        return A.with_(device=device)
    return torch.as_tensor(np.ascontiguousarray(A), dtype=dtype).to(device)


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; any other value is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available; use 'cpu' or 'auto'.")
    return dev


# The view interface: what the estimators, the auto settings and the run files ask of a training
# view, whatever holds it (a dense array, a scipy.sparse CSR matrix, a MappedRows on disk). Nothing
# outside this module branches on the kind.


def is_sparse(A: Any) -> bool:
    """A scipy.sparse view (its batches are sparse; its error can come from its non-zeros)."""
    return sp.issparse(A)


def any_sparse(views: list[Any]) -> bool:
    return any(sp.issparse(A) for A in views)


def is_streamed(A: Any) -> bool:
    """A view read from disk chunk by chunk (:class:`MappedRows`)."""
    return isinstance(A, MappedRows)


def as_streamed(A: Any) -> MappedRows:
    """A memory-mapped (or parquet) view as :class:`MappedRows`; a 1-D view is one feature (as in memory)."""
    if isinstance(A, MappedRows):
        return A
    return MappedRows(A.reshape(-1, 1) if getattr(A, "ndim", 2) == 1 else A)


def stack_rows(A: Any, B: Any) -> Any:
    """Rows of A then rows of B (dense or CSR)."""
    return sp.vstack([A, B], format="csr") if sp.issparse(A) or sp.issparse(B) else np.vstack([A, B])


def split_tail(A: Any, n_val: int) -> tuple[Any, Any]:
    """(all rows but the last ``n_val``, the last ``n_val``); a streamed view is split without reading."""
    n = A.shape[0]
    return (A.window(0, n - n_val), A.window(n - n_val, n)) if isinstance(A, MappedRows) else (A[:-n_val], A[-n_val:])


def zero_rows(A: Any, keep: np.ndarray) -> Any:
    """The view with the rows where ``keep`` is False set to zero (dense or CSR)."""
    if sp.issparse(A):
        return sp.csr_matrix(sp.diags(keep.astype(A.dtype)) @ A)
    return np.where(keep[:, None], A, 0).astype(A.dtype)


def row_blocks(A: Any) -> Iterator[np.ndarray]:
    """The view's rows as blocks in memory: a streamed view chunk by chunk, any other whole."""
    if isinstance(A, MappedRows):
        for _, block in A.chunks():
            yield block
    else:
        yield A


def map_rows(A: Any, fn: Callable[[Any], Any] | None) -> Any:
    """``fn`` applied to the view's rows: now in memory, or chunk by chunk as a streamed view is read."""
    if isinstance(A, MappedRows):
        return A.with_(transform=fn)
    return A if fn is None else fn(A)


def value_range(A: Any) -> tuple[float, float]:
    """(min, max) over every value; a streamed view answers from its scanned per-column bounds, through
    its transform (a per-column affine scaling maps each column's bounds to its bounds)."""
    if isinstance(A, MappedRows):
        bounds = np.vstack([A.min_, A.max_]).astype(A.dtype)
        A = bounds if A.transform is None else A.transform(bounds)
    return float(A.min()), float(A.max())


def column_bounds(A: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-column (min, max) of a dense or streamed view (None for a sparse one)."""
    if isinstance(A, MappedRows):
        return np.asarray(A.min_, np.float64), np.asarray(A.max_, np.float64)
    if sp.issparse(A):
        return None
    return np.asarray(A.min(0), np.float64), np.asarray(A.max(0), np.float64)


def column_means(A: Any) -> np.ndarray:
    """Per-column means in float64 (a streamed view through its transform, chunk by chunk)."""
    if isinstance(A, MappedRows):
        return sum(A.numpy(s, e).sum(0, dtype=np.float64) for s, e in A.bounds) / A.shape[0]
    if sp.issparse(A):
        return np.asarray(A.mean(axis=0, dtype=np.float64)).ravel()
    return np.asarray(A).reshape(len(A), -1).mean(0, dtype=np.float64)


def n_values(A: Any, *, nonzeros: bool = False) -> int:
    """Rows x columns, or with ``nonzeros`` a sparse view's stored values."""
    return A.nnz if nonzeros and sp.issparse(A) else A.shape[0] * A.shape[1]


def sample_bytes(A: Any, step: int) -> Iterator[bytes]:
    """The bytes of every ``step``-th row (for a data fingerprint), whatever holds the view."""
    rows = A.numpy(0, A.shape[0], step) if isinstance(A, MappedRows) else A[::step]
    for part in (rows.data, rows.indices, rows.indptr) if sp.issparse(rows) else (rows,):
        yield np.ascontiguousarray(part).tobytes()
