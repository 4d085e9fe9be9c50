"""Smoke runs of the experiment runners on subsets of the real data (the full runs are in the README)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from corrnet.cli import main
from corrnet.experiments.runner import run_experiment


@pytest.mark.slow
def test_mnist_halves_experiment_smoke(tmp_path):
    res = run_experiment(
        "mnist-halves",
        tmp_path / "r",
        seeds=[0, 1],
        epochs=1,
        subset=300,
        verbose=False,
        methods=["corrnet-paper", "mae", "cca", "kcca", "dcca", "seed-blog"],
    )
    for f in ("results.md", "results.csv", "results.json", "index.html"):
        assert (tmp_path / "r" / f).is_file()
    meta = json.loads((tmp_path / "r" / "results.json").read_text())
    assert meta["seeds"] == [0, 1] and len(meta["runs"]) == 11  # cca is deterministic: run once
    paper = next(a for a in res["summary"] if a["method"] == "corrnet-paper")
    assert paper["seeds"] == 2 and 0 <= paper["transfer_1to2"] <= 1
    assert "| corrnet-paper | 2 |" in res["markdown"] and "view-1 SVM" not in res["markdown"]
    assert "gen_mse_2from1" not in next(a for a in res["summary"] if a["method"] == "cca")


@pytest.mark.slow
def test_noisy_mnist_experiment_reports_view1_classification(tmp_path):
    """Noisy MNIST adds Wang et al.'s view-1 SVM column; MNIST halves (above) does not show it."""
    res = run_experiment(
        "noisy-mnist", tmp_path / "n", seeds=[0], epochs=1, subset=200, verbose=False, methods=["cca", "corrnet-paper"]
    )
    for r in res["runs"]:
        assert 0 < r["classify_1"] <= 1 and r["classify_1_C"] in (0.01, 0.1, 1.0, 10.0)
    head = res["markdown"].splitlines()[0]
    assert "view-1 SVM %" in head and "MSE 2 from 1" in head
    cca = next(line for line in res["markdown"].splitlines() if line.startswith("| cca |"))
    assert len(cca.split("|")) == len(head.split("|"))  # a cell for every column, "–" for MSE
    assert f"{100 * res['runs'][0]['classify_1']:.2f}" in cca


@pytest.mark.slow
def test_experiment_keeps_finished_runs_when_a_later_one_fails(tmp_path, monkeypatch):
    """The tables are written after every run, so an interrupted experiment loses only the run in flight."""
    from corrnet.experiments import runner

    real = runner.methods_for("noisy-mnist", 1)

    def broken(seed):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "methods_for", lambda name, epochs: {"cca": real["cca"], "dcca": broken})
    with pytest.raises(KeyboardInterrupt):
        run_experiment("noisy-mnist", tmp_path / "k", seeds=[0], subset=150, verbose=False, methods=["cca", "dcca"])
    meta = json.loads((tmp_path / "k" / "results.json").read_text())
    assert [r["method"] for r in meta["runs"]] == ["cca"]
    assert "| cca | 1 |" in (tmp_path / "k" / "results.md").read_text()


def test_semi_paired_experiment_smoke(tmp_path):
    r = CliRunner().invoke(
        main,
        [
            "experiment",
            "semi-paired",
            "--epochs",
            "1",
            "--seeds",
            "0",
            "--subset",
            "400",
            "--out",
            str(tmp_path / "s"),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    runs = json.loads((tmp_path / "s" / "results.json").read_text())["runs"]
    semi = ("pretrain", "pretrain-2", "mixed-50")
    assert {(x["fraction"], x["strategy"]) for x in runs} == {
        (f, s) for f in (0.01, 0.1) for s in ("paired-only", *semi)
    } | {(1.0, "paired-only")}
    assert next(x for x in runs if x["fraction"] == 0.1)["n_paired"] == 40


@pytest.mark.slow
def test_av_digits_experiment_smoke(tmp_path):
    from corrnet.datasets.av_digits import av_digits

    d = av_digits()
    assert d.X_train.shape == (2000, 1024) and d.Y_test.shape == (500, 784)
    assert 0 <= d.X_train.min() and d.X_train.max() <= 1
    res = run_experiment("av-digits", tmp_path / "av", seeds=[0], epochs=2, verbose=False)
    assert len(res["runs"]) == 3 and (tmp_path / "av" / "index.html").is_file()


@pytest.mark.slow
def test_defaults_experiment_smoke(tmp_path):
    """The defaults table's runner on two bundled tables, one seed: CorrNet() beats corrnet 0.1's
    defaults on raw data (the issue's failure: chance-level transfer) and writes its tables."""
    from corrnet.experiments.defaults import run_defaults

    res = run_defaults(
        tmp_path / "d",
        datasets=("wine", "breast-cancer"),
        methods=("corrnet-default", "corrnet-0.1-defaults", "cca"),
        seeds=(0,),
        verbose=False,
    )
    runs = {(r["dataset"], r["method"]): r for r in res["runs"]}
    for ds in ("wine", "breast-cancer"):
        new, old = runs[ds, "corrnet-default"], runs[ds, "corrnet-0.1-defaults"]
        assert new["transfer_1to2"] > old["transfer_1to2"] + 0.2
        assert new["gen_2from1"] < 1.0 < old["gen_2from1"]  # beats the mean; the old fit did not
        assert new["out"] == "linear" and old["warnings"] == ["FitWarning"]
    assert (tmp_path / "d" / "results.md").read_text().count("| breast-cancer |") == 3


def test_multi30k_experiment_smoke(tmp_path):
    """Sparse TF-IDF views end to end (a subset of each split); the random row is exact."""
    from corrnet.experiments.multi30k import run_multi30k

    res = run_multi30k(tmp_path / "m", seeds=(0,), subset=300, epochs=2, verbose=False)
    for f in ("results.md", "results.json", "index.html"):
        assert (tmp_path / "m" / f).is_file()
    rows = {r["method"]: r for r in res["rows"]}
    assert rows["random"]["en->de recall@1"] == 1 / 300 and rows["random"]["de->en recall@10"] == 10 / 300
    for r in rows.values():
        for d in ("en->de", "de->en"):
            assert 0 <= r[f"{d} recall@1"] <= r[f"{d} recall@5"] <= r[f"{d} recall@10"] <= 1
            assert r[f"{d} recall@1"] <= r[f"{d} mrr"] <= 1
    assert rows["svd-cca"]["en->de recall@10"] > 0.2  # far above random (0.033) even on 300 pairs
    assert res["info"]["rows"] == {"train": 300, "val": 300, "test": 300}
    assert "| corrnet |" in res["markdown"] and "| corrnet-canonical |" in res["markdown"]


@pytest.mark.slow
def test_n_view_experiments_smoke(tmp_path):
    """MNIST quadrants (4 views, MultiViewCorrNet vs MAXVAR) and the Bridge setting, on subsets."""
    from corrnet.experiments.nview import bridge_views, quadrants, run_bridge, run_quadrants

    img = np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 28, 28)
    q = quadrants(img)
    assert [v.shape for v in q] == [(2, 196)] * 4 and q[3][0, 0] == img[0, 14, 14]
    pivot, _, right = bridge_views(img)
    assert pivot[0, 0] == img[0, :2, :2].mean() and right[0, 0] == img[0, 0, 14]
    res = run_quadrants(tmp_path / "q", subset=400, epochs=2, verbose=False)
    assert {r["method"] for r in res["rows"]} == {"multiview-corrnet", "maxvar-gcca"}
    assert all(0 <= r["transfer"] <= 1 and 0 <= r["recall@1"] <= 1 for r in res["rows"])
    res = run_bridge(tmp_path / "b", subset=400, epochs=2, verbose=False)
    assert [r["method"] for r in res["rows"]] == ["bridge (never paired)", "direct pairs"]
    assert (tmp_path / "b" / "index.html").is_file()


def test_every_experiment_is_in_the_registry_with_one_keyword_signature():
    import inspect

    from corrnet.cli import experiment
    from corrnet.experiments import REGISTRY

    assert set(experiment.params[0].type.choices) == set(REGISTRY)
    signatures = {str(inspect.signature(run)) for run in REGISTRY.values()}
    assert len(signatures) == 1, signatures


def test_the_harness_runs_each_method_over_each_seed_and_keeps_rows_as_they_come(capsys):
    from corrnet.experiments.harness import over_methods_and_seeds

    calls, seen = [], []

    def run(method, seed):
        calls.append((method, seed))
        if method == "two-way":  # one row per direction
            return [{"direction": "a", "score": seed}, {"direction": "b", "score": -seed}]
        return {"score": 10 * seed}

    rows = over_methods_and_seeds(
        ["m", "cca", "two-way"], [3, 4], run, once=["cca"], after=lambda r: seen.append(len(r)), verbose=True
    )
    assert calls == [("m", 3), ("m", 4), ("cca", 3), ("two-way", 3), ("two-way", 4)]
    assert [list(r)[:2] for r in rows] == [["method", "seed"]] * 7
    assert [(r["method"], r["seed"], r["score"]) for r in rows][:3] == [("m", 3, 30), ("m", 4, 40), ("cca", 3, 30)]
    assert seen == [1, 2, 3, 5, 7]  # after every run, with every row so far
    assert len(capsys.readouterr().out.strip().splitlines()) == 7
