import importlib.util, os, sys, time, warnings
import torch
warnings.simplefilter("ignore")
import corrnet.fastpath as fp
from corrnet import CorrNet
from corrnet.config import preset
from corrnet.datasets import load_dataset
spec = importlib.util.spec_from_file_location("corrnet._old_fastpath", os.environ["OLD_FASTPATH"])
old = importlib.util.module_from_spec(spec); spec.loader.exec_module(old)
impl = {"old": lambda model, config, workspace=True: old.make_step(model, config), "new": fp.make_step}
d = load_dataset("mnist-halves", "/work/shared/data/mnist")
X, Y = d.X_train[:20000], d.Y_train[:20000]
kw = {**preset("paper"), "epochs": 2, "engine": "fused"}
CorrNet(**kw, random_state=0).fit(X, Y)
tot = {"old": [], "new": []}
for rnd in range(6):
    for v in (("old", "new") if rnd % 2 == 0 else ("new", "old")):
        fp.make_step = impl[v]
        t = time.perf_counter(); e = CorrNet(**kw, random_state=0).fit(X, Y); tot[v].append((time.perf_counter() - t) / 2 / 20000 * 50000)
print({v: " ".join(f"{x:.3f}" for x in ts) for v, ts in tot.items()}, "median s per 50k-row epoch: old %.3f new %.3f" % tuple(sorted(tot[v])[3] for v in ("old", "new")))
