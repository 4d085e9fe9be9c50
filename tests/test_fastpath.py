"""The hand-derived fast path gives the same loss and gradients as autograd on the module."""

import itertools

import numpy as np
import pytest
import torch
from conftest import assert_grads_close, double_model_and_batch

from corrnet import Config, CorrNetModule, corrnet_loss, fastpath

CASES = [
    dict(tied=t, hidden_activation=h, output_activation=o, loss=loss)
    for t in (True, False)
    for h in ("sigmoid", "tanh", "relu", "linear")
    for o, loss in (("sigmoid", "half_squared"), ("sigmoid", "bce"), ("linear", "squared"), ("tanh", "mse"))
]
CASES += [
    dict(reconstruct_from=p, tied=t)
    for r in (0, 1, 2)
    for p in itertools.combinations(("both", "x", "y"), r)
    for t in (True, False)
]
CASES += [dict(lam=0.0), dict(lam=5.0, corr_eps=1e-3)]


@pytest.mark.parametrize("overrides", CASES, ids=[str(c) for c in CASES])
def test_fast_path_equals_autograd(overrides):
    c = Config(n_components=5, **overrides).validate()
    model, x, y = double_model_and_batch(c, 7, 6, n=11, seed=2)
    assert fastpath.supported(model, c)
    ref = corrnet_loss(model, x, y, c)
    params = list(model.parameters())
    ref_grads = torch.autograd.grad(ref.total, params, allow_unused=True)
    got = fastpath.loss_and_grads(model, x, y, c)
    torch.testing.assert_close(got.total, ref.total.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got.corr, ref.corr.detach(), rtol=1e-12, atol=1e-12)
    for k in ref.recon:
        torch.testing.assert_close(got.recon[k], ref.recon[k].detach())
    assert_grads_close(params, [p.grad for p in params], ref_grads, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "overrides",
    [{}, dict(tied=True, output_activation="linear", loss="squared"), dict(reconstruct_from=("x",), lam=0.0)],
    ids=str,
)
def test_one_step_reused_across_batches_equals_autograd_on_each(overrides):
    """The step keeps its (P, B, d) buffers between calls: a step that has seen other batches
    (another batch size, then the first size again) still gives autograd's loss and gradients, and
    what an earlier call returned is not overwritten by a later one. Both views are 6 wide, so
    buffers of the same shape must still be told apart by view."""
    c = Config(n_components=4, **overrides).validate()
    model, *_ = double_model_and_batch(c, 6, 6, n=11, seed=2)
    step = fastpath.make_step(model, c)
    params = list(model.parameters())
    seen = []
    for i, n in enumerate((11, 5, 11, 11)):
        g = torch.Generator().manual_seed(10 + i)
        x, y = torch.rand(n, 6, generator=g, dtype=torch.float64), torch.rand(n, 6, generator=g, dtype=torch.float64)
        ref = corrnet_loss(model, x, y, c)
        ref_grads = torch.autograd.grad(ref.total, params, allow_unused=True)
        got = step(x, y)
        torch.testing.assert_close(got.total, ref.total.detach(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(got.corr, ref.corr.detach(), rtol=1e-12, atol=1e-12)
        assert_grads_close(params, [p.grad for p in params], ref_grads, rtol=1e-10, atol=1e-12)
        seen.append((got, ref.total.detach().clone(), ref.corr.detach().clone()))
    for got, total, corr in seen:
        torch.testing.assert_close(got.total, total, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(got.corr, corr, rtol=1e-12, atol=1e-12)


def test_unsupported_models_are_declined():
    for kw in (dict(encoder_layers=(4,)), dict(fusion="sum")):
        c = Config(n_components=3, **kw).validate()
        assert not fastpath.supported(CorrNetModule([4, 4], c), c)


@pytest.mark.parametrize("engine", ["fused", "compile"])
def test_engines_train_to_the_same_weights(two_views, engine):
    from corrnet import CorrNet

    X, Y = two_views
    kw = dict(n_components=4, epochs=3, batch_size=20, random_state=0, device="cpu", optimizer="adam")
    kw["correlation"] = "per_unit"  # the fused engine's objective
    ref = CorrNet(**kw, engine="autograd").fit(X, Y)
    got = CorrNet(**kw, engine=engine).fit(X, Y)
    for a, b in zip(ref.model_.state_dict().values(), got.model_.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert got.history_[-1]["loss"] == pytest.approx(ref.history_[-1]["loss"], rel=1e-4)


def test_bfloat16_autocast_trains_close_to_float32(two_views):
    from corrnet import CorrNet

    X, Y = two_views
    kw = dict(n_components=4, epochs=5, batch_size=20, random_state=0, device="cpu", lr=1e-2, correlation="per_unit")
    a = CorrNet(**kw).fit(X, Y)
    b = CorrNet(**kw, precision="bfloat16", engine="autograd").fit(X, Y)
    assert all(np.isfinite(r["loss"]) for r in b.history_)
    assert abs(a.score(X, Y) - b.score(X, Y)) < 0.3  # bf16 has ~3 significant digits
    assert next(b.model_.parameters()).dtype == torch.float32


# the fused step's bfloat16 products against its float32 ones: bfloat16 keeps 8 significant bits
# (relative rounding up to 2^-8 = 0.4 % an operand) and the products accumulate in float32. Stated
# bounds: the loss within 1 %, each per-unit correlation within 0.005, and with smooth hidden units
# each gradient within 3 % in norm (measured over these cases and 10 seeds: at most 0.8 %, 0.003
# and 2.2 %). ReLU units near their kink can switch on or off, so there a gradient may differ more.
BF16_LOSS, BF16_CORR, BF16_GRAD = 1e-2, 5e-3, 3e-2


@pytest.mark.parametrize("overrides", CASES, ids=[str(c) for c in CASES])
def test_bfloat16_products_give_the_float32_loss_and_gradients_within_the_stated_bounds(overrides):
    c = Config(n_components=5, **overrides).validate()
    g = torch.Generator().manual_seed(3)
    model = CorrNetModule([40, 30], c, generator=g)
    x, y = torch.rand(64, 40, generator=g), torch.rand(64, 30, generator=g)
    params = list(model.parameters())
    ref = fastpath.make_step(model, c)(x, y)
    ref_grads = [p.grad.clone() for p in params]
    got = fastpath.make_step(model, c, low_precision=True)(x, y)
    assert abs(got.total.item() - ref.total.item()) <= BF16_LOSS * max(abs(ref.total.item()), 1.0)
    torch.testing.assert_close(got.corr, ref.corr, rtol=0, atol=BF16_CORR)
    differs = False
    for p, r in zip(params, ref_grads):
        assert p.grad.dtype == torch.float32
        if c.hidden_activation != "relu":
            assert (p.grad - r).norm() <= BF16_GRAD * r.norm() + 1e-6, p.shape
        differs |= not torch.equal(p.grad, r)
    assert differs, "the bfloat16 step computed in float32"


def test_a_bfloat16_fit_takes_the_fused_engine_and_tracks_float32(two_views):
    from corrnet import CorrNet

    X, Y = two_views
    kw = dict(n_components=4, epochs=5, batch_size=20, random_state=0, device="cpu", correlation="per_unit")
    a = CorrNet(**kw).fit(X, Y)
    b = CorrNet(**kw, precision="bfloat16").fit(X, Y)
    assert a.engine_ == b.engine_ == "fused"
    for ra, rb in zip(a.history_, b.history_):
        assert rb["loss"] == pytest.approx(ra["loss"], rel=5e-2)
    assert abs(a.score(X, Y) - b.score(X, Y)) < 0.3
    assert next(b.model_.parameters()).dtype == torch.float32


def test_the_fast_path_refuses_an_objective_term_it_does_not_derive(two_views, monkeypatch):
    """A term added to objective.terms (here a made-up decorrelation term) that fastpath.DERIVES
    does not list sends engine='auto' (and 'fused') to autograd instead of training without it."""
    from corrnet import CorrNet, CorrNetModule, fastpath, objective
    from corrnet.training import resolve_engine

    X, Y = two_views
    cfg = Config(n_components=3).validate()
    model = CorrNetModule([X.shape[1], Y.shape[1]], cfg, generator=torch.Generator().manual_seed(0))
    assert objective.terms(cfg) == ("reconstruction", "correlation") and fastpath.supported(model, cfg)
    assert objective.terms(Config(n_components=3, lam=0.0)) == ("reconstruction",)
    monkeypatch.setattr(objective, "terms", lambda c: ("reconstruction", "correlation", "decorrelation"))
    assert not fastpath.supported(model, cfg)
    assert resolve_engine("auto", model, cfg, "float32", 10**6) == "autograd"
    assert CorrNet(3, epochs=1, device="cpu", random_state=0).fit(X, Y).engine_ == "autograd"
