"""Old and new fused step alternating in one process (same fits, bit-identical trajectories)."""
import importlib.util, os, sys, time, warnings
import torch
torch.set_num_threads(int(sys.argv[2]))
warnings.simplefilter("ignore")
import corrnet.fastpath as fp
from corrnet import CorrNet
from corrnet.datasets import load_dataset
from corrnet.experiments.defaults import width
spec = importlib.util.spec_from_file_location("corrnet._old_fastpath", os.environ["OLD_FASTPATH"])
old = importlib.util.module_from_spec(spec); spec.loader.exec_module(old)
new_make = fp.make_step
impl = {"old": lambda model, config, workspace=True: old.make_step(model, config), "new": new_make}
for name in sys.argv[1].split(","):
    d = load_dataset(name); k = width(d)
    CorrNet(k, random_state=0).fit(d.X_train, d.Y_train)
    tot = {"old": [], "new": []}
    for rnd in range(int(sys.argv[3])):
        for v in (("old", "new") if rnd % 2 == 0 else ("new", "old")):
            fp.make_step = impl[v]
            t = time.perf_counter()
            for s in (0, 1, 2):
                CorrNet(k, random_state=s).fit(d.X_train, d.Y_train)
            tot[v].append((time.perf_counter() - t) / 3)
    print(name, {v: " ".join(f"{x:.2f}" for x in ts) for v, ts in tot.items()},
          "median old %.2f new %.2f s per fit" % tuple(sorted(tot[v])[len(tot[v]) // 2] for v in ("old", "new")), flush=True)
