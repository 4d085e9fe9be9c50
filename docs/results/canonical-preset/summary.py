"""Mean ± sd (ddof 1) over seeds of the `canonical` preset's runs: the test rows of each ``log*.jsonl``
here (or of the logs given as arguments) and the validation rows that ``run.py ... val`` appended to
``docs/results/noisy-screen/log.jsonl``, grouped by dataset and overrides."""

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

here = Path(__file__).parent
test_logs = [Path(a) for a in sys.argv[1:]] or sorted(here.glob("log*.jsonl"))
pct = {"classify_1", "transfer_1to2", "transfer_2to1", "val_classify_1", "val_transfer_1to2", "val_transfer_2to1"}


def recipe(r):
    """The run's batch size, rate and initialisation; rows made before run.py recorded the recipe ran
    the first version of the preset (batches of 500, lr="auto" with the cosine schedule) unless their
    overrides say otherwise, and rows whose recipe names no init ran the "original" one (He's for the
    ReLU layers) unless their overrides say otherwise."""
    o = r["over"]
    init = o.get("init", "original")
    if "recipe" in r:  # "batch B, lr R SCHEDULE[, init I][, decoders [...]]"; lr="auto" differs in the 3rd digit
        batch, lr, *named = r["recipe"].split(", ", 3)  # between splits
        init = named[0].split()[1] if named else init
        rest = f", {named[1]}" if len(named) > 1 else ""
        return f"{batch}, lr {float(lr.split()[1]):.2g} {lr.split()[2]}, init {init}{rest}"
    if not o and r["lr"] == 1e-3:  # the second version (the first version's lr="auto" never gave 1e-3)
        return "batch 800, lr 0.001 constant, init original"
    return f"batch {o.get('batch_size', 500)}, lr {r['lr']:.2g} {o.get('lr_schedule', 'cosine')}, init {init}"


def show(rows, cols):
    groups = defaultdict(list)
    for r in rows:
        key = (r["dataset"], r.get("preset", "canonical"), recipe(r), json.dumps(r["over"], sort_keys=True))
        groups[(*key, r.get("epochs", 0))].append(r)  # epochs: min_steps raises them on small data
    for (data, name, rec, over, epochs), sel in sorted(groups.items()):
        cells = []
        for c in cols:
            if any(c not in r for r in sel):  # classify_1 (view-1 SVM): Noisy MNIST's test rows only
                continue
            v = np.array([r[c] for r in sel], float) * (100 if c in pct else 1)
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            cells.append(f"{c} {v.mean():.2f} ± {sd:.2f} ({', '.join(f'{x:.2f}' for x in v)})")
        print(data, name, f"[{rec}]", over, f"{epochs} epochs, seeds {[r['seed'] for r in sel]}:", "; ".join(cells))


test_cols = ["classify_1", "transfer_1to2", "transfer_2to1", "sum_canonical_corr", "sum_corr", "gen_mse_2from1"]
for log in test_logs:
    print(f"-- {log.name}")
    show([json.loads(line) for line in open(log)], [*test_cols, "train_seconds"])
print("-- validation (noisy-screen/log.jsonl)")
val = [json.loads(line) for line in open(here.parent / "noisy-screen" / "log.jsonl")]
show([r for r in val if r.get("name", "").startswith("canonical-preset") or "preset" in r],
     ["val_classify_1", "val_transfer_1to2", "val_transfer_2to1", "val_canon", "train_seconds"])
