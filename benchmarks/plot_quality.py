"""The quality benchmark as one figure: corrnet's defaults against tuned linear CCA on every task.

    python benchmarks/plot_quality.py            # writes docs/_static/quality.png (make docs runs it)

Reads the full tier's records in ``benchmarks/quality/`` (the defaults' own run first, then the
run that holds the other methods) and plots each task's test score, mean and seed spread, for the
defaults, the paper's recipe and the baselines. Held-out tasks (never used to choose a default)
are marked.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
RECORDS = ["full-2026-12-07-defaults.json", "full-2026-12-07.json"]
METHODS = {  # method: (label, marker, colour)
    "default": ("corrnet defaults", "o", "#1f77b4"),
    "cca": ("linear CCA, tuned", "s", "#d62728"),
    "dcca": ("Deep CCA", "^", "#7f7f7f"),
    "paper": ("corrnet paper recipe", "v", "#2ca02c"),
}


def rows() -> dict[tuple[str, str], dict]:
    """``{(task, method): row}`` over the records, the first record that has a pair winning."""
    out: dict[tuple[str, str], dict] = {}
    for name in RECORDS:
        for row in json.loads((HERE / "quality" / name).read_text())["rows"]:
            out.setdefault((row["task"], row["method"]), row)
    return out


def plot(path: Path) -> None:
    table = rows()
    tasks = [t for t, m in table if m == "default"]
    tasks = sorted(set(tasks), key=tasks.index)
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(tasks) + 1.2), dpi=130)
    for (method, (label, marker, colour)), dy in zip(METHODS.items(), (-0.2, 0.2, 0.07, -0.07)):
        ys, xs, errs = [], [], []
        for i, task in enumerate(tasks):
            if (task, method) in table:
                row = table[task, method]
                ys.append(i + dy)
                xs.append(100 * row["mean"])
                errs.append(100 * row["sd"])
        main = method in ("default", "cca")
        ax.errorbar(xs, ys, xerr=errs, fmt=marker, color=colour, label=label, ms=6 if main else 4,
                    capsize=2, lw=1, alpha=1 if main else 0.6)
    held_out = {t for (t, m), row in table.items() if row.get("held_out")}
    ax.set_yticks(range(len(tasks)), [t + (" *" if t in held_out else "") for t in tasks])
    ax.invert_yaxis()
    ax.set_xlabel("test score, % (mean and sd over 3 seeds; each task's metric in the table below)")
    ax.set_title("corrnet's defaults against tuned linear CCA on every task (* held out)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    print(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs" / "_static" / "quality.png")
    plot(parser.parse_args().out)


if __name__ == "__main__":
    main()
