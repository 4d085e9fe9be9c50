"""The CorrNet objective as small pure functions of tensors, for N views and masked rows.

``loss = sum_rows w_r sum_passes sum_views err(x_v, x_hat_v(pass)) - lam * sum_{i<j} sum_k corr_k(h_i, h_j)``

(``correlation="canonical"``: ``corr_k`` is the k-th canonical correlation of h_i and h_j instead of
unit k's Pearson correlation: :func:`canonical_correlation`.)

A pass is the code computed from a subset of the views (``h(x, y)``, ``h(x, 0)``, ``h(0, y)`` for two
views: the original code's ablations switch each off); ``h_i`` is the code from view i alone and
``corr_k`` the Pearson correlation over the batch of unit k, for each pair of views. The row weight
``w_r`` is ``1/B`` unless a batch plan says otherwise (semi-paired batches).

With a mask (which rows have which view), a row's absent views never enter a correlation or a
reconstruction target: a pass counts for a row that has every view of the pass (the all-views pass:
every row with two or more views, from the views it has), each pair's correlation uses the rows that
have both views, and a row with one view only contributes that view's self-reconstruction.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .config import Config
from .data import dense, sparse_product
from .model import CorrNetModule

TWO_VIEW_PASSES = {"both": (0, 1), "x": (0,), "y": (1,)}  # the two-view names of the passes


def pass_subsets(reconstruct_from: tuple[str, ...], n_views: int) -> tuple[tuple[int, ...], ...]:
    """The input views of each configured reconstruction pass, in a fixed order.

    Two-view names: ``both`` (h(x, y)), ``x`` (h(x, 0)), ``y`` (h(0, y)). N-view names: ``all`` (the
    code from every view; ``both`` is its two-view name), ``single`` (one pass per view), ``pairs``
    (one pass per pair of views: N (N - 1) / 2 more passes).
    """
    out: list[tuple[int, ...]] = []
    for name in reconstruct_from:
        if name in ("all", "both"):
            new = [tuple(range(n_views))]
        elif name in ("x", "y"):
            if n_views != 2:
                raise ValueError(f"reconstruct_from={name!r} names a view of a two-view model; use 'single'.")
            new = [TWO_VIEW_PASSES[name]]
        elif name == "single":
            new = [(i,) for i in range(n_views)]
        elif name == "pairs":
            new = list(itertools.combinations(range(n_views), 2))
        else:
            raise ValueError(f"reconstruct_from contains {name!r}; use 'all', 'single', 'pairs' (or 'both', 'x', 'y').")
        out += [s for s in new if s not in out]
    full = tuple(range(n_views))
    return tuple(sorted(out, key=lambda s: (s != full, len(s), s)))  # all first, then singles, pairs


def pass_name(subset: tuple[int, ...], n_views: int) -> str:
    """History name of a pass: ``both``/``x``/``y`` for two views, else ``all``, ``0``, ``0+2`` ..."""
    if n_views == 2:
        return {v: k for k, v in TWO_VIEW_PASSES.items()}[subset]
    return "all" if len(subset) == n_views else "+".join(map(str, subset))


def _wide(t: Tensor) -> Tensor:
    """Half-precision tensors are upcast to float32 for reductions; float32/64 stay as they are."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def correlation(
    hx: Tensor,
    hy: Tensor,
    eps: float = 1e-8,
    mask: Tensor | None = None,
    reduce: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Per-unit Pearson correlation over the rows, numerically safe.

    Parameters
    ----------
    hx, hy : (B, k) tensors
    eps : added inside each square root of the denominator (the original code's ``1e-8``). It keeps
        the value and its gradient finite when a unit is constant over the batch (then corr = 0) and
        for B = 1 or 2; it shrinks the correlation of units whose centred norm is comparable to
        ``sqrt(eps) = 1e-4`` (negligible for any unit that varies).
    mask : (B,) bool, optional
        Only these rows count (the rows that have both views); fewer than two give 0.

    reduce : optional; sums the statistics over every process (data parallelism, :mod:`corrnet.distributed`).
        Given, the correlation is computed from the sufficient statistics (n, Σhx, Σhy, Σhx², Σhy²,
        Σhx·hy per unit, in float64) of all the processes' rows: the correlation of the global batch.

    Returns
    -------
    (k,) tensor in [-1, 1]; float32 (at least) even under fp16/bf16 autocast.
    """
    hx, hy = _wide(hx), _wide(hy)
    if reduce is not None:
        return correlation_from_stats(reduce(correlation_stats(hx, hy, mask)), eps).to(hx.dtype)
    if mask is None:
        cx = hx - hx.mean(dim=0, keepdim=True)
        cy = hy - hy.mean(dim=0, keepdim=True)
    else:  # the same statistics over the masked rows; no host sync (a mask of < 2 rows gives 0)
        m = mask.to(hx.dtype).unsqueeze(1)  # (B, 1)
        n = m.sum().clamp(min=1)
        cx = (hx - (m * hx).sum(0, keepdim=True) / n) * m
        cy = (hy - (m * hy).sum(0, keepdim=True) / n) * m
    num = (cx * cy).sum(dim=0)
    den = torch.sqrt((cx * cx).sum(dim=0) + eps) * torch.sqrt((cy * cy).sum(dim=0) + eps)
    return num / den


def correlation_stats(hx: Tensor, hy: Tensor, mask: Tensor | None = None) -> Tensor:
    """(6, k) float64 sums over the (masked) rows: n, Σhx, Σhy, Σhx², Σhy², Σhx·hy. Sums of two
    batches' statistics are the statistics of their union (what data-parallel processes all-reduce)."""
    hx, hy = hx.double(), hy.double()
    if mask is not None:
        m = mask.to(hx.dtype).unsqueeze(1)
        hx, hy = hx * m, hy * m
        n = m.sum().expand(hx.shape[1])
    else:
        n = hx.new_full((hx.shape[1],), float(hx.shape[0]))
    return torch.stack([n, hx.sum(0), hy.sum(0), (hx * hx).sum(0), (hy * hy).sum(0), (hx * hy).sum(0)])


def correlation_from_stats(S: Tensor, eps: float = 1e-8) -> Tensor:
    """Per-unit Pearson correlation (k,) from :func:`correlation_stats` (same ``eps`` rule as
    :func:`correlation`; fewer than two rows give 0)."""
    n, sx, sy, sxx, syy, sxy = S
    n = n.clamp(min=1)
    cov = sxy - sx * sy / n
    vx = (sxx - sx * sx / n).clamp(min=0)  # clamp: float64 rounding of a constant unit
    vy = (syy - sy * sy / n).clamp(min=0)
    return cov / (torch.sqrt(vx + eps) * torch.sqrt(vy + eps))


# correlation="canonical": the ridge added to each view's code covariance before whitening (as Deep
# CCA's r1 = r2; 1e-3 in the Noisy MNIST screen, benchmarks/runs/noisy-screen/)
CANONICAL_RIDGE = 1e-3


def canonical_stats(hx: Tensor, hy: Tensor, mask: Tensor | None = None) -> Tensor:
    """(1 + 2k, 1 + 2k) float64 Gram matrix of the rows ``[1, hx, hy]`` over the (masked) rows: it
    holds n, the sums and every (cross-)product the canonical correlations need. Sums of two
    batches' statistics are the statistics of their union (what data-parallel processes all-reduce)."""
    hx, hy = hx.double(), hy.double()
    z = torch.cat([hx.new_ones(hx.shape[0], 1), hx, hy], 1)  # (B, 1 + 2k)
    if mask is not None:
        z = z * mask.to(z.dtype).unsqueeze(1)
    return z.T @ z


def _whitened_cross(S: Tensor, ridge: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """From :func:`canonical_stats`: ``T = Lx^-1 C_xy Ly^-T`` (k, k), whose singular values are the
    canonical correlations (``C_xx + ridge I = Lx Lx^T``, Cholesky: stable gradients where units tie,
    unlike an eigendecomposition's), the Cholesky factors, and the (2, k) means. Fewer than two rows
    give T = 0."""
    k = (S.shape[0] - 1) // 2
    n, s = S[0, 0].clamp(min=1), S[0, 1:]
    C = (S[1:, 1:] - torch.outer(s, s) / n) / (n - 1).clamp(min=1)  # (2k, 2k) covariance
    eye = ridge * torch.eye(k, dtype=S.dtype, device=S.device)
    Lx, Ly = torch.linalg.cholesky(C[:k, :k] + eye), torch.linalg.cholesky(C[k:, k:] + eye)
    T = torch.linalg.solve_triangular(Lx, C[:k, k:], upper=False)  # Lx^-1 C_xy
    T = torch.linalg.solve_triangular(Ly, T.T, upper=False).T  # Lx^-1 C_xy Ly^-T
    return T, Lx, Ly, (s / n).view(2, k)


def canonical_from_stats(S: Tensor, ridge: float = CANONICAL_RIDGE) -> Tensor:
    """The k canonical correlations (descending, float64) from :func:`canonical_stats`. Non-finite
    statistics (diverged codes), and statistics LAPACK cannot factor or decompose, give NaN, which
    the training loop turns into a roll-back and a ``DivergenceError``, where LAPACK would raise an
    error that names no cause (one host sync)."""
    if bool(torch.isfinite(S).all()):
        try:
            return torch.linalg.svdvals(_whitened_cross(S, ridge)[0])
        except torch.linalg.LinAlgError:  # codes so large that the ridge is lost in rounding, or units tied
            pass
    k = (S.shape[0] - 1) // 2
    return S.diagonal()[1 : k + 1] * float("nan")  # (k,), still on the graph: backward gives NaN


def canonical_correlation(
    hx: Tensor, hy: Tensor, mask: Tensor | None = None, reduce: Callable[[Tensor], Tensor] | None = None
) -> Tensor:
    """The canonical correlations (k,) between codes hx and hy (B, k) over the (masked) rows, with
    :data:`CANONICAL_RIDGE` on each covariance: Deep CCA's objective (Andrew et al. 2013) is their sum.
    ``reduce`` sums the statistics over processes, as in :func:`correlation`."""
    S = canonical_stats(hx, hy, mask)
    return canonical_from_stats(S if reduce is None else reduce(S)).to(_wide(hx).dtype)


def canonical_alignment(S: Tensor, ridge: float = CANONICAL_RIDGE) -> tuple[Tensor, Tensor]:
    """The linear CCA of two code sets from their :func:`canonical_stats`: ``(means (2, k), proj
    (2, k, k))`` such that ``(h_x - means[0]) @ proj[0]`` and ``(h_y - means[1]) @ proj[1]`` have
    (ridge-)whitened units and unit j of both correlates by the j-th canonical correlation."""
    T, Lx, Ly, means = _whitened_cross(S, ridge)
    U, _, Vh = torch.linalg.svd(T)
    Ax = torch.linalg.solve_triangular(Lx.T, U, upper=True)  # Lx^-T U
    Ay = torch.linalg.solve_triangular(Ly.T, Vh.T, upper=True)  # Ly^-T V
    return means, torch.stack([Ax, Ay])


def pair_stats(hx: Tensor, hy: Tensor, config: Config, mask: Tensor | None = None) -> Tensor:
    """The summable statistics of ``config.correlation``'s term for one pair of views' codes."""
    if config.correlation == "canonical":
        return canonical_stats(hx, hy, mask)
    return correlation_stats(hx, hy, mask)


def pair_from_stats(S: Tensor, config: Config) -> Tensor:
    """(k,) the term's correlations (per unit, or canonical) from :func:`pair_stats`."""
    if config.correlation == "canonical":
        return canonical_from_stats(S)
    return correlation_from_stats(S, config.corr_eps)


def pair_correlation(
    hx: Tensor, hy: Tensor, config: Config, mask: Tensor | None = None, reduce: Callable[[Tensor], Tensor] | None = None
) -> Tensor:
    """(k,) the correlations whose sum the objective raises, for one pair of views' codes (B, k):
    per unit (:func:`correlation`, the paper) or canonical (:func:`canonical_correlation`)."""
    if config.correlation == "canonical":
        return canonical_correlation(hx, hy, mask, reduce)
    return correlation(hx, hy, config.corr_eps, mask, reduce)


def reconstruction_error(target: Tensor, out: Tensor, loss: str, logits: bool = False) -> Tensor:
    """Per-row reconstruction error, summed over the last dimension (features).

    ``target`` (..., B, d) broadcasts against ``out`` (..., B, d). ``loss``: ``half_squared``
    (sum (x - x_hat)^2 / 2, the original code), ``squared`` (sum (x - x_hat)^2, the paper),
    ``mse`` (mean over features, Keras' ``mse``), ``bce`` (sum of binary cross-entropies; with
    ``logits=True`` ``out`` holds pre-sigmoid values and the stable fused form is used).
    Returns a (..., B) tensor.
    """
    err = elementwise_error(target, out, loss, logits)
    return err.mean(-1) if loss == "mse" else _halved(err.sum(-1), loss)


def elementwise_error(target: Tensor, out: Tensor, loss: str, logits: bool = False) -> Tensor:
    """:func:`reconstruction_error` before its sum over features: one error per entry, the shape of
    ``out``. The squared losses give the plain squares: ``half_squared``'s 1/2 (:func:`_halved`) and
    ``mse``'s 1/d are applied to the row sums, one multiply a row rather than an entry."""
    if loss == "bce":
        target = target.expand_as(out)
        if logits:
            return F.binary_cross_entropy_with_logits(out, target, reduction="none")
        return F.binary_cross_entropy(out.clamp(1e-7, 1 - 1e-7), target, reduction="none")
    return (out - target).pow(2)


def _halved(per_row: Tensor, loss: str) -> Tensor:
    return 0.5 * per_row if loss == "half_squared" else per_row


def sampled_columns(x: Tensor, m: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """The columns a sampled reconstruction decodes for a sparse CSR batch x (B, d): every column
    that is non-zero in some row of the batch, then ``m`` columns drawn uniformly, with replacement,
    from the others (zero in every row). Returns ``cols`` (L,) column indices and ``weight`` (L,): 1
    for a batch column, ``(number of other columns) / m`` for a draw, so that the weighted error
    over ``cols`` is an unbiased estimate of each row's error summed over all d columns."""
    d = x.shape[1]
    used = torch.zeros(d, dtype=torch.bool, device=x.device)
    used[x.col_indices()] = True
    batch_cols, rest = used.nonzero().squeeze(1), (~used).nonzero().squeeze(1)
    if len(rest) == 0:
        return batch_cols, torch.ones(len(batch_cols), dtype=x.values().dtype, device=x.device)
    draws = rest[torch.randint(len(rest), (m,), generator=generator).to(x.device)]
    weight = torch.cat([x.values().new_ones(len(batch_cols)), x.values().new_full((m,), len(rest) / m)])
    return torch.cat([batch_cols, draws]), weight


def sampled_reconstruction_error(
    model: CorrNetModule, codes: Tensor, view: int, x: Tensor, config: Config, generator: torch.Generator
) -> Tensor:
    """Per pass and row, the sampled estimate (:func:`sampled_columns`) of view ``view``'s
    reconstruction error from ``codes`` (P, B, k) against the sparse batch x (B, d): (P, B)."""
    P, B, k = codes.shape
    cols, weight = sampled_columns(x, int(config.reconstruction_samples), generator)
    target = x.to_dense().index_select(1, cols)  # (B, L): the batch's values there, 0 for the draws
    logits = config.loss == "bce"
    pre = model.decode_columns(codes.reshape(P * B, k), view, cols).view(P, B, -1)
    out = pre if logits else model.g(pre)
    per_row = elementwise_error(target, out, config.loss, logits) @ weight
    return scale_row_sums(per_row, config.loss, x.shape[1])


SQUARED_LOSSES = ("half_squared", "squared", "mse")


def exact_output(output_activation: str, loss: str) -> bool:
    """Whether a sparse view's reconstruction error can come from its non-zeros
    (:func:`sparse_squared_error`): a linear output and a squared loss."""
    return output_activation == "linear" and loss in SQUARED_LOSSES


def exact_sparse(x: Tensor, model: CorrNetModule, config: Config, view: int) -> bool:
    """Whether view ``view``'s batch x has its reconstruction error computed by
    :func:`sparse_squared_error` (without decoding its columns): a sparse CSR batch under
    :func:`exact_output`, decoded by a decoder that ends in a linear layer."""
    sparse = x.layout == torch.sparse_csr
    return sparse and exact_output(model.output_activation, config.loss) and model.linear_head(view)


def sparse_squared_error(model: CorrNetModule, codes: Tensor, view: int, x: Tensor) -> Tensor:
    """Per pass and row, ``sum_j (x_j - x_hat_j)^2`` of view ``view`` decoded (linear output) from
    ``codes`` (P, B, k) against the sparse CSR batch x (B, d), without decoding the d columns: with
    ``x_hat = W z + b`` (:meth:`~corrnet.model.CorrNetModule.decoder_head`, z of width m),

    ``|x - x_hat|^2 = |x|^2 - 2 (x W).z - 2 x.b + z^T (W^T W) z + 2 z.(W^T b) + |b|^2``,

    which costs O(nnz m + d m^2 + P B m^2) instead of the decode's O(P B d m): the same value up
    to float rounding, and the same gradients. Returns (P, B)."""
    P, B, k = codes.shape
    z, W, b = model.decoder_head(codes.reshape(P * B, k), view)  # (PB, m), (d, m), (d,)
    z = z.view(P, B, -1)
    Wb = torch.cat([W, b.unsqueeze(1)], 1)  # (d, m + 1)
    xWb = sparse_product(x, Wb)  # (B, m + 1): x W and x.b in one product
    rows = torch.repeat_interleave(torch.arange(B, device=x.device), x.crow_indices().diff())
    xx = x.values().new_zeros(B).index_add_(0, rows, x.values().pow(2))  # (B,) |x|^2
    G = W.T @ Wb  # (m, m + 1): W^T W and W^T b
    quad = ((z @ G[:, :-1]) * z).sum(-1) + 2 * (z @ G[:, -1])  # (P, B)
    return xx - 2 * xWb[:, -1] + b.pow(2).sum() - 2 * (z * xWb[:, :-1]).sum(-1) + quad


def scale_row_sums(per_row: Tensor, loss: str, d: int) -> Tensor:
    """``loss``'s per-row error from the plain sums over a d-column view's entries (``mse``: the
    mean, ``half_squared``: half the sum; the others: the sum)."""
    return per_row / d if loss == "mse" else _halved(per_row, loss)


def _sampled_views(
    xs: list[Tensor], config: Config, mask: Tensor | None, generator: torch.Generator | None
) -> tuple[int, ...]:
    """The views a batch reconstructs by sampling: sparse CSR ones, when the configuration asks for
    it, a generator is given and the batch has no mask."""
    if not config.reconstruction_samples or generator is None or mask is not None:
        return ()
    return tuple(i for i, x in enumerate(xs) if x.layout == torch.sparse_csr)


def terms(config: Config) -> tuple[str, ...]:
    """The objective's terms for ``config``: ``reconstruction`` (when some pass is reconstructed)
    and ``correlation`` or ``canonical_correlation`` (when ``lam > 0``). A new term is added here and
    in :func:`combine`; the fast path (:mod:`corrnet.fastpath`) trains only configurations whose
    terms it derives."""
    out = ("reconstruction",) if config.reconstruct_from else ()
    if not config.lam:
        return out
    return (*out, "canonical_correlation" if config.correlation == "canonical" else "correlation")


def combine(recon: Tensor | float, corr_sum: Tensor | float, config: Config) -> Tensor | float:
    """The minimised objective from its terms: summed reconstruction error minus ``lam`` times the
    summed correlation (the loss, the fused engine's loss and validation all combine through here)."""
    return recon - config.lam * corr_sum if config.lam else recon


@dataclass
class LossTerms:
    """Scalars of one batch; ``total`` is what is minimised. ``recon`` maps pass name to the
    (weighted) sum over rows of every view's reconstruction error from that pass (``unpaired``: the
    self-reconstruction of rows with one view); ``corr`` is (n_pairs, k), one row per pair of views
    (``i < j`` in order), or (k,) from :func:`corrnet_loss` (two views)."""

    total: Tensor
    recon: dict[str, Tensor]
    corr: Tensor


def _reconstruction_terms(
    err: list[Tensor], subsets: tuple, mask: Tensor | None, weight: Tensor | None, reconstruct_from: tuple, N: int
) -> tuple[dict[str, Tensor], Tensor]:
    """(each pass's reconstruction term, their sum) from the per-view errors (P, B) of the passes
    ``subsets``: the mean over rows (or the ``weight``-ed sum), over the rows that have the views
    under a ``mask``."""
    if mask is None:
        per_pass = (_wide(sum(err)) * weight).sum(1) if weight is not None else _wide(sum(err)).mean(1)
        return {pass_name(s, N): per_pass[i] for i, s in enumerate(subsets)}, per_pass.sum()
    recon = _masked_recon(err, subsets, mask, weight, reconstruct_from, N)
    return recon, sum(recon.values())


def multiview_loss(
    model: CorrNetModule,
    xs: list[Tensor],
    config: Config,
    mask: Tensor | None = None,
    weight: Tensor | None = None,
    reduce: Callable[[Tensor], Tensor] | None = None,
    sampler: torch.Generator | None = None,
) -> LossTerms:
    """The CorrNet objective on a batch of N views.

    Parameters
    ----------
    xs : list of N tensors (B, d_v); rows of an absent view may hold anything (they are zeroed).
    mask : (B, N) bool, optional; True where the row has the view. None: every row has every view.
    weight : (B,) row weights of the reconstruction terms, optional (default ``1/B`` each: the mean).
    reduce : sums correlation statistics over processes (see :func:`correlation`); None: this batch only.
    sampler : draws the columns of a sampled reconstruction (``config.reconstruction_samples``, sparse
        views, no mask); None: every column is reconstructed.
    """
    N = model.n_views
    logits = config.loss == "bce"
    subsets = pass_subsets(tuple(config.reconstruct_from), N)
    singles = tuple((i,) for i in range(N))
    if mask is not None:  # a row with one view still reconstructs it from itself
        xs = [dense(x) for x in xs]  # (a sparse batch is densified: torch.where needs strided tensors)
        xs = [
            torch.where(mask[:, i : i + 1], x, torch.zeros((), dtype=x.dtype, device=x.device))
            for i, x in enumerate(xs)
        ]
        subsets = subsets + tuple(s for s in singles if s not in subsets)
    sampled = tuple(v for v in _sampled_views(xs, config, mask, sampler) if model.linear_head(v))
    exact = tuple(i for i, x in enumerate(xs) if i not in sampled and exact_sparse(x, model, config, i))
    out = model(xs, subsets, logits=logits, skip=sampled + exact)
    total = out.singles[0].new_zeros(())
    recon: dict[str, Tensor] = {}
    if out.subsets:
        err = [
            sampled_reconstruction_error(model, out.codes, v, x, config, sampler)  # type: ignore[arg-type]
            if v in sampled
            else scale_row_sums(sparse_squared_error(model, out.codes, v, x), config.loss, x.shape[1])
            if v in exact
            else reconstruction_error(dense(x), o, config.loss, logits=logits)
            for v, (x, o) in enumerate(zip(xs, out.outs))
        ]  # (P, B) each
        recon, total = _reconstruction_terms(err, out.subsets, mask, weight, tuple(config.reconstruct_from), N)
    pairs = list(itertools.combinations(range(N), 2))
    corr = torch.stack(
        [
            pair_correlation(
                out.singles[i], out.singles[j], config, None if mask is None else mask[:, i] & mask[:, j], reduce
            )
            for i, j in pairs
        ]
    )  # (n_pairs, k)
    return LossTerms(combine(total, corr.sum(), config), recon, corr)


def _masked_recon(
    err: list[Tensor],
    subsets: tuple[tuple[int, ...], ...],
    mask: Tensor,
    weight: Tensor | None,
    reconstruct_from: tuple[str, ...],
    N: int,
) -> dict[str, Tensor]:
    """Per pass, the weighted reconstruction error of the rows and views it counts for (see module doc)."""
    B = mask.shape[0]
    w = _wide(weight) if weight is not None else err[0].new_full((B,), 1.0 / B, dtype=_wide(err[0]).dtype)
    present = mask.sum(1)  # (B,) views per row
    configured = set(pass_subsets(reconstruct_from, N))
    recon: dict[str, Tensor] = {}
    single_rows = err[0].new_zeros((), dtype=w.dtype)
    for p, s in enumerate(subsets):
        rows = present >= 2 if len(s) == N else mask[:, list(s)].all(1)  # rows this pass counts for
        per_row = sum(_wide(e[p]) * mask[:, v] for v, e in enumerate(err))  # targets the row has, (B,)
        if s in configured:
            recon[pass_name(s, N)] = (per_row * w * (rows & (present >= 2))).sum()
        if len(s) == 1:  # rows with this view only: its self-reconstruction
            single_rows = single_rows + (per_row * w * (rows & (present == 1))).sum()
    recon["unpaired"] = single_rows
    return recon


def corrnet_loss(model: CorrNetModule, x: Tensor, y: Tensor, config: Config) -> LossTerms:
    """The CorrNet objective on a paired batch of two views x (B, d_x), y (B, d_y); ``corr`` is (k,)."""
    terms = multiview_loss(model, [x, y], config)
    return LossTerms(terms.total, terms.recon, terms.corr[0])
