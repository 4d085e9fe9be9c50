"""Fail when what users read speaks of how corrnet is developed instead of what it does.

Users see the README, the documentation site (its pages, the API reference built from the
docstrings, the gallery) and the package's source. None of it may cite development tickets
("issue 25", "the issue's goal"), work sessions, internal planning files or bare "(README)"
references from a docstring. Results carry their date and command instead.

    python tools/check_wording.py                       # README, docs sources, the package
    python tools/check_wording.py docs/_build/html      # a built site (``make docs`` runs this)

Exit status 1 lists every hit as ``path:line: text``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = {
    "a development ticket": re.compile(r"\bissues? ?#?\d+|\bissue's\b|\bthe issue\b|\bfiled by\b", re.I),
    "a work session": re.compile(r"\bsessions?\b", re.I),
    "an internal planning file": re.compile(r"DESIGN\.md|\.\./shared/(?!data)"),
    "a docstring pointing at the README": re.compile(r"\(README\)"),
}
# the sources of what users read (benchmarks/runs/ and benchmarks/mutation/ are the experiments'
# records, outside the site)
SOURCES = (
    "README.md",
    "docs/*.md",
    "docs/*.rst",
    "docs/examples/*.py",
    "docs/examples/*.rst",
    "docs/data/*.md",
    "src/corrnet/**/*.py",
)
TAG = re.compile(r"<[^>]+>")


def hits(paths: Iterable[Path]) -> list[str]:
    """``path:line: [what] text`` for every line that matches a pattern."""
    out = []
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".html":
            text = re.sub(r"<script.*?</script>", "", text, flags=re.S)
            text = TAG.sub(" ", text)
        for n, line in enumerate(text.splitlines(), 1):
            for what, pat in PATTERNS.items():
                if pat.search(line):
                    out.append(f"{path}:{n}: [{what}] {line.strip()[:160]}")
    return out


def source_files(root: Path = ROOT) -> list[Path]:
    return sorted({p for pattern in SOURCES for p in root.glob(pattern) if p.is_file()})


def site_files(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*") if p.suffix in (".html", ".txt") and "_static" not in p.parts)


def main(argv: list[str]) -> int:
    files = site_files(Path(argv[0])) if argv else source_files()
    if not files:
        print(f"no files to check under {argv[0] if argv else ROOT}", file=sys.stderr)
        return 1
    found = hits(files)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
