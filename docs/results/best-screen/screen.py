"""Issue 11 screening: BEST config + a decorrelation penalty, on MNIST halves' validation split."""
import json, sys, time
import numpy as np, torch
import corrnet.training as T
from corrnet import CorrNet, metrics
from corrnet.datasets import load_dataset
from corrnet.config import preset

# every row of screen.jsonl was run on the best preset as it was before the cosine schedule (lam 8 for
# the first rows, lam 4 after; Adam at a constant 1e-3): the "extra" settings override it
BEST = {**preset("best"), "lam": 4.0, "lr": 1e-3, "lr_schedule": "constant"}

mode, mu, epochs, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
orig = T.multiview_loss

def z(h):
    h = h.float()
    return (h - h.mean(0)) / (h.std(0, unbiased=False) + 1e-4)

def patched(model, xs, config, *a, **k):
    terms = orig(model, xs, config, *a, **k)
    if mode in ("indrop", "noise", "cosine"):
        return terms
    if mu == 0 or mode == "none":
        return terms
    out = model.last_singles
    zx, zy = z(out[0]), z(out[1])
    B, kk = zx.shape
    off = 1 - torch.eye(kk, device=zx.device)
    if mode == "cross":
        C = zx.T @ zy / B
        pen = ((C * off) ** 2).sum()
    elif mode == "within":
        pen = (((zx.T @ zx / B) * off) ** 2).sum() + (((zy.T @ zy / B) * off) ** 2).sum()
    elif mode == "align":  # the two views' codes equal, not only correlated
        pen = (out[0].float() - out[1].float()).pow(2).sum(1).mean()
    else:
        raise SystemExit(mode)
    return type(terms)(terms.total + mu * pen, terms.recon, terms.corr)

# capture the single-view codes of the forward pass
import corrnet.model as M
fwd = M.CorrNetModule.forward
def forward(self, xs, *a, **k):
    if self.training and mode == "indrop":  # masking noise on the encoder's input; clean targets
        xs = [torch.nn.functional.dropout(x, mu) * (1 - mu) for x in xs]
    if self.training and mode == "noise":  # additive Gaussian noise on the input; clean targets
        xs = [x + mu * torch.randn_like(x) for x in xs]
    out = fwd(self, xs, *a, **k)
    self.last_singles = out.singles
    return out
M.CorrNetModule.forward = forward
T.multiview_loss = patched

if mode == "cosine":  # Adam with the learning rate decayed to 0 by half a cosine over the run
    assert mu == 0.0, "the cosine rows decay to 0 (mu = 0): corrnet's lr_schedule='cosine'"
    extra = {**extra, "lr_schedule": "cosine"}

d = load_dataset("mnist-halves", "/work/shared/data")
t = time.time()
est = CorrNet(**{**BEST, "epochs": epochs, **extra}, random_state=seed, device="cpu", engine="autograd").fit(d.X_train, d.Y_train)
fit_s = time.time() - t
h1, h2 = est.transform(X=d.X_val), est.transform(Y=d.Y_val)
res = dict(mode=mode, mu=mu, epochs=epochs, seed=seed, extra=extra, fit_s=round(fit_s),
           sum_corr=metrics.sum_correlation(h1, h2),
           t12=metrics.transfer_accuracy_folds(h1, h2, d.y_val), t21=metrics.transfer_accuracy_folds(h2, h1, d.y_val),
           r1=metrics.retrieval(h1, h2)["recall@1"], t11=metrics.transfer_accuracy_folds(h1, h1, d.y_val),
           t22=metrics.transfer_accuracy_folds(h2, h2, d.y_val))
print(json.dumps(res), flush=True)
