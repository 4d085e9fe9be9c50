"""Data-parallel training (corrnet.distributed): real gloo processes against one process on the
doubled batch, and the sufficient-statistics correlation against the two-pass one."""

import json
import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from corrnet import Config, CorrNet, CorrNetModule, MultiViewCorrNet, multiview_loss
from corrnet.objective import correlation, correlation_stats

B = 16  # rows per process per step


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    X = 1 / (1 + np.exp(-(z @ rng.normal(size=(2, 6)) + 0.3 * rng.normal(size=(n, 6)))))
    Y = 1 / (1 + np.exp(-(z @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(n, 5)))))
    return X.astype(np.float32), Y.astype(np.float32)


def _mv_data(n=96):
    """Three views; rows miss some views (each row keeps at least one)."""
    X, Y = _data(n, seed=1)
    Z = (0.5 * X[:, :4] + 0.5 * Y[:, :4]).astype(np.float32)
    masks = np.random.default_rng(3).random((n, 3)) > 0.3
    masks[~masks.any(1), 0] = True
    return [X, Y, Z], [masks[:, i] for i in range(3)]


def _custom_encoders() -> list:
    """View 1 through a user's two-layer module (seeded), view 2 through the built-in layer."""
    torch.manual_seed(7)
    return [torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)), None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("masked", [False, True])
def test_correlation_from_summed_statistics_equals_the_two_pass_correlation(masked):
    g = torch.Generator().manual_seed(1)
    hx, hy = torch.rand(40, 5, generator=g, dtype=torch.float64), torch.rand(40, 5, generator=g, dtype=torch.float64)
    mask = (torch.rand(40, generator=g) > 0.3) if masked else None
    # statistics of two halves, summed: the statistics of the whole batch
    halves = [slice(0, 17), slice(17, 40)]
    S = sum(correlation_stats(hx[h], hy[h], None if mask is None else mask[h]) for h in halves)
    torch.testing.assert_close(S, correlation_stats(hx, hy, mask), rtol=1e-12, atol=1e-12)
    want = correlation(hx, hy, 1e-8, mask)
    got = correlation(hx, hy, 1e-8, mask, reduce=lambda s: s)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    # a constant unit stays finite and 0, as in the two-pass form
    hx[:, 0] = 0.25
    assert correlation(hx, hy, 1e-8, mask, reduce=lambda s: s)[0].item() == pytest.approx(0.0, abs=1e-6)


def _worker(rank, world, port, out, X, Y):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        from corrnet.distributed import Dist
        from corrnet.training import make_distributed_step

        d = Dist.current()
        # one step in float64: this process's share of a global batch of world * B rows
        cfg = Config(n_components=3, lam=2.0)
        model = CorrNetModule((X.shape[1], Y.shape[1]), cfg, generator=torch.Generator().manual_seed(0)).double()
        rows = d.shard(slice(0, world * B))
        xs = [torch.from_numpy(X[rows]).double(), torch.from_numpy(Y[rows]).double()]
        terms = make_distributed_step(model, cfg, d)(xs, world * B)
        d.sum_grads(model)
        share = torch.stack([terms.total, terms.corr.sum()])
        dist.all_reduce(share)
        grads = {k: p.grad.clone() for k, p in model.named_parameters()}
        # the canonical correlation term from the summed (1 + 2k)^2 statistics: the global batch's
        ccfg = Config(n_components=3, lam=2.0, correlation="canonical", hidden_activation="linear")
        cmodel = CorrNetModule((X.shape[1], Y.shape[1]), ccfg, generator=torch.Generator().manual_seed(0)).double()
        cterms = make_distributed_step(cmodel, ccfg, d)(xs, world * B)
        d.sum_grads(cmodel)
        cshare = torch.stack([cterms.total, cterms.corr.sum()])
        dist.all_reduce(cshare)
        cgrads = {k: p.grad.clone() for k, p in cmodel.named_parameters()}
        # a whole fit, shuffling off (batches: rank r's share of each global batch)
        est = CorrNet(3, batch_size=B, epochs=3, tol=None, shuffle=False, device="cpu", random_state=0)
        est.fit(X, Y, distributed=True, checkpoint_dir=os.path.join(out, "ck"))
        # a custom encoder trains data parallel as the built-in one does
        cest = CorrNet(3, encoders=_custom_encoders(), batch_size=B, epochs=3, tol=None, shuffle=False, device="cpu",
                       random_state=0)
        cest.fit(X, Y, distributed=True)
        # the processes stay in sync: with (against the rules) different values of the same shape,
        # the summed gradients still keep every process's weights equal
        skew = CorrNet(3, batch_size=B, epochs=2, tol=None, shuffle=False, device="cpu", random_state=0)
        skew.fit(np.clip(X + 0.05 * rank, 0, 1), Y, distributed=True)
        # ranks given different data shapes fail, each with the same clear error
        try:
            CorrNet(3, batch_size=B, epochs=1, device="cpu").fit(X[: 40 + rank], Y[: 40 + rank], distributed=True)
            error = None
        except ValueError as e:
            error = str(e)
        # N views with row masks: one float64 step, and a MultiViewCorrNet fit
        views, masks = _mv_data()
        mcfg = Config(n_components=3, lam=2.0, reconstruct_from=("all", "single"))
        mv = CorrNetModule([v.shape[1] for v in views], mcfg, generator=torch.Generator().manual_seed(0)).double()
        mask = torch.from_numpy(np.stack(masks, 1))[rows]
        xs = [torch.from_numpy(v[rows]).double() * mask[:, i : i + 1] for i, v in enumerate(views)]
        mterms = make_distributed_step(mv, mcfg, d)(xs, world * B, mask)
        d.sum_grads(mv)
        mshare = torch.stack([mterms.total, mterms.corr.sum(), mterms.recon["unpaired"]])
        dist.all_reduce(mshare)
        mgrads = {k: p.grad.clone() for k, p in mv.named_parameters()}
        mvest = MultiViewCorrNet(3, batch_size=B, epochs=3, tol=None, shuffle=False, device="cpu", random_state=0)
        mvest.fit(views, masks=masks, distributed=True)
        # and it stays in sync on different values too (a fit that ignored its process group would not)
        mvskew = MultiViewCorrNet(3, batch_size=B, epochs=2, tol=None, shuffle=False, device="cpu", random_state=0)
        mvskew.fit([np.clip(views[0] + 0.05 * rank, 0, 1), *views[1:]], masks=masks, distributed=True)
        torch.save(
            {
                "share": share,
                "grads": grads,
                "cshare": cshare,
                "cgrads": cgrads,
                "state": est.model_.state_dict(),
                "history": est.history_,
                "error": error,
                "skew": skew.model_.state_dict(),
                "mshare": mshare,
                "mgrads": mgrads,
                "mstate": mvest.model_.state_dict(),
                "mhistory": mvest.history_,
                "mskew": mvskew.model_.state_dict(),
                "custom": cest.model_.state_dict(),
            },
            os.path.join(out, f"rank{rank}.pt"),
        )
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    X, Y = _data()
    mp.start_processes(_worker, args=(2, _free_port(), str(out), X, Y), nprocs=2, start_method="spawn")
    return out, X, Y, [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


@pytest.mark.slow
def test_two_processes_compute_the_global_batch_loss_and_gradient(two_processes):
    _, X, Y, ranks = two_processes
    cfg = Config(n_components=3, lam=2.0)
    model = CorrNetModule((X.shape[1], Y.shape[1]), cfg, generator=torch.Generator().manual_seed(0)).double()
    xs = [torch.from_numpy(X[: 2 * B]).double(), torch.from_numpy(Y[: 2 * B]).double()]
    terms = multiview_loss(model, xs, cfg)  # one process, the doubled batch, the two-pass correlation
    terms.total.backward()
    for r in ranks:
        torch.testing.assert_close(r["share"][0], terms.total.detach(), rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(r["share"][1], terms.corr.sum().detach(), rtol=1e-10, atol=1e-12)
        for k, p in model.named_parameters():  # every process holds the global gradient
            torch.testing.assert_close(r["grads"][k], p.grad, rtol=1e-9, atol=1e-12)


@pytest.mark.slow
def test_two_processes_compute_the_global_batch_canonical_objective(two_processes):
    _, X, Y, ranks = two_processes
    cfg = Config(n_components=3, lam=2.0, correlation="canonical", hidden_activation="linear")
    model = CorrNetModule((X.shape[1], Y.shape[1]), cfg, generator=torch.Generator().manual_seed(0)).double()
    xs = [torch.from_numpy(X[: 2 * B]).double(), torch.from_numpy(Y[: 2 * B]).double()]
    terms = multiview_loss(model, xs, cfg)  # one process, the doubled batch
    terms.total.backward()
    for r in ranks:
        torch.testing.assert_close(r["cshare"][0], terms.total.detach(), rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(r["cshare"][1], terms.corr.sum().detach(), rtol=1e-9, atol=1e-12)
        for k, p in model.named_parameters():
            torch.testing.assert_close(r["cgrads"][k], p.grad, rtol=1e-8, atol=1e-11)


# the one-process reference of the two-process runs: the doubled batch, unshuffled, autograd, Adam
# (distributed fits train Adam; full-batch L-BFGS is one process's)
ONE_PROCESS = dict(batch_size=2 * B, epochs=3, tol=None, shuffle=False, engine="autograd", device="cpu")
ONE_PROCESS.update(random_state=0, optimizer="adam")


@pytest.mark.slow
def test_two_processes_train_like_one_process_with_the_doubled_batch(two_processes):
    out, X, Y, ranks = two_processes
    one = CorrNet(3, **ONE_PROCESS)
    one.fit(X, Y)
    for r in ranks:  # both ranks end with the same weights as the single process
        for k, v in one.model_.state_dict().items():
            torch.testing.assert_close(r["state"][k], v, rtol=1e-4, atol=1e-5)
        for a, b in zip(r["history"], one.history_):
            assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
            assert a["sum_corr"] == pytest.approx(b["sum_corr"], rel=1e-4)
    assert any((out / "ck").iterdir()), "rank 0 wrote no checkpoint"


@pytest.mark.slow
def test_two_processes_train_a_custom_encoder_like_one_process_with_the_doubled_batch(two_processes):
    _, X, Y, ranks = two_processes
    one = CorrNet(3, encoders=_custom_encoders(), **ONE_PROCESS).fit(X, Y)
    assert any(k.startswith("encoders.0.module.") for k in one.model_.state_dict())
    for r in ranks:  # float32 rounding of the summed gradients, through two more layers: atol 1e-4
        for k, v in one.model_.state_dict().items():
            torch.testing.assert_close(r["custom"][k], v, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_two_processes_compute_the_masked_n_view_objective_of_the_global_batch(two_processes):
    """Three views, rows missing some: the loss, its terms and the gradient of the global batch."""
    _, _, _, ranks = two_processes
    views, masks = _mv_data()
    cfg = Config(n_components=3, lam=2.0, reconstruct_from=("all", "single"))
    model = CorrNetModule([v.shape[1] for v in views], cfg, generator=torch.Generator().manual_seed(0)).double()
    mask = torch.from_numpy(np.stack(masks, 1))[: 2 * B]
    xs = [torch.from_numpy(v[: 2 * B]).double() * mask[:, i : i + 1] for i, v in enumerate(views)]
    terms = multiview_loss(model, xs, cfg, mask=mask)  # one process, the doubled batch
    terms.total.backward()
    want = torch.stack([terms.total, terms.corr.sum(), terms.recon["unpaired"]]).detach()
    for r in ranks:
        torch.testing.assert_close(r["mshare"], want, rtol=1e-10, atol=1e-12)
        for k, p in model.named_parameters():
            torch.testing.assert_close(r["mgrads"][k], p.grad, rtol=1e-9, atol=1e-12)


@pytest.mark.slow
def test_two_processes_train_a_masked_multiview_model_like_one_process(two_processes):
    views, masks = _mv_data()
    one = MultiViewCorrNet(3, **ONE_PROCESS).fit(views, masks=masks)
    for r in two_processes[3]:
        for k, v in one.model_.state_dict().items():
            torch.testing.assert_close(r["mstate"][k], v, rtol=1e-4, atol=1e-5)
        for a, b in zip(r["mhistory"], one.history_, strict=True):
            for key in ("loss", "sum_corr", "recon_unpaired"):
                assert a[key] == pytest.approx(b[key], rel=1e-4), key


@pytest.mark.slow
def test_the_processes_weights_stay_equal_even_on_different_values(two_processes):
    """Each process trains on its share of the global batch and the gradients are summed, so the
    weights agree across processes; processes that each trained alone (no all-reduce) would not."""
    for key in ("skew", "mskew"):  # CorrNet and MultiViewCorrNet
        a, b = (r[key] for r in two_processes[3])
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


@pytest.mark.slow
def test_ranks_given_different_data_fail_with_one_clear_error(two_processes):
    for r in two_processes[3]:
        assert r["error"] is not None and r["error"].startswith("the processes disagree on the shapes of X and Y")
        assert "every process must be given the same data" in r["error"]


def test_distributed_training_needs_the_autograd_engine():
    X, Y = _data(20)
    with pytest.raises(ValueError, match="distributed=True trains with the autograd engine; use engine='auto'"):
        CorrNet(2, epochs=1, engine="fused", device="cpu").fit(X, Y, distributed=True)
    with pytest.raises(ValueError, match="not 'compile'"):
        MultiViewCorrNet(2, epochs=1, engine="compile", device="cpu").fit(list(_mv_data(20)[0]), distributed=True)


def test_distributed_without_a_process_group_says_how_to_start_one():
    X, Y = _data(20)
    with pytest.raises(RuntimeError, match="torchrun"):
        CorrNet(2, epochs=1, device="cpu").fit(X, Y, distributed=True)


_RENDEZVOUS_ERRORS = ("RendezvousConnectionError", "DistNetworkError", "EADDRINUSE", "Address already in use")


@pytest.mark.slow
def test_cli_nproc_2_trains_like_one_process_with_the_doubled_batch(tmp_path):
    """`corrnet train --nproc 2` (torchrun's launcher, gloo): rank 0 writes the model."""
    import subprocess
    import sys

    X, Y = _data()
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "Y.npy", Y)
    common = [sys.executable, "-m", "corrnet", "train", "--x", tmp_path / "X.npy", "--y", tmp_path / "Y.npy"]
    common += ["--epochs", "3", "--components", "3", "--device", "cpu", "-q", "--set", "shuffle=false"]
    common += ["--set", "tol=none", "--set", "engine=autograd"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    two = [*common, "--out", tmp_path / "two", "--nproc", "2", "--set", f"batch_size={B}"]
    one = [*common, "--out", tmp_path / "one", "--set", f"batch_size={2 * B}"]
    for cmd in (two, one):
        for attempt in (1, 2):
            r = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, timeout=300)
            # one retry, only when torchrun's own rendezvous fails to connect (a port taken by another
            # process on a shared machine is the launcher's problem, not corrnet's); any other failure
            # fails here, with the command's stderr (a CI run once failed this test without showing
            # its stderr; 8 local runs did not reproduce it)
            if r.returncode == 0 or attempt == 2 or not any(m in r.stderr for m in _RENDEZVOUS_ERRORS):
                break
        assert r.returncode == 0, f"exit {r.returncode}:\n{r.stderr[-3000:]}"
    a = CorrNet.load(tmp_path / "two").transform(X=X, Y=Y)
    b = CorrNet.load(tmp_path / "one").transform(X=X, Y=Y)
    np.testing.assert_allclose(a, b, atol=1e-5)


def _children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (from /proc)."""
    out = []
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                fields = open(f"/proc/{stat}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(stat))
    return out


@pytest.mark.slow
def test_killing_one_worker_fails_the_run_cleanly_and_it_resumes(tmp_path):
    """SIGKILL rank 1 of `corrnet train --nproc 2` after a checkpoint: the launcher stops the job with
    an error (exit 1, the other worker stopped too); --resume (here on 1 process with the global batch)
    finishes the run from the last checkpoint with the uninterrupted run's weights."""
    import signal
    import subprocess
    import sys
    import time

    rng = np.random.default_rng(0)
    z = rng.normal(size=(2000, 3))
    np.save(tmp_path / "X.npy", ((np.tanh(z @ rng.normal(size=(3, 20))) + 1) / 2).astype(np.float32))
    np.save(tmp_path / "Y.npy", ((np.tanh(z @ rng.normal(size=(3, 15))) + 1) / 2).astype(np.float32))
    base = [sys.executable, "-m", "corrnet", "train", "--x", tmp_path / "X.npy", "--y", tmp_path / "Y.npy", "-q"]
    base += ["--epochs", "40", "--components", "4", "--device", "cpu", "--set", "tol=none", "--set", "shuffle=false"]
    # the per-unit objective: 40 epochs of the canonical one (lam = 64) carry the all-reduce's rounding
    # (about 3e-6 on the codes after 3 epochs) up to 0.1
    base += ["--set", "correlation=per_unit"]
    ck = tmp_path / "ck"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [*base, "--set", "batch_size=20", "--nproc", "2", "--out", tmp_path / "killed", "--checkpoint-dir", ck]
    proc = subprocess.Popen([str(c) for c in cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    while not (ck / "checkpoint.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    workers = [p for p in _children(proc.pid) if b"LOCAL_RANK=1" in open(f"/proc/{p}/environ", "rb").read()]
    assert workers, "no rank-1 worker found (the run ended before a checkpoint?)"
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err.decode()[-2000:]
    assert b"a worker process failed" in err
    assert not _children(proc.pid) and not (tmp_path / "killed").exists()  # nothing half-written
    done = json.loads((ck / "checkpoint.json").read_text())["epoch"]
    assert 1 <= done < 40
    import shutil

    shutil.copytree(ck, tmp_path / "ck1")
    two = [*base, "--set", "batch_size=20", "--nproc", "2"]
    one = [*base, "--set", "batch_size=20"]  # another N: the same per-process batch (fingerprint)
    runs = (
        ("resumed", [*two, "--checkpoint-dir", ck, "--resume"]),
        ("resumed1", [*one, "--checkpoint-dir", tmp_path / "ck1", "--resume"]),
        ("straight", [*base, "--set", "batch_size=40", "--set", "engine=autograd"]),  # 1 process, global batch
    )
    for out, cmd in runs:
        subprocess.run([str(c) for c in [*cmd, "--out", tmp_path / out]], check=True, env=env, timeout=300)
    X = np.load(tmp_path / "X.npy")
    a, b = CorrNet.load(tmp_path / "resumed"), CorrNet.load(tmp_path / "straight")
    assert len(a.history_) == 40 and len(CorrNet.load(tmp_path / "resumed1").history_) == 40
    np.testing.assert_allclose(a.transform(X=X), b.transform(X=X), atol=1e-5)
