"""Promises that mutation testing (``make mutants``) found unpinned; each test names the wrong
implementation it rejects."""

import dataclasses
import json
import re
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

import corrnet
from corrnet import Config, CorrNet, CorrNetModule, MultiViewCorrNet, multiview_loss, training
from corrnet.training import self_reconstruction

CPU = dict(device="cpu", random_state=0)


def _three(n=150):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(n, 2))
    return [(1 / (1 + np.exp(-(z @ rng.normal(size=(2, d)))))).astype(np.float32) for d in (5, 4, 3)]


def test_multiview_generate_and_correlations_by_hand():
    """generate(view=0) is allowed; correlations pair each view's own code (not the others')."""
    views = _three()
    est = MultiViewCorrNet(2, epochs=3, tol=None, **CPU).fit(views)
    assert est.generate([None, views[1], None], view=0).shape == views[0].shape
    h = [est.transform([v if j == i else None for j in range(3)]) for i, v in enumerate(views)]
    want = [[np.corrcoef(h[i][:, u], h[j][:, u])[0, 1] for u in range(2)] for i, j in ((0, 1), (0, 2), (1, 2))]
    np.testing.assert_allclose(est.correlations(views), want, rtol=1e-4, atol=1e-5)


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


def test_auto_epochs_do_not_warn_when_the_loss_was_flat_at_the_end():
    """With epochs='auto' running out of epochs is the plan; only a still-falling loss warns."""
    est = CorrNet(2, tol=1e-12, **CPU)
    est.history_ = [{"loss": v} for v in [10.0, 5.0, 4.0] + [3.0] * 97]  # flat for the last quarter
    assert not est._still_improving()
    est.history_ = [{"loss": 10.0 - 0.09 * i} for i in range(100)]  # still falling
    assert est._still_improving()
    # the run's whole decrease is measured from its first epoch (100 -> 9: the last quarter's 0.25 is < 5 %)
    est.history_ = [{"loss": v} for v in [100.0, 10.0, *np.linspace(10, 9, 98)]]
    assert not est._still_improving()
    est.set_params(epochs=100)
    est.history_ = [{"loss": v} for v in [10.0, 5.0, 4.0] + [3.0] * 97]
    assert est._still_improving()  # a fixed budget that ran out always warns (tol is set)


def test_bce_self_reconstruction_of_single_view_rows_by_hand():
    c = Config(n_components=3, loss="bce").validate()
    model = CorrNetModule([6, 5], c, generator=torch.Generator().manual_seed(0)).double()
    x = torch.rand(7, 6, dtype=torch.float64)
    p = model.decode(model.encode([x, None]))[0]
    want = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(1).mean()
    torch.testing.assert_close(self_reconstruction(model, 0, x, c), want, rtol=1e-6, atol=1e-8)
    with torch.no_grad():  # saturated outputs: the fused logit form stays exact where sigmoid rounds to 1
        model.decoders[0].out.bias.fill_(50.0)
    pre = model.decode_pre(model.encode([x, None]))[0]
    exact = torch.nn.functional.binary_cross_entropy_with_logits(pre, x, reduction="none").sum(1).mean()
    torch.testing.assert_close(self_reconstruction(model, 0, x, c), exact, rtol=1e-9, atol=1e-9)


def test_a_failing_torch_compile_falls_back_with_one_warning(two_views, monkeypatch):
    """engine='compile' on a machine where compiling fails: the same maths without it, one warning."""

    def broken(fn, **kw):
        def call(*a):
            raise RuntimeError("no C++ compiler")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    X, Y = two_views
    kw = dict(n_components=3, epochs=2, tol=None, **CPU)
    with pytest.warns(UserWarning, match="torch.compile failed \\(RuntimeError\\); training without it"):
        a = CorrNet(**kw, engine="compile").fit(X, Y)
    b = CorrNet(**kw, engine="fused").fit(X, Y)
    np.testing.assert_allclose(a.transform(X=X), b.transform(X=X), atol=1e-6)


def test_a_working_torch_compile_does_not_warn():
    fn = training._compiled_or_fallback(lambda t: t * 2 + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fn(torch.ones(3))
        out = fn(torch.ones(3))
    torch.testing.assert_close(out, torch.full((3,), 3.0))


def test_fixed_epochs_warn_when_not_converged(two_views):
    X, Y = two_views
    with pytest.warns(ConvergenceWarning, match="stopped after epochs=2"):
        CorrNet(3, epochs=2, **CPU).fit(X, Y)


def test_multiview_parameters_match_corrnets_and_are_stored():
    shared = {k: v for k, v in CorrNet().get_params().items() if k in MultiViewCorrNet().get_params()}
    mv = MultiViewCorrNet().get_params()
    assert {k: mv[k] for k in shared if k != "reconstruct_from"} == {
        k: v for k, v in shared.items() if k != "reconstruct_from"
    }
    assert mv["reconstruct_from"] == ("all", "single")
    assert MultiViewCorrNet(patience=3, verbose=2).get_params()["patience"] == 3


def test_multiview_inputs_are_checked_against_the_fit():
    views = _three(60)
    est = MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit([views[0], views[1], views[2][:, 0]])  # 1-D: one feature
    assert est.n_features_views_ == [5, 4, 1]
    with pytest.raises(ValueError, match="4 features"):
        est.transform([None, views[0], None])  # view 1 has 4 columns, not 5
    with pytest.raises(ValueError, match=r"^pass at least one view \(the others may be None\)\.$"):
        est.transform([None, None, None])
    MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit([v[:2] for v in views])  # 2 rows are enough to fit


def test_a_source_missing_some_views_equals_its_masked_batch():
    """A source holding views 0 and 1 of a three-view model (no mask) trains like the masked batch."""
    from corrnet.plans import Source
    from corrnet.training import _part_backward

    c = Config(n_components=3, reconstruct_from=("all", "single")).validate()
    gen = torch.Generator().manual_seed(0)
    a, b = torch.rand(8, 5, generator=gen, dtype=torch.float64), torch.rand(8, 4, generator=gen, dtype=torch.float64)
    grads = []
    for how in ("source", "mask"):
        model = CorrNetModule([5, 4, 3], c, generator=torch.Generator().manual_seed(1)).double()
        if how == "source":
            _part_backward(model, Source([a, b, None]), slice(None), c)
        else:
            mask = torch.tensor([[True, True, False]] * 8)
            multiview_loss(model, [a, b, torch.zeros(8, 3, dtype=torch.float64)], c, mask=mask).total.backward()
        grads.append([torch.zeros_like(p) if p.grad is None else p.grad for p in model.parameters()])
    for u, v in zip(*grads):
        torch.testing.assert_close(u, v, rtol=1e-12, atol=1e-14)


def test_masked_objective_row_weights():
    c = Config(n_components=3, lam=0.0, reconstruct_from=("all", "single")).validate()
    model = CorrNetModule([5, 4], c, generator=torch.Generator().manual_seed(0)).double()
    gen = torch.Generator().manual_seed(2)
    xs = [torch.rand(6, 5, generator=gen, dtype=torch.float64), torch.rand(6, 4, generator=gen, dtype=torch.float64)]
    mask = torch.ones(6, 2, dtype=torch.bool)
    mask[4, 1] = mask[5, 0] = False
    base = multiview_loss(model, xs, c, mask=mask).total
    same = multiview_loss(model, xs, c, mask=mask, weight=torch.full((6,), 1 / 6, dtype=torch.float64)).total
    double = multiview_loss(model, xs, c, mask=mask, weight=torch.full((6,), 2 / 6, dtype=torch.float64)).total
    torch.testing.assert_close(same, base)
    torch.testing.assert_close(double, 2 * base)


def test_config_from_dict_names_unknown_keys():
    with pytest.raises(ValueError, match=r"unknown config keys \['hidden'\]"):
        Config.from_dict({"hidden": 3})


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


def test_multiview_masks_are_checked_and_none_means_present(tmp_path):
    views = _three(60)
    m = np.arange(60) % 3 != 0
    a = MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit(views, masks=[None, m, None])
    b = MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit(views, masks=[np.ones(60, bool), m, np.ones(60, bool)])
    np.testing.assert_array_equal(a.transform(views), b.transform(views))
    with pytest.raises(ValueError, match="masks has 2 entries for 3 views"):
        MultiViewCorrNet().fit(views, masks=[None, m])
    none = np.zeros(60, bool)
    with pytest.raises(ValueError, match=r"^7 rows have no view at all"):
        MultiViewCorrNet().fit(views, masks=[np.arange(60) >= 7, none, none])
    # a checkpoint is only resumed when asked: a second fit without resume starts over
    kw = dict(n_components=2, tol=None, **CPU)
    MultiViewCorrNet(**kw, epochs=3).fit(views, checkpoint_dir=tmp_path)
    again = MultiViewCorrNet(**kw, epochs=2).fit(views, checkpoint_dir=tmp_path)
    assert [r["epoch"] for r in again.history_] == [1, 2]  # resumed, it would hold the 3 epochs run before
    # pairs of views that share exactly 2 rows are enough for the correlation term
    two = np.zeros(60, bool)
    two[:2] = True
    MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit(views, masks=[None, two, ~two])
    with pytest.raises(ValueError, match="too few rows"):
        MultiViewCorrNet(2, epochs=1, **CPU).fit([v[:1] for v in views])


def test_one_row_can_be_transformed():
    views = _three(60)
    est = MultiViewCorrNet(2, epochs=1, tol=None, **CPU).fit(views)
    assert est.transform([views[0][:1], None, None]).shape == (1, 2)


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
    kw = dict(n_components=2, tol=None, **CPU)
    CorrNet(**kw, epochs=2).fit(X, Y, checkpoint_dir=tmp_path)
    resumed = CorrNet(**kw, epochs=3).fit(X, Y, checkpoint_dir=tmp_path, resume=True)
    straight = CorrNet(**kw, epochs=3).fit(X, Y)
    np.testing.assert_allclose(resumed.transform(X=X), straight.transform(X=X), atol=1e-6)
    X2 = X.copy()
    X2.data[0] += 1.0  # other data: the fingerprint must change
    with pytest.raises(ValueError, match="other data or parameters"):
        CorrNet(**kw, epochs=3).fit(X2, Y, checkpoint_dir=tmp_path, resume=True)


@pytest.mark.parametrize("engine", ["fused", "autograd"])
def test_correlation_only_objective_trains_with_every_engine(two_views, engine):
    """reconstruct_from=() (the correlation term alone): every pass's reconstruction is 0 in the history."""
    X, Y = two_views
    est = CorrNet(3, reconstruct_from=(), epochs=2, tol=None, engine=engine, **CPU).fit(X, Y)
    assert est.engine_ == engine
    row = est.history_[-1]
    assert (row["recon_both"], row["recon_x"], row["recon_y"]) == (0.0, 0.0, 0.0)
    assert row["loss"] == pytest.approx(-2.0 * row["sum_corr"], rel=1e-6)


def test_plans_shuffle_slice_and_mix_as_documented():
    from corrnet.plans import Plan, Source

    X, Y = torch.zeros(250, 2), torch.zeros(250, 3)
    fixed = Plan([Source([X, Y])], 100, shuffle=False).epoch(torch.Generator().manual_seed(0), torch.device("cpu"))
    assert [p for (p,) in fixed] == [(0, slice(0, 100)), (0, slice(100, 200)), (0, slice(200, 250))]
    steps = Plan([Source([X, Y])], 100, shuffle=True).epoch(torch.Generator().manual_seed(0), torch.device("cpu"))
    rows = torch.cat([r for ((_, r),) in steps])
    assert sorted(rows.tolist()) == list(range(250)) and rows.tolist() != list(range(250))  # a permutation
    # mixed: every step holds paired_per_batch paired rows and the rest from the single-view sources
    plan = Plan([Source([X, Y]), Source([torch.zeros(30, 2), None]), Source([None, torch.zeros(7, 3)])], 100, True, 60)
    seen = {1: [], 2: []}
    for step in plan.epoch(torch.Generator().manual_seed(0), torch.device("cpu")):
        (_, paired), *singles = step
        assert len(paired) == 60 or paired.numel() < 60  # the last paired batch may be shorter
        assert [(j, len(r)) for j, r in singles] == [(1, 20), (2, 20)]
        for j, r in singles:
            seen[j] += r.tolist()
    assert set(seen[1]) == set(range(30)) and set(seen[2]) == set(range(7))  # cycling through every row


def test_saturated_units_by_activation():
    """diagnostics._saturated: per unit (k,), a unit counts when >= 99 % of its rows sit at a bound."""
    from corrnet.diagnostics import _saturated

    n = 100
    tanh = np.zeros((n, 3))
    tanh[:99, 0] = 0.995  # 99 of 100 rows beyond 0.99: saturated (the bound is inclusive)
    tanh[:98, 1] = -0.995  # 98 of 100: not
    tanh[:, 2] = 0.98  # close to the bound, never beyond it
    np.testing.assert_array_equal(_saturated(tanh, "tanh"), [True, False, False])
    relu = np.zeros((n, 3))
    relu[:, 1] = -1.0
    relu[5, 2] = 0.1  # one active row is enough to be alive
    np.testing.assert_array_equal(_saturated(relu, "relu"), [True, True, False])
    sig = np.full((n, 2), 0.5)
    sig[:99, 0] = 0.001
    np.testing.assert_array_equal(_saturated(sig, "sigmoid"), [True, False])
    np.testing.assert_array_equal(_saturated(sig, "linear"), [False, False])
    assert all(_saturated(sig, a).dtype == bool for a in ("sigmoid", "tanh", "relu", "linear"))


def test_cpu_estimators_are_deterministic_by_sklearn_tag():
    assert CorrNet(device="cpu").__sklearn_tags__().non_deterministic is False
    assert CorrNet(device="cuda").__sklearn_tags__().non_deterministic is True


def test_view_errors_name_the_view(two_views):
    X, Y = two_views
    est = CorrNet(2, epochs=1, tol=None, **CPU).fit(X, Y)
    with pytest.raises(ValueError, match=r"^X has 6 features, but CorrNet is expecting 7"):
        est.transform(X=X[:, :6])
    with pytest.raises(ValueError, match=r"^Y has 7 features, but CorrNet is expecting 5"):
        est.transform(Y=X)
    with pytest.raises(ValueError, match=r"^pass at least one view: X=\.\.\., Y=\.\.\. or both\.$"):
        est.transform()
    with pytest.raises(ValueError, match=r"at least 2 paired rows: correlations\(X, Y\)\.$"):
        est.correlations(X[:1], Y[:1])


def test_multiview_writes_checkpoints_and_resumes(tmp_path):
    views = _three()
    kw = dict(n_components=2, epochs=3, tol=None, **CPU)
    full = MultiViewCorrNet(**kw).fit(views, checkpoint_dir=tmp_path / "ck")
    assert any((tmp_path / "ck").iterdir())  # checkpoint_dir is not ignored
    again = MultiViewCorrNet(**kw).fit(views, checkpoint_dir=tmp_path / "ck", resume=True)
    np.testing.assert_array_equal(again.transform(views), full.transform(views))


def test_multiview_fit_scales_the_views():
    """scale='standard' is applied in fit: an affine change of every column leaves the codes unchanged."""
    views = _three()
    moved = [v * 1000.0 + 5.0 for v in views]
    kw = dict(n_components=2, epochs=3, tol=None, scale="standard", **CPU)
    a = MultiViewCorrNet(**kw).fit(views).transform(views)
    b = MultiViewCorrNet(**kw).fit(moved).transform(moved)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_unmasked_objective_row_weights_by_hand():
    torch.manual_seed(0)
    cfg = Config(n_components=2, lam=0.0)
    model = CorrNetModule((4, 3), cfg).double()
    xs = [torch.rand(6, 4, dtype=torch.float64), torch.rand(6, 3, dtype=torch.float64)]
    w = torch.rand(6, dtype=torch.float64)
    terms = multiview_loss(model, xs, cfg, weight=w)
    with torch.no_grad():
        for name, subset in (("both", [0, 1]), ("x", [0]), ("y", [1])):
            h = model.encode([x if i in subset else None for i, x in enumerate(xs)])
            err = sum(((o - x) ** 2).sum(1) / 2 for o, x in zip(model.decode(h), xs))  # half squared, per row
            torch.testing.assert_close(terms.recon[name], (w * err).sum())


def test_bce_objective_is_exact_at_saturated_outputs():
    """loss='bce' uses the logits form: an output saturated the wrong way costs its full pre-activation
    (|a| = 40 per element), not the 16.1 of a probability clamped at 1e-7."""
    cfg = Config(n_components=1, lam=0.0, loss="bce", reconstruct_from=("both",))
    model = CorrNetModule((1, 1), cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for dec in model.decoders:
            dec.out.bias.fill_(40.0)  # sigmoid(40) == 1 in float32
    xs = [torch.zeros(3, 1), torch.zeros(3, 1)]
    terms = multiview_loss(model, xs, cfg)
    torch.testing.assert_close(terms.recon["both"], torch.tensor(80.0))  # two views x 40


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
    kw = dict(n_components=3, tol=None, **CPU)
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


def _semi(n_paired, n_single, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n_paired + 2 * n_single, 2))
    X = (1 / (1 + np.exp(-(z @ rng.normal(size=(2, 7)))))).astype(np.float32)
    Y = (1 / (1 + np.exp(-(z @ rng.normal(size=(2, 5)))))).astype(np.float32)
    p, s = slice(0, n_paired), slice(n_paired, n_paired + n_single)
    t = slice(n_paired + n_single, None)
    return X[p], Y[p], X[s], Y[t]


def test_auto_unpaired_strategy_counts_rows_of_both_views():
    """'auto': mixed when paired rows are under 5 % of all rows (rows, not columns), else pretrain."""
    kw = dict(n_components=2, epochs=1, tol=None, pretrain_epochs=1, **CPU)
    X, Y, Xu, Yu = _semi(100, 200)
    assert CorrNet(**kw).fit(X, Y, X_unpaired=Xu).unpaired_strategy_ == "pretrain"  # 100 of 300
    X, Y, Xu, Yu = _semi(10, 300)
    assert CorrNet(**kw).fit(X, Y, X_unpaired=Xu).unpaired_strategy_ == "mixed"  # 10 of 310
    assert CorrNet(**kw).fit(X, Y, Y_unpaired=Yu).unpaired_strategy_ == "mixed"
    assert CorrNet(**kw).fit(X, Y, X_unpaired=Xu[:100], Y_unpaired=Yu[:100]).unpaired_strategy_ == "mixed"


def test_semi_paired_fit_scales_the_unpaired_rows():
    """Unpaired Y rows go through Y's scaler: an affine change of Y's columns leaves the codes unchanged."""
    X, Y, _, Yu = _semi(60, 60)
    kw = dict(n_components=2, epochs=2, tol=None, scale="standard", unpaired_strategy="alternate", **CPU)
    a = CorrNet(**kw).fit(X, Y, Y_unpaired=Yu).transform(Y=Y)
    b = CorrNet(**kw).fit(X, 50 * Y - 3, Y_unpaired=50 * Yu - 3).transform(Y=50 * Y - 3)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_unpaired_views_are_checked_by_name_and_width():
    X, Y, Xu, Yu = _semi(40, 20)
    est = CorrNet(2, epochs=1, tol=None, **CPU)
    with pytest.raises(ValueError, match=r"^Y_unpaired has 4 features, but CorrNet is expecting 5"):
        est.fit(X, Y, Y_unpaired=Yu[:, :4])
    with pytest.raises(ValueError, match=r"^X_unpaired has 6 features, but CorrNet is expecting 7"):
        est.fit(X, Y, X_unpaired=Xu[:, :6])
    # a 1-D Y (one column) takes a 1-D Y_unpaired
    est.fit(X, Y[:, 0], Y_unpaired=Yu[:, 0])
    assert est.n_features_y_ == 1


def test_validation_fraction_leaves_at_least_two_rows_each_side(two_views):
    X, Y = two_views
    CorrNet(2, epochs=1, tol=None, validation_fraction=0.8, **CPU).fit(X[:10], Y[:10])  # 8 + 2: allowed
    with pytest.raises(ValueError, match=r"validation_fraction=0.9 leaves 9 validation and 1 training rows"):
        CorrNet(2, epochs=1, tol=None, validation_fraction=0.9, **CPU).fit(X[:10], Y[:10])


def test_validation_views_are_checked_and_scaled(two_views):
    X, Y = two_views
    kw = dict(n_components=2, epochs=2, tol=None, scale="standard", **CPU)
    est = CorrNet(**kw)
    with pytest.raises(ValueError, match=r"^X_val has 6 features, but CorrNet is expecting 7"):
        est.fit(X[:80], Y[:80], validation_data=(X[80:, :6], Y[80:]))
    # validation metrics are computed in the model's (scaled) units: an affine change of the columns
    # of every view, training and validation alike, leaves them unchanged
    a = CorrNet(**kw).fit(X[:80], Y[:80], validation_data=(X[80:], Y[80:])).history_
    b = CorrNet(**kw).fit(9 * X[:80] + 2, 7 * Y[:80] - 1, validation_data=(9 * X[80:] + 2, 7 * Y[80:] - 1)).history_
    for ra, rb in zip(a, b):
        assert ra["val_sum_corr"] == pytest.approx(rb["val_sum_corr"], abs=1e-4)
        assert ra["val_generation"] == pytest.approx(rb["val_generation"], rel=1e-3)
    one = CorrNet(**kw).fit(X[:80], Y[:80, 0], validation_data=(X[80:], Y[80:, 0]))  # 1-D Y and Y_val
    assert "val_sum_corr" in one.history_[-1]


def test_pretraining_with_only_y_unpaired_rows():
    X, Y, _, Yu = _semi(40, 60)
    est = CorrNet(2, epochs=1, tol=None, unpaired_strategy="pretrain", pretrain_epochs=2, **CPU)
    est.fit(X, Y, Y_unpaired=Yu)
    assert len(est.pretrain_history_) == 2


def test_pretraining_sees_every_row_of_each_view_paired_or_not(monkeypatch):
    """Round 3: pretraining on the paired rows only (``Xall = X``, the unpaired rows dropped) passed.
    The pretraining plan's single-view sources hold the paired rows plus that view's unpaired rows."""
    rng = np.random.default_rng(0)
    X, Y = rng.random((60, 4), dtype=np.float32), rng.random((60, 3), dtype=np.float32)
    Xu, Yu = rng.random((25, 4), dtype=np.float32), rng.random((15, 3), dtype=np.float32)
    plans = []
    real = training.train
    monkeypatch.setattr(
        training, "train", lambda state, plan, *a, **k: plans.append(plan) or real(state, plan, *a, **k)
    )
    CorrNet(2, epochs=1, tol=None, unpaired_strategy="pretrain", pretrain_epochs=1, **CPU).fit(
        X, Y, X_unpaired=Xu, Y_unpaired=Yu
    )
    pre = plans[0]  # the first run is the pretraining
    assert [len(s) for s in pre.sources] == [0, 85, 75]
    assert [s.present for s in pre.sources[1:]] == [(0,), (1,)]
    np.testing.assert_array_equal(pre.sources[1].views[0][60:].numpy(), Xu)  # the unpaired rows, in order


def test_bce_on_probabilities_is_the_per_row_formula_with_clamped_outputs():
    """Round 3: ``.sum(None)`` (one number, not one per row) and wrong clamp bounds in the
    probability (non-logit) BCE passed: only its total reached a test."""
    from corrnet.objective import reconstruction_error

    rng = np.random.default_rng(0)
    target, out = rng.random((5, 4)), rng.uniform(0.01, 0.99, (5, 4))
    out[0, 0], out[1, 1], target[0, 0], target[1, 1] = 0.0, 1.0, 0.3, 0.6  # saturated outputs
    p = np.clip(out, 1e-7, 1 - 1e-7)
    want = -(target * np.log(p) + (1 - target) * np.log(1 - p)).sum(1)  # (5,)
    got = reconstruction_error(torch.from_numpy(target), torch.from_numpy(out), "bce")
    assert got.shape == (5,)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)


def test_make_step_defaults_to_float32_and_auto_means_the_fused_step(monkeypatch):
    """Round 3: ``make_step``'s default precision misspelt (``"FLOAT32"``) and ``auto`` resolved with
    ``n_steps=None`` (a TypeError) both passed: every caller named its precision and engine."""
    cfg = Config(n_components=3).validate()
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(20, 5, generator=g), torch.rand(20, 4, generator=g)
    model = CorrNetModule([5, 4], dataclasses.replace(cfg, output_activation="sigmoid"), generator=g)
    fused_calls = []
    real = corrnet.fastpath.loss_and_grads
    monkeypatch.setattr(corrnet.fastpath, "loss_and_grads", lambda *a: fused_calls.append(1) or real(*a))
    auto = training.make_step(model, cfg, "auto")([x, y])  # the default precision; fused, not compiled
    assert fused_calls == [1]  # the hand-derived gradients ran (a float32 check misspelt would skip them)
    grads = [p.grad.clone() for p in model.parameters()]
    ref = training.make_step(model, cfg, "autograd", "float32")([x, y])
    torch.testing.assert_close(auto.total, ref.total.detach(), rtol=1e-5, atol=1e-6)
    for a, p in zip(grads, model.parameters()):
        torch.testing.assert_close(a, p.grad, rtol=1e-4, atol=1e-6)


def test_training_arguments_errors_say_exactly_what_to_do():
    """Round 3: the two argument errors of ``train`` garbled (upper case, ``XX`` around the text) or
    the list of monitors replaced by a TypeError passed: the tests matched loosely or not at all."""
    rng = np.random.default_rng(0)
    X, Y = rng.random((30, 3), dtype=np.float32), rng.random((30, 2), dtype=np.float32)
    with pytest.raises(ValueError) as err:
        CorrNet(2, epochs=1, early_stopping=True, validation_fraction=None, **CPU).fit(X, Y)
    assert str(err.value) == "early_stopping needs validation data: pass validation_data or validation_fraction."
    with pytest.raises(ValueError) as err:
        CorrNet(2, epochs=1, monitor="accuracy", **CPU).fit(X, Y, validation_data=(X, Y))
    assert str(err.value) == "monitor='accuracy' is not supported; use one of ['generation', 'loss', 'sum_corr']."


def test_history_names_each_models_own_terms():
    """Round 3: ``recon_unpaired`` logged for fully paired data, missing with one single-view source,
    and the two-view pass names used for three views (their terms then read 0) all passed."""
    rng = np.random.default_rng(0)
    X, Y = rng.random((40, 3), dtype=np.float32), rng.random((40, 2), dtype=np.float32)
    kw = dict(epochs=1, tol=None, **CPU)
    paired = CorrNet(2, **kw).fit(X, Y).history_[0]
    assert set(paired) == {"epoch", "loss", "recon_both", "recon_x", "recon_y", "sum_corr", "time_s"}
    semi = CorrNet(2, unpaired_strategy="alternate", **kw).fit(X, Y, X_unpaired=X[:10]).history_[0]
    assert semi["recon_unpaired"] > 0  # paired rows plus one single-view source
    views = [rng.random((40, d), dtype=np.float32) for d in (3, 4, 2)]
    three = MultiViewCorrNet(2, **kw).fit(views).history_[0]
    assert {k for k in three if k.startswith("recon_")} == {"recon_all", "recon_0", "recon_1", "recon_2"}
    assert all(three[k] > 0 for k in ("recon_all", "recon_0", "recon_1", "recon_2"))


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


def test_the_loop_logs_each_epochs_mean_step_loss_and_continues_a_finished_state():
    """Round 3: the epoch's averages divided by one step too many, and a finished state (stop
    reason ``max_epochs``) that ``train`` would not continue when given more epochs, both passed."""
    import copy

    from corrnet.plans import Plan, Source

    cfg = Config(n_components=3, output_activation="sigmoid", batch_size=20, shuffle=False).validate()
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 5, generator=g), torch.rand(40, 4, generator=g)
    model = CorrNetModule([5, 4], cfg, generator=g)
    start = copy.deepcopy(model)
    plan = Plan([Source([x, y])], 20, shuffle=False)
    state = training.init_state(model, dataclasses.replace(cfg, epochs=1), seed=0)
    training.train(state, plan, dataclasses.replace(cfg, epochs=1), engine="autograd")
    # epoch 1 = two steps: the first at the initial weights, the second after one Adam step
    first = multiview_loss(start, [x[:20], y[:20]], cfg).total.item()
    opt = torch.optim.Adam(start.parameters(), lr=cfg.lr)
    multiview_loss(start, [x[:20], y[:20]], cfg).total.backward()
    opt.step()
    second = multiview_loss(start, [x[20:], y[20:]], cfg).total.item()
    assert state.history[0]["loss"] == pytest.approx((first + second) / 2, rel=1e-5)
    assert state.stop_reason == "max_epochs"
    training.train(state, plan, dataclasses.replace(cfg, epochs=3), engine="autograd")  # more epochs
    assert state.epoch == 3 and len(state.history) == 3 and state.stop_reason == "max_epochs"


def test_the_epoch_log_averages_every_term_over_its_steps():
    """Round 3: the per-pass and single-view accumulators overwritten by the last step (``=`` for
    ``+=``), read under the wrong key, or the step count doubled, all passed. With a learning rate
    of 1e-12 the weights stay put, so each logged term must be the mean of that term over the
    epoch's steps at the initial weights (the steps' rows taken from the plan, seeded alike)."""
    import copy

    from corrnet.plans import Plan, Source

    cfg = Config(n_components=3, output_activation="sigmoid", optimizer="sgd", lr=1e-12, epochs=1).validate()
    g = torch.Generator().manual_seed(0)
    x, y, xu = torch.rand(40, 5, generator=g), torch.rand(40, 4, generator=g), torch.rand(30, 5, generator=g)
    model = CorrNetModule([5, 4], cfg, generator=g)
    start = copy.deepcopy(model)
    plan = Plan([Source([x, y]), Source([xu, None])], 20, shuffle=False)
    steps = list(plan.epoch(torch.Generator().manual_seed(7), torch.device("cpu")))
    state = training.init_state(model, cfg, seed=7)
    training.train(state, plan, cfg, engine="autograd")
    row = state.history[0]
    paired = [multiview_loss(start, [x[r], y[r]], cfg) for ((s, r),) in steps if s == 0]
    single = [self_reconstruction(start, 0, xu[r], cfg).item() for ((s, r),) in steps if s == 1]
    assert len(paired) == 2 and len(single) == 2
    assert row["loss"] == pytest.approx(np.mean([t.total.item() for t in paired]), rel=1e-5)
    for k in ("both", "x", "y"):
        assert row[f"recon_{k}"] == pytest.approx(np.mean([t.recon[k].item() for t in paired]), rel=1e-5)
    assert row["recon_unpaired"] == pytest.approx(np.mean(single), rel=1e-5)


# -- round 4 of mutation testing ------------------------------------------------------------------------
def test_an_epoch_with_one_single_view_step_logs_that_steps_reconstruction(two_views):
    """recon_unpaired is the mean over the steps that had single-view rows: with exactly one such
    step it is that step's error (computed here from the model before the step), not half of it."""
    from corrnet.plans import Plan, Source

    X, Y = (torch.from_numpy(a) for a in two_views)
    cfg = Config(n_components=3, epochs=1, batch_size=100).validate()
    model = CorrNetModule([7, 5], cfg, generator=torch.Generator().manual_seed(0))
    x = X[:30]
    with torch.no_grad():
        x_hat = torch.sigmoid(model.decode_pre(model.encode([x, None]), views=[0])[0])
        want = float(((x - x_hat) ** 2).sum(1).mean() / 2)
    plan = Plan([Source([X[:0], Y[:0]]), Source([x, None])], cfg.batch_size, cfg.shuffle)
    state = training.init_state(model, cfg, 1)
    training.train(state, plan, cfg, engine="autograd")
    assert plan.steps_per_epoch == 1
    assert state.history[0]["recon_unpaired"] == pytest.approx(want, rel=1e-5)


def test_a_plan_over_one_paired_row_is_refused_with_the_reason(two_views):
    from corrnet.plans import Plan, Source

    X, Y = (torch.from_numpy(a) for a in two_views)
    with pytest.raises(ValueError) as err:
        Plan([Source([X[:1], Y[:1]])], 100, True)
    assert str(err.value) == "one paired row cannot be trained on: the correlation needs at least 2 paired rows."
    assert Plan([Source([X[:2], Y[:2]])], 100, True).steps_per_epoch == 1


def test_a_mask_with_one_row_gives_zero_correlation():
    """objective.correlation: fewer than two masked rows give 0 (docstring), not the one row's
    correlation with itself (about +-1 if its mean were taken over a wrong count)."""
    from corrnet.objective import correlation

    g = torch.Generator().manual_seed(0)
    hx, hy = torch.rand(6, 3, generator=g), torch.rand(6, 3, generator=g)
    one = torch.tensor([False, False, True, False, False, False])
    torch.testing.assert_close(correlation(hx, hy, mask=one), torch.zeros(3), rtol=0, atol=0)
    two = one.clone()
    two[4] = True  # two rows: the correlation of two points, +-1 per unit
    assert correlation(hx, hy, mask=two).abs().min() > 0.99


def test_n_view_pass_names_join_the_views_with_plus():
    from corrnet.objective import pass_name

    assert pass_name((0, 2), 3) == "0+2" and pass_name((1,), 3) == "1" and pass_name((0, 1, 2), 3) == "all"
    assert pass_name((0, 1), 2) == "both" and pass_name((1,), 2) == "y"


def test_a_one_dimensional_sparse_y_is_one_feature_like_a_dense_one(two_views):
    """A 1-D scipy sparse array is read as one column, as a 1-D numpy Y is (it used to fail with
    numpy's 'setting an array element with a sequence')."""
    import scipy.sparse as sp

    from corrnet.data import check_view

    X, Y = two_views
    y = Y[:, 0].copy()
    y[::3] = 0.0
    col = check_view(sp.coo_array(y), "Y", allow_1d=True)
    assert sp.issparse(col) and col.shape == (len(y), 1)
    np.testing.assert_array_equal(col.toarray()[:, 0], y)
    kw = dict(n_components=2, epochs=2, tol=None, **CPU)
    dense = CorrNet(**kw).fit(X, y)
    sparse = CorrNet(**kw).fit(X, sp.coo_array(y))
    assert sparse.n_features_y_ == dense.n_features_y_ == 1
    np.testing.assert_allclose(sparse.transform(X), dense.transform(X), rtol=1e-4, atol=1e-5)


def test_reconstruction_passes_come_in_a_fixed_order():
    """The code from every view first, then one-view codes, then pairs (each group in view order),
    whatever order reconstruct_from names them in: history columns and sums follow this order."""
    from corrnet.objective import pass_subsets

    assert pass_subsets(("pairs", "single", "all"), 3) == ((0, 1, 2), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2))
    assert pass_subsets(("y", "x", "both"), 2) == ((0, 1), (0,), (1,))


def test_an_unknown_pass_name_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError) as err:
        Config(reconstruct_from=("both", "xy")).validate()
    assert str(err.value) == (
        "reconstruct_from contains 'xy'; allowed passes are ('both', 'x', 'y') (two views) or "
        "('all', 'single', 'pairs')."
    )


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            dict(hidden_activation="gelu"),
            "hidden_activation='gelu' is not supported; use one of ('sigmoid', 'tanh', 'relu', 'linear').",
        ),
        (dict(lr_schedule="step"), "lr_schedule='step' is not supported; use one of ('constant', 'cosine')."),
        (dict(n_components=0), "n_components must be a positive integer, got 0."),
        (dict(batch_size=2.5), "batch_size must be a positive integer, got 2.5."),
        (dict(batch_size=1), "batch_size must be >= 2: the correlation term needs two rows per batch."),
        (dict(epochs=-1), "epochs must be 'auto' or a non-negative integer, got -1."),
        (dict(epochs="many"), "epochs must be 'auto' or a non-negative integer, got 'many'."),
        (dict(encoder_layers=(300, 0)), "encoder_layers must be positive integers, got (300, 0)."),
        (dict(lr=0.0), "lr must be > 0, got 0.0."),
        (dict(lr=float("nan")), "lr must be > 0, got nan."),
        (dict(lam=-0.5), "lam must be >= 0 (it weights -sum corr), got -0.5."),
        (dict(corr_eps=0.0), "corr_eps must be > 0 to keep the correlation finite, got 0.0."),
        (
            dict(tied=True, encoder_layers=(20,)),
            "tied=True needs a single-layer encoder; set tied=False to use encoder_layers.",
        ),
        (dict(tied=True, fusion="sum"), "fusion='sum' (the seed blog's model) has untied decoders; set tied=False."),
        (
            dict(loss="bce", output_activation="linear"),
            "loss='bce' needs output_activation='sigmoid' (targets in [0, 1]).",
        ),
    ],
)
def test_config_refusals_name_the_field_and_the_fix(bad, message):
    """Every refusal of Config.validate, word for word (the CLI and the estimator print these)."""
    with pytest.raises(ValueError) as err:
        Config(**bad).validate()
    assert str(err.value) == message


@pytest.mark.parametrize(
    "edge",
    [
        dict(batch_size=2),
        dict(epochs=0),
        dict(epochs="auto"),
        dict(lam=0.0),
        dict(encoder_layers=(1,)),
        dict(tied=True),
        dict(fusion="sum"),
        dict(loss="bce", output_activation="auto"),
        dict(lr_schedule="cosine"),
    ],
)
def test_config_accepts_the_edges_of_each_rule(edge):
    assert Config(**edge).validate() == Config(**edge)


@pytest.mark.parametrize(
    "A, head, tail",
    [
        (
            np.array([["a", "b"], ["c", "d"]]),
            "X holds non-numeric data (",
            "). Encode categorical or text columns as numbers first (e.g. sklearn.preprocessing.OneHotEncoder) "
            "or drop them.",
        ),
        (
            np.array([[0.0, np.nan], [1.0, 2.0]]),
            "X contains NaN or infinity (",
            "). Impute or drop those rows first (e.g. sklearn.impute.SimpleImputer).",
        ),
        (
            np.ones((1, 3)),
            "X has too few rows (",
            "). CorrNet needs at least 2 paired rows: the correlation term is computed across rows.",
        ),
    ],
)
def test_bad_views_are_refused_with_the_fix(A, head, tail):
    """check_view's refusals: sklearn's reason in brackets, then what to do, word for word."""
    from corrnet.data import check_view

    with pytest.raises(ValueError) as err:
        check_view(A, "X", min_rows=2)
    msg = str(err.value)
    assert msg.startswith(head) and msg.endswith(tail)
