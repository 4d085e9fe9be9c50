"""Units: everything a view comes back as is in that view's own units, whatever the other views are.

A naive reference scales each view by hand from the documented ``scale="auto"`` rule (a view in
[0, 1] is left alone; a dense view is standardised, a constant column kept at scale 1; a sparse
view is divided by each column's max |value|), runs the module directly, and undoes the view's own
scaling by hand. ``transform``, ``reconstruct`` and ``generate`` of both estimators, the CLI's
``generate`` and the ONNX graphs must all agree with it, for every mix of views: in [0, 1], raw
(far from [0, 1]), sparse in [0, 1], sparse raw, 1-D, float64.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import scipy.sparse as sp
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from corrnet import CorrNet, MultiViewCorrNet
from corrnet.cli import main
from corrnet.export import export_onnx

N = 40
KINDS = ("unit", "raw", "sparse", "sparse_raw", "float64", "1d")
FIT = dict(epochs=2, batch_size=20, tol=None, random_state=0, device="cpu", correlation="per_unit")


def _view(kind: str, d: int, rng: np.random.Generator):
    if kind == "unit":
        return rng.random((N, d)).astype(np.float32)
    if kind == "raw":  # mean 100, sd 10 (one column constant: its scale stays 1)
        A = rng.normal(100, 10, (N, d)).astype(np.float32)
        A[:, 0] = 7.0 if d > 1 else A[:, 0]
        return A
    if kind == "float64":
        return rng.normal(-5, 3, (N, d))
    if kind == "1d":
        return rng.normal(50, 20, N).astype(np.float32)
    A = rng.random((N, d)) * (rng.random((N, d)) < 0.5)
    A[0] = 1.0  # no empty column
    return sp.csr_matrix((A * (60 if kind == "sparse_raw" else 1)).astype(np.float32))


def _dense(A) -> np.ndarray:
    A = A.toarray() if sp.issparse(A) else np.asarray(A)
    return A.reshape(A.shape[0], -1).astype(np.float64)


def _reference_scaling(A) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale) with ``scaled = (x - shift) / scale``, by hand from the documented rule."""
    D = _dense(A)
    d = D.shape[1]
    if D.min() >= 0 and D.max() <= 1:
        return np.zeros(d), np.ones(d)
    if sp.issparse(A):
        m = np.abs(D).max(0)
        return np.zeros(d), np.where(m > 0, m, 1.0)
    sd = D.std(0)
    return D.mean(0), np.where(sd > 1e-30, sd, 1.0)


def _reference(model, train_views, inputs, out_view):
    """codes (n, k) and view ``out_view`` decoded, in its own units, from ``inputs`` (None = absent)."""
    ref = [_reference_scaling(A) for A in train_views]
    xs = [
        None if A is None else torch.tensor((_dense(A) - s) / a, dtype=torch.float32) for A, (s, a) in zip(inputs, ref)
    ]
    with torch.inference_mode():
        h = model.encode(xs)
        out = model.decode(h)[out_view].double().numpy()
    s, a = ref[out_view]
    return h.numpy(), out * a + s


def _close(got, want, view):
    spread = max(1.0, float(np.abs(_dense(view)).max()))
    np.testing.assert_allclose(_dense(got), want, rtol=1e-4, atol=1e-4 * spread)


def _pair(kx: str, ky: str, seed: int):
    rng = np.random.default_rng(seed)
    X = _view("raw" if kx == "1d" else kx, 3, rng)  # CorrNet's X is 2-D; a 1-D view is Y's
    return X, _view(ky, 2, rng)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kx=st.sampled_from(KINDS), ky=st.sampled_from(KINDS), seed=st.integers(0, 1000))
def test_two_views_come_back_in_their_own_units(kx, ky, seed):
    X, Y = _pair(kx, ky, seed)
    est = CorrNet(3, **FIT).fit(X, Y)
    m = est.model_
    for given_x, given_y in ((X, None), (None, Y), (X, Y)):
        h, x_want = _reference(m, [X, Y], [given_x, given_y], 0)
        _, y_want = _reference(m, [X, Y], [given_x, given_y], 1)
        np.testing.assert_allclose(est.transform(X=given_x, Y=given_y), h, rtol=1e-4, atol=1e-5)
        x_hat, y_hat = est.reconstruct(X=given_x, Y=given_y)
        _close(x_hat, x_want, X)
        _close(y_hat, y_want, Y)
    _close(est.generate(X=X), _reference(m, [X, Y], [X, None], 1)[1], Y)
    _close(est.generate(Y=Y), _reference(m, [X, Y], [None, Y], 0)[1], X)
    # N = 2 MultiViewCorrNet, and a third view of another kind: each view in its own units
    Z = _view(kx, 2, np.random.default_rng(seed + 1))
    mv = MultiViewCorrNet(3, **FIT).fit([X, Y, Z])
    for out in range(3):
        given_views = [X, None, None] if out else [None, Y, None]
        _close(
            mv.generate(given_views, view=out), _reference(mv.model_, [X, Y, Z], given_views, out)[1], [X, Y, Z][out]
        )


@pytest.mark.slow
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(kx=st.sampled_from(KINDS), ky=st.sampled_from(KINDS), seed=st.integers(0, 1000))
@example(kx="sparse_raw", ky="unit", seed=0)  # a sparse-input model's graphs, always
@example(kx="unit", ky="raw", seed=0)  # the issue's mix, always
def test_cli_and_onnx_give_each_view_in_its_own_units(tmp_path_factory, kx, ky, seed):
    """``corrnet generate`` on a saved model and the exported ONNX graphs (a sparse-input model's
    graphs take the dense rows)."""
    d = tmp_path_factory.mktemp("units")
    X, Y = _pair(kx, ky, seed)
    est = CorrNet(3, **FIT).fit(X, Y)
    est.save(d / "m")
    Xd, Yd = _dense(X).astype(np.float32), _dense(Y).astype(np.float32)
    np.save(d / "x.npy", Xd)
    np.save(d / "y.npy", Yd)
    for flag, src, out_view, truth in (("--x", "x.npy", 1, Y), ("--y", "y.npy", 0, X)):
        r = CliRunner().invoke(main, ["generate", str(d / "m"), flag, str(d / src), "--out", str(d / "g.npy")])
        assert r.exit_code == 0, r.output
        given_views = [X, None] if out_view else [None, Y]
        _close(np.load(d / "g.npy"), _reference(est.model_, [X, Y], given_views, out_view)[1], truth)
    paths = export_onnx(est, d / "onnx")
    enc = ort.InferenceSession(str(paths["encode_x"]))
    dec = ort.InferenceSession(str(paths["decode"]))
    (h,) = enc.run(None, {"x": Xd})
    x_hat, y_hat = dec.run(None, {"h": h})
    _close(x_hat, _reference(est.model_, [X, Y], [X, None], 0)[1], X)
    _close(y_hat, _reference(est.model_, [X, Y], [X, None], 1)[1], Y)


def test_the_issue_example_generates_in_y_units():
    """Issue 23's report, as written: X in [0, 1] left alone, Y (mean 100, sd 10) standardised."""
    rng = np.random.default_rng(0)
    X = rng.random((200, 6)).astype(np.float32)
    Y = (100 + 10 * rng.normal(size=(200, 3))).astype(np.float32)
    m = CorrNet(3, epochs=20, random_state=0, device="cpu").fit(X, Y)
    assert abs(m.generate(X=X).mean() - 100) < 10
    assert abs(CorrNet(3, epochs=20, random_state=0, device="cpu").fit(Y, X).generate(Y=X).mean() - 100) < 10
