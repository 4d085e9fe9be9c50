"""scipy.sparse CSR views: batches are sliced from CSR (never densified whole) and give what dense gives."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from corrnet import Config, CorrNet, CorrNetModule, MultiViewCorrNet, multiview_loss
from corrnet.data import SparseRows

CPU = dict(device="cpu", random_state=0, correlation="per_unit")


def _sparse_views(n=200, seed=0):
    """Two correlated bag-of-words-like views (non-negative, ~5 % non-zeros, rows in [0, 1])."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(0, 4, n)
    views = []
    for d in (60, 45):
        words = rng.random((4, d)) < 0.12  # each topic's vocabulary
        A = (rng.random((n, d)) < 0.5) * words[topic] * rng.random((n, d))
        views.append(sp.csr_matrix(A.astype(np.float32)))
    return views


def test_sparse_batch_gives_the_dense_loss_and_gradients():
    c = Config(n_components=4).validate()
    X, Y = _sparse_views(30)
    for masked in (False, True):
        losses, grads = [], []
        for make in (lambda A: torch.from_numpy(A.toarray()), lambda A: SparseRows(A, "cpu")[:]):
            model = CorrNetModule([60, 45], c, generator=torch.Generator().manual_seed(0))
            mask = torch.rand(30, 2, generator=torch.Generator().manual_seed(1)) > 0.2 if masked else None
            if mask is not None:
                mask[:5] = True
            terms = multiview_loss(model, [make(X), make(Y)], c, mask=mask)
            terms.total.backward()
            losses.append(terms.total.detach())
            grads.append([p.grad for p in model.parameters()])
        torch.testing.assert_close(losses[0], losses[1], rtol=1e-5, atol=1e-6)
        for a, b in zip(*grads):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_sparse_rows_slice_without_densifying():
    X, _ = _sparse_views(50)
    rows = SparseRows(X, "cpu")
    batch = rows[torch.tensor([3, 1, 4])]
    assert batch.layout == torch.sparse_csr and batch.shape == (3, 60)
    np.testing.assert_array_equal(batch.to_dense().numpy(), X[[3, 1, 4]].toarray())


@pytest.mark.parametrize("estimator", ["corrnet", "multiview"])
def test_fitting_sparse_views_equals_fitting_their_dense_copies(estimator):
    X, Y = _sparse_views()
    kw = dict(n_components=3, epochs=3, tol=None, engine="autograd", **CPU)
    if estimator == "corrnet":
        s = CorrNet(**kw).fit(X, Y, X_unpaired=X[:20])
        d = CorrNet(**kw).fit(X.toarray(), Y.toarray(), X_unpaired=X[:20].toarray())
        hs, hd = s.transform(X=X), d.transform(X=X.toarray())
        gs, gd = s.generate(X=X), d.generate(X=X.toarray())
    else:
        masks = [np.arange(200) % 5 != 0, None]
        s = MultiViewCorrNet(**kw).fit([X, Y], masks=masks)
        d = MultiViewCorrNet(**kw).fit([X.toarray(), Y.toarray()], masks=masks)
        hs, hd = s.transform([X, None]), d.transform([X.toarray(), None])
        gs, gd = s.generate([X, None], view=1), d.generate([X.toarray(), None], view=1)
    assert s.engine_ == "autograd" and s.output_activation_ == "sigmoid"
    np.testing.assert_allclose(hs, hd, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gs, gd, rtol=1e-4, atol=1e-5)


def test_sparse_views_outside_the_unit_interval_are_max_abs_scaled(tmp_path):
    X, Y = _sparse_views()
    X = X * 7.0
    est = CorrNet(3, epochs=2, tol=None, **CPU).fit(X, Y)
    assert type(est.scaler_x_).__name__ == "MaxAbsScaler" and est.scaler_y_ is None
    est.save(tmp_path / "m")
    back = CorrNet.load(tmp_path / "m")
    np.testing.assert_array_equal(back.transform(X=X), est.transform(X=X))
    with pytest.raises(ValueError, match="densify"):
        CorrNet(3, epochs=1, scale="minmax", **CPU).fit(X, Y)


@pytest.mark.parametrize("tied", [False, True])
def test_sparse_views_take_the_fused_engine_and_match_autograd_and_their_dense_copies(tied):
    """The fused step densifies each sparse batch: engine='auto' picks it for sparse views, and the
    fit equals the autograd fit of the same sparse views and the fused fit of their dense copies."""
    X, Y = _sparse_views()
    kw = dict(n_components=3, epochs=3, tol=None, tied=tied, optimizer="adam", **CPU)
    fused = CorrNet(**kw).fit(X, Y)
    assert fused.engine_ == "fused"
    auto = CorrNet(**kw, engine="autograd").fit(X, Y)
    dense = CorrNet(**kw).fit(X.toarray(), Y.toarray())
    for other in (auto, dense):
        for a, b in zip(fused.model_.state_dict().values(), other.model_.state_dict().values()):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fused.transform(X=X), dense.transform(X=X.toarray()), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("loss", ["half_squared", "squared", "mse"])
@pytest.mark.parametrize("decoder", ["linear", "hidden", "tied"])
def test_linear_output_sparse_error_is_the_decoded_error_without_decoding(loss, decoder, monkeypatch):
    """A linear output and a squared loss: a sparse view's error comes from |x|^2, x W and W^T W,
    never from the decoded (B, d) output, and equals (float64) the error of the decoded dense copy,
    in value and in every gradient."""
    X, Y = _sparse_views(40)
    layers = {"linear": dict(), "hidden": dict(encoder_layers=(8,), encoder_activation="relu"), "tied": dict(tied=True)}
    c = Config(n_components=4, output_activation="linear", loss=loss, **layers[decoder]).validate()
    model = CorrNetModule([60, 45], c, generator=torch.Generator().manual_seed(0)).double()
    dense_views = [torch.from_numpy(A.toarray()).double() for A in (X, Y)]
    sparse_views = [
        torch.sparse_csr_tensor(*map(torch.from_numpy, (A.indptr, A.indices, A.data.astype(np.float64))), A.shape)
        for A in (X, Y)
    ]
    results = []
    for xs in (dense_views, sparse_views):
        model.zero_grad()
        terms = multiview_loss(model, xs, c)
        terms.total.backward()
        results.append((terms.total.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-12, atol=1e-12)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    decoded = []  # the sparse views are not decoded: only the dense pass calls decode_pre's outputs
    original = CorrNetModule.decode_pre
    monkeypatch.setattr(
        CorrNetModule, "decode_pre", lambda self, h, views=None: decoded.append(views) or original(self, h, views)
    )
    multiview_loss(model, sparse_views, c)
    assert decoded == [[]]


def test_fitting_sparse_views_with_a_linear_output_equals_fitting_their_dense_copies():
    """The canonical objective, a linear output, L-BFGS and validation: the sparse exact error and
    the dense decode train the same model and report the same validation history."""
    X, Y = _sparse_views()
    kw = dict(n_components=3, epochs=3, output_activation="linear", correlation="canonical", optimizer="lbfgs",
              encoder_layers=(), hidden_activation="linear", early_stopping=True, validation_fraction=0.2,
              device="cpu", random_state=0)
    s = CorrNet(**kw).fit(X, Y)
    d = CorrNet(**kw).fit(X.toarray(), Y.toarray())
    for key in ("loss", "val_loss", "val_sum_corr", "val_generation"):
        a, b = ([row[key] for row in est.history_] for est in (s, d))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(s.transform(X=X), d.transform(X=X.toarray()), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(s.generate(X=X), d.generate(X=X.toarray()), rtol=1e-3, atol=1e-4)
