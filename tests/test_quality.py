"""The quality gate (``corrnet bench``): its check, its record, its data, and the command."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SHARED

from corrnet.cli import main
from corrnet.datasets.sib200 import CATEGORIES, sib200
from corrnet.experiments import quality


def _row(mean, sd=0.01, n_test=400, task="t", method="default"):
    return {
        "task": task,
        "method": method,
        "seeds": 3,
        "mean": mean,
        "sd": sd,
        "fit_s": 1.0,
        "n_test": n_test,
        "held_out": True,
    }


def test_a_drop_beyond_two_sd_the_floor_and_two_test_rows_fails():
    rec = [_row(0.80, sd=0.003)]
    assert quality.check([_row(0.785, sd=0.003)], rec) == []  # 1.5 points: under the 2-point floor
    (line,) = quality.check([_row(0.775, sd=0.003)], rec)  # 2.5 points down
    assert "down 2.5 points; allowed 2.0" in line
    assert quality.check([_row(0.70)], [_row(0.80, sd=0.06)]) == []  # a noisy row: 2 sd = 12 points
    assert quality.check([_row(0.60, n_test=30)], [_row(0.66, n_test=30)]) == []  # 2 of 30 test rows: 6.7 points
    assert quality.check([_row(0.95)], [_row(0.80)]) == []  # gains never fail
    assert "not measured" in quality.check([], rec)[0]


def test_summarise_gives_mean_sd_and_marks_held_out_tasks():
    runs = [
        {"task": "wine", "method": "default", "seed": s, "score": x, "fit_s": 0.1, "n_test": 36}
        for s, x in enumerate((0.8, 0.9, 1.0))
    ]
    (row,) = quality.summarise(runs)
    assert row["mean"] == pytest.approx(0.9) and row["sd"] == pytest.approx(0.1) and row["seeds"] == 3
    assert row["held_out"] is ("wine" not in quality.TUNED_ON) and row["held_out"] is False


def test_the_recorded_quick_table_covers_the_quick_tier():
    record = json.loads((quality.Path(__file__).resolve().parents[1] / "benchmarks/quality/quick.json").read_text())
    quick = {n for n, t in quality.TASKS.items() if t.quick}
    assert {r["task"] for r in record["rows"]} == quick and record["tier"] == "quick"
    assert {r["method"] for r in record["rows"]} == set(quality.QUICK_METHODS)


def test_sib200_rows_are_aligned_across_languages_and_labelled():
    d = sib200(("eng_Latn", "deu_Latn", "fra_Latn"), SHARED)
    assert [len(d[s].ids) for s in ("train", "dev", "test")] == [701, 99, 204]
    assert np.bincount(d["test"].labels).max() / 204 == pytest.approx(0.25, abs=1e-3)  # majority: 51 of 204
    assert set(np.unique(d["train"].labels)) == set(range(len(CATEGORIES)))
    en, de = d["train"].texts["eng_Latn"], d["train"].texts["deu_Latn"]
    assert len(en) == len(de) == 701 and en[0] != de[0]


def test_sib200_refuses_a_changed_file_and_says_where_it_looked(tmp_path, monkeypatch):
    import shutil

    shutil.copytree(SHARED / "sib200", tmp_path / "sib200")
    with open(tmp_path / "sib200" / "deu_Latn" / "test.tsv", "a") as f:
        f.write("9999\ttravel\tEin neuer Satz.\n")
    with pytest.raises(ValueError, match="MD5"):
        sib200(data_dir=tmp_path)
    monkeypatch.delenv("CORRNET_DATA", raising=False)
    monkeypatch.chdir(tmp_path)  # no ../shared/data from here
    with pytest.raises(FileNotFoundError, match="CORRNET_DATA"):
        sib200(data_dir=tmp_path / "nowhere")


def test_bench_records_then_checks_and_fails_on_a_drop(tmp_path):
    args = [
        "bench",
        "--tasks",
        "iris,wine",
        "--methods",
        "default,cca",
        "--seeds",
        "0,1",
        "-q",
        "--out",
        str(tmp_path / "r"),
    ]
    r = CliRunner().invoke(main, [*args, "--record", str(tmp_path / "rec.json")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r" / "results.md").is_file()
    r = CliRunner().invoke(main, [*args, "--check", str(tmp_path / "rec.json")])
    assert r.exit_code == 0, r.output  # the same fits: no drop
    rec = json.loads((tmp_path / "rec.json").read_text())
    for row in rec["rows"]:  # a record above what this code measures: the gate fails
        row["mean"] += 0.2
    (tmp_path / "rec.json").write_text(json.dumps(rec))
    r = CliRunner().invoke(main, [*args, "--check", str(tmp_path / "rec.json")])
    assert r.exit_code == 1 and r.output.count("REGRESSION") == 4


class _Identity:
    def transform(self, X=None, Y=None):
        return X if X is not None else Y


def test_retrieval_scores_recall_at_1_both_ways():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(50, 4))
    v = quality.Views([A, A], [A, A], [A, A[::-1].copy()], *(np.zeros(50, int),) * 3)
    assert quality._retrieval(_Identity(), v, [A, A]) == 1.0
    assert quality._retrieval(_Identity(), v, v.test) <= 0.1  # rows no longer aligned


def test_linear_cca_reduces_only_wide_sparse_views_by_svd():
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    wide = sp.random(400, 3_000, density=0.01, format="csr", random_state=0, dtype=np.float32)
    narrow = rng.normal(size=(400, 20)).astype(np.float32)
    svd = [quality._svd(wide, 10), quality._svd(narrow, 10)]
    assert svd[0].components_.shape == (quality.SVD_WIDTH, 3_000) and svd[1] is None
    est = quality._Reduced(quality.LinearCCA(10, reg=0.1), svd).fit(wide, narrow)
    assert est.transform(X=wide).shape == est.transform(Y=narrow).shape == (400, 10)


@pytest.mark.slow
def test_worker_processes_give_the_same_table_in_the_same_order(tmp_path):
    kw = {"tasks": ("iris", "wine"), "methods": ("default", "cca"), "seeds": (0, 1), "verbose": False}
    one = quality.run_quality(tmp_path / "one", **kw)
    two = quality.run_quality(tmp_path / "two", jobs=2, **kw)
    key = [(r["task"], r["method"], r["seed"]) for r in one["runs"]]
    assert key == [(r["task"], r["method"], r["seed"]) for r in two["runs"]]
    for a, b in zip(one["runs"], two["runs"]):
        # CCA is numpy, the same kernels: equal; CorrNet ran on one thread there (other reductions)
        assert b["score"] == a["score"] if a["method"] == "cca" else abs(b["score"] - a["score"]) <= 0.1


def test_unknown_tasks_and_methods_are_named_before_any_fit(tmp_path):
    with pytest.raises(ValueError, match=r"unknown task \['irs'\]"):
        quality.run_quality(tmp_path, tasks=("irs",))
    with pytest.raises(ValueError, match=r"unknown method \['bset'\]"):
        quality.run_quality(tmp_path, tasks=("iris",), methods=("bset",))


def test_bridge_scores_only_the_pair_never_seen_together():
    v = quality.TASKS["bridge-digits"].load(None)
    left, right = v.masks[0], v.masks[1]
    assert not (left & right).any() and (left | right).all() and v.masks[2] is None
    assert v.pairs == ((0, 1), (1, 0))
