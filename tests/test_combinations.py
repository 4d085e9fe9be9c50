"""Options that meet: each test combines two or three options no other test combines.

Already combined elsewhere: N views + sparse + masks (``test_sparse``), a sparse-input model's ONNX
graphs and every mix of scaled and unscaled views (``test_units``).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from corrnet import CorrNet, persistence

CPU = dict(device="cpu", random_state=0, correlation="per_unit")


def _sparse_pair(n: int = 200, seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    X = 1 / (1 + np.exp(-(z @ rng.normal(size=(2, 30))))) * (rng.random((n, 30)) < 0.3)
    Y = 1 / (1 + np.exp(-(z @ rng.normal(size=(2, 5)))))
    return sp.csr_matrix(X.astype(np.float32)), Y.astype(np.float32)


@pytest.mark.parametrize("strategy", ["pretrain", "alternate", "mixed"])
def test_sparse_views_with_unpaired_rows_train_like_their_dense_copies(strategy):
    """Every unpaired strategy's batches (single-view sources, mixed batches, the pretraining phase)
    slice sparse rows as they slice dense ones."""
    X, Y = _sparse_pair()
    kw = dict(n_components=3, epochs=3, tol=None, engine="autograd", unpaired_strategy=strategy, **CPU)
    s = CorrNet(**kw).fit(X[:100], Y[:100], X_unpaired=X[100:150], Y_unpaired=Y[150:])
    d = CorrNet(**kw).fit(X[:100].toarray(), Y[:100], X_unpaired=X[100:150].toarray(), Y_unpaired=Y[150:])
    assert s.unpaired_strategy_ == strategy
    np.testing.assert_allclose(s.transform(X=X), d.transform(X=X.toarray()), rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(s.generate(Y=Y), d.generate(Y=Y), rtol=1e-4, atol=2e-5)


def test_bfloat16_with_a_sparse_view_on_the_cpu_is_refused_clearly():
    """torch has no bfloat16 sparse matmul on the CPU: it failed inside the first step with
    'addmm_out_sparse_csr_impl_mkl not implemented for BFloat16'."""
    X, Y = _sparse_pair()
    with pytest.raises(ValueError, match=r"precision='bfloat16' has no sparse matmul on the CPU.*float32"):
        CorrNet(3, epochs=1, precision="bfloat16", **CPU).fit(X, Y)
    CorrNet(3, epochs=1, precision="bfloat16", **CPU).fit(X.toarray(), Y)  # dense: trains


def test_streamed_views_with_validation_and_early_stopping_equal_the_in_memory_fit(tmp_path):
    """Memory-mapped views split off their validation rows without reading them, validate from
    summed statistics, stop early and keep the best epoch, as the in-memory fit does."""
    rng = np.random.default_rng(0)
    X = rng.random((120, 20)).astype(np.float32)
    Y = (X[:, :4] * 50 + 20 * rng.normal(size=(120, 4))).astype(np.float32)  # standardised
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    Xm, Ym = np.load(tmp_path / "x.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r")
    kw = dict(
        n_components=8, epochs=300, batch_size=20, validation_fraction=0.25, shuffle=False, optimizer="adam", **CPU
    )
    kw.update(early_stopping=True, patience=3)
    streamed, memory = CorrNet(**kw).fit(Xm, Ym), CorrNet(**kw).fit(X, Y)
    assert streamed.stop_reason_ == memory.stop_reason_ == "early_stopping"
    assert streamed.best_epoch_ == memory.best_epoch_ < streamed.n_epochs_ < 300
    for a, b in zip(streamed.history_, memory.history_, strict=True):
        assert a["val_sum_corr"] == pytest.approx(b["val_sum_corr"], rel=1e-5)
    np.testing.assert_allclose(streamed.transform(X=X), memory.transform(X=X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(streamed.generate(X=X), memory.generate(X=X), rtol=1e-5, atol=1e-4)


def test_a_killed_cosine_run_with_early_stopping_resumes_to_the_uninterrupted_result(two_views, tmp_path, monkeypatch):
    """Resume restores the step count the cosine rate is computed from, the early-stopping state
    (best score, patience used) and the best epoch's weights, which the run then returns."""
    X, Y = two_views
    kw = dict(n_components=6, epochs=60, batch_size=20, lr=0.05, lr_schedule="cosine", tol=None, **CPU)
    kw.update(validation_fraction=0.25, early_stopping=True, patience=3)
    full = CorrNet(**kw).fit(X, Y)
    assert full.stop_reason_ == "early_stopping" and full.best_epoch_ < full.n_epochs_
    kill_at = full.best_epoch_ + 1  # past the best epoch: its weights must come from the checkpoint
    real = persistence.save_checkpoint

    def save_then_die(state, path, extra=None):
        real(state, path, extra)
        if state.epoch == kill_at:
            raise KeyboardInterrupt

    monkeypatch.setattr(persistence, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        CorrNet(**kw).fit(X, Y, checkpoint_dir=tmp_path)
    monkeypatch.setattr(persistence, "save_checkpoint", real)
    resumed = CorrNet(**kw).fit(X, Y, checkpoint_dir=tmp_path, resume=True)
    assert (resumed.stop_reason_, resumed.best_epoch_, resumed.n_epochs_) == (
        full.stop_reason_,
        full.best_epoch_,
        full.n_epochs_,
    )
    assert [r["loss"] for r in resumed.history_] == [r["loss"] for r in full.history_]
    for a, b in zip(full.model_.state_dict().values(), resumed.model_.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
