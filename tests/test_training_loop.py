"""The training loop's behaviour, each test written so that a wrong implementation fails: early
stopping, divergence roll-back, semi-paired batches, checkpoints, validation metrics, presets.
Expected values come from independent computations (numpy, the history, a naive formula), not
from the code under test."""

import copy
import dataclasses
import math
import re

import numpy as np
import pytest
import torch

from corrnet import CorrNet, persistence
from corrnet.config import Config, preset
from corrnet.model import CorrNetModule
from corrnet.plans import Plan, Source
from corrnet.training import DivergenceError, init_state, train

CPU = dict(random_state=0, device="cpu")


def weights(est):
    return {k: v.detach().clone() for k, v in est.model_.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


# -- early stopping ----------------------------------------------------------------------------------
def test_early_stopping_stops_after_patience_and_restores_the_best_epoch(two_views):
    X, Y = two_views
    Xt, Yt, Xv, Yv = X[:40], Y[:40], X[40:], Y[40:]  # 40 rows, lr 0.05: overfits, validation turns
    est = CorrNet(3, lr=0.05, batch_size=10, epochs=300, tol=None, early_stopping=True, patience=4, **CPU)
    est.fit(Xt, Yt, validation_data=(Xv, Yv))
    vals = [r["val_sum_corr"] for r in est.history_]
    best = int(np.argmax(vals)) + 1
    assert est.stop_reason_ == "early_stopping" and len(vals) < 300
    assert est.best_epoch_ == best and est.n_iter_ == best + 4  # stopped exactly `patience` epochs later
    # the kept weights are the best epoch's: their validation sum-correlation, computed here with
    # numpy, is the best value in the history (not the last)
    hx, hy = est.transform(X=Xv), est.transform(Y=Yv)
    by_hand = sum(np.corrcoef(hx[:, j], hy[:, j])[0, 1] for j in range(3))
    assert by_hand == pytest.approx(vals[best - 1], abs=1e-4)
    assert abs(by_hand - vals[-1]) > 1e-4


# -- divergence ------------------------------------------------------------------------------------
def test_divergence_rolls_back_to_the_last_finite_epoch_not_the_start(two_views):
    X, Y = (torch.from_numpy(a) for a in two_views)
    cfg = Config(n_components=3, epochs=6, lr=1e-2, hidden_activation="tanh", output_activation="linear").validate()
    model = CorrNetModule([7, 5], cfg, generator=torch.Generator().manual_seed(0))
    state = init_state(model, cfg, 1)
    initial = copy.deepcopy(model.state_dict())
    seen = {}

    def sabotage(s):  # after epoch 2, a learning rate that makes epoch 3 overflow
        if s.epoch == 2:
            seen["epoch2"] = copy.deepcopy(s.model.state_dict())
            for g in s.optimizer.param_groups:
                g["lr"] = 1e30

    with pytest.raises(DivergenceError) as err:
        train(state, Plan([Source([X, Y])], cfg.batch_size, cfg.shuffle), cfg, on_epoch_end=sabotage, engine="autograd")
    # the epoch that diverged (3), the one restored (2), and the whole advice to its last word
    assert re.fullmatch(
        r"the training loss became (nan|inf|-inf) in epoch 3; the model was rolled back to the end of epoch 2\. "
        r"Lower lr \(now 0\.01\) or lam \(now 2\.0\), or use optimizer='adam'; if the inputs were not "
        r"scaled \(scale=None\), use scale='auto'\.",
        str(err.value),
    ), str(err.value)
    now = model.state_dict()
    for k in now:
        torch.testing.assert_close(now[k], seen["epoch2"][k], rtol=0, atol=0)
    assert any(not torch.equal(now[k], initial[k]) for k in now)


# -- semi-paired batches -------------------------------------------------------------------------------
def test_single_view_batches_only_train_their_own_reconstruction(two_views):
    """x-only rows (the alternate and pretrain strategies' batches) give no gradient to view 2's
    encoder or decoder: through the full objective (y fed as zeros) they would."""
    X, Y = (torch.from_numpy(a) for a in two_views)
    for tied in (False, True):
        cfg = Config(n_components=3, epochs=3, tied=tied).validate()
        model = CorrNetModule([7, 5], cfg, generator=torch.Generator().manual_seed(0))
        before = copy.deepcopy(model.state_dict())
        plan = Plan([Source([X[:0], Y[:0]]), Source([X, None])], cfg.batch_size, cfg.shuffle)
        train(init_state(model, cfg, 1), plan, cfg)
        after = model.state_dict()
        untouched = ["encoders.1.proj.weight"]
        untouched += ["out_bias.1"] if tied else ["decoders.1.out.weight", "decoders.1.out.bias"]
        for k in untouched:
            assert torch.equal(after[k], before[k]), k
        assert not torch.equal(after["encoders.0.proj.weight"], before["encoders.0.proj.weight"])


def test_pretraining_uses_the_paired_rows_and_scalers_see_every_row(two_views):
    X, Y = two_views
    Xu, Yu = X[:60] * 3 + 1, Y[60:] * 3 + 1  # single-view rows on another scale
    kw = dict(n_components=3, unpaired_strategy="pretrain", pretrain_epochs=2, epochs=0, scale="standard", **CPU)
    a = CorrNet(**kw).fit(X, Y, X_unpaired=Xu, Y_unpaired=Yu)
    np.testing.assert_allclose(a.scaler_x_.mean_, np.vstack([X, Xu]).astype(np.float64).mean(0), rtol=1e-6)
    np.testing.assert_allclose(a.scaler_y_.mean_, np.vstack([Y, Yu]).astype(np.float64).mean(0), rtol=1e-6)
    # epochs=0: only pretraining ran; other paired rows (same unpaired rows, same scalers' data
    # ranges aside) must give another model, or pretraining skipped the paired rows
    X2 = X[::-1].copy()
    b = CorrNet(**kw).fit(X2, Y, X_unpaired=Xu, Y_unpaired=Yu)
    assert a.pretrain_history_ and len(a.pretrain_history_) == 2
    assert not np.allclose(a.transform(X=X), b.transform(X=X))


def test_mixed_batches_default_to_half_a_batch_of_pairs(two_views):
    X, Y = two_views
    kw = dict(n_components=3, epochs=2, tol=None, batch_size=20, unpaired_strategy="mixed", **CPU)
    default = CorrNet(**kw).fit(X[:60], Y[:60], X_unpaired=X[60:])
    half = CorrNet(**kw, paired_per_batch=10).fit(X[:60], Y[:60], X_unpaired=X[60:])
    other = CorrNet(**kw, paired_per_batch=12).fit(X[:60], Y[:60], X_unpaired=X[60:])
    assert_same_weights(weights(default), weights(half))
    assert not np.allclose(default.transform(X=X), other.transform(X=X))


# -- validation metrics ------------------------------------------------------------------------------
def test_validation_metrics_match_an_independent_computation(two_views):
    X, Y = two_views
    est = CorrNet(3, epochs=4, tol=None, **CPU).fit(X[:80], Y[:80], validation_data=(X[80:], Y[80:]))
    Xv, Yv = X[80:].astype(np.float64), Y[80:].astype(np.float64)
    last = est.history_[-1]
    hx, hy = est.transform(X=Xv), est.transform(Y=Yv)
    want_corr = sum(np.corrcoef(hx[:, j], hy[:, j])[0, 1] for j in range(3))
    assert last["val_sum_corr"] == pytest.approx(want_corr, abs=1e-4)
    # generation error: y from h(x, 0) and x from h(0, y), mean squared error per feature, averaged
    y_from_x, x_from_y = est.generate(X=Xv), est.generate(Y=Yv)
    want_gen = (((y_from_x - Yv) ** 2).mean() + ((x_from_y - Xv) ** 2).mean()) / 2
    assert last["val_generation"] == pytest.approx(want_gen, rel=1e-4)
    # and not from the joint code
    xb, yb = est.reconstruct(X=Xv, Y=Yv)
    assert abs((((yb - Yv) ** 2).mean() + ((xb - Xv) ** 2).mean()) / 2 - want_gen) > 1e-4


# -- checkpoints -----------------------------------------------------------------------------------
def test_checkpoint_every_is_honoured(two_views, tmp_path, monkeypatch):
    X, Y = two_views
    saved = []
    real = persistence.save_checkpoint

    def spy(state, path, extra=None):
        saved.append(state.epoch)
        return real(state, path, extra)

    monkeypatch.setattr(persistence, "save_checkpoint", spy)
    CorrNet(3, epochs=7, tol=None, **CPU).fit(X, Y, checkpoint_dir=tmp_path, checkpoint_every=3)
    assert saved == [3, 6, 7]


def test_checkpoint_fingerprint_covers_the_data(two_views, tmp_path):
    X, Y = two_views
    CorrNet(3, epochs=2, tol=None, **CPU).fit(X, Y, checkpoint_dir=tmp_path)
    Y2 = Y.copy()
    Y2[5, 2] += 0.25  # one value in one row differs
    with pytest.raises(ValueError, match="other data or parameters"):
        CorrNet(3, epochs=4, tol=None, **CPU).fit(X, Y2, checkpoint_dir=tmp_path, resume=True)


def test_resume_keeps_early_stopping_state(two_views, tmp_path):
    X, Y = two_views
    kw = dict(n_components=3, lr=0.05, batch_size=10, tol=None, early_stopping=True, patience=5, **CPU)
    fit_kw = dict(validation_data=(X[40:], Y[40:]))
    straight = CorrNet(**kw, epochs=300).fit(X[:40], Y[:40], **fit_kw)
    k = straight.best_epoch_ + 2  # "killed" between the best epoch and the stop
    assert straight.stop_reason_ == "early_stopping" and k < straight.n_iter_
    CorrNet(**kw, epochs=k).fit(X[:40], Y[:40], checkpoint_dir=tmp_path, **fit_kw)
    resumed = CorrNet(**kw, epochs=300).fit(X[:40], Y[:40], checkpoint_dir=tmp_path, resume=True, **fit_kw)
    assert (resumed.n_iter_, resumed.best_epoch_) == (straight.n_iter_, straight.best_epoch_)
    np.testing.assert_allclose(resumed.transform(X=X), straight.transform(X=X), atol=1e-6)


@pytest.mark.slow
def test_resume_keeps_the_convergence_state(two_views, tmp_path):
    X, Y = two_views
    kw = dict(n_components=3, batch_size=10, tol=1e-2, **CPU)
    straight = CorrNet(**kw, epochs=1000).fit(X[:40], Y[:40])
    k = straight.n_iter_ - 5  # "killed" inside the last no-improvement window (125 epochs here)
    assert straight.stop_reason_ == "converged"
    CorrNet(**kw, epochs=k).fit(X[:40], Y[:40], checkpoint_dir=tmp_path)
    resumed = CorrNet(**kw, epochs=1000).fit(X[:40], Y[:40], checkpoint_dir=tmp_path, resume=True)
    assert (resumed.n_iter_, resumed.stop_reason_) == (straight.n_iter_, "converged")
    np.testing.assert_allclose(resumed.transform(X=X), straight.transform(X=X), atol=1e-6)


# -- precision and scaling ----------------------------------------------------------------------------
def test_bfloat16_precision_is_used(two_views):
    X, Y = two_views
    kw = dict(n_components=3, epochs=3, tol=None, engine="autograd", **CPU)
    f32 = CorrNet(**kw).fit(X, Y).transform(X=X)
    bf16 = CorrNet(**kw, precision="bfloat16").fit(X, Y).transform(X=X)
    assert np.abs(f32 - bf16).max() > 1e-5  # same engine, same seed: only bfloat16 can make them differ ...
    np.testing.assert_allclose(f32, bf16, atol=0.05)  # ... for the same model


def test_generated_second_view_is_in_its_own_units(two_views):
    X, Y = two_views
    Ys = Y * 500 - 200
    est = CorrNet(3, scale="standard", **CPU).fit(X, Ys)
    with torch.inference_mode():
        xs = torch.from_numpy(est.scaler_x_.transform(X).astype(np.float32))
        _, y_scaled = est.model_.decode(est.model_.encode([xs, None]))
    want = y_scaled.numpy() * est.scaler_y_.scale_ + est.scaler_y_.mean_  # undo standardisation by hand
    np.testing.assert_allclose(est.generate(X=X), want, rtol=1e-4, atol=1e-2)
    assert abs(est.generate(X=X).mean() - Ys.mean()) < 0.1 * Ys.std()


# -- presets -----------------------------------------------------------------------------------------
def test_paper_preset_is_the_original_recipe_field_by_field():
    p = preset("paper")
    assert p == dict(
        n_components=50,
        encoder_layers=(),
        hidden_activation="sigmoid",
        output_activation="sigmoid",
        tied=True,
        fusion="joint",
        loss="half_squared",
        lam=2.0,
        reconstruct_from=("both", "x", "y"),
        corr_eps=1e-8,
        init="original",
        optimizer="rmsprop_original",
        lr=0.01,
        weight_decay=0.0,
        batch_size=100,
        epochs=50,
        shuffle=False,
        scale=None,
        tol=None,
    )
    est = CorrNet.paper()
    assert est.engine == "auto" and est.unpaired_strategy == "auto"


def test_seed_blog_preset_settings():
    p = preset("seed_blog")
    assert p["fusion"] == "sum" and p["hidden_activation"] == "relu" and p["output_activation"] == "linear"
    assert p["loss"] == "mse" and p["lam"] == 0.02 and p["optimizer"] == "rmsprop" and p["init"] == "torch"
    assert p["tied"] is False and p["lr"] == 1e-3 and p["epochs"] == 50 and p["scale"] is None


def test_best_preset_settings():
    """Every setting of the ``best`` preset (README, "Presets"), and a model it builds."""
    p = preset("best")
    assert p["encoder_layers"] == (500, 300) and p["n_components"] == 50 and p["tied"] is False
    assert p["hidden_activation"] == "sigmoid" and p["fusion"] == "joint" and p["loss"] == "half_squared"
    assert p["lam"] == 4.0 and p["optimizer"] == "adam" and p["lr"] == 6e-3 and p["lr_schedule"] == "cosine"
    assert p["batch_size"] == 100 and p["epochs"] == 30 and p["shuffle"] is True and p["tol"] is None
    assert p["reconstruct_from"] == ("both", "x", "y") and p["output_activation"] == "auto"
    fields = set(Config.__dataclass_fields__)
    cfg = Config(**{k: v for k, v in p.items() if k in fields}).validate()
    m = CorrNetModule([392, 392], dataclasses.replace(cfg, output_activation="sigmoid"))
    widths = [tuple(layer.weight.shape) for layer in m.encoders[0].modules() if isinstance(layer, torch.nn.Linear)]
    assert widths == [(500, 392), (300, 500), (50, 300)]
    assert CorrNet.from_preset("best", lam=2.0).lam == 2.0  # overrides win


def test_best_preset_trains_a_correlated_code_in_a_short_run():
    """A short run of the ``best`` preset on the bundled digits halves (1 000 training pairs): the
    held-out codes of the two halves correlate (random sigmoid projections give about 0)."""
    from corrnet.datasets import digits_halves

    d = digits_halves()
    est = CorrNet.from_preset("best", epochs=5, n_components=10, **CPU).fit(d.X_train, d.Y_train)
    assert len(est.history_) == 5 and est.history_[-1]["loss"] < est.history_[0]["loss"]
    assert est.score(d.X_test, d.Y_test) > 5.0  # of at most 10


# -- learning-rate schedule -----------------------------------------------------------------------------
def _record_lrs(state):
    """Wrap the optimiser's step to record the learning rate each step was taken with."""
    seen, step = [], state.optimizer.step

    def recording(*a, **k):
        seen.append([g["lr"] for g in state.optimizer.param_groups])
        return step(*a, **k)

    state.optimizer.step = recording
    return seen


def test_cosine_schedule_sets_every_steps_lr_and_resumes_where_it_stopped(two_views):
    """Each step's rate is lr (1 + cos(pi t / T)) / 2 for t = 0 .. T-1 over T = epochs x steps, as
    computed here with numpy; a run stopped after 2 of 5 epochs and continued takes the same rates
    and reaches the same weights; "constant" never touches the rate."""
    X, Y = (torch.from_numpy(a) for a in two_views)
    cfg = Config(n_components=3, epochs=5, batch_size=40, lr=0.05, lr_schedule="cosine").validate()
    plan = Plan([Source([X, Y])], cfg.batch_size, cfg.shuffle)
    T = 5 * plan.steps_per_epoch
    want = 0.05 * (1 + np.cos(np.pi * np.arange(T) / T)) / 2

    model = CorrNetModule([7, 5], cfg, generator=torch.Generator().manual_seed(0))
    state = init_state(model, cfg, 1)
    seen = _record_lrs(state)
    train(state, plan, cfg, engine="autograd")
    assert plan.steps_per_epoch > 1 and len(seen) == T
    np.testing.assert_allclose([lrs[0] for lrs in seen], want, rtol=1e-12)
    assert all(len(set(lrs)) == 1 for lrs in seen)  # every parameter group

    part = CorrNetModule([7, 5], cfg, generator=torch.Generator().manual_seed(0))
    st = init_state(part, cfg, 1)

    def interrupt(s):
        if s.epoch == 2:
            s.stop_reason = "interrupted"

    train(st, plan, cfg, engine="autograd", on_epoch_end=interrupt)  # stopped after 2 of 5 epochs ...
    assert st.epoch == 2
    st.stop_reason = None
    seen2 = _record_lrs(st)
    train(st, plan, cfg, engine="autograd")  # ... and continue to 5: the schedule of a 5-epoch run
    np.testing.assert_allclose([lrs[0] for lrs in seen2], want[2 * plan.steps_per_epoch :], rtol=1e-12)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(part.state_dict()[k], v, rtol=0, atol=0)

    const = dataclasses.replace(cfg, lr_schedule="constant")
    state = init_state(CorrNetModule([7, 5], const, generator=torch.Generator().manual_seed(0)), const, 1)
    seen = _record_lrs(state)
    train(state, plan, const, engine="autograd")
    assert {lrs[0] for lrs in seen} == {0.05}


def test_lr_schedule_is_validated_and_reaches_the_estimators():
    with pytest.raises(ValueError, match="lr_schedule='linear' is not supported"):
        Config(lr_schedule="linear").validate()
    assert CorrNet(lr_schedule="cosine").config().lr_schedule == "cosine"
    from corrnet import MultiViewCorrNet

    assert MultiViewCorrNet(lr_schedule="cosine").config().lr_schedule == "cosine"


def test_original_initialisation_has_the_factor_four():
    """``4 U(+-sqrt(6 / (fan_in + fan_out)))`` for the sigmoid layers (the Theano code)."""
    m = CorrNetModule([392, 392], _paper_cfg())
    W = m.encoders[0].proj.weight.detach().numpy()
    bound = 4 * math.sqrt(6 / (392 + 50))
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound  # 19 600 draws reach the edge
    assert np.all(m.b.detach().numpy() == 0) and np.all(m.out_bias[0].detach().numpy() == 0)


@pytest.mark.parametrize("act, bound", [("relu", math.sqrt(6 / 392)), ("tanh", math.sqrt(6 / (392 + 50)))])
def test_original_initialisation_of_relu_and_tanh_units(act, bound):
    """He-uniform ``U(+-sqrt(6 / fan_in))`` for relu, plain Glorot for tanh; biases 0."""
    cfg = Config(n_components=50, hidden_activation=act, output_activation="linear", init="original").validate()
    W = CorrNetModule([392, 392], cfg).encoders[0].proj.weight.detach().numpy()  # (50, 392)
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound


def test_torch_initialisation_is_pytorchs_default_and_follows_the_generator():
    """``init='torch'`` (the seed-blog preset): weights and biases ``U(+-1/sqrt(fan_in))``, as
    ``nn.Linear``'s own; drawn from the module's generator alone (the global RNG does not matter)."""
    cfg = Config(n_components=50, hidden_activation="relu", output_activation="linear", fusion="sum", init="torch")

    def build(seed, global_seed):
        torch.manual_seed(global_seed)
        return CorrNetModule([392, 300], cfg.validate(), generator=torch.Generator().manual_seed(seed))

    m = build(0, global_seed=1)
    bound = 1 / math.sqrt(392)
    for t in (m.encoders[0].proj.weight, m.encoders[0].proj.bias):
        a = t.detach().numpy()
        assert np.abs(a).max() <= bound and a.min() < -0.9 * bound and a.max() > 0.9 * bound
    W = m.encoders[0].proj.weight.detach().numpy().ravel()  # 19 600 draws: U(-b, b) has sd b / sqrt(3)
    assert abs(W.mean()) < 0.02 * bound and abs(W.std() / (bound / math.sqrt(3)) - 1) < 0.02
    again = build(0, global_seed=2)
    other = build(1, global_seed=1)
    for a, b, c in zip(m.state_dict().values(), again.state_dict().values(), other.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        assert not torch.equal(a, c) or not a.any()


def test_untied_output_layers_are_initialised_for_the_output_activation():
    """Sigmoid codes with linear outputs: the encoders get the 4x sigmoid bound, each untied decoder's
    output layer the plain Glorot bound of its own (linear) activation."""
    cfg = Config(n_components=50, hidden_activation="sigmoid", output_activation="linear", tied=False).validate()
    m = CorrNetModule([392, 392], cfg)
    enc = np.abs(m.encoders[0].proj.weight.detach().numpy()).max()
    dec = np.abs(m.decoders[0].out.weight.detach().numpy()).max()  # (392, 50)
    glorot = math.sqrt(6 / (392 + 50))
    assert 0.99 * 4 * glorot < enc <= 4 * glorot
    assert 0.99 * glorot < dec <= glorot


def test_a_module_needs_a_concrete_output_activation():
    with pytest.raises(ValueError) as err:
        CorrNetModule([3, 4], Config(output_activation="auto"))
    assert str(err.value) == "output_activation='auto' is resolved by CorrNet.fit; pass a concrete activation."


def _paper_cfg() -> Config:
    fields = set(Config.__dataclass_fields__)
    return Config(**{k: v for k, v in preset("paper").items() if k in fields}).validate()


@pytest.mark.parametrize("monitor,pick", [("loss", np.argmin), ("generation", np.argmin), ("sum_corr", np.argmax)])
def test_early_stopping_monitors_the_named_validation_metric(two_views, monitor, pick):
    X, Y = two_views
    est = CorrNet(
        3, lr=0.05, batch_size=10, epochs=60, tol=None, early_stopping=True, patience=60, monitor=monitor, **CPU
    )
    est.fit(X[:40], Y[:40], validation_data=(X[40:], Y[40:]))
    vals = [r[f"val_{monitor}"] for r in est.history_]
    assert est.best_epoch_ == int(pick(vals)) + 1
    others = {m: int(np.argmin([r[f"val_{m}"] for r in est.history_])) + 1 for m in ("loss", "generation")}
    others["sum_corr"] = int(np.argmax([r["val_sum_corr"] for r in est.history_])) + 1
    if len(set(others.values())) == 3:  # the three metrics disagree here: the choice is visible
        assert est.best_epoch_ == others[monitor]
