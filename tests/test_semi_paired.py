"""Semi-paired training: unpaired rows never reach the correlation or cross-reconstruction terms."""

import numpy as np
import pytest
import torch

from corrnet import Config, CorrNet, CorrNetModule, corrnet_loss, multiview_loss, training
from corrnet.training import self_reconstruction


@pytest.fixture
def model_cfg():
    c = Config(n_components=4).validate()
    return CorrNetModule([6, 5], c, generator=torch.Generator().manual_seed(0)).double(), c


def _semi_batch(x, y, xo, yo):
    """Paired rows, x-only rows and y-only rows as one masked batch (absent views: garbage)."""
    n, a, b = len(x), len(xo), len(yo)
    X = torch.cat([x, xo, torch.full((b, x.shape[1]), 7.0, dtype=x.dtype)])
    Y = torch.cat([y, torch.full((a, y.shape[1]), -3.0, dtype=y.dtype), yo])
    mask = torch.ones(n + a + b, 2, dtype=torch.bool)
    mask[n : n + a, 1] = False
    mask[n + a :, 0] = False
    return [X, Y], mask


def test_unpaired_rows_never_touch_the_correlation(model_cfg):
    model, c = model_cfg
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(10, 6, generator=g, dtype=torch.float64), torch.rand(10, 5, generator=g, dtype=torch.float64)
    xo, yo = torch.rand(7, 6, generator=g, dtype=torch.float64), torch.rand(3, 5, generator=g, dtype=torch.float64)
    xs, mask = _semi_batch(x, y, xo, yo)
    xs2, _ = _semi_batch(x, y, 100 * xo + 3, -yo)
    a = multiview_loss(model, xs, c, mask=mask)
    b = multiview_loss(model, xs2, c, mask=mask)
    torch.testing.assert_close(a.corr, b.corr, rtol=0, atol=0)  # bit-identical
    paired = corrnet_loss(model, x, y, c)
    torch.testing.assert_close(a.corr[0], paired.corr, rtol=1e-12, atol=1e-12)
    n = len(mask)  # the masked batch's row weights are 1/n: the paired terms scale by 10/n
    for k in ("both", "x", "y"):
        torch.testing.assert_close(a.recon[k] * n / 10, paired.recon[k], rtol=1e-12, atol=0)
    # the gradient of the correlation term alone does not depend on unpaired rows
    params = list(model.parameters())
    ga = torch.autograd.grad(a.corr.sum(), params, allow_unused=True)
    gb = torch.autograd.grad(b.corr.sum(), params, allow_unused=True)
    for u, v in zip(ga, gb):
        assert (u is None and v is None) or torch.equal(u, v)
    # the single-view rows add their self-reconstructions, nothing else
    extra = 7 * self_reconstruction(model, 0, xo, c) + 3 * self_reconstruction(model, 1, yo, c)
    torch.testing.assert_close(a.recon["unpaired"] * n, extra)
    torch.testing.assert_close(a.total, sum(a.recon.values()) - c.lam * a.corr.sum())


def test_absent_views_never_matter_bit_exact(model_cfg):
    """Whatever an absent view's rows hold (NaN included), loss and gradients are bit-identical."""
    model, c = model_cfg
    g = torch.Generator().manual_seed(2)
    xs = [torch.rand(12, 6, generator=g, dtype=torch.float64), torch.rand(12, 5, generator=g, dtype=torch.float64)]
    mask = torch.rand(12, 2, generator=g) > 0.3
    mask[:4] = True
    grads = []
    for fill in (0.0, 5.0, float("nan")):
        ys = [torch.where(mask[:, i : i + 1], x, torch.full_like(x, fill)) for i, x in enumerate(xs)]
        model.zero_grad()
        terms = multiview_loss(model, ys, c, mask=mask)
        terms.total.backward()
        grads.append((terms.total.detach().clone(), [p.grad.clone() for p in model.parameters()]))
    for total, gs in grads[1:]:
        assert torch.equal(total, grads[0][0])
        assert all(torch.equal(u, v) for u, v in zip(gs, grads[0][1]))


def test_self_reconstruction_uses_only_that_view(model_cfg):
    model, c = model_cfg
    x = torch.rand(4, 6, dtype=torch.float64)
    h = model.encode([x, None])
    xh, _ = model.decode(h)
    assert self_reconstruction(model, 0, x, c).item() == pytest.approx((0.5 * ((xh - x) ** 2).sum(1)).mean().item())


def _split(two_views):
    X, Y = two_views
    return X[:40], Y[:40], X[40:80], Y[80:]


@pytest.mark.parametrize("strategy", ["pretrain", "alternate", "mixed"])
def test_semi_paired_fit_runs_and_generates(two_views, strategy):
    Xp, Yp, Xo, Yo = _split(two_views)
    est = CorrNet(
        n_components=4,
        epochs=4,
        batch_size=20,
        random_state=0,
        unpaired_strategy=strategy,
        pretrain_epochs=2,
        unpaired_weight=0.5,
    )
    est.fit(Xp, Yp, X_unpaired=Xo, Y_unpaired=Yo)
    Yg = est.generate(X=Xo)
    assert Yg.shape == (40, 5) and np.isfinite(Yg).all() and 0 <= Yg.min() and Yg.max() <= 1
    assert est.n_epochs_ == 4
    if strategy == "pretrain":
        assert len(est.pretrain_history_) == 2
    else:
        assert "recon_unpaired" in est.history_[0]


def test_unpaired_rows_change_training_only_through_self_reconstruction(two_views):
    """Mixed batches with unpaired_weight=0 train exactly like paired-only training: the unpaired
    rows reach the loss only through their (here zero-weighted) self-reconstruction."""
    Xp, Yp, Xo, Yo = _split(two_views)
    kw = dict(n_components=4, epochs=3, batch_size=20, random_state=0, optimizer="sgd", lr=0.05, shuffle=False)
    ref = CorrNet(**kw).fit(Xp, Yp)
    got = CorrNet(**{**kw, "batch_size": 40}, unpaired_strategy="mixed", unpaired_weight=0.0, paired_per_batch=20).fit(
        Xp, Yp, X_unpaired=Xo, Y_unpaired=Yo
    )
    # mixed batches hold the same 20 paired rows in the same order; the unpaired rows have weight 0
    np.testing.assert_allclose(ref.transform(X=Xp), got.transform(X=Xp), rtol=1e-5, atol=1e-6)


def test_semi_paired_input_errors(two_views):
    Xp, Yp, Xo, _ = _split(two_views)
    with pytest.raises(ValueError, match="X_unpaired has 3 features"):
        CorrNet(epochs=1).fit(Xp, Yp, X_unpaired=Xo[:, :3])
    with pytest.raises(ValueError, match="unpaired_strategy"):
        CorrNet(epochs=1, unpaired_strategy="magic").fit(Xp, Yp, X_unpaired=Xo)
    with pytest.raises(ValueError, match="paired_per_batch"):
        kw = dict(epochs=1, unpaired_strategy="mixed", paired_per_batch=1, batch_size=20, correlation="per_unit")
        CorrNet(**kw).fit(Xp, Yp, X_unpaired=Xo)


def test_auto_strategy_picks_mixed_for_few_pairs_and_pretrain_otherwise(two_views):
    X, Y = two_views
    kw = dict(n_components=3, epochs=1, batch_size=20, random_state=0)
    few = CorrNet(**kw).fit(X[:4], Y[:4], X_unpaired=np.tile(X, (1, 1)), Y_unpaired=np.tile(Y, (1, 1)))
    assert few.unpaired_strategy_ == "mixed"  # 4 of 244 rows are paired (< 5 %)
    many = CorrNet(**kw).fit(X[:40], Y[:40], X_unpaired=X[40:80], Y_unpaired=Y[80:])
    assert many.unpaired_strategy_ == "pretrain" and len(many.pretrain_history_) == 2
    assert CorrNet(**kw).fit(X, Y).unpaired_strategy_ is None


CPU = dict(device="cpu", random_state=0)


def _semi(n_paired, n_single, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n_paired + 2 * n_single, 2))
    X = (1 / (1 + np.exp(-(z @ rng.normal(size=(2, 7)))))).astype(np.float32)
    Y = (1 / (1 + np.exp(-(z @ rng.normal(size=(2, 5)))))).astype(np.float32)
    p, s = slice(0, n_paired), slice(n_paired, n_paired + n_single)
    t = slice(n_paired + n_single, None)
    return X[p], Y[p], X[s], Y[t]


def test_auto_unpaired_strategy_counts_rows_of_both_views():
    """'auto': mixed when paired rows are under 5 % of all rows (rows, not columns), else pretrain."""
    kw = dict(n_components=2, epochs=1, tol=None, pretrain_epochs=1, **CPU)
    X, Y, Xu, Yu = _semi(100, 200)
    assert CorrNet(**kw).fit(X, Y, X_unpaired=Xu).unpaired_strategy_ == "pretrain"  # 100 of 300
    X, Y, Xu, Yu = _semi(10, 300)
    assert CorrNet(**kw).fit(X, Y, X_unpaired=Xu).unpaired_strategy_ == "mixed"  # 10 of 310
    assert CorrNet(**kw).fit(X, Y, Y_unpaired=Yu).unpaired_strategy_ == "mixed"
    assert CorrNet(**kw).fit(X, Y, X_unpaired=Xu[:100], Y_unpaired=Yu[:100]).unpaired_strategy_ == "mixed"


def test_semi_paired_fit_scales_the_unpaired_rows():
    """Unpaired Y rows go through Y's scaler: an affine change of Y's columns leaves the codes unchanged."""
    X, Y, _, Yu = _semi(60, 60)
    kw = dict(n_components=2, epochs=2, tol=None, scale="standard", unpaired_strategy="alternate", **CPU)
    a = CorrNet(**kw).fit(X, Y, Y_unpaired=Yu).transform(Y=Y)
    b = CorrNet(**kw).fit(X, 50 * Y - 3, Y_unpaired=50 * Yu - 3).transform(Y=50 * Y - 3)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_unpaired_views_are_checked_by_name_and_width():
    X, Y, Xu, Yu = _semi(40, 20)
    est = CorrNet(2, epochs=1, tol=None, **CPU)
    with pytest.raises(ValueError, match=r"^Y_unpaired has 4 features, but CorrNet is expecting 5"):
        est.fit(X, Y, Y_unpaired=Yu[:, :4])
    with pytest.raises(ValueError, match=r"^X_unpaired has 6 features, but CorrNet is expecting 7"):
        est.fit(X, Y, X_unpaired=Xu[:, :6])
    # a 1-D Y (one column) takes a 1-D Y_unpaired
    est.fit(X, Y[:, 0], Y_unpaired=Yu[:, 0])
    assert est.n_features_y_ == 1


def test_pretraining_with_only_y_unpaired_rows():
    X, Y, _, Yu = _semi(40, 60)
    est = CorrNet(2, epochs=1, tol=None, unpaired_strategy="pretrain", pretrain_epochs=2, **CPU)
    est.fit(X, Y, Y_unpaired=Yu)
    assert len(est.pretrain_history_) == 2


def test_pretraining_sees_every_row_of_each_view_paired_or_not(monkeypatch):
    """Round 3: pretraining on the paired rows only (``Xall = X``, the unpaired rows dropped) passed.
    The pretraining plan's single-view sources hold the paired rows plus that view's unpaired rows."""
    rng = np.random.default_rng(0)
    X, Y = rng.random((60, 4), dtype=np.float32), rng.random((60, 3), dtype=np.float32)
    Xu, Yu = rng.random((25, 4), dtype=np.float32), rng.random((15, 3), dtype=np.float32)
    plans = []
    real = training.train
    monkeypatch.setattr(
        training, "train", lambda state, plan, *a, **k: plans.append(plan) or real(state, plan, *a, **k)
    )
    CorrNet(2, epochs=1, tol=None, unpaired_strategy="pretrain", pretrain_epochs=1, **CPU).fit(
        X, Y, X_unpaired=Xu, Y_unpaired=Yu
    )
    pre = plans[0]  # the first run is the pretraining
    assert [len(s) for s in pre.sources] == [0, 85, 75]
    assert [s.present for s in pre.sources[1:]] == [(0,), (1,)]
    np.testing.assert_array_equal(pre.sources[1].views[0][60:].numpy(), Xu)  # the unpaired rows, in order


@pytest.mark.parametrize("strategy", ["mixed", "alternate", "pretrain"])
def test_single_view_rows_weigh_a_tenth_by_default_where_a_strategy_weighs_them(two_views, strategy):
    """The default unpaired_weight (0.1; results: the single-view rows' weight) trains exactly as the
    explicit 0.1 does and differs from weight 1 under mixed and alternate; pretrain ignores it."""
    Xp, Yp, Xo, Yo = _split(two_views)
    kw = dict(n_components=4, epochs=2, batch_size=20, random_state=0, device="cpu", unpaired_strategy=strategy)
    semi = dict(X_unpaired=Xo, Y_unpaired=Yo)
    default = CorrNet(**kw).fit(Xp, Yp, **semi)
    assert default.get_params()["unpaired_weight"] == 0.1
    explicit = CorrNet(**kw, unpaired_weight=0.1).fit(Xp, Yp, **semi)
    one = CorrNet(**kw, unpaired_weight=1).fit(Xp, Yp, **semi)
    np.testing.assert_array_equal(default.transform(X=Xp), explicit.transform(X=Xp))
    assert np.array_equal(default.transform(X=Xp), one.transform(X=Xp)) == (strategy == "pretrain")


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "big", True, None])
def test_unpaired_weight_refuses_anything_but_a_finite_non_negative_number(two_views, bad):
    Xp, Yp, Xo, Yo = _split(two_views)
    with pytest.raises(ValueError, match="unpaired_weight must be a finite number >= 0"):
        CorrNet(n_components=4, epochs=1, unpaired_weight=bad).fit(Xp, Yp, X_unpaired=Xo, Y_unpaired=Yo)
