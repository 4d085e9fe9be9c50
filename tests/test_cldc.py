"""Cross-language document classification on SIB-200: the protocol, its baselines, the CLI."""

import hashlib
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SHARED

from corrnet.cli import main
from corrnet.experiments import cldc


@pytest.fixture(scope="module")
def en_de():
    return cldc.load_pair("eng_Latn", "deu_Latn", SHARED)


def test_languages_pair_the_first_with_each_other_one():
    assert cldc.pairs_for(("eng_Latn", "deu_Latn", "fra_Latn")) == cldc.PAIRS
    with pytest.raises(ValueError, match="at least two"):
        cldc.pairs_for(("eng_Latn",))


def test_the_representation_never_sees_a_test_sentence(en_de):
    rep = set(en_de.representation_texts(0)) | set(en_de.representation_texts(1))
    assert len(en_de.representation_texts(0)) == 800
    assert not rep & (set(en_de.texts["test"][0]) | set(en_de.texts["test"][1]))


def test_baselines_order_as_they_must_and_majority_is_the_source_prior(en_de):
    all_runs = cldc.run_pair(en_de, ("majority", "no-adaptation", "cca", "in-language"), (0,))
    assert [(r["source"], r["target"]) for r in all_runs[:2]] == [("eng_Latn", "deu_Latn"), ("deu_Latn", "eng_Latn")]
    y_tr, y_te = en_de.labels["train"], en_de.labels["test"]
    top = np.bincount(y_tr).argmax()
    for src in ("eng_Latn", "deu_Latn"):
        runs = {r["method"]: r for r in all_runs if r["source"] == src}
        assert runs["majority"]["accuracy"] == pytest.approx(np.mean(y_te == top))  # counted here, independently
        # a shared vocabulary carries something (names, numbers), CCA more, the target's own labels most
        assert runs["majority"]["accuracy"] < runs["no-adaptation"]["accuracy"] < runs["cca"]["accuracy"]
        assert runs["cca"]["accuracy"] < runs["in-language"]["accuracy"]
        for r in runs.values():
            assert 0 <= r["macro_f1"] <= r["accuracy"] + 0.2


def test_classifier_choices_never_see_target_labels(en_de, monkeypatch):
    """Shuffling the target-language test labels changes nothing but the final count: C (and CCA's
    ridge) are chosen on source dev codes."""
    base = cldc.run_pair(en_de, ("cca",), (0,))[0]
    p = cldc.PairData(en_de.langs, en_de.texts, dict(en_de.labels))
    p.labels["test"] = np.random.default_rng(0).permutation(p.labels["test"])
    moved = cldc.run_pair(p, ("cca",), (0,))[0]
    assert (moved["C"], moved["dev_accuracy"]) == (base["C"], base["dev_accuracy"])


def test_another_sib200_language_folder_works_unchanged(tmp_path):
    """Any SIB-200 folder is a language: a copy of the French folder under a new name, listed in
    MD5SUMS, runs the protocol with no code change."""
    root = tmp_path / "sib200"
    shutil.copytree(SHARED / "sib200", root)
    shutil.copytree(root / "fra_Latn", root / "xyz_Latn")
    sums = [(root / "xyz_Latn" / f"{s}.tsv").read_bytes() for s in ("train", "dev", "test")]
    with open(root / "MD5SUMS", "a") as f:
        for s, raw in zip(("train", "dev", "test"), sums):
            f.write(f"{hashlib.md5(raw).hexdigest()}  xyz_Latn/{s}.tsv\n")
    (fra,) = cldc.run_pair(cldc.load_pair("eng_Latn", "fra_Latn", root), ("cca",), (0,))[:1]
    (xyz,) = cldc.run_pair(cldc.load_pair("eng_Latn", "xyz_Latn", root), ("cca",), (0,))[:1]
    assert xyz["accuracy"] == fra["accuracy"]


def _cli_rows(out, languages: str, methods: str, epochs: int) -> list[dict]:
    """``corrnet experiment cldc`` with one seed and few epochs; the rows of its results.json."""
    args = ["experiment", "cldc", "--languages", languages, "--methods", methods, "--seeds", "0"]
    res = CliRunner().invoke(main, [*args, "--epochs", str(epochs), "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return json.loads((out / "results.json").read_text())["rows"]


@pytest.mark.slow
def test_cli_runs_the_protocol_and_corrnet_beats_majority(tmp_path):
    out = tmp_path / "cldc"
    rows = _cli_rows(out, "eng_Latn,deu_Latn", "majority,corrnet", 20)
    acc = {(r["source"], r["method"]): r["accuracy"] for r in rows}
    assert set(acc) == {(s, m) for s in ("eng_Latn", "deu_Latn") for m in ("majority", "corrnet")}
    for src in ("eng_Latn", "deu_Latn"):
        assert acc[src, "corrnet"] > acc[src, "majority"] + 0.1  # 25 % -> well above, even at 20 epochs
    assert "EN→DE" in (out / "results.md").read_text() and "<img" in (out / "index.html").read_text()


def test_helper_languages_are_more_views_and_their_absence_is_named(en_de):
    """gcca-multi adds French (the same 800 sentences) as a third view; scored on English/German only."""
    with pytest.raises(ValueError, match="three or more languages"):
        cldc.run_pair(en_de, ("gcca-multi",), (0,))
    p = cldc.load_pair("eng_Latn", "deu_Latn", SHARED, helpers=("fra_Latn",))
    assert list(p.helpers) == ["fra_Latn"] and len(p.helpers["fra_Latn"]) == 800
    assert not set(p.helpers["fra_Latn"]) & set(cldc.load_pair("eng_Latn", "fra_Latn", SHARED).texts["test"][1])
    runs = cldc.run_pair(p, ("gcca-multi", "majority"), (0,))
    acc = {(r["method"], r["source"]): r["accuracy"] for r in runs}
    for src in ("eng_Latn", "deu_Latn"):
        assert acc["gcca-multi", src] > acc["majority", src] + 0.2


@pytest.mark.slow
def test_corrnet_multi_fits_every_language_given(tmp_path):
    rows = _cli_rows(tmp_path / "multi", "eng_Latn,deu_Latn,fra_Latn", "corrnet-multi", 3)
    assert {(r["source"], r["target"]) for r in rows} == {
        ("eng_Latn", "deu_Latn"),
        ("deu_Latn", "eng_Latn"),
        ("eng_Latn", "fra_Latn"),
        ("fra_Latn", "eng_Latn"),
    }
    assert all(r["accuracy"] > 0.3 for r in rows)  # above the 25 % majority after 3 epochs
