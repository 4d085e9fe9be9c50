"""The fused model + objective against a naive, independently written reference."""

import itertools

import numpy as np
import pytest
import torch
from conftest import assert_grads_close, double_model_and_batch

from corrnet import Config, CorrNetModule, corrnet_loss
from corrnet.objective import correlation

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
