"""The fused model + objective against a naive, independently written reference."""

import dataclasses
import itertools

import numpy as np
import pytest
import torch
from conftest import assert_grads_close, double_model_and_batch

from corrnet import Config, CorrNet, CorrNetModule, corrnet_loss, multiview_loss
from corrnet.objective import correlation
from corrnet.training import self_reconstruction

D = torch.float64


def naive_corr(a, b, eps):
    out = []
    for j in range(a.shape[1]):
        u, v = a[:, j] - a[:, j].mean(), b[:, j] - b[:, j].mean()
        out.append((u * v).sum() / (torch.sqrt((u * u).sum() + eps) * torch.sqrt((v * v).sum() + eps)))
    return torch.stack(out)


ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda t: t}


def naive_loss(model: CorrNetModule, x, y, c: Config):
    """Three separate passes written straight from the paper, using the module's parameters."""
    f, g = ACT[c.hidden_activation], ACT[c.output_activation]
    enc_x, enc_y = model.encoders
    W, V = enc_x.proj.weight, enc_y.proj.weight  # (k, dx), (k, dy)
    zx, zy = torch.zeros_like(x), torch.zeros_like(y)

    def enc(xi, yi):
        if c.fusion == "sum":
            return f(xi @ W.T + enc_x.proj.bias) + f(yi @ V.T + enc_y.proj.bias)
        return f(xi @ W.T + yi @ V.T + model.b)

    def dec(h):
        if c.tied:
            return g(h @ W + model.out_bias[0]), g(h @ V + model.out_bias[1])
        dx, dy = (d.out for d in model.decoders)
        return g(h @ dx.weight.T + dx.bias), g(h @ dy.weight.T + dy.bias)

    def err(t, o):
        if c.loss == "bce":
            o = o.clamp(1e-7, 1 - 1e-7)
            return -(t * torch.log(o) + (1 - t) * torch.log(1 - o)).sum(1)
        s = ((t - o) ** 2).sum(1)
        return {"half_squared": s / 2, "squared": s, "mse": s / t.shape[1]}[c.loss]

    inputs = {"both": (x, y), "x": (x, zy), "y": (zx, y)}
    total = 0.0
    for p in c.reconstruct_from:
        xh, yh = dec(enc(*inputs[p]))
        total = total + (err(x, xh) + err(y, yh)).mean()
    corr = naive_corr(enc(x, zy), enc(zx, y), c.corr_eps)
    return total - c.lam * corr.sum()


CASES = [
    dict(),
    dict(tied=True),
    dict(tied=True, loss="bce"),
    dict(tied=True, hidden_activation="tanh", output_activation="linear", loss="squared", lam=0.5),
    dict(tied=True, reconstruct_from=("x", "y")),
    dict(tied=False),
    dict(loss="squared"),
    dict(loss="mse", tied=False, hidden_activation="relu", output_activation="linear", fusion="sum", init="torch"),
    dict(loss="bce"),
    dict(hidden_activation="tanh", lam=0.5),
    dict(lam=0.0),
] + [dict(reconstruct_from=p) for r in (0, 1, 2) for p in itertools.combinations(("both", "x", "y"), r)]


@pytest.mark.parametrize("overrides", CASES, ids=[str(c) for c in CASES])
def test_loss_and_gradients_match_naive_reference(overrides):
    c = Config(n_components=4, **overrides).validate()
    model, x, y = double_model_and_batch(c, 6, 5, n=9, seed=1)
    fast = corrnet_loss(model, x, y, c).total
    g_fast = torch.autograd.grad(fast, list(model.parameters()), allow_unused=True)
    ref = naive_loss(model, x, y, c)
    g_ref = torch.autograd.grad(ref, list(model.parameters()), allow_unused=True)
    assert torch.allclose(fast, ref, rtol=1e-10, atol=1e-10), (fast, ref)
    assert_grads_close(list(model.parameters()), g_fast, g_ref, rtol=1e-10, atol=1e-12)


def test_deep_encoder_fused_forward_equals_separate_passes():
    c = Config(n_components=3, encoder_layers=(8, 6), tied=False).validate()
    model = CorrNetModule([5, 4], c, generator=torch.Generator().manual_seed(0)).double()
    x, y = torch.rand(7, 5, dtype=D), torch.rand(7, 4, dtype=D)
    out = model([x, y], [(0, 1), (0,), (1,)])
    assert torch.allclose(out.singles[0], model.encode([x, torch.zeros_like(y)]))
    assert torch.allclose(out.singles[1], model.encode([torch.zeros_like(x), y]))
    assert torch.allclose(out.codes[0], model.encode([x, y]))
    for i, (xi, yi) in enumerate([(x, y), (x, torch.zeros_like(y)), (torch.zeros_like(x), y)]):
        xh, yh = model.decode(model.encode([xi, yi]))
        assert torch.allclose(out.outs[0][i], xh) and torch.allclose(out.outs[1][i], yh)


@pytest.mark.parametrize("enc,dec", [((8, 6), None), ((8, 6), ()), ((), (7, 9)), ((8,), (5,))])
def test_decoder_layers_set_the_decoders_widths(enc, dec):
    """``decoder_layers=None`` mirrors the encoder (the same seeded weights as spelling the mirror
    out); otherwise the decoders' hidden widths are the given ones, from the code outwards, and the
    model's reconstructions are those layers written out."""
    c = Config(n_components=3, encoder_layers=enc, decoder_layers=dec, tied=False).validate()
    model = CorrNetModule([5, 4], c, generator=torch.Generator().manual_seed(0)).double()
    want = enc[::-1] if dec is None else dec
    for decoder, d_out in zip(model.decoders, (5, 4)):
        assert [lin.out_features for lin in decoder.hidden] == list(want)
        assert decoder.hidden[0].in_features == 3 if want else decoder.out.in_features == 3
        assert decoder.out.out_features == d_out
    if dec is None:
        mirror = dataclasses.replace(c, decoder_layers=enc[::-1])
        spelled = CorrNetModule([5, 4], mirror, generator=torch.Generator().manual_seed(0))
        for (name, a), b in zip(model.state_dict().items(), spelled.state_dict().values()):
            assert torch.equal(a.float(), b), name
    x, y = torch.rand(9, 5, dtype=D), torch.rand(9, 4, dtype=D)
    out = model([x, y], [(0, 1), (0,), (1,)])
    for i, h in enumerate(out.codes):
        for v, decoder in enumerate(model.decoders):
            z = h
            for lin in decoder.hidden:
                z = torch.sigmoid(z @ lin.weight.T + lin.bias)
            torch.testing.assert_close(out.outs[v][i], torch.sigmoid(z @ decoder.out.weight.T + decoder.out.bias))


@pytest.mark.parametrize(
    "layers,fusion,tied", [((), "joint", True), ((), "joint", False), ((6,), "joint", False), ((), "sum", False)]
)
def test_missing_view_is_zeros(layers, fusion, tied):
    """``None`` is a block of zero rows. Bit for bit only where the arithmetic is exact whatever the
    kernel: a single layer's ``W 0`` is exactly 0 (every product is 0). With an encoder layer the
    absent view is one zero row's constant, expanded; a block of zeros goes through a (6, w) matmul
    instead, and MKL may sum the two shapes in other orders (last-bit differences on AVX-512 CPUs):
    equal to float32 rounding there."""
    c = Config(n_components=3, encoder_layers=layers, fusion=fusion, tied=tied).validate()
    model = CorrNetModule([5, 4], c, generator=torch.Generator().manual_seed(0))
    x, y = torch.rand(6, 5), torch.rand(6, 4)
    pairs = [
        (model.encode([x, None]), model.encode([x, torch.zeros(6, 4)])),
        (model.encode([None, y]), model.encode([torch.zeros(6, 5), y])),
    ]
    for absent, zeros in pairs:
        if layers:
            torch.testing.assert_close(absent, zeros, rtol=2e-6, atol=1e-7)
        else:
            assert torch.equal(absent, zeros)


def test_correlation_equals_numpy_corrcoef(rng):
    a, b = rng.normal(size=(50, 6)), rng.normal(size=(50, 6))
    b[:, :3] += 2 * a[:, :3]
    got = correlation(torch.from_numpy(a), torch.from_numpy(b), eps=1e-300).numpy()
    want = [np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(6)]
    np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("n", [1, 2])
def test_correlation_is_finite_for_tiny_batches_and_constant_units(n):
    a = torch.rand(n, 4, requires_grad=True)
    b = torch.rand(n, 4)
    b_const = torch.ones(n, 4)
    for other in (b, b_const):
        r = correlation(a, other)
        r.sum().backward()
        assert torch.isfinite(r).all() and torch.isfinite(a.grad).all()
        # |r| <= 1 up to float32 rounding of the division (a few ulps)
        assert (r.abs() <= 1 + 4 * torch.finfo(torch.float32).eps).all()
        a.grad = None
    const = correlation(torch.full((5, 3), 0.7, requires_grad=True), torch.rand(5, 3))
    assert torch.equal(const, torch.zeros(3))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_objective_is_finite_under_autocast(dtype):
    c = Config(n_components=8).validate()
    model = CorrNetModule([10, 10], c, generator=torch.Generator().manual_seed(0)).float()
    x, y = torch.rand(2, 10, dtype=torch.float32), torch.ones(2, 10, dtype=torch.float32)
    with torch.autocast("cpu", dtype=dtype):
        terms = corrnet_loss(model, x, y, c)
    terms.total.backward()
    assert torch.isfinite(terms.total) and terms.corr.dtype == torch.float32
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_correlation_term_has_the_paper_sign():
    """Gradient descent on -lam * sum corr must *increase* the correlation (the blog's bug is +)."""
    c = Config(n_components=5, lam=1.0, reconstruct_from=()).validate()
    torch.manual_seed(0)
    model = CorrNetModule([8, 8], c, generator=torch.Generator().manual_seed(0))
    x = torch.rand(64, 8)
    y = (x + 0.3 * torch.rand(64, 8)).clamp(0, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    first = corrnet_loss(model, x, y, c).corr.sum().item()
    for _ in range(50):
        opt.zero_grad()
        corrnet_loss(model, x, y, c).total.backward()
        opt.step()
    assert corrnet_loss(model, x, y, c).corr.sum().item() > first + 0.5


CPU = dict(device="cpu", random_state=0)


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


@pytest.mark.parametrize("engine", ["fused", "autograd"])
def test_correlation_only_objective_trains_with_every_engine(two_views, engine):
    """reconstruct_from=() (the correlation term alone): every pass's reconstruction is 0 in the history."""
    X, Y = two_views
    est = CorrNet(3, reconstruct_from=(), epochs=2, tol=None, engine=engine, correlation="per_unit", **CPU)
    est.fit(X, Y)
    assert est.engine_ == engine
    row = est.history_[-1]
    assert (row["recon_both"], row["recon_x"], row["recon_y"]) == (0.0, 0.0, 0.0)
    assert row["loss"] == pytest.approx(-2.0 * row["sum_corr"], rel=1e-6)


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


def test_reconstruction_passes_come_in_a_fixed_order():
    """The code from every view first, then one-view codes, then pairs (each group in view order),
    whatever order reconstruct_from names them in: history columns and sums follow this order."""
    from corrnet.objective import pass_subsets

    assert pass_subsets(("pairs", "single", "all"), 3) == ((0, 1, 2), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2))
    assert pass_subsets(("y", "x", "both"), 2) == ((0, 1), (0,), (1,))
