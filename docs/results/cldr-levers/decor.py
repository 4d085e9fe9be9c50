"""Prototype: CorrNet objective + mu * sum_views ||offdiag corr(h_view)||_F^2 / k (autograd)."""
import sys, json, warnings, time, numpy as np, torch
warnings.simplefilter("ignore")
sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "..", "monitor-probe"))
from probe import views
from corrnet import CorrNet, metrics, objective, training
data, k, mu = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
params = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
orig = objective.multiview_loss

def offdiag(h):
    h = h.float()
    c = h - h.mean(0)
    c = c / (c.pow(2).sum(0).sqrt() + 1e-6)
    C = c.T @ c
    return (C.pow(2).sum() - C.diagonal().pow(2).sum()) / h.shape[1]

def patched(model, xs, config, mask=None, weight=None, reduce=None):
    t = orig(model, xs, config, mask, weight, reduce)
    if mu and mask is None:
        B = xs[0].shape[0]
        hs = []
        for i in range(len(xs)):
            ins = [x if j == i else None for j, x in enumerate(xs)]
            hs.append(model.encode(ins))
        pen = sum(offdiag(h) for h in hs)
        t = objective.LossTerms(t.total + mu * pen, t.recon, t.corr)
    return t
objective.multiview_loss = patched
training.multiview_loss = patched
v = views(data)
t0 = time.perf_counter()
est = CorrNet(k, random_state=0, engine="autograd", **params).fit(v["train"][0], v["train"][1], validation_data=v["val"][:2])
X, Y, y = v["test"]
hx, hy = est.transform(X=X), est.transform(Y=Y)
out = f"{data} k={k} mu={mu} {params} {est.optimizer_} ep={est.n_epochs_} best={est.best_epoch_} {time.perf_counter()-t0:.0f}s: R@1 {100*metrics.retrieval(hx,hy)['recall@1']:.1f} / {100*metrics.retrieval(hy,hx)['recall@1']:.1f}"
out += f" canon {metrics.canonical_correlations(hx, hy, reg=1e-4).sum():.1f} sumcorr {metrics.sum_correlation(hx, hy):.1f}"
if y is not None:
    Xt, Yt, yt = v["train"]
    out += f" transfer {100*metrics.transfer_accuracy(est.transform(X=Xt), yt, hy, y):.1f} / {100*metrics.transfer_accuracy(est.transform(Y=Yt), yt, hx, y):.1f}"
print(out, flush=True)
