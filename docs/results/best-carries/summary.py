"""Mean ± sd over the seeds in log.jsonl (per dataset and lr mode), in the results table's units."""

import json
from pathlib import Path

import numpy as np

rows = [json.loads(line) for line in open(Path(__file__).with_name("log.jsonl"))]
cols = ["sum_corr", "sum_canonical_corr", "transfer_1to2", "transfer_2to1", "transfer_1to2_tuned",
        "transfer_2to1_tuned", "classify_1", "gen_mse_2from1", "train_seconds"]
for key in sorted({(r["dataset"], r["mode"]) for r in rows}):
    sel = [r for r in rows if (r["dataset"], r["mode"]) == key]
    cells = []
    for c in cols:
        v = np.array([r[c] for r in sel if c in r], float) * (100 if "transfer" in c or c == "classify_1" else 1)
        if len(v) == 0:
            cells.append("–")
            continue
        sd = v.std(ddof=1) if len(v) > 1 else 0.0
        fmt = "{:.4f}" if c.startswith("gen") else "{:.2f}"
        cells.append(f"{v.mean():.0f}" if c == "train_seconds" else f"{fmt.format(v.mean())} ± {fmt.format(sd)}")
    print(key, len(sel), "seeds:", " | ".join(cells))
