import sys, numpy as np, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "..", "monitor-probe"))
from probe import views
from corrnet import metrics
from corrnet.experiments import transliteration as T
v = views(sys.argv[1])
vv = {s: v[s][:2] for s in v}
best=None
for k, reg in T.CCA_GRID:
    codes = T._cca_codes(vv, k, reg)
    a,b = codes("val"); m=(metrics.retrieval(a,b)["mrr"]+metrics.retrieval(b,a)["mrr"])/2
    if best is None or m>best[0]: best=(m,k,reg,codes)
m,k,reg,codes=best
a,b=codes("test")
print(sys.argv[1], "cca", k, reg, f"val mrr {m:.3f} test R@1 {100*metrics.retrieval(a,b)['recall@1']:.1f} / {100*metrics.retrieval(b,a)['recall@1']:.1f}")
