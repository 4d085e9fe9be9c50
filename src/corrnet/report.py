"""Figures (matplotlib, Agg) and one self-contained HTML file with the PNGs embedded as base64.

The report only draws what it is given: metrics are computed elsewhere (``corrnet.metrics``).
"""

from __future__ import annotations

import base64
import html
import io
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def fig_to_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# validation metrics of the codes (``training.CODE_METRICS``) and their panel titles
CODE_PANELS = {"val_mrr": "validation retrieval MRR (codes)", "val_canon_corr": "validation canonical corr. (codes)"}


def fig_training_curves(history: Sequence[dict[str, float]], best_epoch: int | None = None) -> Figure:
    """Loss, reconstruction terms and sum-correlation per epoch (train and, if present, validation),
    a code metric's panel when the history has one (what early stopping watches by default), and
    the epoch early stopping kept (``best_epoch``) as a dashed line."""
    ep = [r["epoch"] for r in history]
    codes = [k for k in CODE_PANELS if k in history[0]]
    fig, axes = plt.subplots(1, 3 + len(codes), figsize=(13 + 4.3 * len(codes), 3.4))
    axes[0].plot(ep, [r["loss"] for r in history], label="train objective")
    if "val_loss" in history[0]:
        axes[0].plot(ep, [r["val_loss"] for r in history], label="validation objective")
    axes[0].set_title("objective (minimised)")
    for key, lab in (("recon_both", "from (x, y)"), ("recon_x", "from (x, 0)"), ("recon_y", "from (0, y)")):
        axes[1].plot(ep, [r[key] for r in history], label=lab)
    axes[1].set_title("reconstruction error per row")
    axes[2].plot(ep, [r["sum_corr"] for r in history], label="train (batch mean)")
    if "val_sum_corr" in history[0]:
        axes[2].plot(ep, [r["val_sum_corr"] for r in history], label="validation")
    axes[2].set_title("sum-correlation of h(x,0), h(0,y)")
    for ax, key in zip(axes[3:], codes):
        ax.plot(ep, [r[key] for r in history], label="validation", color="C1")
        ax.set_title(CODE_PANELS[key])
    for ax in axes:
        ax.set_xlabel("epoch")
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label=f"kept: epoch {best_epoch}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fig_generation_grid(
    X: np.ndarray,
    Y: np.ndarray,
    X_gen: np.ndarray,
    Y_gen: np.ndarray,
    shape_x: tuple[int, int],
    shape_y: tuple[int, int],
    n: int = 10,
) -> Figure:
    """Rows: real image; left half real + right half generated from the left; left generated from
    the right + right real. Views are left/right halves of the same image."""
    n = min(n, len(X))
    fig, axes = plt.subplots(3, n, figsize=(1.1 * n, 3.8))
    axes = np.atleast_2d(axes).reshape(3, n)
    titles = ("real", "right from left", "left from right")
    for i in range(n):
        xl, yr = X[i].reshape(shape_x), Y[i].reshape(shape_y)
        yg, xg = Y_gen[i].reshape(shape_y), X_gen[i].reshape(shape_x)
        for r, img in enumerate((np.hstack([xl, yr]), np.hstack([xl, yg]), np.hstack([xg, yr]))):
            ax = axes[r, i]
            ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.axvline(shape_x[1] - 0.5, color="red", lw=0.8)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(titles[r], fontsize=8)
    fig.tight_layout()
    return fig


def fig_image_grid(rows: Sequence[tuple[str, np.ndarray]], shape: tuple[int, int], n: int = 10) -> Figure:
    """A grid of images: one labelled row per (label, (m, h*w) array)."""
    n = min(n, min(len(a) for _, a in rows))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.1 * n, 1.2 * len(rows)))
    axes = np.atleast_2d(axes).reshape(len(rows), n)
    for r, (label, arr) in enumerate(rows):
        for i in range(n):
            ax = axes[r, i]
            ax.imshow(np.clip(arr[i].reshape(shape), 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.tight_layout()
    return fig


def fig_unit_correlations(corr: np.ndarray) -> Figure:
    """Bar chart of the per-unit test correlations, sorted."""
    corr = np.sort(np.asarray(corr))[::-1]
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(np.arange(len(corr)), corr, color="tab:blue")
    ax.set_ylim(min(0.0, corr.min() - 0.05), 1.0)
    ax.set_xlabel("hidden unit (sorted)")
    ax.set_ylabel("corr(h_j(x,0), h_j(0,y))")
    ax.set_title(f"per-unit test correlation, sum = {corr.sum():.2f}")
    fig.tight_layout()
    return fig


def fig_embedding(H1: np.ndarray, H2: np.ndarray, labels: np.ndarray, names: tuple[str, str] = ("X", "Y")) -> Figure:
    """2-D PCA of both views' codes, fitted jointly: same digit, same colour; marker = view."""
    from sklearn.decomposition import PCA

    Z = PCA(2, random_state=0).fit_transform(np.vstack([H1, H2]))
    n = len(H1)
    fig, ax = plt.subplots(figsize=(6, 5))
    for z, marker, name in ((Z[:n], "o", names[0]), (Z[n:], "x", names[1])):
        sc = ax.scatter(
            z[:, 0],
            z[:, 1],
            c=labels,
            cmap="tab10",
            s=10,
            marker=marker,
            alpha=0.6,
            label=f"code from {name} alone",
            vmin=0,
            vmax=9,
        )
    fig.colorbar(sc, ax=ax, label="class")
    ax.legend(fontsize=8)
    ax.set_title("both views' codes, joint 2-D PCA")
    fig.tight_layout()
    return fig


def table_html(rows: Sequence[dict[str, Any]], floatfmt: str = "{:.4g}") -> str:
    """An HTML table from a list of dicts (keys of the first row are the columns)."""
    if not rows:
        return "<p>(empty)</p>"
    cols = list(rows[0])

    def fmt(v: Any) -> str:
        return floatfmt.format(v) if isinstance(v, float) else str(v)

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(r.get(c, '')))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory, then rename (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}img{max-width:100%}pre{background:#f7f7f7;padding:1em;overflow-x:auto}"""


def write_report(path: str | os.PathLike, title: str, sections: Sequence[tuple[str, Any]]) -> Path:
    """Write one self-contained HTML file.

    ``sections`` is a list of ``(heading, content)``; content is a matplotlib Figure (embedded as a
    PNG), a list of dicts (a table) or a string of HTML. Returns the file's path.
    """
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
    ]
    for heading, content in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if isinstance(content, Figure):
            parts.append(f"<img alt='{html.escape(heading)}' src='{fig_to_data_uri(content)}'>")
        elif isinstance(content, list):
            parts.append(table_html(content))
        else:
            parts.append(str(content))
    parts.append("</body></html>")
    out = Path(path)
    atomic_write_text(out, "\n".join(parts))
    return out


def md_table_to_html(md: str) -> str:
    """A markdown table (header, ``|---`` rule, rows) as an HTML table."""
    lines = [ln for ln in md.splitlines() if not ln.startswith("|---")]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    head = "".join(f"<th>{c}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
