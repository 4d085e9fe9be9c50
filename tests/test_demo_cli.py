"""The demo end to end and the command line."""

import json
import re
import subprocess
import sys

from click.testing import CliRunner

from corrnet.cli import main
from corrnet.experiments.demo import run_demo


def test_demo_end_to_end_beats_random_projection(tmp_path):
    res = run_demo(tmp_path / "rep", epochs=40, n_components=10, verbose=0)
    assert res["test_sum_corr"] > res["random_projection_sum_corr"] + 3.0
    assert res["transfer_left_to_right"] > 0.3 and res["transfer_right_to_left"] > 0.3  # chance is 0.1
    assert res["generation_mse_right_from_left"] < res["mean_image_mse_right"]
    html = (tmp_path / "rep" / "index.html").read_text()
    assert len(re.findall(r"src='data:image/png;base64,", html)) == 4


def test_cli_demo_json(tmp_path):
    r = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--epochs", "5", "--components", "5", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)  # warnings go to stderr: stdout stays one JSON document
    assert out["epochs"] == 5 and (tmp_path / "index.html").is_file()


def test_python_dash_m_help():
    r = subprocess.run([sys.executable, "-m", "corrnet", "--help"], capture_output=True, text=True, check=True)
    assert "demo" in r.stdout


def test_cli_demo_with_a_preset(tmp_path):
    """--preset trains the preset's settings; --epochs is then the number of epochs (the preset's
    min_steps, which would raise them to 150 on these 1 000 rows, is dropped)."""
    args = ["demo", "--out", str(tmp_path), "--preset", "canonical_wide", "--epochs", "3", "--components", "4"]
    args.append("--json")
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["preset"] == "canonical_wide" and out["epochs"] == 3 and out["lam"] == 64.0
    assert out["transfer_left_to_right"] > 0.3  # chance is 0.1
    html = (tmp_path / "index.html").read_text()
    assert "(canonical_wide preset)" in html and "lam_scores_" not in html  # a fixed λ: no scores to show
