"""N views: the masked objective against a naive per-row reference, N = 2 against CorrNet, Bridge."""

import itertools

import numpy as np
import pytest
import torch
from conftest import assert_grads_close

from corrnet import Config, CorrNet, CorrNetModule, MultiViewCorrNet, multiview_loss
from corrnet.config import MODEL_AUTOS

D = torch.float64
ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda t: t}


def naive_multiview_loss(model, xs, mask, c: Config):
    """Written from the definition, one row and one pass at a time: a pass counts for a row that has
    all its views (the all-views pass: rows with >= 2 views, from the views they have); targets are
    the row's present views; a row with one view reconstructs it from itself; per pair of views,
    Pearson correlation over the rows having both."""
    f, g = ACT[c.hidden_activation], ACT[c.output_activation]
    N, B = len(xs), xs[0].shape[0]

    def enc(row, views):
        a = model.b.clone()
        for i in views:
            a = a + model.encoders[i].proj.weight @ xs[i][row]
        return f(a)

    def dec(h, v):
        if c.tied:
            return g(model.encoders[v].proj.weight.T @ h + model.out_bias[v])
        out = model.decoders[v].out
        return g(out.weight @ h + out.bias)

    def err(t, o):
        s = ((t - o) ** 2).sum()
        return {"half_squared": s / 2, "squared": s, "mse": s / t.shape[0]}[c.loss]

    named = {"all": [tuple(range(N))], "single": [(i,) for i in range(N)]}
    named["pairs"] = list(itertools.combinations(range(N), 2))
    passes = {s for name in c.reconstruct_from for s in named[name]}
    total = torch.zeros((), dtype=D)
    for r in range(B):
        have = [i for i in range(N) if mask[r, i]]
        if len(have) == 1:
            (i,) = have
            total = total + err(xs[i][r], dec(enc(r, [i]), i)) / B
            continue
        for s in passes:
            if len(s) == N:
                inputs = have
            elif all(i in have for i in s):
                inputs = list(s)
            else:
                continue
            h = enc(r, inputs)
            total = total + sum(err(xs[v][r], dec(h, v)) for v in have) / B
    corr_sum = torch.zeros((), dtype=D)
    for i, j in itertools.combinations(range(N), 2):
        rows = [r for r in range(B) if mask[r, i] and mask[r, j]]
        if len(rows) < 2:
            continue
        hi = torch.stack([enc(r, [i]) for r in rows])
        hj = torch.stack([enc(r, [j]) for r in rows])
        for k in range(hi.shape[1]):
            u, v = hi[:, k] - hi[:, k].mean(), hj[:, k] - hj[:, k].mean()
            corr_sum = corr_sum + (u * v).sum() / (
                torch.sqrt((u * u).sum() + c.corr_eps) * torch.sqrt((v * v).sum() + c.corr_eps)
            )
    return total - c.lam * corr_sum


CASES = [
    dict(),
    dict(tied=True),
    dict(reconstruct_from=("all", "single", "pairs"), hidden_activation="tanh", output_activation="linear"),
    dict(reconstruct_from=("single",), loss="squared", lam=0.5),
    dict(reconstruct_from=("all",), loss="mse"),
]


@pytest.mark.parametrize("overrides", CASES, ids=[str(c) for c in CASES])
def test_three_view_masked_objective_and_gradients_match_naive_reference(overrides):
    c = Config(n_components=3, **{"reconstruct_from": ("all", "single"), **overrides}).validate()
    gen = torch.Generator().manual_seed(3)
    model = CorrNetModule([5, 4, 3], c, generator=gen).double()
    B = 11
    xs = [torch.rand(B, d, generator=gen, dtype=D) for d in (5, 4, 3)]
    mask = torch.rand(B, 3, generator=gen) > 0.35
    mask[0] = mask[1] = mask[2] = True  # some full rows
    mask[3] = torch.tensor([True, False, False])  # a single-view row
    mask[4] = torch.tensor([False, True, True])
    mask[~mask.any(1), 0] = True
    got = multiview_loss(model, xs, c, mask=mask).total
    g_got = torch.autograd.grad(got, list(model.parameters()), allow_unused=True)
    ref = naive_multiview_loss(model, xs, mask, c)
    g_ref = torch.autograd.grad(ref, list(model.parameters()), allow_unused=True)
    assert torch.allclose(got, ref, rtol=1e-10, atol=1e-12), (got, ref)
    g_got = [torch.zeros_like(p) if g is None else g for p, g in zip(model.parameters(), g_got)]
    g_ref = [torch.zeros_like(p) if g is None else g for p, g in zip(model.parameters(), g_ref)]
    assert_grads_close(list(model.parameters()), g_got, g_ref, rtol=1e-10, atol=1e-12)


def test_an_all_true_mask_equals_no_mask():
    c = Config(n_components=3, reconstruct_from=("all", "single")).validate()
    gen = torch.Generator().manual_seed(4)
    model = CorrNetModule([5, 4, 3], c, generator=gen).double()
    xs = [torch.rand(9, d, generator=gen, dtype=D) for d in (5, 4, 3)]
    a = multiview_loss(model, xs, c).total
    b = multiview_loss(model, xs, c, mask=torch.ones(9, 3, dtype=torch.bool)).total
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    views = [1 / (1 + np.exp(-(z @ rng.normal(size=(3, d)) + 0.3 * rng.normal(size=(n, d))))) for d in (8, 6, 5)]
    return [v.astype(np.float32) for v in views]


CPU = dict(device="cpu", random_state=0, correlation="per_unit")


def test_two_views_train_exactly_like_corrnet():
    X, Y, _ = _data()
    for kw in (dict(epochs=4, tol=None), dict(epochs=3, engine="autograd", tied=True)):
        a = CorrNet(4, **CPU, **kw).fit(X, Y)
        b = MultiViewCorrNet(4, reconstruct_from=("both", "x", "y"), **CPU, **kw).fit([X, Y])
        for (ka, va), (kb, vb) in zip(a.model_.state_dict().items(), b.model_.state_dict().items()):
            assert ka == kb and torch.equal(va, vb), ka
        np.testing.assert_array_equal(a.transform(X=X), b.transform([X, None]))
        np.testing.assert_array_equal(a.generate(X=X), b.generate([X, None], view=1))
        assert a.history_[-1]["loss"] == b.history_[-1]["loss"]


def test_values_of_absent_rows_do_not_change_the_model():
    views = _data()
    n = len(views[0])
    rng = np.random.default_rng(1)
    masks = [rng.random(n) > 0.3 for _ in views]
    masks[0][:20] = masks[1][:20] = masks[2][:20] = True
    masks[0][~(masks[0] | masks[1] | masks[2])] = True
    junk = [np.where(m[:, None], v, rng.normal(size=v.shape).astype(np.float32) * 50) for v, m in zip(views, masks)]
    zero = [np.where(m[:, None], v, 0).astype(np.float32) for v, m in zip(views, masks)]
    kw = dict(n_components=3, epochs=3, tol=None, scale="standard", **CPU)
    a = MultiViewCorrNet(**kw).fit(junk, masks=masks)
    b = MultiViewCorrNet(**kw).fit(zero, masks=masks)
    for va, vb in zip(a.model_.state_dict().values(), b.model_.state_dict().values()):
        assert torch.equal(va, vb)
    for sa, sb in zip(a.scalers_, b.scalers_):  # scaling fitted on present rows only
        np.testing.assert_array_equal(sa.mean_, sb.mean_)


@pytest.mark.slow
def test_three_views_learn_a_shared_code_and_generate():
    views = _data(600)
    est = MultiViewCorrNet(3, **CPU).fit(views)
    corr = est.correlations(views)
    assert corr.shape == (3, 3) and corr.mean() > 0.5
    gen = est.generate([views[0], None, None], view=2)
    assert gen.shape == views[2].shape
    assert np.mean((gen - views[2]) ** 2) < np.mean((views[2] - views[2].mean(0)) ** 2)
    assert est.transform([None, views[1], views[2]]).shape == (600, 3)


@pytest.mark.slow
def test_bridge_views_never_seen_together_still_share_a_space():
    """Views 1 and 2 are each paired only with the pivot (view 0): their codes still correlate."""
    data = _data(1100)
    (pivot, left, right), test = [v[:800] for v in data], [v[800:] for v in data]
    n = len(pivot)
    half = np.arange(n) < n // 2
    masks = [np.ones(n, bool), half, ~half]  # left only in the first half, right only in the second
    est = MultiViewCorrNet(3, **CPU).fit([pivot, left, right], masks=masks)
    hl = est.transform([None, test[1], None])
    hr = est.transform([None, None, test[2]])
    r = [np.corrcoef(hl[:, k], hr[:, k])[0, 1] for k in range(3)]
    assert np.mean(r) > 0.5, r


def test_bad_inputs_name_the_problem():
    X, Y, Z = _data(50)
    with pytest.raises(ValueError, match="list of at least two views"):
        MultiViewCorrNet().fit(X)
    with pytest.raises(ValueError, match="different numbers of rows"):
        MultiViewCorrNet().fit([X, Y[:40]])
    with pytest.raises(ValueError, match="boolean"):
        MultiViewCorrNet().fit([X, Y], masks=[np.ones(50), None])
    with pytest.raises(ValueError, match="no view at all"):
        MultiViewCorrNet().fit([X, Y], masks=[np.zeros(50, bool), np.r_[np.ones(25, bool), np.zeros(25, bool)]])
    est = MultiViewCorrNet(2, epochs=1, **CPU).fit([X, Y, Z])
    with pytest.raises(ValueError, match="3 views"):
        est.transform([X, Y])
    with pytest.raises(ValueError, match="out of range"):
        est.generate([X, None, None], view=3)


def test_save_load_round_trip_and_the_right_class(tmp_path):
    from corrnet.persistence import ModelFormatError

    views = _data(120)
    views[2] = views[2] * 40 - 7  # standardised on fit
    masks = [None, np.arange(120) % 4 != 0, None]
    est = MultiViewCorrNet(3, epochs=2, tol=None, **CPU).fit(views, masks=masks)
    est.save(tmp_path / "m")
    back = MultiViewCorrNet.load(tmp_path / "m")
    np.testing.assert_array_equal(back.transform([None, views[1], views[2]]), est.transform([None, views[1], views[2]]))
    np.testing.assert_array_equal(
        back.generate([views[0], None, None], view=2), est.generate([views[0], None, None], view=2)
    )
    assert back.get_params() == est.get_params() and back.n_features_views_ == [8, 6, 5]
    assert back.scalers_[0] is None and back.scalers_[2] is not None
    with pytest.raises(ModelFormatError, match=r"MultiViewCorrNet model; load it with MultiViewCorrNet\.load"):
        CorrNet.load(tmp_path / "m")
    X, Y, _ = _data(60)
    CorrNet(2, epochs=1, tol=None, **CPU).fit(X, Y).save(tmp_path / "c")
    with pytest.raises(ModelFormatError, match=r"holds a CorrNet model; load it with CorrNet\.load"):
        MultiViewCorrNet.load(tmp_path / "c")


def _three(n=150):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(n, 2))
    return [(1 / (1 + np.exp(-(z @ rng.normal(size=(2, d)))))).astype(np.float32) for d in (5, 4, 3)]


def test_multiview_generate_and_correlations_by_hand():
    """generate(view=0) is allowed; correlations pair each view's own code (not the others')."""
    views = _three()
    est = MultiViewCorrNet(2, epochs=3, tol=None, **CPU).fit(views)
    assert est.generate([None, views[1], None], view=0).shape == views[0].shape
    h = [est.transform([v if j == i else None for j in range(3)]) for i, v in enumerate(views)]
    want = [[np.corrcoef(h[i][:, u], h[j][:, u])[0, 1] for u in range(2)] for i, j in ((0, 1), (0, 2), (1, 2))]
    np.testing.assert_allclose(est.correlations(views), want, rtol=1e-4, atol=1e-5)


def test_multiview_parameters_match_corrnets_and_are_stored():
    shared = {k: v for k, v in CorrNet().get_params().items() if k in MultiViewCorrNet().get_params()}
    mv = MultiViewCorrNet().get_params()
    # N views take the per-unit objective; CorrNet's "auto" model settings resolve to the same there
    own = ("reconstruct_from", *MODEL_AUTOS)
    assert {k: mv[k] for k in shared if k not in own} == {k: v for k, v in shared.items() if k not in own}
    assert mv["reconstruct_from"] == ("all", "single")
    per_unit = CorrNet(correlation="per_unit").config()
    assert {k: getattr(per_unit, k) for k in own[1:]} == {k: getattr(MultiViewCorrNet().config(), k) for k in own[1:]}
    assert MultiViewCorrNet(patience=3, verbose=2).get_params()["patience"] == 3


def test_multiview_inputs_are_checked_against_the_fit():
    views = _three(60)
    est = MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit([views[0], views[1], views[2][:, 0]])  # 1-D: one feature
    assert est.n_features_views_ == [5, 4, 1]
    with pytest.raises(ValueError, match="4 features"):
        est.transform([None, views[0], None])  # view 1 has 4 columns, not 5
    with pytest.raises(ValueError, match=r"^pass at least one view \(the others may be None\)\.$"):
        est.transform([None, None, None])
    MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit([v[:2] for v in views])  # 2 rows are enough to fit


def test_multiview_masks_are_checked_and_none_means_present(tmp_path):
    views = _three(60)
    m = np.arange(60) % 3 != 0
    a = MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit(views, masks=[None, m, None])
    b = MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit(views, masks=[np.ones(60, bool), m, np.ones(60, bool)])
    np.testing.assert_array_equal(a.transform(views), b.transform(views))
    with pytest.raises(ValueError, match="masks has 2 entries for 3 views"):
        MultiViewCorrNet().fit(views, masks=[None, m])
    none = np.zeros(60, bool)
    with pytest.raises(ValueError, match=r"^7 rows have no view at all"):
        MultiViewCorrNet().fit(views, masks=[np.arange(60) >= 7, none, none])
    # a checkpoint is only resumed when asked: a second fit without resume starts over
    kw = dict(n_components=2, tol=None, **CPU)
    MultiViewCorrNet(**kw, epochs=3).fit(views, checkpoint_dir=tmp_path)
    again = MultiViewCorrNet(**kw, epochs=2).fit(views, checkpoint_dir=tmp_path)
    assert [r["epoch"] for r in again.history_] == [1, 2]  # resumed, it would hold the 3 epochs run before
    # pairs of views that share exactly 2 rows are enough for the correlation term
    two = np.zeros(60, bool)
    two[:2] = True
    MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit(views, masks=[None, two, ~two])
    with pytest.raises(ValueError, match="too few rows"):
        MultiViewCorrNet(2, epochs=1, **CPU).fit([v[:1] for v in views])


def test_multiview_fit_scales_the_views():
    """scale='standard' is applied in fit: an affine change of every column leaves the codes unchanged
    (to the scaler's float rounding, which each line-searched L-BFGS epoch amplifies: one epoch)."""
    views = _three()
    moved = [v * 1000.0 + 5.0 for v in views]
    kw = dict(n_components=2, epochs=1, tol=None, scale="standard", **CPU)
    a = MultiViewCorrNet(**kw).fit(views).transform(views)
    b = MultiViewCorrNet(**kw).fit(moved).transform(moved)
    np.testing.assert_allclose(a, b, atol=1e-4)
