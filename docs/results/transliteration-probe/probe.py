"""CLDR names prototype: CorrNet variants vs linear CCA (settings on validation MRR), per script."""
import sys, time, warnings, json, numpy as np
warnings.simplefilter("ignore")
from corrnet.experiments import transliteration as T
from corrnet.datasets.cldr import cldr_names
locales = tuple(sys.argv[1].split(","))
variants = json.loads(sys.argv[2])  # name -> CorrNet params
do_cca = len(sys.argv) > 3 and sys.argv[3] == "cca"
table = cldr_names(locales, seed=0)
rng = np.random.default_rng(0)
for loc in locales:
    names = {s: table.pairs(loc, s) for s in ("train", "val", "test")}
    ve, vo = T._vectoriser().fit(names["train"][0]), T._vectoriser().fit(names["train"][1])
    views = {s: (ve.transform(en), vo.transform(o)) for s, (en, o) in names.items()}
    negs = {s: T._negatives(len(names[s][1]), names[s][1], rng) for s in ("val", "test")}
    shape = views["train"][0].shape, views["train"][1].shape
    if do_cca:
        best = None
        for k, reg in T.CCA_GRID:
            r = T._evaluate(T._cca_codes(views, k, reg), negs)
            if best is None or r["val_mrr"] > best[0]["val_mrr"]: best = (r, (k, reg))
        r = best[0]; print(loc, shape, "cca", best[1], f"val_mrr {r['val_mrr']:.3f} R@1 {100*r['en->x recall@1']:.1f} / {100*r['x->en recall@1']:.1f}", flush=True)
    for name, p in variants.items():
        t0 = time.perf_counter()
        r = T._evaluate(T._corrnet_codes(views, p, 0, None), negs)
        print(loc, shape, name, f"{time.perf_counter()-t0:.1f}s", f"val_mrr {r['val_mrr']:.3f} R@1 {100*r['en->x recall@1']:.1f} / {100*r['x->en recall@1']:.1f}", flush=True)
