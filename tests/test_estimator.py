"""The scikit-learn contract, input validation, determinism and the demo."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from corrnet import CorrNet, MultiViewCorrNet
from corrnet.training import DivergenceError

FAST = dict(n_components=4, epochs=3, batch_size=20, random_state=0, device="cpu", correlation="per_unit")


def test_fit_transform_shapes_and_types(two_views):
    X, Y = two_views
    est = CorrNet(**FAST).fit(X, Y)
    assert est.n_features_in_ == 7 and est.n_features_y_ == 5
    for kw in ({"X": X}, {"Y": Y}, {"X": X, "Y": Y}):
        H = est.transform(**kw)
        assert H.shape == (120, 4) and H.dtype == np.float32
    assert est.fit_transform(X, Y).shape == (120, 4)
    Xh, Yh = est.reconstruct(X=X)
    assert Xh.shape == X.shape and Yh.shape == Y.shape
    assert est.generate(X=X).shape == Y.shape and est.generate(Y=Y).shape == X.shape
    assert len(est.history_) == 3 and est.n_epochs_ == 3
    assert {"loss", "recon_both", "recon_x", "recon_y", "sum_corr"} <= set(est.history_[0])


def test_transform_from_one_view_equals_zero_other_view(two_views):
    X, Y = two_views
    est = CorrNet(**FAST).fit(X, Y)
    np.testing.assert_array_equal(est.transform(X=X), est.transform(X=X, Y=np.zeros_like(Y)))
    np.testing.assert_array_equal(est.transform(Y=Y), est.transform(X=np.zeros_like(X), Y=Y))


def test_same_seed_identical_weights_different_seed_differs(two_views):
    X, Y = two_views
    a, b = CorrNet(**FAST).fit(X, Y), CorrNet(**FAST).fit(X, Y)
    c = CorrNet(**{**FAST, "random_state": 1}).fit(X, Y)
    for (ka, pa), (_, pb) in zip(a.model_.state_dict().items(), b.model_.state_dict().items()):
        assert np.array_equal(pa.numpy(), pb.numpy()), ka
    assert not np.array_equal(a.transform(X=X), c.transform(X=X))


def test_training_increases_test_correlation(two_views):
    X, Y = two_views
    before = CorrNet(**{**FAST, "epochs": 0}).fit(X[:80], Y[:80]).score(X[80:], Y[80:])
    after = CorrNet(**{**FAST, "epochs": 60, "lr": 1e-2}).fit(X[:80], Y[:80]).score(X[80:], Y[80:])
    assert after > before + 0.5, (before, after)


def test_pandas_float64_and_pickle(two_views):
    X, Y = two_views
    Xdf = pd.DataFrame(X.astype(np.float64), columns=[f"a{i}" for i in range(7)])
    est = CorrNet(**FAST).fit(Xdf, Y.astype(np.float64))
    H = est.transform(X=Xdf)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.transform(X=X), H)


def test_clone_get_set_params_and_presets():
    est = CorrNet(n_components=7, lam=3.0)
    c = clone(est)
    assert c.get_params() == est.get_params() and c is not est
    assert c.set_params(lam=1.0).lam == 1.0
    p = CorrNet.paper()
    assert (p.optimizer, p.lr, p.shuffle, p.loss, p.lam, p.tied, p.batch_size, p.epochs) == (
        "rmsprop_original",
        0.01,
        False,
        "half_squared",
        2.0,
        True,
        100,
        50,
    )
    blog = CorrNet.from_preset("seed_blog")
    assert blog.fusion == "sum" and blog.lam > 0  # the sign is fixed: lam weights -sum corr
    with pytest.raises(ValueError, match="unknown preset"):
        CorrNet.from_preset("nope")


def test_grid_search_over_lam_and_cross_val_score(two_views):
    X, Y = two_views
    gs = GridSearchCV(CorrNet(**FAST), {"lam": [0.5, 2.0]}, cv=KFold(2)).fit(X, Y)
    assert gs.best_params_["lam"] in (0.5, 2.0)
    assert np.isfinite(gs.best_score_)
    scores = cross_val_score(CorrNet(**FAST), X, Y, cv=KFold(3))
    assert scores.shape == (3,) and np.isfinite(scores).all()


@pytest.mark.parametrize(
    "X,Y,match",
    [
        (np.ones((10, 3)), np.ones((9, 2)), "same number of rows"),
        (np.full((10, 3), np.nan), np.ones((10, 2)), "NaN or infinity"),
        (np.ones((10, 3)), np.full((10, 2), np.inf), "NaN or infinity"),
        (np.ones((1, 3)), np.ones((1, 2)), "too few rows"),
        (np.array([["a", "b"], ["c", "d"]]), np.ones((2, 2)), "non-numeric"),
        (None, np.ones((2, 2)), "X is None"),
        (np.zeros((0, 3)), np.zeros((0, 2)), "too few rows"),
        (np.ones((5, 3)), np.random.default_rng(0).random((5, 2)), "every column of X is constant"),
    ],
)
def test_bad_inputs_raise_clear_errors(X, Y, match):
    """Mismatched rows, NaN/inf, empty, single-row, non-numeric, missing and all-constant views."""
    with pytest.raises(ValueError, match=match):
        CorrNet(**FAST).fit(X, Y)


def test_wrong_width_at_transform_and_unfitted(two_views):
    X, Y = two_views
    with pytest.raises(Exception, match="not fitted"):
        CorrNet().transform(X=X)
    est = CorrNet(**FAST).fit(X, Y)
    with pytest.raises(ValueError, match="fitted with 7 features"):
        est.transform(X=X[:, :6])
    with pytest.raises(ValueError, match="fitted with 5 features"):
        est.generate(Y=X)
    with pytest.raises(ValueError, match="at least one view"):
        est.transform()
    with pytest.raises(ValueError, match="exactly one view"):
        est.generate(X=X, Y=Y)


@pytest.mark.parametrize(
    "param,value",
    [("loss", "l1"), ("optimizer", "newton"), ("batch_size", 1), ("n_components", 0), ("lam", -1.0), ("scale", "log")],
)
def test_bad_params_raise(two_views, param, value):
    X, Y = two_views
    with pytest.raises(ValueError, match=param):
        CorrNet(**{**FAST, param: value}).fit(X, Y)


def test_validation_history_and_early_stopping(two_views):
    X, Y = two_views
    est = CorrNet(
        **{**FAST, "epochs": 40, "early_stopping": True, "patience": 2, "validation_fraction": 0.25, "lr": 0.05}
    ).fit(X, Y)
    assert est.n_features_in_ == 7
    assert "val_sum_corr" in est.history_[0]
    assert est.best_epoch_ is not None and est.best_epoch_ <= est.n_epochs_
    best = max(r["val_mrr"] for r in est.history_)  # monitor="auto": the validation retrieval MRR
    assert est.history_[est.best_epoch_ - 1]["val_mrr"] == best


def test_divergence_rolls_back_and_explains(two_views):
    X, Y = two_views
    est = CorrNet(
        **{
            **FAST,
            "epochs": 20,
            "optimizer": "sgd",
            "lr": 1e6,
            "hidden_activation": "linear",
            "output_activation": "linear",
        }
    )
    with pytest.raises(DivergenceError, match="Lower lr"):
        est.fit(X * 1e3, Y)
    # the model that remains holds finite weights from the last good epoch
    assert all(np.isfinite(p.detach().numpy()).all() for p in est.model_.parameters())


def test_scaling_round_trip(two_views):
    X, Y = two_views
    Xs, Ys = X * 100 + 5, Y * 3 - 1
    est = CorrNet(**{**FAST, "scale": "minmax"}).fit(Xs, Ys)
    Xh, _ = est.reconstruct(X=Xs, Y=Ys)
    assert Xh.min() >= Xs.min() - 1e-3 and Xh.max() <= Xs.max() + 1e-3  # sigmoid range mapped back


def test_default_is_untied_and_paper_preset_is_tied():
    assert CorrNet().tied is False and CorrNet.paper().tied is True


CPU = dict(device="cpu", random_state=0, correlation="per_unit")


def _three(n=150):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(n, 2))
    return [(1 / (1 + np.exp(-(z @ rng.normal(size=(2, d)))))).astype(np.float32) for d in (5, 4, 3)]


def test_one_row_can_be_transformed():
    views = _three(60)
    est = MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit(views)
    assert est.transform([views[0][:1], None, None]).shape == (1, 2)


def test_cpu_estimators_are_deterministic_by_sklearn_tag():
    assert CorrNet(device="cpu").__sklearn_tags__().non_deterministic is False
    assert CorrNet(device="cuda").__sklearn_tags__().non_deterministic is True


def test_view_errors_name_the_view(two_views):
    X, Y = two_views
    est = CorrNet(2, epochs=1, tol=None, **CPU).fit(X, Y)
    with pytest.raises(ValueError, match=r"^X has 6 features, but CorrNet is expecting 7"):
        est.transform(X=X[:, :6])
    with pytest.raises(ValueError, match=r"^Y has 7 features, but CorrNet is expecting 5"):
        est.transform(Y=X)
    with pytest.raises(ValueError, match=r"^pass at least one view: X=\.\.\., Y=\.\.\. or both\.$"):
        est.transform()
    with pytest.raises(ValueError, match=r"at least 2 paired rows: correlations\(X, Y\)\.$"):
        est.correlations(X[:1], Y[:1])


def test_validation_fraction_leaves_at_least_two_rows_each_side(two_views):
    X, Y = two_views
    CorrNet(2, epochs=1, tol=None, validation_fraction=0.8, **CPU).fit(X[:10], Y[:10])  # 8 + 2: allowed
    with pytest.raises(ValueError, match=r"validation_fraction=0.9 leaves 9 validation and 1 training rows"):
        CorrNet(2, epochs=1, tol=None, validation_fraction=0.9, **CPU).fit(X[:10], Y[:10])


def test_validation_views_are_checked_and_scaled(two_views):
    X, Y = two_views
    kw = dict(n_components=2, epochs=2, tol=None, scale="standard", **CPU)
    est = CorrNet(**kw)
    with pytest.raises(ValueError, match=r"^X_val has 6 features, but CorrNet is expecting 7"):
        est.fit(X[:80], Y[:80], validation_data=(X[80:, :6], Y[80:]))
    # validation metrics are computed in the model's (scaled) units: an affine change of the columns
    # of every view, training and validation alike, leaves them unchanged
    a = CorrNet(**kw).fit(X[:80], Y[:80], validation_data=(X[80:], Y[80:])).history_
    b = CorrNet(**kw).fit(9 * X[:80] + 2, 7 * Y[:80] - 1, validation_data=(9 * X[80:] + 2, 7 * Y[80:] - 1)).history_
    for ra, rb in zip(a, b):
        assert ra["val_sum_corr"] == pytest.approx(rb["val_sum_corr"], abs=1e-4)
        assert ra["val_generation"] == pytest.approx(rb["val_generation"], rel=1e-3)
    one = CorrNet(**kw).fit(X[:80], Y[:80, 0], validation_data=(X[80:], Y[80:, 0]))  # 1-D Y and Y_val
    assert "val_sum_corr" in one.history_[-1]


def test_a_one_dimensional_sparse_y_is_one_feature_like_a_dense_one(two_views):
    """A 1-D scipy sparse array is read as one column, as a 1-D numpy Y is (it used to fail with
    numpy's 'setting an array element with a sequence')."""
    import scipy.sparse as sp

    from corrnet.data import check_view

    X, Y = two_views
    y = Y[:, 0].copy()
    y[::3] = 0.0
    col = check_view(sp.coo_array(y), "Y", allow_1d=True)
    assert sp.issparse(col) and col.shape == (len(y), 1)
    np.testing.assert_array_equal(col.toarray()[:, 0], y)
    kw = dict(n_components=2, epochs=2, tol=None, optimizer="adam", **CPU)
    dense = CorrNet(**kw).fit(X, y)
    sparse = CorrNet(**kw).fit(X, sp.coo_array(y))
    assert sparse.n_features_y_ == dense.n_features_y_ == 1
    np.testing.assert_allclose(sparse.transform(X), dense.transform(X), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "A, head, tail",
    [
        (
            np.array([["a", "b"], ["c", "d"]]),
            "X holds non-numeric data (",
            "). Encode categorical or text columns as numbers first (e.g. sklearn.preprocessing.OneHotEncoder) "
            "or drop them.",
        ),
        (
            np.array([[0.0, np.nan], [1.0, 2.0]]),
            "X contains NaN or infinity (",
            "). Impute or drop those rows first (e.g. sklearn.impute.SimpleImputer).",
        ),
        (
            np.ones((1, 3)),
            "X has too few rows (",
            "). CorrNet needs at least 2 paired rows: the correlation term is computed across rows.",
        ),
    ],
)
def test_bad_views_are_refused_with_the_fix(A, head, tail):
    """check_view's refusals: sklearn's reason in brackets, then what to do, word for word."""
    from corrnet.data import check_view

    with pytest.raises(ValueError) as err:
        check_view(A, "X", min_rows=2)
    msg = str(err.value)
    assert msg.startswith(head) and msg.endswith(tail)


def test_fit_warnings_point_at_the_callers_line(two_views):
    """ConvergenceWarning and FitWarning name the user's line, not corrnet's (stacklevel through the
    shared fit path), for both estimators."""
    X, Y = two_views
    for fit in (
        lambda: CorrNet(2, epochs=1, **CPU).fit(X, Y),
        lambda: MultiViewCorrNet(2, epochs=1, **CPU).fit([X, Y]),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit()
        assert caught and {w.filename for w in caught} == {__file__}
        assert {w.lineno for w in caught} == {fit.__code__.co_firstlineno}  # the .fit( line, not its caller's
