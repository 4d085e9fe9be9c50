"""optimizer="auto" / "lbfgs": full-batch L-BFGS on small in-memory data."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

from corrnet import CorrNet, MultiViewCorrNet
from corrnet.objective import corrnet_loss

CPU = dict(device="cpu", random_state=0, correlation="per_unit")


def _views(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 5)).astype(np.float32)
    Y = (X @ rng.random((5, 4)) / 5 + 0.1 * rng.random((n, 4))).astype(np.float32)
    return X, Y


def _fit(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(*args, **kw)


def test_auto_picks_lbfgs_only_for_small_plain_fits():
    X, Y = _views()
    assert _fit(CorrNet(3, epochs=1, **CPU), X, Y).optimizer_ == "lbfgs"
    big = np.tile(X, (34, 1))[:2001], np.tile(Y, (34, 1))[:2001]
    whole = dict(validation_fraction=None)  # every row trains (the bound counts training rows)
    assert _fit(CorrNet(3, epochs=1, **whole, **CPU), *big).optimizer_ == "adam"
    assert _fit(CorrNet(3, epochs=1, **whole, **CPU), *(A[:2000] for A in big)).optimizer_ == "lbfgs"
    assert _fit(CorrNet(3, epochs=1, **CPU), *big).optimizer_ == "lbfgs"  # 1 801 rows train, 200 validate
    wide = np.tile(X, (1, 100))[:, :491], Y  # 60 rows x (491 + 4) = 29 700 values: L-BFGS
    assert _fit(CorrNet(3, epochs=1, **CPU), *wide).optimizer_ == "lbfgs"
    wider = np.tile(X[:, :1], (34, 2000))[:2000, :497], np.tile(Y, (34, 1))[:2000]  # 2 000 x 501: Adam
    assert _fit(CorrNet(3, epochs=1, **whole, **CPU), *wider).optimizer_ == "adam"
    assert _fit(CorrNet(3, epochs=1, weight_decay=1e-4, **CPU), X, Y).optimizer_ == "adam"
    assert _fit(CorrNet(3, epochs=1, lr_schedule="cosine", **CPU), X, Y).optimizer_ == "adam"
    semi = _fit(CorrNet(3, epochs=1, **CPU), X[:30], Y[:30], X_unpaired=X[30:])
    assert semi.optimizer_ == "adam"
    assert _fit(CorrNet(3, epochs=1, optimizer="sgd", **CPU), X, Y).optimizer_ == "sgd"
    assert CorrNet(3).get_params()["optimizer"] == "auto"  # the parameter itself stays "auto"
    masks = [np.ones(60, bool), np.ones(60, bool), np.arange(60) >= 20]
    mv = _fit(MultiViewCorrNet(3, epochs=1, **CPU), [X, Y, X[:, :2]], masks=masks)
    assert mv.optimizer_ == "lbfgs"


def test_explicit_lbfgs_where_it_cannot_apply_is_refused_with_the_fix():
    X, Y = _views()
    with pytest.raises(ValueError, match=r"no X_unpaired/Y_unpaired.*use optimizer='adam'"):
        CorrNet(3, optimizer="lbfgs", **CPU).fit(X[:30], Y[:30], X_unpaired=X[30:])
    with pytest.raises(ValueError, match="lr_schedule='constant'"):
        CorrNet(3, optimizer="lbfgs", lr_schedule="cosine", **CPU).fit(X, Y)
    with pytest.raises(ValueError, match="no weight_decay"):
        CorrNet(3, optimizer="lbfgs", weight_decay=0.1, **CPU).fit(X, Y)


def test_an_epoch_is_ten_full_batch_lbfgs_iterations_of_the_objective():
    """Against torch's L-BFGS run by hand on the whole (unshuffled) training set."""
    X, Y = _views()
    kw = dict(n_components=3, tol=None, shuffle=False, engine="autograd", **CPU)
    init = _fit(CorrNet(epochs=0, **kw), X, Y)
    model, config = copy.deepcopy(init.model_), init.config_
    model.train()
    opt = torch.optim.LBFGS(
        model.parameters(), lr=1, max_iter=10, max_eval=40, history_size=10, line_search_fn="strong_wolfe"
    )
    x, y = torch.from_numpy(X), torch.from_numpy(Y)

    def closure():
        opt.zero_grad()
        loss = corrnet_loss(model, x, y, config).total
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    est = _fit(CorrNet(epochs=3, **kw), X, Y)
    assert est.optimizer_ == "lbfgs" and est.n_iter_ == 3 and est.config_.batch_size == 100  # batch_size unused
    for a, b in zip(model.state_dict().values(), est.model_.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # and the objective fell: the history's last loss is below the first
    assert est.history_[-1]["loss"] < est.history_[0]["loss"]


def test_fused_and_autograd_engines_take_the_same_first_lbfgs_epoch():
    X, Y = _views()
    kw = dict(n_components=3, epochs=1, tol=None, shuffle=False, **CPU)
    a = _fit(CorrNet(engine="autograd", **kw), X, Y)
    b = _fit(CorrNet(engine="fused", **kw), X, Y)
    assert b.engine_ == "fused"  # float32 rounding differs; ten line-searched iterations amplify it a little
    for p, q in zip(a.model_.state_dict().values(), b.model_.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=2e-2, atol=2e-3)
    assert a.history_[0]["loss"] == pytest.approx(b.history_[0]["loss"], rel=1e-4)


def test_a_resumed_lbfgs_run_ends_with_the_uninterrupted_runs_weights(tmp_path):
    """The L-BFGS history (lists of tensors) goes through the checkpoint bit for bit."""
    X, Y = _views()
    kw = dict(n_components=3, tol=None, **CPU)
    full = _fit(CorrNet(epochs=4, **kw), X, Y)
    _fit(CorrNet(epochs=2, **kw), X, Y, checkpoint_dir=tmp_path)
    resumed = _fit(CorrNet(epochs=4, **kw), X, Y, checkpoint_dir=tmp_path, resume=True)
    assert full.optimizer_ == resumed.optimizer_ == "lbfgs"
    for a, b in zip(full.model_.state_dict().values(), resumed.model_.state_dict().values()):
        assert torch.equal(a, b)
    assert [r["loss"] for r in full.history_] == [r["loss"] for r in resumed.history_]


def test_lbfgs_stops_as_converged_when_its_own_tolerances_are_met():
    X, Y = _views(n=20)
    est = _fit(CorrNet(2, epochs=500, tol=None, **CPU), X, Y)  # tol=None: only L-BFGS itself can stop it
    assert est.stop_reason_ == "converged" and est.n_iter_ < 500


def test_lbfgs_with_validation_early_stopping_keeps_the_best_epoch():
    X, Y = _views(n=80)
    est = _fit(
        CorrNet(
            3, epochs=40, early_stopping=True, patience=2, validation_fraction=0.25, monitor="sum_corr", tol=None, **CPU
        ),
        X,
        Y,
    )
    assert est.optimizer_ == "lbfgs"
    scores = [r["val_sum_corr"] for r in est.history_]
    assert est.best_epoch_ == int(np.argmax(scores)) + 1  # epochs count from 1
    assert est.stop_reason_ in ("early_stopping", "converged")


def test_the_auto_lbfgs_budget_does_not_warn_but_a_fixed_one_that_runs_out_does():
    from sklearn.exceptions import ConvergenceWarning

    X, Y = _views(n=200)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = CorrNet(8, **CPU).fit(X, Y)  # epochs="auto": 20 epochs, by design not to convergence
    assert est.optimizer_ == "lbfgs" and est.epochs_ == 20
    with pytest.warns(ConvergenceWarning):
        CorrNet(8, epochs=1, **CPU).fit(X, Y)


def test_a_still_falling_loss_warns_under_adam_but_not_under_the_auto_lbfgs_budget():
    """The rule itself, on a history whose last quarter brought half of the run's decrease (real
    L-BFGS runs here get most of theirs in the first epoch, so the fit above never reaches it):
    epochs="auto" warns for Adam and never for L-BFGS, whose 20-epoch budget is short on purpose."""
    import dataclasses

    X, Y = _views(n=100)
    est = _fit(CorrNet(3, epochs=2, **CPU), X, Y)
    est.set_params(epochs="auto")
    est.history_ = [{"loss": v} for v in (10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 1.0)]
    for optimizer, warns in (("adam", True), ("lbfgs", False)):
        est.config_ = dataclasses.replace(est.config_, optimizer=optimizer)
        assert est._still_improving() is warns


@pytest.mark.filterwarnings("ignore:The '.*' preset is deprecated:FutureWarning")
def test_auto_lr_follows_the_column_mean_mass_of_the_widest_uncentred_view(tmp_path):
    """lr="auto" = 1e-2 * min(1, 100 / max_v sum_i |mean(x_v,i)|), on the scaled training views."""
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    n = 50
    kw = dict(n_components=3, epochs=1, optimizer="adam", **CPU)
    light = rng.random((n, 20)).astype(np.float32) * 0.5  # in [0, 1]: not scaled; mass about 5
    heavy = (0.5 + 0.5 * rng.random((n, 400))).astype(np.float32)  # in [0, 1], mass about 300
    est = _fit(CorrNet(**kw), light, heavy)
    mass = float(np.abs(heavy.mean(0, dtype=np.float64)).sum())
    assert est.config_.lr == pytest.approx(1e-2 * 100 / mass, rel=1e-6)
    assert _fit(CorrNet(**kw), light, light[:, :5]).config_.lr == 1e-2
    raw = heavy * 1000  # outside [0, 1]: standardised, mass 0
    assert _fit(CorrNet(**kw), raw, light).config_.lr == 1e-2
    sparse = sp.csr_matrix(np.where(heavy > 0.9, heavy, 0))  # in [0, 1]: not scaled (and never centred)
    smass = float(np.abs(np.asarray(sparse.mean(axis=0, dtype=np.float64))).sum())
    got = _fit(CorrNet(**kw), light, sparse).config_.lr
    assert got == pytest.approx(1e-2 * min(1.0, 100 / smass), rel=1e-6)
    assert _fit(CorrNet(**{**kw, "lr": 0.05}), light, heavy).config_.lr == 0.05  # a given lr is kept
    # with encoder_layers the base is 6e-3 (the best preset's), under the same mass rule
    deep = dict(kw, encoder_layers=(4,))
    assert _fit(CorrNet(**deep), light, light[:, :5]).config_.lr == 6e-3
    assert _fit(CorrNet(**deep), light, heavy).config_.lr == pytest.approx(6e-3 * 100 / mass, rel=1e-6)
    best = CorrNet.from_preset("best", epochs=1, encoder_layers=(4,), n_components=3, **CPU)
    assert _fit(best, light, heavy).config_.lr == pytest.approx(6e-3 * 100 / mass, rel=1e-6)
    # the resolved rate is saved and loaded with the model; the parameter stays "auto"
    est.save(tmp_path / "m")
    back = CorrNet.load(tmp_path / "m")
    assert back.config_.lr == est.config_.lr and back.get_params()["lr"] == "auto"


@pytest.mark.parametrize("optimizer", ["auto", "adam"])
def test_a_full_batch_lbfgs_fit_trains_on_one_thread_and_restores_the_threads(monkeypatch, optimizer):
    """Small tables (L-BFGS) train on one torch thread and one BLAS thread (results: small tables);
    minibatch fits keep the process's threads; either way the settings are restored afterwards,
    also when the fit fails."""
    from threadpoolctl import threadpool_info

    from corrnet import training

    seen, real = [], training.run_epoch

    def spy(*a, **k):
        blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        seen.append((torch.get_num_threads(), max(blas)))
        return real(*a, **k)

    monkeypatch.setattr(training, "run_epoch", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        blas_before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        est = _fit(CorrNet(3, epochs=2, optimizer=optimizer, **CPU), *_views())
        assert est.optimizer_ == ("lbfgs" if optimizer == "auto" else "adam")
        expected = (1, 1) if optimizer == "auto" else (2, max(blas_before))
        assert seen and set(seen) == {expected}
        assert torch.get_num_threads() == 2
        assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] == blas_before
        torch.set_num_threads(1)  # torch already on one thread: the BLAS is still limited
        seen.clear()
        _fit(CorrNet(3, epochs=2, optimizer=optimizer, **CPU), *_views())
        assert set(seen) == {(1, 1) if optimizer == "auto" else (1, max(blas_before))}
        torch.set_num_threads(2)
        monkeypatch.setattr(training, "run_epoch", lambda *a, **k: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            _fit(CorrNet(3, epochs=2, optimizer=optimizer, **CPU), *_views())
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_a_masked_full_batch_fit_is_the_same_with_and_without_shuffle():
    """A full batch's row order changes only float rounding, so a one-batch plan does not shuffle:
    the fits are bit-identical (and each row keeps its mask: the L-BFGS epoch gathers both)."""
    rng = np.random.default_rng(3)
    X, Y = _views(80, seed=3)
    Z = X[:, :2] + 0.1 * rng.random((80, 2)).astype(np.float32)
    masks = [np.ones(80, bool), rng.random(80) < 0.6, rng.random(80) < 0.5]
    masks[1][:10] = masks[2][:10] = True  # rows with all three views
    fits = [
        _fit(MultiViewCorrNet(3, epochs=2, shuffle=s, **CPU), [X, Y, Z], masks=masks)
        for s in (False, True)
    ]
    assert all(f.optimizer_ == "lbfgs" for f in fits)
    assert [r["loss"] for r in fits[0].history_] == [r["loss"] for r in fits[1].history_]
    np.testing.assert_array_equal(fits[0].transform([X, Y, Z]), fits[1].transform([X, Y, Z]))


@pytest.mark.parametrize("engine", ["fused", "autograd"])
def test_an_epoch_reuses_the_last_evaluation_where_lbfgs_starts_and_changes_nothing(monkeypatch, engine):
    """LBFGS.step evaluates its starting point, where the previous epoch's line search usually
    evaluated last: that evaluation is reused. Bit-identical to recomputing it, and fewer evaluations."""
    from corrnet import training

    X, Y = _views(120)
    calls = {"n": 0}
    real = training._step_parts

    def counting(*args, **kw):
        calls["n"] += 1
        return real(*args, **kw)

    monkeypatch.setattr(training, "_step_parts", counting)
    kw = dict(n_components=3, epochs=6, tol=None, engine=engine, **CPU)
    reused = _fit(CorrNet(**kw), X, Y)
    n_reused, calls["n"] = calls["n"], 0
    monkeypatch.setattr(training, "_same_point", lambda a, b: False)
    fresh = _fit(CorrNet(**kw), X, Y)
    assert reused.optimizer_ == "lbfgs" and reused.n_iter_ == fresh.n_iter_ == 6
    for a, b in zip(reused.model_.state_dict().values(), fresh.model_.state_dict().values()):
        assert torch.equal(a, b)
    assert [r["loss"] for r in reused.history_] == [r["loss"] for r in fresh.history_]
    assert n_reused <= calls["n"] - 4  # at least four of the five later epochs started where the last ended


def test_the_reused_evaluation_is_only_taken_at_the_same_parameters():
    from corrnet.training import _same_point

    a = torch.tensor([1.0, 2.0, 3.0])
    assert _same_point(a, a.clone()) and not _same_point(a, a + torch.tensor([0.0, 0.0, 1e-6]))


@pytest.mark.parametrize(("iters", "evals", "converged"), [(10, 12, False), (3, 40, False), (3, 39, True)])
def test_an_lbfgs_epoch_converged_only_if_it_stopped_inside_both_budgets(monkeypatch, iters, evals, converged):
    """An L-BFGS step that used all its iterations (10) or all its evaluations (40) ran out of
    budget; one that stopped inside both met L-BFGS's own tolerances (converged)."""
    from corrnet import training
    from corrnet.optim import LBFGS_EPOCH_ITERS

    X, Y = _views()
    est = _fit(CorrNet(3, epochs=1, **CPU), X, Y)
    captured = {}
    real = training._lbfgs_epoch

    def spy(state, plan, config, step, totals):
        opt = state.optimizer

        def fake_step(closure):  # what LBFGS.step records, without its iterations
            closure()
            st = opt.state[opt._params[0]]
            st["n_iter"] = st.get("n_iter", 0) + iters
            st["func_evals"] = st.get("func_evals", 0) + evals

        monkeypatch.setattr(opt, "step", fake_step)
        captured["converged"] = real(state, plan, config, step, totals)
        return captured["converged"]

    monkeypatch.setattr(training, "_lbfgs_epoch", spy)
    _fit(CorrNet(3, epochs=1, **CPU), X, Y)
    assert est.optimizer_ == "lbfgs" and LBFGS_EPOCH_ITERS == 10
    assert captured["converged"] is converged
