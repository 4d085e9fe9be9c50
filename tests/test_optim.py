import numpy as np
import torch

from corrnet import OriginalRMSprop


def test_original_rmsprop_matches_the_theano_update_rule():
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=(3, 4))
    grads = [rng.normal(size=(3, 4)) * 10 ** rng.uniform(-6, 1) for _ in range(5)]
    p = torch.nn.Parameter(torch.tensor(p0))
    opt = OriginalRMSprop([p], lr=0.01)
    ref, v = p0.copy(), np.zeros_like(p0)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
        v = 0.9 * v + 0.1 * g**2
        ref = ref - 0.01 * g / np.sqrt(v + 1e-8)
    np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-12)


def test_differs_from_torch_rmsprop_where_v_is_tiny():
    """The eps placement matters for the first steps: torch's sqrt(v) + eps is not the original."""
    a = torch.nn.Parameter(torch.zeros(1))
    b = torch.nn.Parameter(torch.zeros(1))
    oa, ob = OriginalRMSprop([a], lr=0.01), torch.optim.RMSprop([b], lr=0.01, alpha=0.9, eps=1e-8)
    a.grad = torch.tensor([1e-5])
    b.grad = torch.tensor([1e-5])
    oa.step()
    ob.step()
    assert abs(a.item() - b.item()) > 1e-3


def test_original_rmsprop_defaults_and_invalid_settings():
    import pytest

    opt = OriginalRMSprop([torch.nn.Parameter(torch.zeros(1))])
    assert opt.defaults == dict(lr=0.01, rho=0.9, eps=1e-8, weight_decay=0.0)
    for bad in (dict(lr=0.0), dict(rho=1.0), dict(rho=-0.1), dict(eps=0.0)):
        with pytest.raises(ValueError, match="invalid RMSprop settings"):
            OriginalRMSprop([torch.nn.Parameter(torch.zeros(1))], **bad)


def test_weight_decay_reaches_every_optimizer_and_defaults_to_zero():
    """L2 weight decay adds wd * p to the gradient: with a zero gradient, only the decay moves p."""
    from corrnet.optim import make_optimizer

    for name in ("rmsprop_original", "rmsprop", "adam", "adamw", "sgd"):
        moved = []
        for kw in ({}, {"weight_decay": 0.1}):
            p = torch.nn.Parameter(torch.ones(3))
            opt = make_optimizer(name, [p], lr=0.01, **kw)
            assert opt.param_groups[0]["weight_decay"] == kw.get("weight_decay", 0.0)
            p.grad = torch.zeros(3)
            opt.step()
            moved.append(float((p.detach() - 1).abs().max()))
        assert moved[0] == 0.0 and moved[1] > 0.0, name


def test_make_optimizer_settings_per_name():
    """Keras' RMSprop defaults for "rmsprop" (rho 0.9, eps 1e-7), SGD with momentum 0.9, the lr given."""
    import pytest

    from corrnet.optim import make_optimizer

    p = [torch.nn.Parameter(torch.zeros(2))]
    want = {
        "rmsprop_original": (OriginalRMSprop, {"rho": 0.9, "eps": 1e-8}),
        "rmsprop": (torch.optim.RMSprop, {"alpha": 0.9, "eps": 1e-7, "momentum": 0}),
        "adam": (torch.optim.Adam, {"betas": (0.9, 0.999)}),
        "adamw": (torch.optim.AdamW, {}),
        "sgd": (torch.optim.SGD, {"momentum": 0.9}),
    }
    for name, (cls, settings) in want.items():
        opt = make_optimizer(name, p, lr=0.0123)
        # torch's class itself, or corrnet's dynamo-free subclass of exactly that class
        assert cls in (type(opt), type(opt).__bases__[-1]) and opt.param_groups[0]["lr"] == 0.0123, name
        for key, value in settings.items():
            assert opt.param_groups[0][key] == value, (name, key)
    lbfgs = make_optimizer("lbfgs", p, lr=0.1)  # full batch: the line search sets the step, not lr
    assert type(lbfgs).__bases__[-1] is torch.optim.LBFGS and lbfgs.defaults["line_search_fn"] == "strong_wolfe"
    assert (lbfgs.defaults["lr"], lbfgs.defaults["max_iter"], lbfgs.defaults["max_eval"]) == (1.0, 10, 40)
    with pytest.raises(ValueError, match="no weight_decay"):
        make_optimizer("lbfgs", p, lr=0.1, weight_decay=1e-4)
    with pytest.raises(ValueError, match="unknown optimizer 'newton'"):
        make_optimizer("newton", p, lr=0.1)
    OriginalRMSprop(p, rho=0.0)  # rho = 0 is allowed: plain RMS of the last gradient


def _same(a, b) -> bool:
    """Equal, bit for bit, through lists and tuples of tensors."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_eager_optimizers_step_exactly_as_torchs_own():
    """corrnet's optimisers skip torch's compile wrappers (no torch._dynamo import); the updates,
    the L-BFGS line search and the state dict (what checkpoints hold) stay torch's, bit for bit."""
    import pytest

    from corrnet.optim import make_optimizer

    torch_cls = {
        "adam": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=1e-3, fused=True),
        "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=1e-3, fused=True),
        "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7, weight_decay=1e-3),
        "sgd": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=1e-3),
        "lbfgs": lambda p: torch.optim.LBFGS(
            p, lr=1.0, max_iter=10, max_eval=40, history_size=10, line_search_fn="strong_wolfe"
        ),
    }
    rng = np.random.default_rng(0)
    A = torch.tensor(rng.normal(size=(20, 5)), dtype=torch.float32)
    t = torch.tensor(rng.normal(size=(20,)), dtype=torch.float32)
    for name, make_ref in torch_cls.items():
        w0 = torch.tensor(rng.normal(size=(5,)), dtype=torch.float32)
        runs = []
        for make in (lambda p, n=name: make_optimizer(n, p, 0.01, 0.0 if n == "lbfgs" else 1e-3), make_ref):
            w = torch.nn.Parameter(w0.clone())
            opt = make([w])

            def closure(w=w, opt=opt):
                opt.zero_grad()
                loss = ((A @ w - t) ** 2).mean() + (w**4).sum()
                loss.backward()
                return loss

            for _ in range(4):
                if name == "lbfgs":
                    opt.step(closure)
                else:
                    closure()
                    opt.step()
            runs.append((w.detach().clone(), opt.state_dict()))
        (w_ours, sd_ours), (w_ref, sd_ref) = runs
        assert torch.equal(w_ours, w_ref), name
        assert sd_ours["param_groups"] == sd_ref["param_groups"], name
        assert sd_ours["state"].keys() == sd_ref["state"].keys() and sd_ref["state"][0], name
        for k, v in sd_ref["state"][0].items():
            assert _same(sd_ours["state"][0][k], v), (name, k)
        if name == "lbfgs":
            continue
        # a state dict loads back into a fresh one and the next steps agree
        w, w_ref = torch.nn.Parameter(w_ours.clone()), torch.nn.Parameter(w_ref.clone())
        opt, ref = make_optimizer(name, [w], 0.01, 1e-3), make_ref([w_ref])
        opt.load_state_dict(sd_ours)
        ref.load_state_dict(sd_ref)
        w.grad, w_ref.grad = w0.clone(), w0.clone()
        opt.step()
        ref.step()
        assert torch.equal(w, w_ref), name
        with pytest.raises(ValueError):
            opt.load_state_dict({"state": {}, "param_groups": []})


def test_a_fit_in_a_new_process_never_imports_torch_dynamo():
    """torch's optimiser wrappers imported torch._dynamo on first use: 1.3-2.7 CPU s of a small
    table's first fit, and seconds of garbage collection at exit (issue 26)."""
    import subprocess
    import sys

    code = (
        "import sys, warnings; warnings.simplefilter('ignore')\n"
        "from corrnet import CorrNet\n"
        "from corrnet.datasets import load_dataset\n"
        "d = load_dataset('wine')\n"
        "for opt in ('auto', 'adam', 'rmsprop_original', 'sgd'):\n"
        "    CorrNet(optimizer=opt, epochs=2, random_state=0).fit(d.X_train, d.Y_train)\n"
        "from corrnet.baselines import DeepCCA\n"
        "DeepCCA(2, layers=(8,), epochs=1, batch_size=50).fit(d.X_train, d.Y_train)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
