"""Every CLI command on real files, plus bad input and exit codes."""

import json
import os

import numpy as np
import onnxruntime as ort
import pytest
from click.testing import CliRunner

from corrnet import CorrNet
from corrnet.cli import main


def run(*args, code=0):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == code, r.output
    return r


@pytest.fixture
def files(tmp_path, two_views):
    X, Y = two_views
    np.save(tmp_path / "x.npy", X)
    np.savetxt(tmp_path / "y.csv", Y, delimiter=",", header=",".join(f"c{i}" for i in range(5)), comments="")
    np.savez(tmp_path / "views.npz", left=X, right=Y)
    np.save(tmp_path / "labels.npy", (X[:, 0] > 0.5).astype(int))
    return tmp_path


@pytest.fixture
def model(files):
    run(
        "train",
        "--x",
        files / "x.npy",
        "--y",
        files / "y.csv",
        "--out",
        files / "m",
        "--epochs",
        3,
        "--components",
        4,
        "--set",
        "batch_size=20",
        "-q",
        "--log-dir",
        files / "logs",
    )
    return files / "m"


def test_train_writes_model_and_log(model, files):
    assert (model / "weights.safetensors").is_file() and (files / "logs" / "history.csv").is_file()
    assert len((files / "logs" / "history.csv").read_text().splitlines()) == 4  # header + 3 epochs
    est = CorrNet.load(model)
    assert est.n_components == 4 and est.batch_size == 20


def test_semi_paired_train_from_parquet_then_generate(files, two_views):
    import pandas as pd

    X, Y = two_views
    pd.DataFrame(X[80:], columns=[f"p{i}" for i in range(7)]).to_parquet(files / "x_only.parquet")
    np.save(files / "xp.npy", X[:80])
    np.save(files / "yp.npy", Y[:80])
    run(
        "train",
        "--x",
        files / "xp.npy",
        "--y",
        files / "yp.npy",
        "--x-unpaired",
        files / "x_only.parquet",
        "--out",
        files / "semi",
        "--epochs",
        2,
        "--components",
        3,
        "--set",
        'unpaired_strategy="alternate"',
        "-q",
    )
    run("generate", files / "semi", "--x", files / "x_only.parquet", "--out", files / "y_gen.npy")
    G = np.load(files / "y_gen.npy")
    assert G.shape == (40, 5) and 0 <= G.min() and G.max() <= 1


def test_train_offers_every_preset(files):
    """--preset's choices are the presets' table (corrnet.config.PRESETS), not a copy of it."""
    from corrnet.config import PRESETS

    r = run("train", "--help")
    assert all(name in r.output for name in PRESETS) and "canonical_wide" in PRESETS
    kw = ["--set", "n_components=2", "--set", "encoder_layers=[8]", "--epochs", "1", "--set", "batch_size=20"]
    views = ["--x", files / "x.npy", "--y", files / "y.csv"]
    run("train", *views, "--preset", "canonical_wide", *kw, "--out", files / "w")
    assert json.loads((files / "w" / "model.json").read_text())["config"]["encoder_norm"] == "batch"


def test_train_from_config_file_and_preset(files):
    (files / "c.toml").write_text('preset = "paper"\nn_components = 3\nepochs = 2\n')
    r = run(
        "train",
        "--x",
        files / "views.npz:left",
        "--y",
        files / "views.npz:right",
        "--config",
        files / "c.toml",
        "--out",
        files / "p",
        "--json",
    )
    assert json.loads(r.output)["epochs"] == 2
    est = CorrNet.load(files / "p")
    assert est.optimizer == "rmsprop_original" and est.n_components == 3


def test_transform_generate_evaluate_info_report_export(model, files):
    est = CorrNet.load(model)
    X = np.load(files / "x.npy")
    Y = np.loadtxt(files / "y.csv", delimiter=",", skiprows=1)
    run("transform", model, "--x", files / "x.npy", "--out", files / "h.npy")
    np.testing.assert_allclose(np.load(files / "h.npy"), est.transform(X=X), rtol=1e-6)  # h(x, 0)
    run("transform", model, "--y", files / "y.csv", "--out", files / "hy.npy")
    np.testing.assert_allclose(np.load(files / "hy.npy"), est.transform(Y=Y), rtol=1e-6)  # h(0, y)
    run("transform", model, "--x", files / "x.npy", "--y", files / "y.csv", "--out", files / "hxy.csv")
    hxy = np.loadtxt(files / "hxy.csv", delimiter=",")
    np.testing.assert_allclose(hxy, est.transform(X=X, Y=Y), rtol=1e-5, atol=1e-6)  # h(x, y): --y is used
    assert not np.allclose(hxy, est.transform(X=X), atol=1e-3)
    run("generate", model, "--x", files / "x.npy", "--out", files / "yg.npz")
    np.testing.assert_allclose(np.load(files / "yg.npz")["arr"], est.generate(X=X), rtol=1e-5, atol=1e-6)
    out = json.loads(
        run(
            "evaluate",
            model,
            "--x",
            files / "x.npy",
            "--y",
            files / "y.csv",
            "--labels",
            files / "labels.npy",
            "--json",
        ).output
    )
    assert {"sum_corr", "transfer_1to2", "recall@1", "generation_mse_y_from_x"} <= set(out)
    info = json.loads(run("info", model, "--json").output)
    assert info["d_x"] == 7 and info["d_y"] == 5 and info["epochs_run"] == 3
    rep = run("report", model, "--x", files / "x.npy", "--y", files / "y.csv", "--out", files / "rep")
    assert (files / "rep" / "index.html").is_file() and "index.html" in rep.output
    run("export", model, "--out", files / "onnx")
    X = np.load(files / "x.npy")
    sess = ort.InferenceSession(str(files / "onnx" / "encode_x.onnx"))
    np.testing.assert_allclose(sess.run(None, {"x": X})[0], CorrNet.load(model).transform(X=X), atol=1e-5)


def test_onnx_parity_all_graphs(files, two_views):
    from corrnet.export import export_onnx

    X, Y = two_views
    est = CorrNet(n_components=3, encoder_layers=(6,), epochs=2, random_state=0, correlation="per_unit").fit(X, Y)
    paths = export_onnx(est, files / "o")
    run_ = lambda name, feed: ort.InferenceSession(str(paths[name])).run(None, feed)  # noqa: E731
    np.testing.assert_allclose(run_("encode_y", {"y": Y})[0], est.transform(Y=Y), atol=1e-5)
    H = est.transform(X, Y)
    np.testing.assert_allclose(run_("encode_xy", {"x": X, "y": Y})[0], H, atol=1e-5)
    xh, yh = run_("decode", {"h": H})
    ex, ey = est.reconstruct(X, Y)
    np.testing.assert_allclose(xh, ex, atol=1e-5)
    np.testing.assert_allclose(yh, ey, atol=1e-5)
    np.testing.assert_allclose(run_("generate_y", {"x": X})[0], est.generate(X=X), atol=1e-5)
    np.testing.assert_allclose(run_("generate_x", {"y": Y})[0], est.generate(Y=Y), atol=1e-5)


def test_onnx_of_a_canonical_model_gives_its_aligned_codes_and_generates(files, two_views):
    """correlation='canonical': the encoders include the final linear CCA (as transform does); no
    decode graph (the decoders take the unaligned codes), the generate graphs instead."""
    from corrnet.export import export_onnx

    X, Y = two_views
    est = CorrNet(n_components=3, encoder_layers=(6,), epochs=2, scale="standard").fit(X, Y)
    paths = export_onnx(est, files / "oc")
    assert "decode" not in paths and not (files / "oc" / "decode.onnx").exists()
    run_ = lambda name, feed: ort.InferenceSession(str(paths[name])).run(None, feed)  # noqa: E731
    np.testing.assert_allclose(run_("encode_x", {"x": X})[0], est.transform(X=X), atol=1e-4)
    np.testing.assert_allclose(run_("encode_y", {"y": Y})[0], est.transform(Y=Y), atol=1e-4)
    np.testing.assert_allclose(run_("encode_xy", {"x": X, "y": Y})[0], est.transform(X, Y), atol=1e-4)
    np.testing.assert_allclose(run_("generate_y", {"x": X})[0], est.generate(X=X), atol=1e-4)
    np.testing.assert_allclose(run_("generate_x", {"y": Y})[0], est.generate(Y=Y), atol=1e-4)


@pytest.mark.parametrize("scale", ["standard", "minmax"])
def test_onnx_graphs_of_a_scaled_model_take_raw_units(files, two_views, scale):
    """The scaling is part of the graphs: raw inputs in, the estimator's outputs out."""
    from corrnet.export import export_onnx

    X, Y = two_views
    Xr, Yr = X * 1000 + 5000, Y * 30 - 7  # far from [0, 1]
    est = CorrNet(n_components=3, epochs=3, tol=None, scale=scale, random_state=0, correlation="per_unit")
    est.fit(Xr, Yr)
    paths = export_onnx(est, files / f"o-{scale}")
    run_ = lambda name, feed: ort.InferenceSession(str(paths[name])).run(None, feed)  # noqa: E731
    np.testing.assert_allclose(run_("encode_x", {"x": Xr})[0], est.transform(X=Xr), atol=1e-4)
    np.testing.assert_allclose(run_("encode_y", {"y": Yr})[0], est.transform(Y=Yr), atol=1e-4)
    H = est.transform(Xr, Yr)
    np.testing.assert_allclose(run_("encode_xy", {"x": Xr, "y": Yr})[0], H, atol=1e-4)
    xh, yh = run_("decode", {"h": H})
    ex, ey = est.reconstruct(Xr, Yr)
    np.testing.assert_allclose(xh, ex, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(yh, ey, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "args,code,msg",
    [
        (["train", "--x", "nope.npy", "--y", "nope.npy", "--out", "m"], 2, "no such file"),
        (["train", "--x", "x.npy", "--out", "m"], 2, "give both --x and --y"),
        (["train", "--x", "x.npy", "--y", "short.npy", "--out", "m"], 2, "same number of rows"),
        (["train", "--x", "x.npy", "--y", "y.csv", "--out", "m", "--set", "lam=-1"], 2, "lam must be"),
        (["train", "--x", "x.npy", "--y", "y.csv", "--out", "m", "--set", "nonsense=1"], 2, "unknown parameters"),
        (["train", "--x", "corrupt.npy", "--y", "y.csv", "--out", "m"], 2, "could not be read"),
        (["train", "--x", "text.csv", "--y", "y.csv", "--out", "m"], 2, "non-numeric"),
        (
            [
                "train",
                "--x",
                "x.npy",
                "--y",
                "y.csv",
                "--out",
                "m",
                "--set",
                "lr=1e9",
                "--set",
                'optimizer="sgd"',
                "--set",
                'hidden_activation="linear"',
                "--set",
                'output_activation="linear"',
                "--epochs",
                "30",
            ],
            1,
            "Lower lr",
        ),
        (["info", "notamodel"], 2, "not a corrnet model directory"),
    ],
)
def test_bad_input_exit_codes(files, monkeypatch, args, code, msg):
    monkeypatch.chdir(files)
    np.save(files / "short.npy", np.ones((5, 2)))
    (files / "corrupt.npy").write_bytes(b"\x93NUMPY garbage")
    (files / "text.csv").write_text("a,b\nx,y\nz,w\n")
    (files / "notamodel").mkdir(exist_ok=True)
    r = CliRunner().invoke(main, args)
    assert r.exit_code == code, r.output
    assert msg in r.output
    assert "Traceback" not in r.output


def test_wrong_width_at_transform(model, files):
    np.save(files / "wide.npy", np.ones((3, 9)))
    r = run("transform", model, "--x", files / "wide.npy", "--out", files / "o.npy", code=2)
    assert "fitted with 7 features" in r.output
    assert not (files / "o.npy").exists()


@pytest.mark.slow
def test_train_scale_option_and_warning_lines(tmp_path):
    """Counts 0..6 (the issue's CSV case): --scale none with sigmoid outputs trains to a broken fit
    and says so on stderr; the default (auto) standardises the views and prints no warning."""
    rng = np.random.default_rng(0)
    z = rng.integers(0, 7, size=(200, 1))
    np.save(tmp_path / "x.npy", (z + rng.integers(0, 2, size=(200, 6))).astype(np.float32))
    np.save(tmp_path / "y.npy", (z + rng.integers(0, 2, size=(200, 5))).astype(np.float32))
    common = ["train", "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--components", 3, "-q"]
    bad = run(*common, "--scale", "none", "--set", 'output_activation="sigmoid"', "--out", tmp_path / "bad")
    assert "warning: FitWarning: predicting the training mean beats" in bad.output
    assert CorrNet.load(tmp_path / "bad").scaler_x_ is None
    good = run(*common, "--out", tmp_path / "good")
    assert "warning:" not in good.output
    est = CorrNet.load(tmp_path / "good")
    assert est.scale == "auto" and est.scaler_x_ is not None and est.output_activation_ == "linear"
    std = run(*common, "--scale", "standard", "--json", "--out", tmp_path / "std")
    out = json.loads(std.output)
    assert out["warnings"] == [] and out["stop_reason"] in ("converged", "max_epochs")
    assert CorrNet.load(tmp_path / "std").scale == "standard"


@pytest.mark.parametrize(
    "name,text",
    [
        ("c.json", '{"preset": "paper", "n_components": 3, "lam": 0.5, "epochs": 2}'),
        ("c.yaml", "preset: paper\nn_components: 3\nlam: 0.5\nepochs: 2\n"),
    ],
)
def test_train_from_json_and_yaml_configs(files, name, text):
    (files / name).write_text(text)
    run("train", "--x", files / "x.npy", "--y", files / "y.csv", "--config", files / name, "--out", files / "m2", "-q")
    est = CorrNet.load(files / "m2")
    assert (est.optimizer, est.n_components, est.lam, est.n_iter_) == ("rmsprop_original", 3, 0.5, 2)


def _sigint_as_in_a_terminal() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.slow
def test_interrupted_training_exits_130(tmp_path):
    """Ctrl-C (SIGINT) during `corrnet train` ends with exit code 130 and no traceback."""
    import signal
    import subprocess
    import sys
    import time

    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.random((3000, 30), dtype=np.float32))
    np.save(tmp_path / "y.npy", rng.random((3000, 20), dtype=np.float32))
    args = ["train", "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--epochs", "100000", "--set", "tol=null"]
    ck = tmp_path / "ck"
    proc = subprocess.Popen(
        [sys.executable, "-m", "corrnet", *map(str, args), "--out", str(tmp_path / "m"), "-q", "--checkpoint-dir", ck],
        stderr=subprocess.PIPE,
        text=True,
        # a parent that ignores SIGINT (nohup, mutmut) would pass that on, and a thread that blocks it
        # would pass on its signal mask (exec keeps both): Ctrl-C as in a terminal
        preexec_fn=_sigint_as_in_a_terminal,
        # if it ever hangs (seen twice under load, never reproduced), SIGABRT makes faulthandler print
        # every thread's Python stack into the failure message below
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    deadline = time.time() + 120
    while not (ck / "checkpoint.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # never leave it training (100 000 epochs) beside the rest of the suite
        proc.send_signal(signal.SIGABRT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        raise AssertionError(f"corrnet train kept running 60 s after SIGINT; its stderr:\n{err}") from None
    assert proc.returncode == 130, err
    assert "Traceback" not in err


def test_train_summary_reports_the_whole_fits_time_not_the_last_epochs(files):
    """Issue 26: `corrnet train` printed the last epoch's time_s (0.0009 s after a 100 s run)."""
    r = run("train", "--x", files / "x.npy", "--y", files / "y.csv", "--out", files / "t", "--epochs", 5, "--json")
    summary = json.loads(r.output[r.output.index("{") :])
    history = CorrNet.load(files / "t").history_
    assert summary["last_epoch_s"] == pytest.approx(history[-1]["time_s"])
    assert summary["time_s"] >= sum(h["time_s"] for h in history) > summary["last_epoch_s"]


def test_the_console_entry_point_freezes_the_heap_on_exit(monkeypatch):
    """`corrnet` freezes every object on its way out, so the interpreter's shutdown skips its full
    garbage collections (1.3 s of a 1.7 s exit); Ctrl-C still exits 130 through the same path."""
    import gc

    from corrnet import cli

    gc.unfreeze()
    monkeypatch.setattr("sys.argv", ["corrnet", "--help"])
    try:
        with pytest.raises(SystemExit) as exit_:
            cli.run()
        assert exit_.value.code == 0 and gc.get_freeze_count() > 0

        gc.unfreeze()

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(cli, "main", interrupted)
        with pytest.raises(SystemExit) as exit_:
            cli.run()
        assert exit_.value.code == 130 and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the rest of the test process collects as usual
