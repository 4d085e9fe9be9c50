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
        assert type(opt) is cls and opt.param_groups[0]["lr"] == 0.0123, name
        for key, value in settings.items():
            assert opt.param_groups[0][key] == value, (name, key)
    lbfgs = make_optimizer("lbfgs", p, lr=0.1)  # full batch: the line search sets the step, not lr
    assert type(lbfgs) is torch.optim.LBFGS and lbfgs.defaults["line_search_fn"] == "strong_wolfe"
    assert (lbfgs.defaults["lr"], lbfgs.defaults["max_iter"], lbfgs.defaults["max_eval"]) == (1.0, 10, 40)
    with pytest.raises(ValueError, match="no weight_decay"):
        make_optimizer("lbfgs", p, lr=0.1, weight_decay=1e-4)
    with pytest.raises(ValueError, match="unknown optimizer 'newton'"):
        make_optimizer("newton", p, lr=0.1)
    OriginalRMSprop(p, rho=0.0)  # rho = 0 is allowed: plain RMS of the last gradient
