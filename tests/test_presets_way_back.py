"""Every preset x every way back into a fitted model: save/load, resume from a checkpoint, each CLI
command that opens a model directory, and MultiViewCorrNet. On a small table a preset's settings are
resolved from the data (``min_steps`` raises ``epochs``; ``"auto"`` settings take values), so the
saved config differs from the parameters; on a larger one ``min_steps`` changes nothing. A model
that fits must open again, whatever its settings resolved to."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.datasets import load_digits

from corrnet import CorrNet, MultiViewCorrNet
from corrnet.cli import main
from corrnet.config import PRESETS, Config
from corrnet.persistence import ModelFormatError

# the canonical presets' min_steps at a tenth (30 steps, to keep the grid fast): on 200 rows (one batch
# of their 800) it raises their 10 epochs to 30; on 600 rows in batches of 20 (30 steps an epoch) it
# changes nothing
SIZES = {"small": (200, {}), "large": (600, {"batch_size": 20})}


def _digits(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = load_digits()
    X = (d.data[:n] / 16).astype(np.float32)
    return X[:, :32], X[:, 32:], d.target[:n]


def _overrides(name: str, size: str) -> dict:
    """Narrow encoders (every preset's structure kept), 4 components, the size's batch."""
    out = {"n_components": 4, "random_state": 0}
    if PRESETS[name].get("min_steps"):
        out.update(min_steps=30, **SIZES[size][1])
    layers = PRESETS[name].get("encoder_layers")
    if layers:
        out["encoder_layers"] = tuple(16 for _ in layers)
    return out


def _cli(*args) -> str:
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.output


def _same_weights(a, b) -> None:
    for (k, v), w in zip(a.model_.state_dict().items(), b.model_.state_dict().values()):
        np.testing.assert_array_equal(v.numpy(), w.numpy(), err_msg=k)


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_comes_back_every_way(name, size, tmp_path):
    n = SIZES[size][0]
    X, Y, labels = _digits(n)
    kw = _overrides(name, size)
    est = CorrNet.from_preset(name, **kw).fit(X, Y, checkpoint_dir=tmp_path / "ck")
    if PRESETS[name].get("min_steps"):  # the grid covers both regimes of min_steps
        assert (est.config_.epochs > est.epochs) == (size == "small")

    # save / load
    est.save(tmp_path / "m")
    back = CorrNet.load(tmp_path / "m")
    assert back.get_params() == est.get_params() and back.config_ == est.config_
    _same_weights(est, back)
    np.testing.assert_array_equal(back.transform(X=X), est.transform(X=X))

    # resume: the finished run continues from its last checkpoint to the same weights
    again = CorrNet.from_preset(name, **kw).fit(X, Y, checkpoint_dir=tmp_path / "ck", resume=True)
    _same_weights(est, again)

    # every CLI command that opens a model directory
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    np.save(tmp_path / "labels.npy", labels)
    m = tmp_path / "m"
    assert json.loads(_cli("info", m, "--json"))["epochs_run"] == est.n_epochs_
    _cli("transform", m, "--x", tmp_path / "x.npy", "--out", tmp_path / "h.npy")
    np.testing.assert_allclose(np.load(tmp_path / "h.npy"), est.transform(X=X), rtol=1e-6, atol=1e-6)
    _cli("generate", m, "--x", tmp_path / "x.npy", "--out", tmp_path / "g.npy")
    assert np.load(tmp_path / "g.npy").shape == Y.shape
    ev = json.loads(_cli("evaluate", m, "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--json"))
    assert np.isfinite(ev["sum_corr"])
    _cli("report", m, "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--out", tmp_path / "rep")
    assert (tmp_path / "rep" / "index.html").stat().st_size > 10_000
    _cli("export", m, "--out", tmp_path / "onnx")
    assert list((tmp_path / "onnx").glob("*.onnx"))


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_comes_back_in_multiview(name, size, tmp_path):
    """N views where the preset applies: three views, or two for the canonical objective (two-view)."""
    X, Y, _ = _digits(SIZES[size][0])
    views = [X, Y] if PRESETS[name].get("correlation") == "canonical" else [X, Y[:, :16], Y[:, 16:]]
    kw = _overrides(name, size)
    est = MultiViewCorrNet.from_preset(name, **kw).fit(views, checkpoint_dir=tmp_path / "ck")
    est.save(tmp_path / "m")
    back = MultiViewCorrNet.load(tmp_path / "m")
    assert back.get_params() == est.get_params() and back.config_ == est.config_
    _same_weights(est, back)
    again = MultiViewCorrNet.from_preset(name, **kw).fit(views, checkpoint_dir=tmp_path / "ck", resume=True)
    _same_weights(est, again)


def test_cli_trains_the_canonical_preset_on_a_small_table_and_reopens_it(tmp_path):
    """The documented command: ``corrnet train --preset canonical`` on 300 rows, then ``info``."""
    X, Y, _ = _digits(300)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    m = tmp_path / "m"
    _cli(
        "train",
        "--x",
        tmp_path / "x.npy",
        "--y",
        tmp_path / "y.npy",
        "--preset",
        "canonical",
        "--out",
        m,
        "--set",
        "encoder_layers=[16,16]",
        "--components",
        4,
        "-q",
    )
    assert json.loads(_cli("info", m, "--json"))["epochs_run"] == 300  # min_steps: 300 steps of one batch
    assert CorrNet.load(m).get_params()["epochs"] == 10


def _resolution(given: dict, concrete: dict) -> list[str]:
    return Config(**given).unresolved_fields(Config(**concrete))


def test_resolved_settings_are_told_from_tampered_ones():
    """What fitting can change (auto settings; epochs raised by min_steps) loads; nothing else does."""
    assert _resolution({"epochs": 2, "min_steps": 10, "optimizer": "adam"}, {"epochs": 5, "min_steps": 10}) == []
    assert _resolution({"lam": "auto", "lr": "auto"}, {"lam": 0.5, "lr": 3e-3}) == []
    # min_steps never lowers epochs, and without min_steps epochs is the parameter
    assert _resolution({"epochs": 5, "min_steps": 10}, {"epochs": 4, "min_steps": 10}) == ["epochs"]
    assert _resolution({"epochs": 5}, {"epochs": 6}) == ["epochs"]
    assert _resolution({"lam": 2.0, "n_components": 4}, {"lam": 0.5, "n_components": 5}) == ["n_components", "lam"]


def test_a_tampered_epoch_count_is_still_refused(tmp_path):
    X, Y, _ = _digits(200)
    kw = dict(n_components=4, optimizer="adam", epochs=2, min_steps=10, tol=None, correlation="per_unit")
    CorrNet(**kw).fit(X, Y).save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["config"]["epochs"] == 5 and meta["params"]["epochs"] == 2  # resolved, and it loads
    CorrNet.load(tmp_path / "m")
    meta["params"]["epochs"] = 7  # more than the run could have resolved to
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match=r"disagree on \['epochs'\]"):
        CorrNet.load(tmp_path / "m")
