"""Estimator behaviours the README promises that mutation testing found unpinned: the epoch log
(CSV and TensorBoard), preset overrides, and the scoring API's argument handling."""

import csv
import sys
import types

import numpy as np
import pytest

from corrnet import CorrNet

CPU = dict(device="cpu", random_state=0)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_log_dir_is_created_and_holds_one_csv_row_per_epoch(two_views, tmp_path):
    X, Y = two_views
    log = tmp_path / "a" / "b" / "logs"  # nested: parents are created
    est = CorrNet(3, epochs=3, tol=None, **CPU).fit(X, Y, log_dir=log)
    rows = _rows(log / "history.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    for r, h in zip(rows, est.history_):
        assert float(r["loss"]) == pytest.approx(h["loss"], rel=1e-12)
        assert float(r["sum_corr"]) == pytest.approx(h["sum_corr"], rel=1e-12)


def test_a_new_run_replaces_an_old_log_and_a_resumed_run_appends(two_views, tmp_path):
    X, Y = two_views
    log, ck = tmp_path / "logs", tmp_path / "ck"
    CorrNet(3, epochs=4, tol=None, **CPU).fit(X, Y, log_dir=log)
    CorrNet(3, epochs=2, tol=None, **CPU).fit(X, Y, log_dir=log, checkpoint_dir=ck)  # a new run: starts over
    assert [int(r["epoch"]) for r in _rows(log / "history.csv")] == [1, 2]
    CorrNet(3, epochs=5, tol=None, **CPU).fit(X, Y, log_dir=log, checkpoint_dir=ck, resume=True)  # appends
    assert [int(r["epoch"]) for r in _rows(log / "history.csv")] == [1, 2, 3, 4, 5]
    text = (log / "history.csv").read_text()
    assert text.count("epoch,") == 1  # one header


def test_tensorboard_scalars_are_written_when_tensorboard_is_installed(two_views, tmp_path, monkeypatch):
    """TensorBoard is optional (not a dependency): a stand-in SummaryWriter records what the logger writes."""
    calls = []

    class Writer:
        def __init__(self, logdir):
            calls.append(("init", logdir))

        def add_scalar(self, tag, value, step):
            calls.append((tag, value, step))

        def flush(self):
            calls.append(("flush",))

    fake = types.ModuleType("torch.utils.tensorboard")
    fake.SummaryWriter = Writer
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", fake)
    X, Y = two_views
    est = CorrNet(3, epochs=2, tol=None, **CPU).fit(X, Y, log_dir=tmp_path / "tb")
    assert calls[0] == ("init", str(tmp_path / "tb"))
    scalars = [c for c in calls if len(c) == 3]
    assert ("loss", est.history_[1]["loss"], 2) in scalars
    assert not any(tag == "epoch" for tag, _, _ in scalars)  # the step, not a scalar
    assert {tag for tag, _, _ in scalars} == set(est.history_[0]) - {"epoch"}
    assert calls.count(("flush",)) == 2


def test_paper_preset_takes_overrides():
    est = CorrNet.paper(n_components=7, epochs=3)
    assert (est.n_components, est.epochs, est.optimizer, est.tied) == (7, 3, "rmsprop_original", True)


def test_score_accepts_sklearns_y_keyword_and_correlations_needs_two_views(two_views):
    X, Y = two_views
    est = CorrNet(3, epochs=2, tol=None, **CPU).fit(X, Y)
    assert est.score(X, y=Y) == est.score(X, Y) == pytest.approx(float(np.sum(est.correlations(X, Y))))
    with pytest.raises(ValueError, match="both views with at least 2 paired rows"):
        est.correlations(X[:1], Y[:1])
    with pytest.raises(ValueError, match="both views"):
        est.correlations(X, None)
