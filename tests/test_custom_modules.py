"""Encoders and decoders given as ``nn.Module``s: the same model as the built-in layers when they are
the same layers, every input kind and estimator, persistence that runs no code, clear errors."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from torch import nn

from corrnet import Config, CorrNet, CorrNetModule, MultiViewCorrNet
from corrnet.persistence import ModelFormatError


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    X = 1 / (1 + np.exp(-(z @ rng.normal(size=(2, 7)) + 0.3 * rng.normal(size=(n, 7)))))
    Y = 1 / (1 + np.exp(-(z @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(n, 5)))))
    return X.astype(np.float32), Y.astype(np.float32)


class MLP(nn.Module):
    """A two-layer encoder (importable: the tests build it again to load a model)."""

    def __init__(self, d_in: int = 7, k: int = 3, width: int = 16, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(d_in, width), nn.Tanh(), nn.Linear(width, k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Other(MLP):
    pass


# fixed-length, per-unit objective, minibatch Adam, autograd: what a custom module trains with
FIXED = dict(
    epochs=3, tol=None, optimizer="adam", batch_size=40, engine="autograd", device="cpu", random_state=0,
    validation_fraction=None, early_stopping=False,
)


@pytest.mark.parametrize("correlation", ["per_unit", "canonical"])
def test_the_built_in_layers_given_as_modules_train_to_the_same_weights(correlation):
    """Custom encoders and decoders that are the built-in single layers, with the built-in initial
    weights, fit exactly as the built-in model does: the extension point changes nothing else."""
    X, Y = _data()
    params = dict(FIXED, correlation=correlation, encoder_layers=(), hidden_activation="sigmoid", lam=2.0)
    built_in = CorrNet(3, **params).fit(X, Y)
    seed = built_in._seed()  # the built-in fit's initial weights: its module's seed, from random_state
    start = CorrNetModule((7, 5), built_in.config_, torch.Generator().manual_seed(seed))
    encs = [nn.Linear(d, 3, bias=False) for d in (7, 5)]
    decs = [nn.Linear(3, d) for d in (7, 5)]
    with torch.no_grad():
        for mine, theirs in zip(encs, start.encoders):
            mine.weight.copy_(theirs.proj.weight)
        for mine, theirs in zip(decs, start.decoders):
            mine.weight.copy_(theirs.out.weight)
            mine.bias.copy_(theirs.out.bias)
    custom = CorrNet(3, encoders=encs, decoders=decs, **params).fit(X, Y)
    for a, b in zip(built_in.history_, custom.history_):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    np.testing.assert_allclose(custom.transform(X=X), built_in.transform(X=X), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(custom.generate(Y=Y), built_in.generate(Y=Y), rtol=1e-4, atol=1e-5)


def test_fit_trains_a_copy_and_leaves_the_given_modules_as_they_were():
    X, Y = _data()
    encs = [MLP(7, seed=0), MLP(5, seed=1)]
    before = [{k: v.clone() for k, v in m.state_dict().items()} for m in encs]
    est = CorrNet(3, encoders=encs, **FIXED).fit(X, Y)
    for m, sd in zip(encs, before):
        for k, v in m.state_dict().items():
            torch.testing.assert_close(v, sd[k], rtol=0, atol=0)
    trained = est.model_.encoders[0].module
    assert isinstance(trained, MLP) and trained is not encs[0]
    assert not torch.equal(trained.net[0].weight, encs[0].net[0].weight)
    assert est.engine_ == "autograd" and est.transform(X=X).shape == (120, 3)
    assert np.isfinite(est.score(X, Y))
    assert clone(est).get_params()["encoders"][0] is not encs[0]  # clone copies the modules too


def test_a_custom_model_saves_and_loads_with_its_modules_built_again(tmp_path):
    X, Y = _data()
    est = CorrNet(3, encoders=[MLP(7, seed=0), None], decoders=[None, MLP(3, 5, seed=2)], **FIXED).fit(X, Y)
    est.save(tmp_path / "m")
    back = CorrNet.load(tmp_path / "m", encoders=[MLP(7, seed=5), None], decoders=[None, MLP(3, 5, seed=6)])
    np.testing.assert_array_equal(back.transform(X=X), est.transform(X=X))
    np.testing.assert_array_equal(back.generate(X=X), est.generate(X=X))
    with pytest.raises(ModelFormatError, match=r"custom encoders \(encoders\[0\]: test_custom_modules.MLP\)"):
        CorrNet.load(tmp_path / "m")  # loading runs no code: it cannot build them itself
    with pytest.raises(ModelFormatError, match="same classes"):
        CorrNet.load(tmp_path / "m", encoders=[Other(7), None], decoders=[None, MLP(3, 5)])
    with pytest.raises(ModelFormatError, match="size mismatch"):
        CorrNet.load(tmp_path / "m", encoders=[MLP(7, width=8), None], decoders=[None, MLP(3, 5)])


def test_custom_encoders_take_single_view_rows_sparse_views_and_n_views():
    X, Y = _data()
    encs = [MLP(7, seed=0), MLP(5, seed=1)]
    semi = CorrNet(3, encoders=encs, **FIXED).fit(X[:60], Y[:60], X_unpaired=X[60:], Y_unpaired=Y[60:])
    assert semi.unpaired_strategy_ == "pretrain" and np.isfinite(semi.generate(X=X)).all()
    # a sparse view reaches its encoder dense; its custom decoder decodes every column
    Xs = sp.csr_matrix(np.where(X > 0.6, X, 0))
    est = CorrNet(3, encoders=encs, decoders=[MLP(3, 7, seed=3), None], **FIXED).fit(Xs, Y)
    assert np.isfinite(est.transform(X=Xs)).all() and est.generate(Y=Y).shape == (120, 7)
    # the canonical objective's default on sparse views (a linear output, the error from the
    # non-zeros) keeps the exact error for a built-in decoder beside a custom encoder
    canon = CorrNet(3, encoders=[MLP(7, seed=0), None], **FIXED, correlation="canonical").fit(Xs, Y)
    assert canon.config_.output_activation == "linear" and np.isfinite(canon.history_[-1]["loss"])
    # N views with row masks
    Z = (X[:, :4] + Y[:, :4]) / 2
    masks = [None, np.arange(120) % 3 != 0, np.arange(120) % 3 != 1]
    mv = MultiViewCorrNet(3, encoders=[MLP(7), None, MLP(4, seed=2)], epochs=3, tol=None, device="cpu",
                          random_state=0).fit([X, Y, Z], masks=masks)
    assert mv.transform([None, None, Z]).shape == (120, 3)


def test_a_wrong_module_is_a_clear_error():
    X, Y = _data()
    with pytest.raises(ValueError, match=r"encoders\[1\] returned shape \(40, 4\).*\(40, 3\)"):
        CorrNet(3, encoders=[MLP(7), MLP(5, k=4)], **FIXED).fit(X, Y)
    with pytest.raises(ValueError, match=r"decoders\[0\] returned shape"):
        CorrNet(3, decoders=[MLP(3, 6), None], **FIXED).fit(X, Y)
    with pytest.raises(ValueError, match="list of 2 entries"):
        CorrNet(3, encoders=[MLP(7)], **FIXED).fit(X, Y)
    with pytest.raises(ValueError, match=r"encoders\[0\] is a str"):
        CorrNet(3, encoders=["mlp", None], **FIXED).fit(X, Y)
    with pytest.raises(ValueError, match="tied=True"):
        CorrNetModule((7, 5), Config(n_components=3, tied=True), encoders=[MLP(7), None])


def test_onnx_graphs_of_a_custom_model_give_its_codes_and_generations(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from corrnet.export import export_onnx

    X, Y = _data()
    est = CorrNet(3, encoders=[MLP(7), None], decoders=[None, MLP(3, 5, seed=2)], **FIXED).fit(X, Y)
    paths = export_onnx(est, tmp_path / "onnx")
    for name, inputs, want in (("encode_x", X, est.transform(X=X)), ("generate_y", X, est.generate(X=X))):
        session = ort.InferenceSession(str(paths[name]))
        got = session.run(None, {session.get_inputs()[0].name: inputs})[0]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
