"""Issue 25 goal 2: screen settings of the `best` preset on Noisy MNIST's *validation* split.

    python docs/results/noisy-screen/screen.py NAME SEED EPOCHS '{"lam": 16}'

The test split is not touched: view-1 SVM accuracy (Wang et al.'s protocol) is measured on the
second half of the validation rows, with C chosen on the first half; transfer on the second half
with C fixed to 1. One JSON line per run appended to ``log.jsonl`` beside this file.
"""

import json
import sys
import time

import torch
from scoring import score_and_log

from corrnet.config import preset
from corrnet.datasets import load_dataset
from corrnet.estimator import CorrNet

name, seed, epochs, over = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
torch.set_num_threads(1)
d = load_dataset("noisy-mnist", "/work/shared/data/mnist")
kw = {**preset("best"), "epochs": epochs, **over}
decor = kw.pop("decor", 0.0)
vic = kw.pop("vic", 0.0)
canon = kw.pop("canon", 0.0)
if kw.pop("ln_relu", False):  # probe: encoder hidden layers relu(LayerNorm(W x + b)); joint layer as set
    import torch.nn.functional as F

    import corrnet.model as cm

    def forward(self, x):
        for layer in self.hidden:
            z = layer(x)
            x = torch.relu(F.layer_norm(z, z.shape[-1:]))
        return self.proj(x)

    cm.ViewEncoder.forward = forward
    kw["engine"] = "autograd"
bn_relu = kw.pop("bn_relu", False)
if bn_relu:  # probe: encoder hidden layers relu(BatchNorm(W x + b)) as DCCA's; joint layer as set

    import corrnet.model as cm

    plain_init = cm.ViewEncoder.__init__

    def __init__(self, d_in, layers, k, act, bias_last):
        plain_init(self, d_in, layers, k, act, bias_last)
        self.bns = torch.nn.ModuleList(torch.nn.BatchNorm1d(w) for w in layers)

    def forward(self, x):
        for layer, bn in zip(self.hidden, self.bns):
            z = layer(x)  # an absent view is one zero row (CorrNet's h(x, 0)): normalised by running stats
            x = torch.relu(bn(z) if len(z) > 1 else torch.nn.functional.batch_norm(
                z, bn.running_mean, bn.running_var, bn.weight, bn.bias, False))
        return self.proj(x)

    cm.ViewEncoder.__init__, cm.ViewEncoder.forward = __init__, forward
    kw["engine"] = "autograd"
if canon:  # probe: the sum of canonical correlations of the single-view codes replaces the per-unit sum

    import corrnet.objective as obj

    def _inv_sqrt(c):
        w, v = torch.linalg.eigh(c + canon * torch.eye(len(c), dtype=c.dtype))
        return v @ torch.diag(w.clamp(min=1e-9).rsqrt()) @ v.T

    def correlation(hx, hy, eps=1e-8, mask=None, reduce=None):
        assert mask is None and reduce is None
        hx, hy = hx.double(), hy.double()
        cx, cy = hx - hx.mean(0), hy - hy.mean(0)
        n = len(hx) - 1
        t = _inv_sqrt(cx.T @ cx / n) @ (cx.T @ cy / n) @ _inv_sqrt(cy.T @ cy / n)
        return torch.linalg.svdvals(t).float()  # (k,): the canonical correlations

    obj.correlation = correlation
    kw["engine"] = "autograd"
if vic:  # probe: VICReg-style terms on the single-view codes: off-diagonal covariance, variance hinge
    import corrnet.objective as obj

    plain = obj.correlation

    def _vic(h, gamma=0.1):
        c = h - h.mean(0)
        cov = c.T @ c / (len(c) - 1)
        off = (cov - torch.diag(torch.diag(cov))).pow(2).sum(0)  # (k,)
        return off / cov.diagonal().detach().clamp(min=1e-4) + torch.relu(gamma - c.std(0)) * 10

    def correlation(hx, hy, eps=1e-8, mask=None, reduce=None):
        assert mask is None and reduce is None
        return plain(hx, hy, eps) - vic * (_vic(hx) + _vic(hy)) / hx.shape[1]

    obj.correlation = correlation
    kw["engine"] = "autograd"
if decor:  # probe: a within-view decorrelation penalty on the single-view codes (autograd engine)
    import corrnet.objective as obj

    plain = obj.correlation

    def _offdiag(h):
        z = (h - h.mean(0)) / (h.std(0) + 1e-4)
        c = z.T @ z / len(z)
        return (c - torch.diag(torch.diag(c))).pow(2).sum(0)  # (k,): each unit's squared correlations

    def correlation(hx, hy, eps=1e-8, mask=None, reduce=None):
        assert mask is None and reduce is None
        return plain(hx, hy, eps) - decor * (_offdiag(hx) + _offdiag(hy)) / hx.shape[1]

    obj.correlation = correlation
    kw["engine"] = "autograd"
for key in ("encoder_layers", "reconstruct_from"):  # JSON lists -> tuples
    if key in kw:
        kw[key] = tuple(kw[key])
t0 = time.perf_counter()
est = CorrNet(**kw, random_state=seed, device="cpu").fit(d.X_train, d.Y_train)
secs = time.perf_counter() - t0
est.model_.eval()  # batch norm (bn_relu): running statistics from here on
score_and_log({"name": name, "seed": seed, "epochs": epochs, "over": over, "lr": est.config_.lr}, est, d, secs, svm_variants=True)
