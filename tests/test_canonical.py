"""correlation="canonical" (Deep CCA's objective inside CorrNet), LayerNorm encoder layers and the
final linear CCA that aligns the codes: against a naive NumPy reference, through masks, summed
statistics, gradients, the estimators, persistence, and the clear errors."""

import warnings

import numpy as np
import pytest
import torch

from corrnet import Config, CorrNet, CorrNetModule, MultiViewCorrNet, multiview_loss
from corrnet.config import preset
from corrnet.objective import (
    CANONICAL_RIDGE,
    canonical_alignment,
    canonical_correlation,
    canonical_from_stats,
    canonical_stats,
)


def _naive_canonical(hx: np.ndarray, hy: np.ndarray, ridge: float) -> np.ndarray:
    """Textbook CCA in NumPy: eigendecomposition inverse square roots of the ridged covariances, the
    singular values of ``Cxx^-1/2 Cxy Cyy^-1/2``."""
    n = len(hx)
    cx, cy = hx - hx.mean(0), hy - hy.mean(0)
    cxx = cx.T @ cx / (n - 1) + ridge * np.eye(hx.shape[1])
    cyy = cy.T @ cy / (n - 1) + ridge * np.eye(hy.shape[1])

    def inv_sqrt(c):
        w, v = np.linalg.eigh(c)
        return v @ np.diag(w**-0.5) @ v.T

    return np.linalg.svd(inv_sqrt(cxx) @ (cx.T @ cy / (n - 1)) @ inv_sqrt(cyy), compute_uv=False)


def _codes(n=60, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    z = randn(n, 2)
    return z @ randn(2, k) + 0.5 * randn(n, k), z @ randn(2, k) + 0.5 * randn(n, k)


def test_canonical_correlations_equal_a_naive_numpy_cca():
    hx, hy = _codes()
    got = canonical_correlation(hx, hy)
    want = _naive_canonical(hx.numpy(), hy.numpy(), CANONICAL_RIDGE)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    assert got[0] > 0.8 and got[-1] < got[0]  # two shared directions dominate


def test_masked_rows_and_summed_statistics_give_the_subset_and_the_union():
    hx, hy = _codes(n=70)
    mask = torch.rand(70, generator=torch.Generator().manual_seed(2)) > 0.3
    torch.testing.assert_close(canonical_correlation(hx, hy, mask), canonical_correlation(hx[mask], hy[mask]))
    halves = [slice(0, 31), slice(31, 70)]
    S = sum(canonical_stats(hx[h], hy[h]) for h in halves)
    torch.testing.assert_close(canonical_from_stats(S), canonical_correlation(hx, hy), rtol=1e-12, atol=1e-12)
    # reduce (the data-parallel all-reduce) sees the statistics, and the identity changes nothing
    torch.testing.assert_close(canonical_correlation(hx, hy, reduce=lambda s: s), canonical_correlation(hx, hy))


def test_gradient_matches_finite_differences():
    hx, hy = _codes(n=30, k=3)
    hx.requires_grad_(True)
    hy.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: canonical_correlation(a, b).sum(), (hx, hy))


def test_degenerate_batches_keep_finite_gradients():
    """Units that are exactly constant (dead ReLUs: equal eigenvalues, where an eigendecomposition's
    gradient divides by zero) and masks with fewer than two rows."""
    hx, hy = _codes(n=20, k=4)
    hx[:, 1] = 0.0
    hx[:, 2] = 0.0
    hx.requires_grad_(True)
    canonical_correlation(hx, hy).sum().backward()
    assert torch.isfinite(hx.grad).all()
    hx.grad = None
    one_row = torch.zeros(20, dtype=torch.bool)
    one_row[3] = True
    value = canonical_correlation(hx, hy, one_row)
    value.sum().backward()
    assert torch.all(value == 0) and torch.isfinite(hx.grad).all()


def test_alignment_makes_unit_j_correlate_by_the_jth_canonical_correlation():
    hx, hy = _codes(n=200, k=4)
    ridge = 1e-10  # (with a ridge the aligned units are whitened only up to it)
    S = canonical_stats(hx, hy)
    means, proj = canonical_alignment(S, ridge)
    ax, ay = (hx - means[0]) @ proj[0], (hy - means[1]) @ proj[1]
    n = len(hx)
    np.testing.assert_allclose((ax.T @ ax / (n - 1)).numpy(), np.eye(4), atol=1e-8)  # whitened
    cross = (ax.T @ ay / (n - 1)).numpy()
    np.testing.assert_allclose(cross, np.diag(canonical_from_stats(S, ridge).numpy()), atol=1e-8)


def test_the_objective_uses_the_canonical_sum_of_the_single_view_codes():
    cfg = Config(n_components=3, lam=5.0, correlation="canonical", hidden_activation="linear")
    model = CorrNetModule((6, 5), cfg, generator=torch.Generator().manual_seed(0)).double()
    g = torch.Generator().manual_seed(1)
    xs = [torch.rand(40, 6, generator=g, dtype=torch.float64), torch.rand(40, 5, generator=g, dtype=torch.float64)]
    terms = multiview_loss(model, xs, cfg)
    hx, hy = model.encode([xs[0], None]), model.encode([None, xs[1]])
    want = _naive_canonical(hx.detach().numpy(), hy.detach().numpy(), CANONICAL_RIDGE)
    np.testing.assert_allclose(terms.corr[0].detach().numpy(), want, rtol=1e-9)
    recon = sum(terms.recon.values())
    torch.testing.assert_close(terms.total, recon - 5.0 * terms.corr.sum())


def test_layer_norm_encoder_layers_equal_the_written_out_formula():
    cfg = Config(n_components=3, encoder_layers=(7,), encoder_activation="relu", encoder_norm="layer")
    model = CorrNetModule((6, 5), cfg, generator=torch.Generator().manual_seed(0))
    x = torch.rand(9, 6)
    enc = model.encoders[0]
    z = enc.hidden[0](x)
    ln = (z - z.mean(1, keepdim=True)) / torch.sqrt(z.var(1, unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(enc(x), enc.proj(torch.relu(ln)))
    # the decoders mirror the encoder's activation; the joint layer keeps its own (sigmoid)
    assert model.decoders[0].act is torch.relu and model.f is torch.sigmoid


def test_batch_norm_encoder_layers_equal_the_written_out_formula():
    """Training mode: the batch's statistics (biased variance), then the affine map; an absent
    view's zero row and inference: the running statistics."""
    cfg = Config(n_components=3, encoder_layers=(7,), encoder_activation="relu", encoder_norm="batch")
    model = CorrNetModule((6, 5), cfg, generator=torch.Generator().manual_seed(0))
    enc, bn = model.encoders[0], model.encoders[0].batch_norms[0]
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5), bn.bias.uniform_(-0.5, 0.5)
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2)
    x = torch.rand(9, 6)
    z = enc.hidden[0](x)

    def normed(mean, var):
        return enc.proj(torch.relu((z - mean) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias))

    running = (bn.running_mean.clone(), bn.running_var.clone())
    torch.testing.assert_close(enc(x, constant=True), normed(*running))  # an absent view: no update
    assert torch.equal(bn.running_mean, running[0])
    torch.testing.assert_close(enc(x), normed(z.mean(0), z.var(0, unbiased=False)))
    assert not torch.equal(bn.running_mean, running[0])  # training mode updates the running averages
    model.eval()
    torch.testing.assert_close(enc(x), normed(bn.running_mean, bn.running_var))
    zero_row = enc(torch.zeros(1, 6), constant=True)
    model.train()
    torch.testing.assert_close(model.pre(0, None, 4), zero_row.expand(4, 3))  # absent: same in both modes


def test_a_batch_norm_fit_ends_in_inference_mode_and_round_trips(tmp_path):
    """After fit each row's code is its own (running statistics, not the batch's), through the
    canonical alignment and a save and load."""
    X, Y = _two_views(400)
    kw = {**preset("canonical"), "n_components": 3, "encoder_layers": (16,), "encoder_norm": "batch", "min_steps": None}
    est = CorrNet(**{**kw, "epochs": 3, "batch_size": 100}, random_state=0, device="cpu").fit(X, Y)
    assert not est.model_.training and est.model_.encoders[0].batch_norms[0].num_batches_tracked == 12
    np.testing.assert_allclose(est.transform(X=X[:5]), est.transform(X=X)[:5], atol=1e-6)
    est.save(tmp_path / "m")
    back = CorrNet.load(tmp_path / "m")
    np.testing.assert_array_equal(back.transform(Y=Y), est.transform(Y=Y))
    np.testing.assert_array_equal(back.generate(X=X), est.generate(X=X))


def test_batch_norm_with_single_view_rows_updates_only_the_present_views_statistics():
    """Semi-paired training with BatchNorm: a batch of x-only rows normalises and updates view 0's
    statistics; view 1, absent, enters as its zero row through its running statistics, untouched.
    A semi-paired fit then ends in inference mode with per-row codes."""
    from corrnet.training import self_reconstruction

    cfg = Config(n_components=3, encoder_layers=(7,), encoder_activation="relu", encoder_norm="batch")
    model = CorrNetModule((6, 5), cfg, generator=torch.Generator().manual_seed(0))
    bx, by = (enc.batch_norms[0] for enc in model.encoders)
    before_y = [t.clone() for t in (by.running_mean, by.running_var, by.num_batches_tracked)]
    x = torch.rand(20, 6)
    self_reconstruction(model, 0, x, cfg).backward()
    assert bx.num_batches_tracked == 1
    torch.testing.assert_close(bx.running_mean, 0.1 * model.encoders[0].hidden[0](x).detach().mean(0))
    for t, b in zip((by.running_mean, by.running_var, by.num_batches_tracked), before_y):
        assert torch.equal(t, b)
    assert all(p.grad is None or not p.grad.any() for p in model.encoders[1].parameters())

    X, Y = _two_views(600)
    kw = {**preset("canonical"), "n_components": 3, "encoder_layers": (16,), "encoder_norm": "batch", "min_steps": None}
    est = CorrNet(**{**kw, "epochs": 2, "batch_size": 100}, random_state=0, device="cpu")
    est.fit(X[:200], Y[:200], X_unpaired=X[200:400], Y_unpaired=Y[400:])
    assert not est.model_.training and np.isfinite(est.history_[-1]["loss"])
    np.testing.assert_allclose(est.transform(Y=Y[:5]), est.transform(Y=Y)[:5], atol=1e-6)


def test_batch_norm_refuses_row_masks():
    views = [np.random.default_rng(0).random((60, d)).astype(np.float32) for d in (4, 5, 6)]
    masks = [np.ones(60, bool), np.r_[np.ones(30, bool), np.zeros(30, bool)], np.ones(60, bool)]
    est = MultiViewCorrNet(2, encoder_layers=(8,), encoder_norm="batch", epochs=1, device="cpu")
    with pytest.raises(ValueError, match="encoder_norm='batch' normalises each view over a batch's rows"):
        est.fit(views, masks=masks)


@pytest.fixture(scope="module")
def fitted():
    from sklearn.datasets import load_digits

    X = load_digits().data.astype(np.float32) / 16
    A, B = X[:, :32], X[:, 32:]
    kw = {**preset("canonical"), "n_components": 6, "encoder_layers": (24,), "epochs": 4, "batch_size": 200}
    kw["min_steps"] = None  # 4 short epochs, not the preset's 300 steps
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a poor reconstruction lam=64 chose is not a fit warning
        est = CorrNet(**kw, random_state=0).fit(A[:1000], B[:1000])
    assert "lam=64" in est.generation_warning_  # 4 short epochs: generate will say it is still poor
    return est, A, B


def test_a_canonical_fit_trains_by_autograd_and_returns_aligned_codes(fitted):
    est, A, B = fitted
    assert est.engine_ == "autograd"  # the fused step does not derive this term
    raw = [
        est.model_.encode([torch.from_numpy(A[:1000]), None]).detach().double(),
        est.model_.encode([None, torch.from_numpy(B[:1000])]).detach().double(),
    ]
    canon = canonical_from_stats(canonical_stats(*raw), ridge=0.0).numpy()  # the codes' own, unregularised
    per_unit = est.correlations(A[:1000], B[:1000])  # of the aligned codes: the canonical ones, in order
    np.testing.assert_allclose(per_unit, canon, atol=0.02)
    trained = canonical_correlation(*raw).numpy()  # the training term: ridge CANONICAL_RIDGE
    assert np.all(trained <= canon + 1e-9)  # the ridge only lowers them
    assert np.all(np.diff(per_unit) < 0.02)
    assert est.history_[-1]["sum_corr"] == pytest.approx(float(trained.sum()), rel=0.1)  # the epoch's batches
    h = est.transform(A[:5], B[:5])  # both views: the mean of the two aligned codes
    np.testing.assert_allclose(h, (est.transform(A[:5]) + est.transform(Y=B[:5])) / 2, atol=1e-6)
    assert est.generate(X=A[:5]).shape == (5, 32)  # generation decodes the raw code


def test_a_canonical_model_saves_and_loads_its_alignment(fitted, tmp_path):
    est, _, B = fitted
    est.save(tmp_path / "m")
    back = CorrNet.load(tmp_path / "m")
    np.testing.assert_array_equal(back.transform(Y=B[1000:]), est.transform(Y=B[1000:]))
    assert not np.allclose(est.model_.align_proj.numpy(), np.eye(6))  # fitted, not the initial identity


def test_a_canonical_fit_stops_early_on_the_canonical_sum():
    from sklearn.datasets import load_digits

    X = load_digits().data.astype(np.float32) / 16
    kw = {**preset("canonical"), "n_components": 4, "encoder_layers": (16,), "epochs": 3, "batch_size": 200}
    kw["min_steps"] = None
    kw.update(validation_fraction="auto", early_stopping="auto")
    est = CorrNet(**kw, random_state=0).fit(X[:, :32], X[:, 32:])
    assert est._monitor() == "canon_corr" and "val_canon_corr" in est.history_[-1]


def test_the_canonical_options_refuse_what_they_cannot_do(fitted, tmp_path):
    views = [np.random.default_rng(0).random((50, d)).astype(np.float32) for d in (4, 5, 6)]
    with pytest.raises(ValueError, match="two views"):
        MultiViewCorrNet(2, correlation="canonical", epochs=1).fit(views)
    with pytest.raises(ValueError, match="encoder_norm applies to encoder_layers"):
        CorrNet(2, encoder_layers=(), encoder_norm="layer").fit(views[0], views[1])
    with pytest.raises(ValueError, match="encoder_activation applies to encoder_layers"):
        CorrNet(2, encoder_layers=(), encoder_activation="relu").fit(views[0], views[1])
    with pytest.raises(ValueError, match="fusion='joint'"):
        CorrNet(2, correlation="canonical", fusion="sum").fit(views[0], views[1])
    with pytest.raises(ValueError, match="correlation="):
        CorrNet(2, correlation="cca").fit(views[0], views[1])
    from corrnet.export import export_onnx

    # exported, but without decode.onnx: its decoders take the unaligned codes (tests/test_cli.py)
    assert "decode" not in export_onnx(fitted[0], tmp_path / "onnx")


def _two_views(n=300, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    X = 1 / (1 + np.exp(-(z @ rng.normal(size=(3, 12)) + 0.5 * rng.normal(size=(n, 12)))))
    Y = 1 / (1 + np.exp(-(z @ rng.normal(size=(3, 9)) + 0.5 * rng.normal(size=(n, 9)))))
    return X.astype(np.float32), Y.astype(np.float32)


def test_canonical_meets_sparse_views_single_view_rows_masks_and_lbfgs():
    import scipy.sparse as sp

    X, Y = _two_views()
    X[X < 0.4] = 0  # a sparse view
    kw = dict(n_components=3, correlation="canonical", encoder_layers=(), hidden_activation="linear", random_state=0)
    kw["output_activation"] = "linear"  # what "auto" gives the sparse fit (dense [0, 1] views: sigmoid)
    both = dict(kw, epochs=20)  # epochs="auto": 20 L-BFGS epochs for dense views, 5 with a sparse one
    dense = CorrNet(**both).fit(X, Y)  # 300 rows: optimizer="auto" -> full-batch L-BFGS
    sparse = CorrNet(**both).fit(sp.csr_matrix(X), Y)  # its error from the non-zeros, the dense one's decoded
    assert dense.optimizer_ == sparse.optimizer_ == "lbfgs" and dense.engine_ == "autograd"
    # the same fit through other kernels (sparse and dense matmuls round differently): 20 L-BFGS epochs
    # of line searches carry the last bits to about 1e-2 on some CPUs
    np.testing.assert_allclose(sparse.transform(X=sp.csr_matrix(X)), dense.transform(X=X), rtol=0, atol=3e-2)
    corr = dense.correlations(X, Y)
    assert corr[0] > 0.9 and np.all(np.diff(corr) < 0.02)  # aligned: the canonical correlations, in order
    # single-view rows add reconstruction only; the alignment is fitted on the paired rows
    semi = CorrNet(**kw, epochs=3, batch_size=50).fit(X[:200], Y[:200], X_unpaired=X[200:250], Y_unpaired=Y[250:])
    assert np.isfinite(semi.transform(X=X)).all() and semi.correlations(X[:200], Y[:200])[0] > 0.5
    # N = 2 views with row masks: the masked canonical statistics
    has_y = np.ones(300, bool)
    has_y[::4] = False
    mv = MultiViewCorrNet(**kw, epochs=3, batch_size=50).fit([X, Y], masks=[None, has_y])
    assert np.isfinite(mv.transform([X, None])).all() and mv.correlations([X, Y]).shape == (1, 3)


def test_diverged_codes_give_nan_and_the_fit_rolls_back_with_the_usual_error():
    """Non-finite codes reach no LAPACK call (whose error names no cause): the term is NaN, and the fit
    rolls back to the last finite epoch and raises DivergenceError, as with the per-unit term."""
    from corrnet.training import DivergenceError

    hx, hy = _codes(n=20, k=3)
    hx[4, 1] = float("inf")
    hx.requires_grad_(True)
    value = canonical_correlation(hx, hy)
    value.sum().backward()
    assert torch.isnan(value).all() and hx.grad is not None
    X, Y = _two_views()
    kw = dict(correlation="canonical", hidden_activation="linear", output_activation="linear", optimizer="sgd")
    est = CorrNet(3, **kw, lr=1e6, epochs=20, batch_size=50, tol=None, scale=None, random_state=0)
    with pytest.raises(DivergenceError, match="Lower lr"):
        est.fit(X * 1e3, Y)
    assert all(np.isfinite(p.detach().numpy()).all() for p in est.model_.parameters())


def test_statistics_lapack_cannot_factor_give_nan_not_a_lapack_error():
    """Codes that leave the covariance unfactorable (here: negative variances, as rounding of huge
    codes can) give NaN, which the training loop turns into a roll-back and a DivergenceError."""
    from corrnet.objective import canonical_from_stats

    S = -torch.eye(7, dtype=torch.float64)  # k = 3, finite but no covariance
    S[0, 0] = 10.0
    assert torch.isnan(canonical_from_stats(S)).all()


def test_a_minibatch_smaller_than_the_code_is_refused_with_the_fix():
    """With fewer rows in a batch than units, the batch covariance cannot be whitened (k = 128 from
    100 rows: recall@1 51 % on CLDR names where 800 rows give 78 %); the fit says so up front."""
    X = np.random.default_rng(0).random((300, 12)).astype(np.float32)
    with pytest.raises(ValueError, match=r"batch_size=8 rows cannot estimate.*raise batch_size"):
        CorrNet(10, batch_size=8, optimizer="adam", epochs=1).fit(X, X[:, ::-1])
    CorrNet(10, batch_size=8, epochs=1, correlation="canonical").fit(X, X[:, ::-1])  # full-batch L-BFGS: all rows
