"""Sampled reconstruction of sparse views: an unbiased estimate of the full reconstruction error
(and of its gradient), checked by a seeded Monte Carlo average against the full error."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from corrnet import CorrNet, CorrNetModule
from corrnet.config import Config
from corrnet.data import csr_tensor
from corrnet.objective import reconstruction_error, sampled_columns, sampled_reconstruction_error


def _sparse_batch(B=6, d=40, density=0.15, seed=0):
    A = sp.random(B, d, density=density, format="csr", random_state=seed, dtype=np.float32)
    A.data = 0.2 + 0.8 * A.data  # values in (0.2, 1]: visibly non-zero
    A[0] = 0  # a row with no non-zero column at all
    A.eliminate_zeros()
    return csr_tensor(A, torch.device("cpu")), A


def test_columns_are_the_batchs_nonzero_ones_then_draws_from_the_others():
    x, A = _sparse_batch()
    m = 7
    cols, weight = sampled_columns(x, m, torch.Generator().manual_seed(0))
    used = sorted(set(A.indices.tolist()))
    n_used, others = len(used), A.shape[1] - len(used)
    assert cols[:n_used].tolist() == used and cols.shape == weight.shape == (n_used + m,)
    assert not set(cols[n_used:].tolist()) & set(used)  # draws only where every row is zero
    assert weight[:n_used].tolist() == [1.0] * n_used
    assert weight[n_used:].tolist() == pytest.approx([others / m] * m)


@pytest.mark.parametrize("loss", ["half_squared", "squared", "mse", "bce"])
@pytest.mark.parametrize("tied", [False, True])
def test_the_sampled_error_and_its_gradient_average_to_the_full_ones(loss, tied):
    x, A = _sparse_batch()
    config = Config(n_components=3, loss=loss, tied=tied, reconstruction_samples=5, output_activation="sigmoid")
    model = CorrNetModule([A.shape[1], 9], config, generator=torch.Generator().manual_seed(1)).double()
    codes = torch.randn(2, A.shape[0], 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    xd = torch.from_numpy(A.toarray()).double()
    logits = loss == "bce"
    pre = model.decode_pre(codes.reshape(-1, 3), [0])[0].view(2, A.shape[0], -1)
    full = reconstruction_error(xd, pre if logits else model.g(pre), loss, logits=logits)  # (P, B)
    params = [p for p in model.parameters() if p.requires_grad]
    g_full = torch.autograd.grad(full.sum(), params, allow_unused=True)

    gen, n = torch.Generator().manual_seed(3), 3000
    xs = torch.sparse_csr_tensor(x.crow_indices(), x.col_indices(), x.values().double(), size=x.shape)
    draws = []
    for _ in range(n):
        e = sampled_reconstruction_error(model, codes, 0, xs, config, gen)
        grads = torch.autograd.grad(e.sum(), params, allow_unused=True)
        draws.append(torch.cat([e.detach().flatten()] + [g.flatten() for g in grads if g is not None]))
    D = torch.stack(draws)  # (n, values): every draw's errors and gradients
    want = torch.cat([full.detach().flatten()] + [g.flatten() for g in g_full if g is not None])
    se = D.std(0) / n**0.5  # the Monte Carlo standard error of each mean
    z = (D.mean(0) - want).abs() / (se + 1e-12)
    # unbiased: every mean within 5 standard errors of the full value (seeded draws: no flakiness)
    assert float(z.max()) < 5, float(z.max())
    assert float((D.mean(0) - want).abs().max()) <= 0.05 * float(want.abs().max())


def _text_like(n=300, d=(400, 300), seed=0):
    """Two sparse views of n rows sharing a latent topic (non-negative, like TF-IDF)."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 5, n)
    views = []
    for w in d:
        A = sp.random(n, w, density=0.03, format="csr", random_state=rng.integers(1 << 30), dtype=np.float32)
        topic = sp.csr_matrix((np.ones(n, np.float32), (np.arange(n), z * (w // 5) + rng.integers(0, 3, n))), (n, w))
        views.append((A + topic).tocsr())
    return views


def test_a_fit_with_sampled_reconstruction_trains_adam_is_seeded_and_resumes(tmp_path):
    X, Y = _text_like()
    kw = {"n_components": 4, "reconstruction_samples": 20, "epochs": 6, "random_state": 0}
    a = CorrNet(**kw).fit(X, Y)
    assert a.config_.optimizer == "adam" and a.engine_ == "autograd"
    b = CorrNet(**kw).fit(X, Y)
    np.testing.assert_array_equal(a.transform(X=X), b.transform(X=X))  # the draws are seeded
    c = CorrNet(**kw).fit(X, Y, checkpoint_dir=tmp_path / "ck", checkpoint_every=1)
    c2 = CorrNet(**{**kw, "epochs": 3}).fit(X, Y, checkpoint_dir=tmp_path / "half")
    c2.set_params(epochs=6).fit(X, Y, checkpoint_dir=tmp_path / "half", resume=True)
    np.testing.assert_array_equal(c.transform(X=X), c2.transform(X=X))  # the same columns drawn after resuming
    full = CorrNet(**{**kw, "reconstruction_samples": None, "optimizer": "adam"}).fit(X, Y)
    assert not np.array_equal(a.transform(X=X), full.transform(X=X))  # it does change the objective


def test_bad_reconstruction_samples_are_refused_with_the_fix():
    X, Y = _text_like(n=60)
    with pytest.raises(ValueError, match="positive integer"):
        CorrNet(2, reconstruction_samples=0).fit(X, Y)
    with pytest.raises(ValueError, match="optimizer='adam'"):
        CorrNet(2, reconstruction_samples=10, optimizer="lbfgs").fit(X, Y)
    with pytest.raises(ValueError, match="no view is sparse"):
        CorrNet(2, reconstruction_samples=10).fit(X.toarray(), Y.toarray())
