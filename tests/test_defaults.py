"""Defaults that work on anyone's data: scale/output/epochs/engine "auto", convergence, warnings
that name a broken fit, and the whole scikit-learn estimator contract."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from corrnet import CorrNet, MultiViewCorrNet
from corrnet.auto import AUTO_MAX_EPOCHS, AUTO_MIN_EPOCHS, AUTO_STEPS
from corrnet.config import Config
from corrnet.diagnostics import FitWarning
from corrnet.model import CorrNetModule
from corrnet.training import AUTO_COMPILE_STEPS, resolve_engine

CPU = dict(random_state=0, device="cpu", correlation="per_unit")


def latent_views(n=300, seed=0, scale_x=1.0, shift_x=0.0):
    """Two noisy linear views of a shared 3-d latent, X scaled by ``scale_x`` and shifted."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    X = z @ rng.normal(size=(3, 6)) + 0.2 * rng.normal(size=(n, 6))
    Y = z @ rng.normal(size=(3, 5)) + 0.2 * rng.normal(size=(n, 5))
    return (X * scale_x + shift_x).astype(np.float32), Y.astype(np.float32)


def fit_quietly(est, *args, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(*args, **kw)
    return est, caught


# -- scale="auto" and output_activation="auto" ---------------------------------------------------
def test_auto_scale_leaves_unit_views_alone_and_standardises_others(two_views):
    X01, Y01 = two_views  # both in [0, 1]
    est, _ = fit_quietly(CorrNet(3, epochs=2, **CPU), X01, Y01)
    assert est.scaler_x_ is None and est.scaler_y_ is None and est.output_activation_ == "sigmoid"
    Xraw, Yraw = latent_views(scale_x=1000.0, shift_x=5000.0)
    est, _ = fit_quietly(CorrNet(3, epochs=2, **CPU), Xraw, Yraw)
    assert isinstance(est.scaler_x_, StandardScaler) and isinstance(est.scaler_y_, StandardScaler)
    np.testing.assert_allclose(est.scaler_x_.mean_, Xraw.astype(np.float64).mean(0), rtol=1e-6)
    np.testing.assert_allclose(est.scaler_x_.scale_, Xraw.astype(np.float64).std(0), rtol=1e-5)
    assert est.output_activation_ == "linear" and est.model_.output_activation == "linear"
    # one view in [0, 1], one not: that view is scaled, the other left alone; linear outputs
    est, _ = fit_quietly(CorrNet(3, epochs=2, **CPU), X01[:, :5], Yraw[:120])
    assert est.scaler_x_ is None and isinstance(est.scaler_y_, StandardScaler)
    assert est.output_activation_ == "linear"


def test_auto_scaling_is_undone_on_reconstructions_and_survives_save(tmp_path):
    X, Y = latent_views(scale_x=1000.0, shift_x=5000.0)
    est, _ = fit_quietly(CorrNet(3, **CPU), X, Y)
    X_hat, _ = est.reconstruct(X=X, Y=Y)
    # in the input's units: the reconstruction error is far below the variance of X (~1e6 here)
    assert np.mean((X_hat - X) ** 2) < 0.2 * X.var(0).mean()
    # by hand: decode in scaled units, then undo the scaler
    with torch.inference_mode():
        xs = torch.from_numpy(est.scaler_x_.transform(X).astype(np.float32))
        ys = torch.from_numpy(est.scaler_y_.transform(Y).astype(np.float32))
        xh, _ = est.model_.decode(est.model_.encode([xs, ys]))
    np.testing.assert_allclose(X_hat, est.scaler_x_.inverse_transform(xh.numpy()), rtol=1e-5, atol=1e-3)
    est.save(tmp_path / "m")
    back = CorrNet.load(tmp_path / "m")
    assert back.output_activation_ == "linear" and back.epochs_ == est.epochs_
    np.testing.assert_array_equal(back.transform(X=X), est.transform(X=X))
    np.testing.assert_array_equal(back.generate(X=X), est.generate(X=X))


def _pixels(n=200, d=40, seed=0, top=255):
    """Image-like rows: integer intensities 0..top, the first 4 columns always 0 (a border), ink
    saturating at top in most of the others."""
    rng = np.random.default_rng(seed)
    A = np.clip(rng.normal(0.4, 0.5, size=(n, d)) * top, 0, top).round()
    A[:, :4] = 0
    return A.astype(np.float32)


def test_auto_scale_maps_a_view_with_one_shared_range_to_unit_interval_as_a_whole():
    """Pixels at 0..255: one affine map for the whole view (x / 255 here), so the near-constant
    columns are not magnified to unit variance; tables (each column its own unit), views with fewer
    than 8 varying columns and sparse views keep their rules."""
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler

    from corrnet.auto import shared_range as _shared_range

    P = _pixels()
    P[:, 4] = np.minimum(P[:, 4], 3)  # a nearly blank column: standardising would blow it up
    assert _shared_range(P) == (0.0, 255.0)
    table, _ = latent_views(scale_x=1000.0, shift_x=5000.0)
    assert _shared_range(table) is None and _shared_range(P[:, :11]) is None  # 7 varying columns
    import scipy.sparse as sp

    assert _shared_range(sp.csr_matrix(P)) is None
    Y = _pixels(seed=1, d=30, top=16)
    est, _ = fit_quietly(CorrNet(3, epochs=2, **CPU), P, Y)
    for scaler, A, top in ((est.scaler_x_, P, 255), (est.scaler_y_, Y, 16)):
        assert isinstance(scaler, MinMaxScaler)
        np.testing.assert_allclose(scaler.transform(A), A / top, rtol=1e-12, atol=1e-12)
    assert est.output_activation_ == "sigmoid"  # both views now in [0, 1]
    assert est.generate(X=P).max() <= 16 + 1e-4  # back in Y's units
    # a range that does not start at 0 (intensities 50..305): (x - 50) / 255, and back
    est, _ = fit_quietly(CorrNet(3, epochs=2, **CPU), P + 50, Y)
    assert _shared_range(P + 50) == (50.0, 305.0)
    np.testing.assert_allclose(est.scaler_x_.transform(P + 50), P / 255, rtol=0, atol=1e-6)  # float32 maths
    np.testing.assert_allclose(est.scaler_x_.inverse_transform(P / 255), P + 50, rtol=0, atol=1e-4)
    # a pixel view beside a table: the table is standardised, the outputs linear
    est, _ = fit_quietly(CorrNet(3, epochs=2, **CPU), P[:, :20], table[:200])
    assert isinstance(est.scaler_x_, MinMaxScaler) and isinstance(est.scaler_y_, StandardScaler)
    assert est.output_activation_ == "linear"
    # sparse pixels keep max-abs scaling (no densifying)
    est, _ = fit_quietly(CorrNet(3, epochs=2, **CPU), sp.csr_matrix(P), Y)
    assert isinstance(est.scaler_x_, MaxAbsScaler)


def test_shared_range_scaling_survives_save_and_matches_the_streamed_view(tmp_path):
    P, Y = _pixels(), _pixels(seed=1, d=30, top=16)
    est, _ = fit_quietly(CorrNet(3, epochs=2, **CPU), P, Y)
    est.save(tmp_path / "m")
    back = CorrNet.load(tmp_path / "m")
    np.testing.assert_array_equal(back.transform(X=P), est.transform(X=P))
    np.testing.assert_array_equal(back.generate(X=P), est.generate(X=P))
    np.save(tmp_path / "p.npy", P)
    np.save(tmp_path / "y.npy", Y)
    mm = [np.load(tmp_path / f, mmap_mode="r") for f in ("p.npy", "y.npy")]  # streamed: bounds from its scan
    streamed, _ = fit_quietly(CorrNet(3, epochs=2, **CPU), *mm)
    for a, b in zip(streamed.scalers_, est.scalers_):
        np.testing.assert_array_equal(a.scale_, b.scale_)
        np.testing.assert_array_equal(a.min_, b.min_)


def test_raw_views_learn_where_unscaled_sigmoid_did_not():
    """The issue's case: values in the thousands. corrnet 0.1's defaults learn nothing (and now say
    so); CorrNet() aligns the views."""
    X, Y = latent_views(scale_x=1000.0, shift_x=5000.0)
    old, caught = fit_quietly(CorrNet(3, scale=None, output_activation="sigmoid", epochs=50, tol=None, **CPU), X, Y)
    assert any(issubclass(w.category, FitWarning) for w in caught)
    new, caught = fit_quietly(CorrNet(3, **CPU), X, Y)
    assert not [w for w in caught if issubclass(w.category, FitWarning)]
    assert new.score(X, Y) > 2.5 > old.score(X, Y) + 1.0


def test_bce_with_views_outside_unit_interval_is_a_clear_error():
    X, Y = latent_views()
    with pytest.raises(ValueError, match="loss='bce' needs both views in \\[0, 1\\]") as err:
        CorrNet(3, loss="bce", **CPU).fit(X, Y)
    # the whole advice, to its end (a mutant garbling the message's last sentence survived)
    assert str(err.value).endswith("use scale='minmax' or another loss ('half_squared').")


def test_near_constant_column_does_not_become_nan():
    """A float32 column constant up to a denormal (0 and 1e-45) used to give NaN and a
    DivergenceError that told the caller to scale (which they had)."""
    X = np.array([[0.0], [1.0]], np.float32)
    Y = np.array([[0.0], [1e-45]], np.float32)
    for scale in ("standard", "minmax", "auto"):
        est, _ = fit_quietly(CorrNet(n_components=1, scale=scale, epochs=2, **CPU), X, Y)
        assert np.isfinite(est.history_[-1]["loss"])
        assert np.isfinite(est.transform(Y=Y)).all()


# -- epochs="auto", tol, n_iter_ and ConvergenceWarning -------------------------------------------
@pytest.mark.parametrize("n, batch", [(30, 100), (1000, 100), (50_000, 100), (50_000, 1000)])
def test_auto_epochs_give_enough_steps_and_no_more(n, batch):
    est = CorrNet(2, batch_size=batch, correlation="per_unit")
    steps = -(-n // batch) if n % batch != 1 else n // batch
    cfg = est._resolve(est.config(), [np.zeros((n, 1)), np.zeros((n, 1))], steps)
    want = min(max(-(-AUTO_STEPS // steps), AUTO_MIN_EPOCHS), AUTO_MAX_EPOCHS)
    assert cfg.epochs == want == est.epochs_
    assert cfg.epochs * steps >= min(AUTO_STEPS, AUTO_MAX_EPOCHS * steps)


@pytest.mark.parametrize("n, want", [(1_000, 150), (45_000, 10), (1_000_000, 10)])
def test_auto_epochs_under_the_canonical_objective_give_300_steps_and_at_least_10_epochs(n, want):
    est = CorrNet(2)  # dense views: the canonical objective, batches of 800
    steps = -(-n // 800)
    cfg = est._resolve(est.config(), [np.zeros((n, 1)), np.zeros((n, 1))], steps)
    assert (cfg.correlation, cfg.batch_size, cfg.epochs, cfg.lr) == ("canonical", 800, want, 1e-3)


@pytest.mark.parametrize(
    "kw, steps, want",
    [
        ({"epochs": 10, "min_steps": 300}, 2, 150),  # a small table: raised to 300 steps
        ({"epochs": 10, "min_steps": 300}, 37, 10),  # Multi30k's 29 000 rows at batch 800: unchanged
        ({"epochs": 10, "min_steps": 300}, 63, 10),  # Noisy MNIST's 50 000: unchanged
        ({"epochs": 10, "min_steps": 301}, 30, 11),  # rounded up to whole epochs
        ({"epochs": 10, "min_steps": None}, 2, 10),
        ({"epochs": 10, "min_steps": 300, "optimizer": "lbfgs"}, 1, 10),  # ignored under L-BFGS
        ({"epochs": "auto", "min_steps": 10**6, "optimizer": "adam"}, 100, 100),  # auto: already in steps
    ],
)
def test_min_steps_raises_a_fixed_epoch_count_on_small_data(kw, steps, want):
    est = CorrNet(2, correlation="per_unit", **kw)
    cfg = est._resolve(est.config(), [np.zeros((10, 1)), np.zeros((10, 1))], steps)
    assert cfg.epochs == want


def test_a_fit_runs_the_epochs_min_steps_asks_for(two_views):
    X, Y = two_views
    kw = dict(epochs=2, min_steps=9, batch_size=len(X) // 2, optimizer="adam", tol=None, validation_fraction=None)
    est, _ = fit_quietly(CorrNet(2, **kw, **CPU), X, Y)
    assert est.epochs_ == est.n_iter_ == len(est.history_) == 5  # 2 steps an epoch: ceil(9 / 2)


@pytest.mark.filterwarnings("ignore:The '.*' preset is deprecated:FutureWarning")
def test_min_steps_is_validated_and_the_canonical_preset_sets_it():
    with pytest.raises(ValueError, match="min_steps must be None or a positive integer"):
        CorrNet(2, min_steps=0).config()
    assert CorrNet.from_preset("canonical").min_steps == 300
    assert CorrNet.from_preset("canonical_wide").min_steps == 300
    assert CorrNet().min_steps is None
    assert CorrNet.from_preset("canonical", epochs=3).min_steps is None  # an epochs override is the epochs
    assert CorrNet.from_preset("canonical", epochs=3, min_steps=50).min_steps == 50


def test_converges_and_reports_why(two_views):
    X, Y = two_views
    est, caught = fit_quietly(CorrNet(3, tol=1e-2, optimizer="adam", **CPU), X, Y)
    assert est.stop_reason_ == "converged" and est.n_iter_ < est.epochs_
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    # by hand from the history: the last improvement by more than tol came a full patience window
    # (500 steps = 250 epochs of 2 steps here) before the end
    best, last_improved = None, 0
    for i, loss in enumerate(r["loss"] for r in est.history_):
        if best is None or loss < best - 1e-2 * max(1.0, abs(best)):
            best, last_improved = loss, i
    assert len(est.history_) - 1 - last_improved == 250


def test_budget_exhausted_warns_and_tol_none_runs_every_epoch(two_views):
    X, Y = two_views
    with pytest.warns(ConvergenceWarning, match="epochs=3 before the training loss converged"):
        est = CorrNet(3, epochs=3, **CPU).fit(X, Y)
    assert est.stop_reason_ == "max_epochs" and est.n_iter_ == 3
    est, caught = fit_quietly(CorrNet(3, epochs=7, tol=None, **CPU), X, Y)
    assert est.n_iter_ == 7 and not [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_converged_checkpoint_resumes_as_converged(two_views, tmp_path):
    X, Y = two_views
    est, _ = fit_quietly(
        CorrNet(3, tol=1e-2, optimizer="adam", **CPU), X, Y, checkpoint_dir=tmp_path, checkpoint_every=50
    )
    assert est.stop_reason_ == "converged"
    again, _ = fit_quietly(CorrNet(3, tol=1e-2, optimizer="adam", **CPU), X, Y, checkpoint_dir=tmp_path, resume=True)
    assert again.n_iter_ == est.n_iter_ and again.stop_reason_ == "converged"
    np.testing.assert_array_equal(again.transform(X=X), est.transform(X=X))


# -- engine="auto" -------------------------------------------------------------------------------
def test_auto_engine_choice():
    single = CorrNetModule([4, 3], Config(n_components=2))
    deep = CorrNetModule([4, 3], Config(n_components=2, encoder_layers=(5,)))
    c = Config(n_components=2)
    assert resolve_engine("auto", single, c, "float32", AUTO_COMPILE_STEPS - 1) == "fused"
    assert resolve_engine("auto", single, c, "float32", AUTO_COMPILE_STEPS) == "compile"
    assert resolve_engine("auto", single, c, "bfloat16", 10**6) == "compile"  # bfloat16 products, fused
    assert resolve_engine("auto", single, c, "bfloat16", 10) == "fused"
    assert resolve_engine("auto", deep, Config(n_components=2, encoder_layers=(5,)), "float32", 10**6) == "autograd"
    deep_dec = Config(n_components=2, tied=False, decoder_layers=(5,))  # one-layer encoders, deep decoders
    assert resolve_engine("auto", CorrNetModule([4, 3], deep_dec), deep_dec, "float32", 10) == "autograd"
    linear_dec = Config(n_components=2, encoder_layers=(5,), decoder_layers=())  # deep encoders, linear decoders
    assert resolve_engine("auto", CorrNetModule([4, 3], linear_dec), linear_dec, "float32", 10) == "autograd"
    assert resolve_engine("autograd", single, c, "float32", 10**6) == "autograd"
    with pytest.raises(ValueError, match="engine='jit' is not supported"):
        resolve_engine("jit", single, c, "float32", 1)


def test_auto_engine_trains_like_the_explicit_engines(two_views):
    X, Y = two_views
    kw = dict(n_components=3, epochs=5, tol=None, batch_size=40, optimizer="adam", **CPU)
    auto = CorrNet(**kw).fit(X, Y)
    assert auto.engine_ == "fused"
    fused = CorrNet(**kw, engine="fused").fit(X, Y)
    ref = CorrNet(**kw, engine="autograd").fit(X, Y)
    np.testing.assert_array_equal(auto.transform(X=X), fused.transform(X=X))
    np.testing.assert_allclose(auto.transform(X=X), ref.transform(X=X), atol=1e-5)


# -- warnings that say a fit looks broken -----------------------------------------------------------
def fit_warnings(est, X, Y):
    _, caught = fit_quietly(est, X, Y)
    return [str(w.message) for w in caught if issubclass(w.category, FitWarning)]


def test_saturated_units_warn():
    X, Y = latent_views(scale_x=1000.0, shift_x=5000.0)
    msgs = fit_warnings(CorrNet(4, scale=None, output_activation="linear", epochs=3, **CPU), X, Y)
    assert any("hidden units are saturated" in m and "scale='auto'" in m for m in msgs)


def test_saturation_on_unit_scale_inputs_advises_a_lower_lr_not_scaling():
    """Inputs already scaled: the advice names the learning rate (and a smaller one), not scale='auto'
    (which the caller already used). Large inputs into the same model: the advice is scaling."""
    from corrnet.diagnostics import diagnose

    X, Y = latent_views()
    est = CorrNet(4, epochs=1, **CPU).fit(X, Y)
    xs = torch.from_numpy(est.scaler_x_.transform(X).astype(np.float32))
    ys = torch.from_numpy(est.scaler_y_.transform(Y).astype(np.float32))
    assert not [m for m in diagnose(est.model_, xs, ys, 2.0, lr=0.01).messages if "saturated" in m]
    with torch.no_grad():
        for p in est.model_.parameters():
            p.mul_(1000.0)  # weights blown up, as by steps that were too large
    (msg,) = [m for m in diagnose(est.model_, xs, ys, 2.0, lr=0.01).messages if "saturated" in m]
    assert "already on a unit scale" in msg and "lr=0.01" in msg and "e.g. lr=0.001" in msg
    assert "scale='auto'" not in msg
    est2 = CorrNet(4, epochs=1, **CPU).fit(X, Y)
    (msg,) = [m for m in diagnose(est2.model_, xs * 1e4, ys * 1e4, 2.0).messages if "saturated" in m]
    assert "large scale" in msg and "scale='auto'" in msg


def test_uncorrelated_views_warn():
    rng = np.random.default_rng(0)  # independent views: row i of X has nothing to do with row i of Y
    X, Y = rng.normal(size=(2000, 3)).astype(np.float32), rng.normal(size=(2000, 2)).astype(np.float32)
    msgs = fit_warnings(CorrNet(3, epochs=20, tol=None, **CPU), X, Y)
    assert any("nearly uncorrelated" in m and "paired with row i" in m for m in msgs)


@pytest.mark.slow
def test_worse_than_mean_warns():
    """Counts 0..6 with sigmoid outputs cannot be reached: reconstruction is worse than the mean."""
    rng = np.random.default_rng(0)
    z = rng.integers(0, 7, size=(200, 1))
    X = (z + rng.integers(0, 2, size=(200, 6))).astype(np.float32)
    Y = (z + rng.integers(0, 2, size=(200, 5))).astype(np.float32)
    msgs = fit_warnings(CorrNet(3, scale=None, output_activation="sigmoid", epochs=20, **CPU), X, Y)
    assert any("predicting the training mean beats" in m and "cannot produce" in m for m in msgs)
    assert not fit_warnings(CorrNet(3, **CPU), X, Y)  # the defaults handle the same data


def test_too_short_training_warns_with_the_other_cause(two_views):
    X, Y = two_views  # in [0, 1]: sigmoid outputs can reach them, but 2 epochs cannot
    msgs = fit_warnings(CorrNet(3, epochs=2, optimizer="adam", **CPU), X, Y)
    assert any("predicting the training mean beats" in m and "far from convergence" in m for m in msgs)


def test_a_poor_reconstruction_that_early_stopping_chose_says_so(two_views):
    """When early stopping kept an early epoch, more epochs are not the advice: the codes were chosen
    on held-out pairs, the reconstruction was not."""
    import torch

    from corrnet.diagnostics import diagnose

    X, Y = two_views
    est = CorrNet(3, epochs=2, optimizer="adam", **CPU)
    fit_warnings(est, X, Y)
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    d = diagnose(est.model_, x, y, 2.0, kept_epoch=1)
    assert not [m for m in d.messages if "training mean" in m]  # the fit chose it: not a fit warning
    msg = d.generation
    assert "early stopping kept epoch 1" in msg and "early_stopping=False" in msg
    assert "far from convergence" not in msg


def test_healthy_fit_has_no_warnings_and_records_diagnostics(two_views):
    X, Y = two_views
    est = CorrNet(3, **CPU)
    assert fit_warnings(est, X, Y) == []
    d = est.diagnostics_
    assert d.saturated_units == 0 and d.mean_unit_correlation > 0.5
    assert d.recon_mse[0] < d.mean_mse[0] and d.generation_mse[0] < d.mean_mse[1]


# -- the scikit-learn contract ----------------------------------------------------------------------
def test_one_dimensional_second_view_is_one_feature(two_views):
    X, Y = two_views
    a = CorrNet(2, epochs=3, tol=None, **CPU).fit(X, Y[:, 0])
    b = CorrNet(2, epochs=3, tol=None, **CPU).fit(X, Y[:, :1])
    assert a.n_features_y_ == 1
    np.testing.assert_array_equal(a.transform(Y=Y[:, 0]), b.transform(Y=Y[:, :1]))


@parametrize_with_checks([CorrNet(n_components=2, epochs=20, random_state=0, device="cpu")])
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, FitWarning))
        check(estimator)


def test_shared_range_edges_eight_columns_and_ranges_float32_cannot_divide_by():
    """Exactly 8 varying columns qualify; a range below float32's smallest normal number does not
    (1 / range would overflow to inf), one of exactly that size does (targeted mutation survivors)."""
    from corrnet.auto import shared_range as _shared_range

    P = _pixels()
    assert _shared_range(P[:, :12]) == (0.0, 255.0)  # 4 blank border columns + 8 varying ones
    half = P[:, 4:12].copy()
    half[:, :4] = np.minimum(half[:, :4], 200)  # exactly half of the 8 columns reach the max: enough
    half[0, :4] = 0  # (each still reaches the min)
    assert _shared_range(half) == (0.0, 255.0)
    half[:, 4] = np.minimum(half[:, 4], 200)  # 3 of 8: not enough
    assert _shared_range(half) is None
    tiny = float(np.finfo(np.float32).tiny)

    def two_values(lo: float, hi: float) -> np.ndarray:
        A = np.full((4, 8), lo, np.float32)
        A[::2] = np.float32(hi)
        return A

    assert _shared_range(two_values(0.0, 1e-45)) is None  # a denormal range
    lo = np.float32(1e-38)
    assert _shared_range(two_values(lo, np.nextafter(lo, np.float32(1)))) is None  # hi + lo is not the range
    assert _shared_range(two_values(0.0, tiny)) == (0.0, tiny)
    est, _ = fit_quietly(CorrNet(2, epochs=2, **CPU), two_values(0.0, 1e-45), _pixels(n=4, d=9))
    assert np.isfinite(est.transform(X=two_values(0.0, 1e-45))).all()


# -- correlation="auto": the canonical recipe for two views ------------------------------------
def test_auto_model_settings_are_the_canonical_recipe_for_two_views_and_the_paper_elsewhere():
    import scipy.sparse as sp

    canon = CorrNet(4).config()
    assert (canon.correlation, canon.encoder_layers, canon.encoder_activation, canon.encoder_norm) == (
        "canonical", (256,), "relu", "layer"
    )
    assert (canon.hidden_activation, canon.init, canon.batch_size) == ("linear", "torch", 800)
    sparse = CorrNet(4).config(sparse=True)  # sparse views: the canonical objective on a linear code
    assert (sparse.correlation, sparse.encoder_layers, sparse.encoder_activation, sparse.encoder_norm) == (
        "canonical", (), None, None
    )
    assert (sparse.hidden_activation, sparse.init, sparse.batch_size) == ("linear", "torch", 800)
    paper = dict(encoder_layers=(), encoder_activation=None, encoder_norm=None, hidden_activation="sigmoid")
    paper.update(init="original", batch_size=100, correlation="per_unit")
    for cfg in (
        CorrNet(4, correlation="per_unit").config(),
        CorrNet(4, correlation="per_unit").config(sparse=True),
        CorrNet(4, fusion="sum").config(),  # the seed blog's model has no joint layer to whiten
        MultiViewCorrNet(4).config(),
    ):
        assert {k: getattr(cfg, k) for k in paper} == paper
    # a setting given explicitly is kept; the others still follow the objective
    tied = CorrNet(4, tied=True).config()
    assert (tied.correlation, tied.encoder_layers, tied.hidden_activation) == ("canonical", (), "linear")
    deep = CorrNet(4, encoder_layers=(8, 6), batch_size=64).config()
    assert (deep.encoder_layers, deep.encoder_activation, deep.batch_size) == ((8, 6), "relu", 64)
    # a sparse fit: a linear output (the error from the non-zeros), full-batch L-BFGS while the
    # non-zeros are few, and the estimator's own parameters still "auto"
    X = sp.random(120, 300, density=0.05, format="csr", random_state=0, dtype=np.float32)
    Y = np.random.default_rng(0).random((120, 3)).astype(np.float32)
    est = CorrNet(2, epochs=1, random_state=0, device="cpu").fit(X, Y)
    assert (est.config_.correlation, est.config_.output_activation, est.config_.optimizer) == (
        "canonical", "linear", "lbfgs"
    )
    assert est.get_params()["correlation"] == est.get_params()["output_activation"] == "auto"
    per_unit = CorrNet(2, epochs=1, random_state=0, device="cpu", correlation="per_unit").fit(X, Y)
    assert per_unit.config_.output_activation == "sigmoid"  # the per-unit recipe decodes every column
    bce = CorrNet(2, epochs=1, random_state=0, device="cpu", loss="bce").fit(X, Y)
    assert bce.config_.output_activation == "sigmoid"  # a sigmoid output for the binary cross-entropy


def test_a_poor_reconstruction_under_a_heavy_lam_names_the_objective_not_the_epochs():
    """The canonical defaults weight the reconstruction 64x less than the correlation: when their
    reconstruction of sparse text is worse than the mean (SIB-200's sentences as word TF-IDF, the
    docs' data), the warning says why and how to generate (correlation='per_unit'), not to train
    longer."""
    import csv
    from pathlib import Path

    from sklearn.feature_extraction.text import TfidfVectorizer

    tsv = Path(__file__).resolve().parents[1] / "docs" / "data" / "sib200-en-de.tsv"
    with open(tsv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"))
    views = [TfidfVectorizer(min_df=2, dtype=np.float32).fit_transform([r[k] for r in rows]) for k in ("en", "de")]
    est = CorrNet(16, random_state=0, device="cpu")
    msgs = fit_warnings(est, *views)
    assert not [m for m in msgs if "predicting the training mean beats" in m]  # the codes are what the fit is for
    with pytest.warns(FitWarning, match="predicting the training mean beats") as caught:
        est.generate(X=views[0][:5])  # asked to generate: now it matters
    (worse,) = [str(w.message) for w in caught]
    assert "lam=64" in worse and "correlation='per_unit'" in worse and "far from convergence" not in worse
    with pytest.warns(FitWarning, match="lam=64"):
        est.reconstruct(Y=views[1][:5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.transform(X=views[0][:5])  # the codes: no warning
