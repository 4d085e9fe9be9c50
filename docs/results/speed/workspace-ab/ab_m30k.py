import importlib.util, os, sys, time, warnings
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "benchmarks"))
import torch
warnings.simplefilter("ignore")
import bench_text as BT
import corrnet.fastpath as fp
from corrnet import CorrNet
spec = importlib.util.spec_from_file_location("corrnet._old_fastpath", os.environ["OLD_FASTPATH"])
old = importlib.util.module_from_spec(spec); spec.loader.exec_module(old)
cap = {}
real = fp.make_step
def mk(model, config, **kw):
    cap["model"], cap["config"] = model, config
    s = real(model, config, **kw)
    def w(x, y):
        if x.shape[0] == 100: cap["x"], cap["y"] = x.clone(), y.clone()
        return s(x, y)
    return w
fp.make_step = mk
data = sys.argv[1]
v = BT._views(data); X, Y = v["train"]
CorrNet(128 if data.startswith("cldr") else 100, random_state=0, epochs=1, validation_fraction=None).fit(X[:2000], Y[:2000])
model, config, x, y = cap["model"], cap["config"], cap["x"], cap["y"]
steps = {"old": old.make_step(model, config), "new": real(model, config)}
res = {"old": [], "new": []}
for rnd in range(6):
    for k in (("old", "new") if rnd % 2 == 0 else ("new", "old")):
        s = steps[k]
        for _ in range(3): s(x, y)
        t = time.perf_counter()
        for _ in range(20): s(x, y)
        res[k].append((time.perf_counter() - t) / 20 * 1e3)
print(data, tuple(x.shape), tuple(y.shape), {k: " ".join(f"{t:.1f}" for t in v) for k, v in res.items()},
      "median ms old %.1f new %.1f" % tuple(sorted(res[k])[3] for k in ("old", "new")))
