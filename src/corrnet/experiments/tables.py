"""The one way an experiment writes its tables: ``results.md``, ``results.json`` and, when given,
``results.csv`` and ``index.html``, each written atomically (a stopped run never leaves half a file)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import report


def _jsonable(o: Any) -> Any:
    """numpy scalars as numbers; anything else JSON cannot take (paths, tuples in keys' values) as text."""
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    return str(o)


def write_tables(
    out: str | Path,
    markdown: str,
    data: Any,
    *,
    csv_rows: Sequence[dict[str, Any]] | None = None,
    csv_columns: Sequence[str] | None = None,
    html: tuple[str, list[tuple[str, Any]]] | None = None,
) -> Path:
    """Write the Markdown table, the JSON ``data`` (parameters, runs, summary), the CSV rows (columns
    ``csv_columns``) and an HTML report ``(title, sections)`` into the directory ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report.atomic_write_text(out / "results.md", markdown.rstrip("\n") + "\n")
    report.atomic_write_text(out / "results.json", json.dumps(data, indent=1, default=_jsonable))
    if csv_rows is not None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(csv_columns or csv_rows[0]), extrasaction="ignore")
        w.writeheader()
        w.writerows(csv_rows)
        report.atomic_write_text(out / "results.csv", buf.getvalue())
    if html is not None:
        report.write_report(out / "index.html", *html)
    return out
