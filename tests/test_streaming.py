"""Views larger than memory: memory-mapped .npy views are streamed from disk chunk by chunk
(corrnet.data.MappedRows, chunked plans). Checked against the in-memory fit on the same arrays."""

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

import corrnet.data as cdata
from corrnet import CorrNet
from corrnet.cli import main
from corrnet.data import MappedRows, ParquetArray
from corrnet.plans import Plan, Source


def _views(tmp_path, n=600, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    X = (scale * (z @ rng.normal(size=(3, 9)) + 0.2 * rng.normal(size=(n, 9)))).astype(np.float32)
    Y = (scale * (z @ rng.normal(size=(3, 7)) + 0.2 * rng.normal(size=(n, 7)))).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    return X, Y, np.load(tmp_path / "x.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r")


def _weights(est):
    return [t.detach().clone() for t in est.model_.state_dict().values()]


# streamed views train with Adam (optimizer='auto' picks full-batch L-BFGS only for in-memory rows)
KW = dict(
    n_components=3, epochs=3, batch_size=40, random_state=0, tol=None, validation_fraction=0.2, optimizer="adam",
    correlation="per_unit",
)


@pytest.mark.parametrize("correlation", ["per_unit", "canonical"])
def test_unshuffled_streamed_fit_equals_the_in_memory_fit_across_many_chunks(tmp_path, monkeypatch, correlation):
    """(canonical: the final alignment's statistics are read chunk by chunk too; it is in the weights)"""
    X, Y, Xm, Ym = _views(tmp_path)
    monkeypatch.setattr(cdata, "CHUNK_BYTES", 7 * 9 * 4 * 13)  # 91 rows of X -> chunks of 80 rows (2 batches)
    kw = dict(KW, shuffle=False, scale="standard", correlation=correlation)
    mem = CorrNet(**kw).fit(X, Y)
    streamed = CorrNet(**kw).fit(Xm, Ym)
    assert isinstance(streamed.model_, torch.nn.Module)
    # the scalers are fitted chunk by chunk on the training rows only (not the validation tail)
    np.testing.assert_allclose(streamed.scaler_x_.mean_, X[:480].astype(np.float64).mean(0), rtol=1e-10)
    np.testing.assert_allclose(streamed.scaler_y_.var_, Y[:480].astype(np.float64).var(0), rtol=1e-9)
    for a, b in zip(_weights(mem), _weights(streamed)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    for ra, rb in zip(mem.history_, streamed.history_):
        assert rb["val_sum_corr"] == pytest.approx(ra["val_sum_corr"], rel=1e-6)
        assert rb["loss"] == pytest.approx(ra["loss"], rel=1e-6)


def test_one_chunk_streamed_fit_is_the_in_memory_fit_bit_for_bit(tmp_path):
    """With the whole view in one chunk, the chunked shuffle draws the in-memory permutation."""
    X, Y, Xm, Ym = _views(tmp_path)
    mem = CorrNet(**KW).fit(X, Y)
    streamed = CorrNet(**KW).fit(Xm, Ym)
    for a, b in zip(_weights(mem), _weights(streamed)):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(mem.transform(X=X), streamed.transform(X=Xm))


def test_chunked_shuffle_visits_every_row_once_in_chunk_order_and_is_seeded():
    n, B, C = 1001, 10, 100  # the 1-row tail joins the last batch of the last chunk
    X = torch.arange(n, dtype=torch.float32).reshape(-1, 1)
    plan = Plan([Source([X, X])], B, shuffle=True, chunk_rows=C)

    def epoch(seed):
        return [rows for ((_, rows),) in plan.epoch(torch.Generator().manual_seed(seed), torch.device("cpu"))]

    steps = epoch(0)
    assert len(steps) == plan.steps_per_epoch == 100
    rows = torch.cat(steps)
    assert sorted(rows.tolist()) == list(range(n))  # every row once
    chunk_of = [set((r // C).clamp(max=9).tolist()) for r in steps]
    assert all(len(c) == 1 for c in chunk_of)  # every batch inside one chunk
    order = [c.pop() for c in chunk_of[::10]]
    assert sorted(order) == list(range(10)) and order != list(range(10))  # whole chunks, shuffled order
    assert steps[0].tolist() != sorted(steps[0].tolist())  # rows shuffled within a chunk
    assert all(torch.equal(a, b) for a, b in zip(steps, epoch(0)))  # seeded
    assert not torch.equal(torch.cat(epoch(1)), rows)
    # unshuffled: the plain contiguous batches
    fixed = Plan([Source([X, X])], B, shuffle=False, chunk_rows=C).epoch(torch.Generator(), torch.device("cpu"))
    assert [rows for ((_, rows),) in fixed][-1] == slice(990, 1001)
    with pytest.raises(ValueError, match="multiple of batch_size"):
        Plan([Source([X, X])], B, shuffle=True, chunk_rows=95)


def test_mapped_rows_read_chunks_once_and_apply_the_transform(tmp_path):
    A = np.arange(60, dtype=np.float64).reshape(20, 3)
    np.save(tmp_path / "a.npy", A)
    m = MappedRows(np.load(tmp_path / "a.npy", mmap_mode="r"), chunk_rows=8, transform=lambda b: 2 * b)
    assert m.bounds == [(0, 8), (8, 16), (16, 20)]
    np.testing.assert_array_equal(m[torch.tensor([9, 15, 8])].numpy(), 2 * A[[9, 15, 8]])
    cached = m._cached[1]
    assert m[slice(10, 12)].data_ptr() == cached[2:4].data_ptr()  # served from the cached chunk
    np.testing.assert_array_equal(m[slice(5, 18)].numpy(), 2 * A[5:18])  # spans chunks: read directly
    np.testing.assert_array_equal(m.window(4, 20)[slice(0, 3)].numpy(), 2 * A[4:7])
    assert m[slice(0, 20)].dtype == torch.float32


def test_streamed_checkpoints_resume_and_share_the_in_memory_fingerprint(tmp_path):
    X, Y, Xm, Ym = _views(tmp_path)
    kw = {**KW, "epochs": 2}
    CorrNet(**kw).fit(Xm, Ym, checkpoint_dir=tmp_path / "ck")
    resumed = CorrNet(**{**kw, "epochs": 4}).fit(Xm, Ym, checkpoint_dir=tmp_path / "ck", resume=True)
    straight = CorrNet(**{**kw, "epochs": 4}).fit(Xm, Ym)
    assert [r["epoch"] for r in resumed.history_] == [1, 2, 3, 4]
    for a, b in zip(_weights(resumed), _weights(straight)):
        assert torch.equal(a, b)
    # the same data in memory resumes the streamed run's checkpoint; other data does not
    in_memory = CorrNet(**{**kw, "epochs": 4}).fit(X, Y, checkpoint_dir=tmp_path / "ck", resume=True)
    assert len(in_memory.history_) == 4
    with pytest.raises(ValueError, match="other data or parameters"):
        CorrNet(**{**kw, "epochs": 5}).fit(X + 1, Y, checkpoint_dir=tmp_path / "ck", resume=True)


def test_streamed_views_are_checked_chunk_by_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(cdata, "CHUNK_BYTES", 9 * 4 * 50)
    X, _, _, _ = _views(tmp_path)
    bad = X.copy()
    bad[437, 2] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    ym = np.load(tmp_path / "y.npy", mmap_mode="r")
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first in row 437\)"):
        CorrNet(**KW).fit(np.load(tmp_path / "bad.npy", mmap_mode="r"), ym)
    np.save(tmp_path / "short.npy", X[:500])
    with pytest.raises(ValueError, match="X has 500 rows but Y has 600"):
        CorrNet(**KW).fit(np.load(tmp_path / "short.npy", mmap_mode="r"), ym)
    np.save(tmp_path / "const.npy", np.ones_like(X))
    with pytest.raises(ValueError, match="every column of X is constant"):
        CorrNet(**KW).fit(np.load(tmp_path / "const.npy", mmap_mode="r"), ym)
    np.save(tmp_path / "text.npy", np.array([["a"]] * 600))
    with pytest.raises(ValueError, match="X holds non-numeric data"):
        CorrNet(**KW).fit(np.load(tmp_path / "text.npy", mmap_mode="r"), ym)
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    with pytest.raises(ValueError, match="X_val has 7 features"):
        CorrNet(**{**KW, "validation_fraction": None}).fit(xm, ym, validation_data=(ym, ym))


@pytest.mark.parametrize("fmt", ["npy", "parquet"])
def test_cli_train_streams_npy_and_parquet_views_and_matches_the_in_memory_fit(tmp_path, fmt):
    from click.testing import CliRunner

    X, Y, _, _ = _views(tmp_path, scale=3.0)
    if fmt == "parquet":  # several row groups per view
        for name, A in (("x", X), ("y", Y)):
            pd.DataFrame(A, columns=[f"c{i}" for i in range(A.shape[1])]).to_parquet(
                tmp_path / f"{name}.parquet", row_group_size=64
            )
    args = ["train", "--x", tmp_path / f"x.{fmt}", "--y", tmp_path / f"y.{fmt}", "--out", tmp_path / "m", "-q"]
    args += ["--json", "--epochs", "3", "--components", "3", "--device", "cpu", "--set", "batch_size=40"]
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["epochs"] == 3
    # memory-mapped views hold out nothing (validation_fraction="auto" draws rows in memory only)
    est = CorrNet(
        n_components=3,
        epochs=3,
        batch_size=40,
        random_state=0,
        device="cpu",
        optimizer="adam",
        validation_fraction=None,
    ).fit(X, Y)
    np.testing.assert_array_equal(CorrNet.load(tmp_path / "m").transform(X=X, Y=Y), est.transform(X=X, Y=Y))


def test_parquet_views_are_read_by_row_groups(tmp_path, monkeypatch):
    X, Y, _, _ = _views(tmp_path)
    for name, A in (("x", X), ("y", Y)):
        pd.DataFrame(A, columns=[f"c{i}" for i in range(A.shape[1])]).to_parquet(
            tmp_path / f"{name}.parquet", row_group_size=50
        )
    P = ParquetArray(tmp_path / "x.parquet")
    assert P.shape == X.shape and P.dtype == np.float32
    np.testing.assert_array_equal(P[37:420:9], X[37:420:9])  # spans row groups
    read = []
    monkeypatch.setattr(
        P.file, "read_row_groups", lambda groups, f=P.file.read_row_groups: read.append(groups) or f(groups)
    )
    np.testing.assert_array_equal(P[120:160], X[120:160])
    assert read == [[2, 3]]  # only the row groups holding rows 120..159
    monkeypatch.setattr(cdata, "CHUNK_BYTES", 9 * 4 * 80)  # chunks that do not align with row groups
    kw = {**KW, "shuffle": False}
    a = CorrNet(**kw).fit(X, Y)
    b = CorrNet(**kw).fit(P, ParquetArray(tmp_path / "y.parquet"))
    for wa, wb in zip(_weights(a), _weights(b)):
        torch.testing.assert_close(wa, wb, atol=1e-6, rtol=1e-5)
    pd.DataFrame({"a": ["x"] * 3, "b": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "text.parquet")
    fix = "; encode them as numbers first (e.g. sklearn.preprocessing.OneHotEncoder) or drop them."
    with pytest.raises(ValueError, match=r"non-numeric columns \['a'\]" + re.escape(fix) + "$"):  # the fix, whole
        ParquetArray(tmp_path / "text.parquet")


PEAK = textwrap.dedent(
    """
    import json, sys, numpy as np
    import corrnet.data as cdata
    from corrnet import CorrNet
    def hwm():  # peak resident memory (VmHWM) in bytes; reset once at start (it is inherited across exec)
        return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
    open("/proc/self/clear_refs", "w").write("5")
    cdata.CHUNK_BYTES = 4 * 2**20
    kw = dict(n_components=4, epochs=1, batch_size=2000, random_state=0, tol=None, shuffle=False, device="cpu")
    A = np.random.default_rng(1).random((8000, 256), dtype=np.float32)
    CorrNet(**kw, validation_fraction=0.5).fit(A, A[:, ::-1].copy())  # warm up: imports, kernels, allocator
    before = hwm()
    X, Y = (np.load(f"{sys.argv[1]}/{v}.npy", mmap_mode="r") for v in ("x", "y"))
    if sys.argv[2] == "memory":
        X, Y = np.array(X), np.array(Y)
    est = CorrNet(**kw, validation_fraction=0.1).fit(X, Y)
    peak = hwm()
    print(json.dumps({"growth": peak - before, "sum_corr": est.history_[-1]["val_sum_corr"]}))
    """
)


@pytest.mark.slow
def test_streaming_a_view_larger_than_the_memory_budget_keeps_resident_memory_flat(tmp_path):
    """2 x 128 MiB of views on disk, a budget of half of that for the growth of the fit's peak
    resident memory: the streamed fit stays under it (reading chunks of 4 MiB); the same fit with
    the views loaded in memory grows by more than the files (it holds the views). The streamed
    growth measured 22-68 MiB over repeated runs (the allocator's arenas vary; 27 MB of it is the
    10 % validation rows, which are held in memory), so a quarter of the files (64 MiB) was too
    tight a budget to be stable."""
    n, d = 131_072, 256
    rng = np.random.default_rng(0)
    z = rng.random((n, 4), dtype=np.float32)
    for name in ("x", "y"):
        mm = np.lib.format.open_memmap(tmp_path / f"{name}.npy", mode="w+", dtype=np.float32, shape=(n, d))
        w = rng.random((4, d), dtype=np.float32)
        for s in range(0, n, 8192):  # written in blocks: the test itself stays small too
            mm[s : s + 8192] = (z[s : s + 8192] @ w + rng.random((min(8192, n - s), d), dtype=np.float32)) / 5
        mm.flush()
        del mm
    file_bytes = 2 * n * d * 4
    budget = file_bytes // 2
    out = {}
    for mode in ("stream", "memory"):
        r = subprocess.run([sys.executable, "-c", PEAK, str(tmp_path), mode], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        out[mode] = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["stream"]["growth"] < budget, out
    assert out["memory"]["growth"] > file_bytes, out  # the measurement can see the difference
    assert out["stream"]["sum_corr"] == pytest.approx(out["memory"]["sum_corr"], rel=1e-5)  # unshuffled: same fit


def test_a_one_row_memory_mapped_view_transforms_like_the_array(tmp_path):
    """Transforming needs one row, fitting two: a one-row memory-mapped view is accepted by both
    estimators' transform (a round-6 mutation survivor dropped the streamed check's min_rows)."""
    import warnings

    from corrnet import MultiViewCorrNet

    rng = np.random.default_rng(0)
    X, Y = rng.random((40, 5)).astype(np.float32), rng.random((40, 3)).astype(np.float32)
    np.save(tmp_path / "row.npy", X[:1])
    row = np.load(tmp_path / "row.npy", mmap_mode="r")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mv = MultiViewCorrNet(2, epochs=2, device="cpu", random_state=0).fit([X, Y])
        two = CorrNet(2, epochs=2, device="cpu", random_state=0, correlation="per_unit").fit(X, Y)
    np.testing.assert_array_equal(mv.transform([row, None]), mv.transform([X[:1], None]))
    np.testing.assert_array_equal(mv.transform([MappedRows(row), None]), mv.transform([X[:1], None]))
    np.testing.assert_array_equal(two.transform(X=row), two.transform(X=X[:1]))
