"""Model directories, tampered files, atomic writes, checkpoints and kill-and-resume."""

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import corrnet
from corrnet import CorrNet, MultiViewCorrNet, persistence
from corrnet.persistence import ModelFormatError

FAST = dict(n_components=4, epochs=3, batch_size=20, random_state=0, device="cpu", optimizer="adam")


@pytest.fixture
def fitted(two_views):
    X, Y = two_views
    return CorrNet(**{**FAST, "scale": "standard", "encoder_layers": (6,)}).fit(X, Y), X, Y


def test_save_load_round_trip(fitted, tmp_path):
    est, X, Y = fitted
    est.save(tmp_path / "m", metrics={"sum_corr": 1.5})
    back = CorrNet.load(tmp_path / "m")
    np.testing.assert_array_equal(back.transform(X=X), est.transform(X=X))
    np.testing.assert_array_equal(back.generate(Y=Y), est.generate(Y=Y))
    assert back.get_params() == est.get_params()
    assert back.history_ == est.history_ and back.metrics_ == {"sum_corr": 1.5}
    assert sorted(os.listdir(tmp_path)) == ["m"]  # no temporary leftovers
    assert sorted(os.listdir(tmp_path / "m")) == ["model.json", "weights.safetensors"]


@pytest.mark.parametrize("enc,dec", [((6,), ()), ((), (5, 3))])
def test_decoder_layers_round_trip(two_views, tmp_path, enc, dec):
    X, Y = two_views
    est = CorrNet(**FAST, tied=False, encoder_layers=enc, decoder_layers=dec).fit(X, Y)
    est.save(tmp_path / "m")
    back = CorrNet.load(tmp_path / "m")
    assert back.decoder_layers == dec and back.config_.decoder_layers == dec
    assert [len(d.hidden) for d in back.model_.decoders] == [len(dec)] * 2
    np.testing.assert_array_equal(back.generate(X=X), est.generate(X=X))


class Boom:
    def __reduce__(self):  # unpickling this would run code
        return (os.system, ("touch PWNED",))


def test_loading_never_executes_code(fitted, tmp_path, monkeypatch):
    est, *_ = fitted
    monkeypatch.chdir(tmp_path)
    est.save(tmp_path / "m")
    (tmp_path / "m" / "weights.safetensors").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ModelFormatError, match="corrupt"):
        CorrNet.load(tmp_path / "m")
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "tamper,match",
    [
        (lambda m: "{not json", "corrupt"),
        (lambda m: json.dumps({**m, "format_version": 99}), "format 99"),
        (lambda m: json.dumps({**m, "n_features_in_": 3}), "consistent"),
        (lambda m: json.dumps({**m, "widths": [3, 5]}), "consistent"),
        (lambda m: json.dumps({**m, "scalers": [None]}), "consistent"),
        (lambda m: json.dumps({**m, "params": {**m["params"], "n_components": 9}}), "consistent"),
        (lambda m: json.dumps({k: v for k, v in m.items() if k != "format_version"}), "format_version"),
    ],
)
def test_tampered_metadata_is_rejected_clearly(fitted, tmp_path, tamper, match):
    est, *_ = fitted
    est.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    (tmp_path / "m" / "model.json").write_text(tamper(meta))
    with pytest.raises(ModelFormatError, match=match):
        CorrNet.load(tmp_path / "m")


def test_truncated_weights_and_missing_dir(fitted, tmp_path):
    est, *_ = fitted
    est.save(tmp_path / "m")
    w = tmp_path / "m" / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:50])
    with pytest.raises(ModelFormatError):
        CorrNet.load(tmp_path / "m")
    with pytest.raises(ModelFormatError, match="not a corrnet model directory"):
        CorrNet.load(tmp_path / "nothing")


def test_a_crash_mid_save_keeps_the_old_model(fitted, tmp_path, monkeypatch):
    est, _, _ = fitted
    est.save(tmp_path / "m")
    before = (tmp_path / "m" / "weights.safetensors").read_bytes()

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(persistence, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        est.save(tmp_path / "m")
    assert (tmp_path / "m" / "weights.safetensors").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m"]


@pytest.mark.parametrize(
    "extra", [{}, {"encoder_layers": (8,), "encoder_activation": "relu", "encoder_norm": "batch"}], ids=["plain", "bn"]
)
def test_resume_extends_training_identically(two_views, tmp_path, extra):
    """BatchNorm's running statistics are part of the checkpoint, and a resumed fit trains in training mode."""
    X, Y = two_views
    fast = {**FAST, **extra}
    full = CorrNet(**{**fast, "epochs": 6}).fit(X, Y)
    CorrNet(**{**fast, "epochs": 3}).fit(X, Y, checkpoint_dir=tmp_path / "ck")
    resumed = CorrNet(**{**fast, "epochs": 6}).fit(X, Y, checkpoint_dir=tmp_path / "ck", resume=True)
    assert [r["loss"] for r in resumed.history_] == [r["loss"] for r in full.history_]
    for a, b in zip(full.model_.state_dict().values(), resumed.model_.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_resume_may_raise_min_steps_like_epochs(two_views, tmp_path):
    """min_steps only raises the epoch count, so a checkpoint resumes under another value of it."""
    from corrnet.plans import batch_starts

    X, Y = two_views
    steps = len(batch_starts(len(X), FAST["batch_size"]))
    full = CorrNet(**{**FAST, "epochs": 6}).fit(X, Y)
    CorrNet(**{**FAST, "epochs": 3}).fit(X, Y, checkpoint_dir=tmp_path / "ck")
    resumed = CorrNet(**{**FAST, "epochs": 3, "min_steps": 6 * steps}).fit(
        X, Y, checkpoint_dir=tmp_path / "ck", resume=True
    )
    assert resumed.epochs_ == 6
    assert [r["loss"] for r in resumed.history_] == [r["loss"] for r in full.history_]


def test_resume_refuses_other_data(two_views, tmp_path):
    X, Y = two_views
    CorrNet(**FAST).fit(X, Y, checkpoint_dir=tmp_path / "ck")
    with pytest.raises(ValueError, match="other data or parameters"):
        CorrNet(**{**FAST, "lam": 1.0}).fit(X, Y, checkpoint_dir=tmp_path / "ck", resume=True)


@pytest.mark.slow
def test_sigkill_mid_training_then_resume_matches_uninterrupted(tmp_path, rng):
    """A real subprocess is SIGKILLed after its first checkpoint; --resume finishes the run."""
    n = 3000
    z = rng.normal(size=(n, 4))
    np.save(tmp_path / "x.npy", (np.tanh(z @ rng.normal(size=(4, 30))) + 1) / 2)
    np.save(tmp_path / "y.npy", (np.tanh(z @ rng.normal(size=(4, 20))) + 1) / 2)
    common = [
        "-m",
        "corrnet",
        "train",
        "--x",
        str(tmp_path / "x.npy"),
        "--y",
        str(tmp_path / "y.npy"),
        "--epochs",
        "12",
        "--components",
        "8",
        "--set",
        "batch_size=10",
        "--device",
        "cpu",
        "-q",
        "--seed",
        "3",
    ]
    ck = tmp_path / "ck"
    proc = subprocess.Popen([sys.executable, *common, "--out", str(tmp_path / "killed"), "--checkpoint-dir", str(ck)])
    deadline = time.time() + 120
    while not (ck / "checkpoint.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # let it get into a later epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed; make it longer"
    done = json.loads((ck / "checkpoint.json").read_text())["epoch"]
    assert 1 <= done < 12
    subprocess.run(
        [sys.executable, *common, "--out", str(tmp_path / "resumed"), "--checkpoint-dir", str(ck), "--resume"],
        check=True,
    )
    subprocess.run([sys.executable, *common, "--out", str(tmp_path / "straight")], check=True)
    a, b = CorrNet.load(tmp_path / "resumed"), CorrNet.load(tmp_path / "straight")
    X = np.load(tmp_path / "x.npy")
    np.testing.assert_allclose(a.transform(X=X), b.transform(X=X), rtol=0, atol=1e-6)
    assert len(a.history_) == 12


def test_written_files_have_ordinary_permissions(fitted, tmp_path):
    from corrnet.report import write_report

    est, *_ = fitted
    est.save(tmp_path / "m")
    assert (tmp_path / "m").stat().st_mode & 0o777 == 0o755
    assert write_report(tmp_path / "r.html", "t", []).stat().st_mode & 0o777 == 0o644


def _as_format_2(d):
    """Rewrite a model directory the way corrnet 0.3.0 wrote a CorrNet (format 2): widths as
    ``n_features_in_``/``n_features_y_``, scalers as ``scaler_x``/``scaler_y``."""
    from safetensors.numpy import load_file, save_file

    meta = json.loads((d / "model.json").read_text())
    tensors = load_file(str(d / "weights.safetensors"))
    names = {"scaler_0.": "scaler_x.", "scaler_1.": "scaler_y."}
    renamed = {}
    for k, v in tensors.items():
        for new, was in names.items():
            k = was + k[len(new) :] if k.startswith(new) else k
        renamed[k] = v
    save_file(renamed, str(d / "weights.safetensors"))
    meta["n_features_y_"] = meta.pop("widths")[1]
    meta["scaler_x"], meta["scaler_y"] = meta.pop("scalers")
    (d / "model.json").write_text(json.dumps({**meta, "format_version": 2}))


def test_format_2_corrnet_models_load_with_their_scalers(two_views, tmp_path):
    X, Y = two_views
    Y = 100 + 10 * Y  # standardised: its scaler must come back as scalers_[1]
    est = CorrNet(**FAST).fit(X, Y)
    est.save(tmp_path / "m")
    _as_format_2(tmp_path / "m")
    back = CorrNet.load(tmp_path / "m")
    assert back.scaler_x_ is None and back.scaler_y_ is not None
    np.testing.assert_array_equal(back.scaler_y_.mean_, est.scalers_[1].mean_)
    np.testing.assert_array_equal(back.generate(X=X), est.generate(X=X))


@pytest.mark.parametrize("tied", [False, True])
def test_format_1_models_load_with_their_parameters_renamed(two_views, tmp_path, tied):
    """corrnet 0.1 wrote two-view names (enc_x.proj.weight, dec_y.out.bias, b_x ...) in format 1."""
    from safetensors.numpy import load_file, save_file

    X, Y = two_views
    kw = {**FAST, "tied": tied} if tied else {**FAST, "encoder_layers": (6,)}
    est = CorrNet(**kw).fit(X, Y)
    est.save(tmp_path / "m")
    _as_format_2(tmp_path / "m")
    old = {"encoders.0.": "enc_x.", "encoders.1.": "enc_y.", "decoders.0.": "dec_x.", "decoders.1.": "dec_y."}
    old.update({"out_bias.0": "b_x", "out_bias.1": "b_y"})
    tensors = load_file(str(tmp_path / "m" / "weights.safetensors"))
    renamed = {}
    for k, v in tensors.items():
        for new, was in old.items():
            if k.startswith("model." + new):
                k = "model." + was + k[len("model." + new) :]
        renamed[k] = v
    assert any(k.startswith("model.enc_x.") for k in renamed)
    save_file(renamed, str(tmp_path / "m" / "weights.safetensors"))
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    (tmp_path / "m" / "model.json").write_text(json.dumps({**meta, "format_version": 1}))
    back = CorrNet.load(tmp_path / "m")
    np.testing.assert_array_equal(back.transform(X=X), est.transform(X=X))
    np.testing.assert_array_equal(back.generate(X=X), est.generate(X=X))


def test_format_1_checkpoints_resume(two_views, tmp_path):
    """A checkpoint written by corrnet 0.1 (format 1, two-view parameter names) resumes."""
    from safetensors.numpy import load_file, save_file

    X, Y = two_views
    kw = dict(n_components=3, epochs=2, tol=None, random_state=0, device="cpu", optimizer="adam")
    CorrNet(**kw).fit(X, Y, checkpoint_dir=tmp_path)
    f = tmp_path / "checkpoint.safetensors"
    old = {"encoders.0.": "enc_x.", "encoders.1.": "enc_y.", "decoders.0.": "dec_x.", "decoders.1.": "dec_y."}
    renamed = {}
    for k, v in load_file(str(f)).items():
        for new, was in old.items():
            k = k.replace("model." + new, "model." + was)
        renamed[k] = v
    save_file(renamed, str(f))
    meta = json.loads((tmp_path / "checkpoint.json").read_text())
    (tmp_path / "checkpoint.json").write_text(json.dumps({**meta, "format_version": 1}))
    resumed = CorrNet(**{**kw, "epochs": 4}).fit(X, Y, checkpoint_dir=tmp_path, resume=True)
    straight = CorrNet(**{**kw, "epochs": 4}).fit(X, Y)
    np.testing.assert_allclose(resumed.transform(X=X), straight.transform(X=X), atol=1e-6)


CPU = dict(device="cpu", random_state=0)


def _three(n=150):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(n, 2))
    return [(1 / (1 + np.exp(-(z @ rng.normal(size=(2, d)))))).astype(np.float32) for d in (5, 4, 3)]


def test_saved_model_keeps_best_epoch_metadata_and_numpy_metrics(two_views, tmp_path):
    X, Y = two_views
    est = CorrNet(3, epochs=6, tol=None, early_stopping=True, patience=2, validation_fraction=0.25, **CPU).fit(X, Y)
    est.save(tmp_path / "m", metrics={"score": np.float32(0.5), "n": np.int64(3)})  # numpy scalars are JSON'd
    back = CorrNet.load(tmp_path / "m")
    assert back.best_epoch_ == est.best_epoch_ is not None
    assert back.metrics_ == {"score": 0.5, "n": 3.0}
    from safetensors import safe_open

    with safe_open(str(tmp_path / "m" / "weights.safetensors"), "np") as f:
        assert f.metadata() == {"format": "corrnet", "format_version": "3"}


def test_a_random_state_object_is_saved_as_none(two_views, tmp_path):
    X, Y = two_views
    est = CorrNet(3, epochs=1, tol=None, device="cpu", random_state=np.random.RandomState(0)).fit(X, Y)
    est.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "model.json").read_text())["params"]["random_state"] is None
    assert CorrNet.load(tmp_path / "m").random_state is None


def test_a_converged_run_resumed_from_its_last_checkpoint_stays_converged(two_views, tmp_path):
    X, Y = two_views
    kw = dict(n_components=3, batch_size=10, tol=1e-2, epochs=1000, **CPU)
    first = CorrNet(**kw).fit(X[:40], Y[:40], checkpoint_dir=tmp_path)
    assert first.stop_reason_ == "converged"
    again = CorrNet(**kw, verbose=0).fit(X[:40], Y[:40], checkpoint_dir=tmp_path, resume=True)
    assert (again.n_iter_, again.stop_reason_) == (first.n_iter_, "converged")  # no extra epoch ran
    np.testing.assert_array_equal(again.transform(X=X), first.transform(X=X))


def test_resume_ignores_verbose(two_views, tmp_path):
    """verbose does not change the result, so it is not part of the checkpoint's fingerprint."""
    X, Y = two_views
    CorrNet(3, epochs=2, tol=None, **CPU).fit(X, Y, checkpoint_dir=tmp_path)
    CorrNet(3, epochs=3, tol=None, verbose=1, **CPU).fit(X, Y, checkpoint_dir=tmp_path, resume=True)


def test_loading_checks_every_tensor_and_keeps_versions(two_views, tmp_path):
    from safetensors.numpy import load_file, save_file

    from corrnet.persistence import ModelFormatError

    X, Y = two_views
    est = CorrNet(3, epochs=1, tol=None, **CPU).fit(X, Y)
    est.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["versions"] == {
        "corrnet": __import__("corrnet").__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    assert CorrNet.load(tmp_path / "m").metrics_ == {}
    (tmp_path / "m" / "model.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ModelFormatError, match=re.escape(f"by corrnet {corrnet.__version__})")):
        CorrNet.load(tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    tensors = load_file(str(tmp_path / "m" / "weights.safetensors"))
    del tensors["model.decoders.1.out.bias"]
    save_file(tensors, str(tmp_path / "m" / "weights.safetensors"))
    with pytest.raises(ModelFormatError, match=r"decoders\.1\.out\.bias"):
        CorrNet.load(tmp_path / "m")


def test_old_model_files_load_resave_and_explain_themselves(two_views, tmp_path):
    """A model file without the resolved settings or versions (corrnet 0.1) loads and re-saves;
    errors about it say which corrnet wrote it, or '?' when the file does not say."""
    from corrnet.persistence import ModelFormatError

    X, Y = two_views
    CorrNet(3, epochs=1, tol=None, **CPU).fit(X, Y).save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    old = {k: v for k, v in meta.items() if k not in ("resolved", "versions")}
    (tmp_path / "m" / "model.json").write_text(json.dumps(old))
    CorrNet.load(tmp_path / "m").save(tmp_path / "again")
    (tmp_path / "m" / "model.json").write_text(json.dumps({**old, "format_version": 99}))
    with pytest.raises(ModelFormatError, match=r"by corrnet \?\)"):
        CorrNet.load(tmp_path / "m")
    bad = {**meta, "config": {**meta["config"], "n_components": 4}}
    (tmp_path / "m" / "model.json").write_text(json.dumps(bad))
    with pytest.raises(ModelFormatError, match=r"params and config disagree on \['n_components'\]"):
        CorrNet.load(tmp_path / "m")


def test_sparse_checkpoints_resume(tmp_path):
    """The checkpoint fingerprint reads a CSR view's arrays (dense code would hash junk or fail)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    X = sp.random(80, 30, density=0.2, format="csr", dtype=np.float32, random_state=rng)
    Y = sp.csr_matrix(
        X[:, :20] * 0.5 + sp.random(80, 20, density=0.1, format="csr", dtype=np.float32, random_state=rng)
    )
    kw = dict(n_components=2, tol=None, optimizer="adam", **CPU)
    CorrNet(**kw, epochs=2).fit(X, Y, checkpoint_dir=tmp_path)
    resumed = CorrNet(**kw, epochs=3).fit(X, Y, checkpoint_dir=tmp_path, resume=True)
    straight = CorrNet(**kw, epochs=3).fit(X, Y)
    np.testing.assert_allclose(resumed.transform(X=X), straight.transform(X=X), atol=1e-6)
    X2 = X.copy()
    X2.data[0] += 1.0  # other data: the fingerprint must change
    with pytest.raises(ValueError, match="other data or parameters"):
        CorrNet(**kw, epochs=3).fit(X2, Y, checkpoint_dir=tmp_path, resume=True)


def test_multiview_writes_checkpoints_and_resumes(tmp_path):
    views = _three()
    kw = dict(n_components=2, epochs=3, tol=None, **CPU)
    full = MultiViewCorrNet(**kw).fit(views, checkpoint_dir=tmp_path / "ck")
    assert any((tmp_path / "ck").iterdir())  # checkpoint_dir is not ignored
    again = MultiViewCorrNet(**kw).fit(views, checkpoint_dir=tmp_path / "ck", resume=True)
    np.testing.assert_array_equal(again.transform(views), full.transform(views))


def test_resume_may_change_engine_and_precision_but_not_the_model(two_views, tmp_path):
    """The checkpoint fingerprint ignores how a run computes (engine, precision, device, verbose,
    epochs) and keeps what it computes."""
    X, Y = two_views
    kw = dict(n_components=3, tol=None, **CPU)
    CorrNet(epochs=2, **kw).fit(X, Y, checkpoint_dir=tmp_path)
    more = CorrNet(epochs=3, engine="autograd", precision="bfloat16", **kw).fit(
        X, Y, checkpoint_dir=tmp_path, resume=True
    )
    assert [h["epoch"] for h in more.history_][:2] == [1, 2] and len(more.history_) == 3
    with pytest.raises(ValueError, match="made with other data or parameters"):
        CorrNet(epochs=3, lam=1.0, **kw).fit(X, Y, checkpoint_dir=tmp_path, resume=True)


def test_checkpoints_from_before_lr_schedule_still_resume(two_views, tmp_path, monkeypatch):
    """A checkpoint written by a version without ``lr_schedule`` (its get_params lacked the key) resumes
    with the constant schedule, which trains as that version did, and is refused with the cosine one."""
    X, Y = two_views
    kw = dict(n_components=3, tol=None, optimizer="adam", **CPU)
    real = CorrNet.get_params

    def old_get_params(self, deep=True):
        return {k: v for k, v in real(self, deep).items() if k != "lr_schedule"}

    with monkeypatch.context() as m:
        m.setattr(CorrNet, "get_params", old_get_params)
        CorrNet(epochs=2, **kw).fit(X, Y, checkpoint_dir=tmp_path)
    more = CorrNet(epochs=3, **kw).fit(X, Y, checkpoint_dir=tmp_path, resume=True)
    assert [h["epoch"] for h in more.history_] == [1, 2, 3]
    with pytest.raises(ValueError, match="made with other data or parameters"):
        CorrNet(epochs=3, lr_schedule="cosine", **kw).fit(X, Y, checkpoint_dir=tmp_path, resume=True)


def test_verbose_shows_a_progress_bar_that_counts_resumed_epochs(tmp_path, capsys):
    """Round 3: no progress bar at all under ``verbose``, and a resumed run's bar restarting at 0
    instead of the checkpoint's epoch, both passed."""
    rng = np.random.default_rng(0)
    X, Y = rng.random((40, 3), dtype=np.float32), rng.random((40, 2), dtype=np.float32)
    kw = dict(tol=None, **CPU)
    CorrNet(2, epochs=2, **kw).fit(X, Y, checkpoint_dir=tmp_path)
    capsys.readouterr()
    CorrNet(2, epochs=4, verbose=2, **kw).fit(X, Y, checkpoint_dir=tmp_path, resume=True)
    err = capsys.readouterr().err
    assert "corrnet" in err and "4/4" in err  # 2 resumed + 2 new epochs, counted from the checkpoint


def test_the_fits_note_on_its_reconstructions_is_saved_and_raised_by_the_loaded_model(tmp_path, two_views):
    """A canonical fit whose reconstructions lose to the mean (lam=64's choice) warns when asked to
    generate, after a save and load as before it."""
    import warnings

    from corrnet.diagnostics import FitWarning

    X, Y = two_views
    est = CorrNet(3, random_state=0, device="cpu", lam=64.0, correlation="canonical").fit(X, Y)
    est.generation_warning_ = est.generation_warning_ or "predicting the training mean beats X (test)"
    est.save(tmp_path / "m")
    back = CorrNet.load(tmp_path / "m")
    assert back.generation_warning_ == est.generation_warning_
    with pytest.warns(FitWarning, match="predicting the training mean"):
        back.generate(X=X[:3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back.transform(X=X[:3])
