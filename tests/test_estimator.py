"""The scikit-learn contract, input validation, determinism and the demo."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from corrnet import CorrNet
from corrnet.training import DivergenceError

FAST = dict(n_components=4, epochs=3, batch_size=20, random_state=0, device="cpu")


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
    [("loss", "l1"), ("optimizer", "lbfgs"), ("batch_size", 1), ("n_components", 0), ("lam", -1.0), ("scale", "log")],
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
    best = max(r["val_sum_corr"] for r in est.history_)
    assert est.history_[est.best_epoch_ - 1]["val_sum_corr"] == best


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
