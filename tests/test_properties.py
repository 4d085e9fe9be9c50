"""Property-based tests (hypothesis) over shapes, dtypes and value ranges."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from corrnet import CorrNet
from corrnet.cli import main

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def views(draw):
    n = draw(st.integers(2, 25))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    X = draw(arrays(dtype, (n, draw(st.integers(1, 6))), elements=finite))
    Y = draw(arrays(dtype, (n, draw(st.integers(1, 6))), elements=finite))
    return X, Y


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(views(), st.sampled_from([None, "standard", "minmax"]), st.integers(1, 4))
def test_estimator_outputs_are_finite_and_shaped(v, scale, k):
    X, Y = v
    est = CorrNet(n_components=k, epochs=1, batch_size=8, scale=scale, random_state=0, device="cpu")
    if np.all(X == X[:1]) or np.all(Y == Y[:1]):
        with pytest.raises(ValueError, match="constant"):
            est.fit(X, Y)
        return
    est.fit(X, Y)
    for H in (est.transform(X=X), est.transform(Y=Y), est.transform(X, Y)):
        assert H.shape == (len(X), k) and np.isfinite(H).all()
    Xh, Yh = est.reconstruct(X=X)
    assert Xh.shape == X.shape and Yh.shape == Y.shape and np.isfinite(Xh).all() and np.isfinite(Yh).all()
    assert np.isfinite(est.score(X, Y)) and abs(est.score(X, Y)) <= k + 1e-4


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_x=st.integers(0, 6), n_y=st.integers(0, 6), dx=st.integers(1, 3), poison=st.sampled_from([None, np.nan, np.inf])
)
def test_cli_train_succeeds_or_fails_cleanly(n_x, n_y, dx, poison):
    with tempfile.TemporaryDirectory() as d:
        _cli_case(Path(d), n_x, n_y, dx, poison)


def _cli_case(tmp_path, n_x, n_y, dx, poison):
    X = np.random.default_rng(0).random((n_x, dx))
    Y = np.random.default_rng(1).random((n_y, 2))
    if poison is not None and n_x:
        X[0, 0] = poison
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    r = CliRunner().invoke(
        main,
        [
            "train",
            "--x",
            str(tmp_path / "x.npy"),
            "--y",
            str(tmp_path / "y.npy"),
            "--out",
            str(tmp_path / "m"),
            "--epochs",
            "1",
            "--components",
            "2",
            "-q",
        ],
    )
    ok = n_x == n_y >= 2 and poison is None
    assert r.exit_code == (0 if ok else 2), r.output
    if not ok:
        assert r.output.startswith("error: ") and not (tmp_path / "m").exists()
