"""The training loop's behaviour, each test written so that a wrong implementation fails: early
stopping, divergence roll-back, semi-paired batches, checkpoints, validation metrics, presets.
Expected values come from independent computations (numpy, the history, a naive formula), not
from the code under test."""

import copy
import dataclasses
import math
import re
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

import corrnet
from corrnet import Config, CorrNet, CorrNetModule, MultiViewCorrNet, multiview_loss, persistence, training
from corrnet.config import preset
from corrnet.plans import Plan, Source
from corrnet.training import DivergenceError, init_state, self_reconstruction, train

CPU = dict(random_state=0, device="cpu", correlation="per_unit")


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
    est = CorrNet(
        3, lr=0.05, batch_size=10, epochs=300, tol=None, early_stopping=True, patience=4, monitor="sum_corr", **CPU
    )
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
    est = CorrNet(3, epochs=4, tol=None, early_stopping=False, **CPU).fit(
        X[:80], Y[:80], validation_data=(X[80:], Y[80:])
    )
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
    # lam fixed: a run "killed" by a smaller epochs= would search lam="auto" over fewer epochs
    kw = dict(n_components=3, lr=0.05, lam=2.0, batch_size=10, tol=None, early_stopping=True, patience=5, **CPU)
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
    kw = dict(n_components=3, epochs=3, tol=None, engine="autograd", optimizer="adam", **CPU)
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
        correlation="per_unit",
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
        validation_fraction=None,
        early_stopping=False,
    )
    est = CorrNet.paper()
    assert est.engine == "auto" and est.unpaired_strategy == "auto"


def test_seed_blog_preset_settings():
    p = preset("seed_blog")
    assert p["fusion"] == "sum" and p["hidden_activation"] == "relu" and p["output_activation"] == "linear"
    assert p["loss"] == "mse" and p["lam"] == 0.02 and p["optimizer"] == "rmsprop" and p["init"] == "torch"
    assert p["tied"] is False and p["lr"] == 1e-3 and p["epochs"] == 50 and p["scale"] is None
    assert p["validation_fraction"] is None and p["early_stopping"] is False  # every row, 50 epochs


@pytest.mark.filterwarnings("ignore:The '.*' preset is deprecated:FutureWarning")
def test_best_preset_settings():
    """Every setting of the ``best`` preset (README, "Presets"), and a model it builds."""
    p = preset("best")
    assert p["encoder_layers"] == (500, 300) and p["n_components"] == 50 and p["tied"] is False
    assert p["hidden_activation"] == "sigmoid" and p["fusion"] == "joint" and p["loss"] == "half_squared"
    assert p["lam"] == 4.0 and p["optimizer"] == "adam" and p["lr"] == "auto" and p["lr_schedule"] == "cosine"
    assert p["batch_size"] == 100 and p["epochs"] == 30 and p["shuffle"] is True and p["tol"] is None
    assert p["reconstruct_from"] == ("both", "x", "y") and p["output_activation"] == "auto"
    assert p["validation_fraction"] is None and p["early_stopping"] is False  # every row, 30 epochs
    fields = set(Config.__dataclass_fields__)
    cfg = Config(**{k: v for k, v in p.items() if k in fields}).validate()
    m = CorrNetModule([392, 392], dataclasses.replace(cfg, output_activation="sigmoid"))
    widths = [tuple(layer.weight.shape) for layer in m.encoders[0].modules() if isinstance(layer, torch.nn.Linear)]
    assert widths == [(500, 392), (300, 500), (50, 300)]
    assert CorrNet.from_preset("best", lam=2.0).lam == 2.0  # overrides win


def test_canonical_wide_preset_settings():
    """The ``canonical`` preset at Deep CCA's published widths, BatchNorm, linear decoders; a model
    it builds on Noisy MNIST's widths."""
    p, base = preset("canonical_wide"), preset("canonical")
    assert {k: v for k, v in p.items() if base.get(k, None) != v} == {
        "encoder_layers": (1024, 1024, 1024),
        "encoder_norm": "batch",
        "decoder_layers": (),
    }
    fields = set(Config.__dataclass_fields__)
    cfg = Config(**{k: v for k, v in p.items() if k in fields}, n_components=10).validate()
    m = CorrNetModule([784, 784], dataclasses.replace(cfg, output_activation="sigmoid"))
    assert [len(e.batch_norms) for e in m.encoders] == [3, 3]
    assert [tuple(d.out.weight.shape) for d in m.decoders] == [(784, 10)] * 2 and not m.decoders[0].hidden


@pytest.mark.filterwarnings("ignore:The '.*' preset is deprecated:FutureWarning")
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


def test_auto_epochs_do_not_warn_when_the_loss_was_flat_at_the_end():
    """With epochs='auto' running out of epochs is the plan; only a still-falling loss warns."""
    est = CorrNet(2, tol=1e-12, **CPU)
    est.history_ = [{"loss": v} for v in [10.0, 5.0, 4.0] + [3.0] * 97]  # flat for the last quarter
    assert not est._still_improving()
    est.history_ = [{"loss": 10.0 - 0.09 * i} for i in range(100)]  # still falling
    assert est._still_improving()
    # the run's whole decrease is measured from its first epoch (100 -> 9: the last quarter's 0.25 is < 5 %)
    est.history_ = [{"loss": v} for v in [100.0, 10.0, *np.linspace(10, 9, 98)]]
    assert not est._still_improving()
    est.set_params(epochs=100)
    est.history_ = [{"loss": v} for v in [10.0, 5.0, 4.0] + [3.0] * 97]
    assert est._still_improving()  # a fixed budget that ran out always warns (tol is set)


def test_a_failing_torch_compile_falls_back_with_one_warning(two_views, monkeypatch):
    """engine='compile' on a machine where compiling fails: the same maths without it, one warning."""

    def broken(fn, **kw):
        def call(*a):
            raise RuntimeError("no C++ compiler")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    X, Y = two_views
    kw = dict(n_components=3, epochs=2, tol=None, **CPU)
    with pytest.warns(UserWarning, match="torch.compile failed \\(RuntimeError\\); training without it"):
        a = CorrNet(**kw, engine="compile").fit(X, Y)
    b = CorrNet(**kw, engine="fused").fit(X, Y)
    np.testing.assert_allclose(a.transform(X=X), b.transform(X=X), atol=1e-6)


def test_a_working_torch_compile_does_not_warn():
    fn = training._compiled_or_fallback(lambda t: t * 2 + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fn(torch.ones(3))
        out = fn(torch.ones(3))
    torch.testing.assert_close(out, torch.full((3,), 3.0))


def test_fixed_epochs_warn_when_not_converged(two_views):
    X, Y = two_views
    with pytest.warns(ConvergenceWarning, match="stopped after epochs=2"):
        CorrNet(3, epochs=2, **CPU).fit(X, Y)


def test_plans_shuffle_slice_and_mix_as_documented():
    from corrnet.plans import Plan, Source

    X, Y = torch.zeros(250, 2), torch.zeros(250, 3)
    fixed = Plan([Source([X, Y])], 100, shuffle=False).epoch(torch.Generator().manual_seed(0), torch.device("cpu"))
    assert [p for (p,) in fixed] == [(0, slice(0, 100)), (0, slice(100, 200)), (0, slice(200, 250))]
    steps = Plan([Source([X, Y])], 100, shuffle=True).epoch(torch.Generator().manual_seed(0), torch.device("cpu"))
    rows = torch.cat([r for ((_, r),) in steps])
    assert sorted(rows.tolist()) == list(range(250)) and rows.tolist() != list(range(250))  # a permutation
    # mixed: every step holds paired_per_batch paired rows and the rest from the single-view sources
    plan = Plan([Source([X, Y]), Source([torch.zeros(30, 2), None]), Source([None, torch.zeros(7, 3)])], 100, True, 60)
    seen = {1: [], 2: []}
    for step in plan.epoch(torch.Generator().manual_seed(0), torch.device("cpu")):
        (_, paired), *singles = step
        assert len(paired) == 60 or paired.numel() < 60  # the last paired batch may be shorter
        assert [(j, len(r)) for j, r in singles] == [(1, 20), (2, 20)]
        for j, r in singles:
            seen[j] += r.tolist()
    assert set(seen[1]) == set(range(30)) and set(seen[2]) == set(range(7))  # cycling through every row
    # one batch of every row of the only source (full-batch L-BFGS): in order, and no draw from the generator
    g = torch.Generator().manual_seed(0)
    for src in (Source([X, Y]), Source([X, Y], mask=torch.ones(250, 2, dtype=torch.bool))):
        whole = Plan([src], 250, shuffle=True)
        assert not whole.shuffle and [p for (p,) in whole.epoch(g, torch.device("cpu"))] == [(0, slice(0, 250))]
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state())
    assert Plan([Source([X, Y])], 200, shuffle=True).shuffle  # two batches: shuffled
    # mixed with every paired row in one batch: other sources share the step, the paired rows stay shuffled
    assert Plan([Source([X[:50], Y[:50]]), Source([torch.zeros(30, 2), None])], 100, True, 60).shuffle


def test_make_step_defaults_to_float32_and_auto_means_the_fused_step(monkeypatch):
    """Round 3: ``make_step``'s default precision misspelt (``"FLOAT32"``) and ``auto`` resolved with
    ``n_steps=None`` (a TypeError) both passed: every caller named its precision and engine."""
    cfg = Config(n_components=3).validate()
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(20, 5, generator=g), torch.rand(20, 4, generator=g)
    model = CorrNetModule([5, 4], dataclasses.replace(cfg, output_activation="sigmoid"), generator=g)
    fused_calls = []
    real = corrnet.fastpath.make_step
    monkeypatch.setattr(corrnet.fastpath, "make_step", lambda *a, **kw: fused_calls.append(1) or real(*a, **kw))
    auto = training.make_step(model, cfg, "auto")([x, y])  # the default precision; fused, not compiled
    assert fused_calls == [1]  # the hand-derived gradients ran (a float32 check misspelt would skip them)
    grads = [p.grad.clone() for p in model.parameters()]
    ref = training.make_step(model, cfg, "autograd", "float32")([x, y])
    torch.testing.assert_close(auto.total, ref.total.detach(), rtol=1e-5, atol=1e-6)
    for a, p in zip(grads, model.parameters()):
        torch.testing.assert_close(a, p.grad, rtol=1e-4, atol=1e-6)


def test_training_arguments_errors_say_exactly_what_to_do():
    """Round 3: the two argument errors of ``train`` garbled (upper case, ``XX`` around the text) or
    the list of monitors replaced by a TypeError passed: the tests matched loosely or not at all."""
    rng = np.random.default_rng(0)
    X, Y = rng.random((30, 3), dtype=np.float32), rng.random((30, 2), dtype=np.float32)
    with pytest.raises(ValueError) as err:
        CorrNet(2, epochs=1, early_stopping=True, validation_fraction=None, **CPU).fit(X, Y)
    assert str(err.value) == "early_stopping needs validation data: pass validation_data or validation_fraction."
    with pytest.raises(ValueError) as err:
        CorrNet(2, epochs=1, monitor="accuracy", **CPU).fit(X, Y, validation_data=(X, Y))
    assert str(err.value) == (
        "monitor='accuracy' is not supported; use one of ['canon_corr', 'generation', 'loss', 'mrr', 'sum_corr']."
    )


def test_history_names_each_models_own_terms():
    """Round 3: ``recon_unpaired`` logged for fully paired data, missing with one single-view source,
    and the two-view pass names used for three views (their terms then read 0) all passed."""
    rng = np.random.default_rng(0)
    X, Y = rng.random((40, 3), dtype=np.float32), rng.random((40, 2), dtype=np.float32)
    kw = dict(epochs=1, tol=None, **CPU)
    paired = CorrNet(2, **kw).fit(X, Y).history_[0]
    assert set(paired) == {"epoch", "loss", "recon_both", "recon_x", "recon_y", "sum_corr", "time_s"}
    semi = CorrNet(2, unpaired_strategy="alternate", **kw).fit(X, Y, X_unpaired=X[:10]).history_[0]
    assert semi["recon_unpaired"] > 0  # paired rows plus one single-view source
    views = [rng.random((40, d), dtype=np.float32) for d in (3, 4, 2)]
    three = MultiViewCorrNet(2, **kw).fit(views).history_[0]
    assert {k for k in three if k.startswith("recon_")} == {"recon_all", "recon_0", "recon_1", "recon_2"}
    assert all(three[k] > 0 for k in ("recon_all", "recon_0", "recon_1", "recon_2"))


def test_the_loop_logs_each_epochs_mean_step_loss_and_continues_a_finished_state():
    """Round 3: the epoch's averages divided by one step too many, and a finished state (stop
    reason ``max_epochs``) that ``train`` would not continue when given more epochs, both passed."""
    import copy

    from corrnet.plans import Plan, Source

    cfg = Config(n_components=3, output_activation="sigmoid", batch_size=20, shuffle=False).validate()
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 5, generator=g), torch.rand(40, 4, generator=g)
    model = CorrNetModule([5, 4], cfg, generator=g)
    start = copy.deepcopy(model)
    plan = Plan([Source([x, y])], 20, shuffle=False)
    state = training.init_state(model, dataclasses.replace(cfg, epochs=1), seed=0)
    training.train(state, plan, dataclasses.replace(cfg, epochs=1), engine="autograd")
    # epoch 1 = two steps: the first at the initial weights, the second after one Adam step
    first = multiview_loss(start, [x[:20], y[:20]], cfg).total.item()
    opt = torch.optim.Adam(start.parameters(), lr=cfg.lr)
    multiview_loss(start, [x[:20], y[:20]], cfg).total.backward()
    opt.step()
    second = multiview_loss(start, [x[20:], y[20:]], cfg).total.item()
    assert state.history[0]["loss"] == pytest.approx((first + second) / 2, rel=1e-5)
    assert state.stop_reason == "max_epochs"
    training.train(state, plan, dataclasses.replace(cfg, epochs=3), engine="autograd")  # more epochs
    assert state.epoch == 3 and len(state.history) == 3 and state.stop_reason == "max_epochs"


def test_the_epoch_log_averages_every_term_over_its_steps():
    """Round 3: the per-pass and single-view accumulators overwritten by the last step (``=`` for
    ``+=``), read under the wrong key, or the step count doubled, all passed. With a learning rate
    of 1e-12 the weights stay put, so each logged term must be the mean of that term over the
    epoch's steps at the initial weights (the steps' rows taken from the plan, seeded alike)."""
    import copy

    from corrnet.plans import Plan, Source

    cfg = Config(n_components=3, output_activation="sigmoid", optimizer="sgd", lr=1e-12, epochs=1).validate()
    g = torch.Generator().manual_seed(0)
    x, y, xu = torch.rand(40, 5, generator=g), torch.rand(40, 4, generator=g), torch.rand(30, 5, generator=g)
    model = CorrNetModule([5, 4], cfg, generator=g)
    start = copy.deepcopy(model)
    plan = Plan([Source([x, y]), Source([xu, None])], 20, shuffle=False)
    steps = list(plan.epoch(torch.Generator().manual_seed(7), torch.device("cpu")))
    state = training.init_state(model, cfg, seed=7)
    training.train(state, plan, cfg, engine="autograd")
    row = state.history[0]
    paired = [multiview_loss(start, [x[r], y[r]], cfg) for ((s, r),) in steps if s == 0]
    single = [self_reconstruction(start, 0, xu[r], cfg).item() for ((s, r),) in steps if s == 1]
    assert len(paired) == 2 and len(single) == 2
    assert row["loss"] == pytest.approx(np.mean([t.total.item() for t in paired]), rel=1e-5)
    for k in ("both", "x", "y"):
        assert row[f"recon_{k}"] == pytest.approx(np.mean([t.recon[k].item() for t in paired]), rel=1e-5)
    assert row["recon_unpaired"] == pytest.approx(np.mean(single), rel=1e-5)


def test_an_epoch_with_one_single_view_step_logs_that_steps_reconstruction(two_views):
    """recon_unpaired is the mean over the steps that had single-view rows: with exactly one such
    step it is that step's error (computed here from the model before the step), not half of it."""
    from corrnet.plans import Plan, Source

    X, Y = (torch.from_numpy(a) for a in two_views)
    cfg = Config(n_components=3, epochs=1, batch_size=100).validate()
    model = CorrNetModule([7, 5], cfg, generator=torch.Generator().manual_seed(0))
    x = X[:30]
    with torch.no_grad():
        x_hat = torch.sigmoid(model.decode_pre(model.encode([x, None]), views=[0])[0])
        want = float(((x - x_hat) ** 2).sum(1).mean() / 2)
    plan = Plan([Source([X[:0], Y[:0]]), Source([x, None])], cfg.batch_size, cfg.shuffle)
    state = training.init_state(model, cfg, 1)
    training.train(state, plan, cfg, engine="autograd")
    assert plan.steps_per_epoch == 1
    assert state.history[0]["recon_unpaired"] == pytest.approx(want, rel=1e-5)


def test_a_plan_over_one_paired_row_is_refused_with_the_reason(two_views):
    from corrnet.plans import Plan, Source

    X, Y = (torch.from_numpy(a) for a in two_views)
    with pytest.raises(ValueError) as err:
        Plan([Source([X[:1], Y[:1]])], 100, True)
    assert str(err.value) == "one paired row cannot be trained on: the correlation needs at least 2 paired rows."
    assert Plan([Source([X[:2], Y[:2]])], 100, True).steps_per_epoch == 1


def test_convergence_needs_an_improvement_of_tol_times_max_1_and_the_best_loss():
    """StoppingRules' tol rule, at both sides of its floor: below |best| = 1 the step a loss must beat
    is tol itself (scikit-learn's absolute rule), above it tol * |best| (a round-6 mutation survivor:
    a floor of 2 instead of 1 went unseen)."""
    from corrnet.config import Config
    from corrnet.model import CorrNetModule
    from corrnet.training import RunOptions, StoppingRules, init_state

    cfg = Config(n_components=2, optimizer="adam", lr=0.01, epochs=5, output_activation="sigmoid")
    model = CorrNetModule([3, 2], cfg, generator=torch.Generator().manual_seed(0))
    for best, step, improves in ((0.5, 0.11, True), (0.5, 0.09, False), (1.5, 0.16, True), (1.5, 0.14, False)):
        state = init_state(model, cfg, 0)
        rules = StoppingRules(model, cfg, RunOptions(tol=0.1, n_iter_no_change=1))
        rules.update({"loss": best}, state)
        rules.update({"loss": best - step}, state)
        assert (state.stop_reason is None) is improves, (best, step)
        assert state.best_loss == (best - step if improves else best)


def test_fit_hands_diagnose_the_learning_rate_of_minibatch_optimisers_only(monkeypatch):
    """The saturation advice names the rate a minibatch optimiser used; L-BFGS's line search has
    none, so it gets None (a round-6 mutation survivor swapped the two unseen)."""
    import corrnet.estimator as est_mod

    seen = []
    real = est_mod.diagnose
    monkeypatch.setattr(est_mod, "diagnose", lambda *a, **kw: seen.append(kw["lr"]) or real(*a, **kw))
    rng = np.random.default_rng(0)
    X, Y = rng.random((60, 4)).astype(np.float32), rng.random((60, 3)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adam = CorrNet(2, optimizer="adam", lr=0.02, epochs=1, device="cpu").fit(X, Y)
        lbfgs = CorrNet(2, epochs=1, device="cpu").fit(X, Y)
    assert (adam.optimizer_, lbfgs.optimizer_) == ("adam", "lbfgs")
    assert seen == [0.02, None]


def test_the_progress_bar_stays_on_screen_only_at_verbose_2():
    """verbose=1 draws a bar that clears itself at the end; verbose=2 leaves it (with the epoch log)
    (a round-6 mutation survivor dropped ``leave`` unseen)."""
    from corrnet.config import Config
    from corrnet.model import CorrNetModule
    from corrnet.training import RunOptions, _progress, init_state

    cfg = Config(n_components=2, optimizer="adam", lr=0.01, epochs=3, output_activation="sigmoid")
    state = init_state(CorrNetModule([3, 2], cfg, generator=torch.Generator().manual_seed(0)), cfg, 0)
    assert _progress(RunOptions(verbose=0), cfg, state) is None
    for verbose, leave in ((1, False), (2, True)):
        bar = _progress(RunOptions(verbose=verbose), cfg, state)
        assert (bar.leave, bar.total, bar.n) == (leave, 3, 0)
        bar.close()


def test_deprecated_presets_warn_and_name_what_replaces_them():
    """``best`` and ``canonical`` still build their estimators but warn (FutureWarning) with the
    replacement; the kept presets build silently."""
    import warnings

    from corrnet.config import DEPRECATED_PRESETS

    assert set(DEPRECATED_PRESETS) == {"best", "canonical"}
    for name in DEPRECATED_PRESETS:
        with pytest.warns(FutureWarning, match=rf"'{name}' preset is deprecated.*canonical_wide") as caught:
            est = CorrNet.from_preset(name, n_components=3)
        assert est.n_components == 3 and caught[0].filename == __file__  # points at the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("paper", "seed_blog", "canonical_wide", "default"):
            CorrNet.from_preset(name)
