"""SIB-200 (Adelani et al., EACL 2024): 1 004 FLORES-200 sentences, each labelled with one of 7 topics,
professionally translated into 200+ languages; here any of the languages in the data directory
(English ``eng_Latn``, German ``deu_Latn``, French ``fra_Latn``). The dataset's splits: 701 train,
99 dev, 204 test, aligned across languages by ``index_id``. FLORES-200 sentences: CC BY-SA 4.0.

Looked for in ``data_dir``, ``$CORRNET_DATA/sib200``, ``../shared/data/sib200``; every file is
checked against the directory's ``MD5SUMS``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import data_dirs

SPLITS = ("train", "dev", "test")
CATEGORIES = ("science/technology", "travel", "politics", "sports", "health", "entertainment", "geography")


@dataclass
class Sentences:
    """One split: ``texts[lang]`` (n,) sentences in each language, row i the same sentence;
    ``labels`` (n,) int topic indices into :data:`CATEGORIES`; ``ids`` the FLORES index ids."""

    texts: dict[str, list[str]]
    labels: np.ndarray
    ids: list[str]


def find_sib200(data_dir: str | os.PathLike | None = None) -> Path:
    cands = data_dirs("sib200", data_dir)
    for c in cands:
        if (c / "MD5SUMS").is_file() and (c / "eng_Latn" / "train.tsv").is_file():
            return c
    raise FileNotFoundError(
        f"SIB-200 not found (searched {', '.join(map(str, cands))}). Set CORRNET_DATA to a directory holding "
        "sib200/<lang>/{train,dev,test}.tsv and MD5SUMS (github.com/dadelani/sib-200, data/annotated)."
    )


def _read(root: Path, lang: str, split: str, md5: dict[str, str]) -> dict[str, tuple[str, str]]:
    name = f"{lang}/{split}.tsv"
    if name not in md5:
        raise ValueError(
            f"{root / name} is not listed in {root / 'MD5SUMS'}; the languages there are "
            f"{sorted({k.split('/')[0] for k in md5})}."
        )
    raw = (root / name).read_bytes()
    if hashlib.md5(raw).hexdigest() != md5[name]:
        raise ValueError(f"{root / name} does not match its MD5 sum; replace it with the upstream file.")
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8")), delimiter="\t", quoting=csv.QUOTE_NONE)
    return {r["index_id"]: (r["category"], r["text"]) for r in rows}


def sib200(
    langs: tuple[str, ...] = ("eng_Latn", "deu_Latn"), data_dir: str | os.PathLike | None = None
) -> dict[str, Sentences]:
    """``{"train": Sentences, "dev": ..., "test": ...}`` for ``langs``, rows aligned by ``index_id``
    (sorted numerically)."""
    root = find_sib200(data_dir)
    md5 = dict(line.split()[::-1] for line in (root / "MD5SUMS").read_text().splitlines() if line.strip())
    out = {}
    for split in SPLITS:
        per = {lang: _read(root, lang, split, md5) for lang in langs}
        ids = sorted(per[langs[0]], key=int)
        for lang in langs[1:]:
            if set(per[lang]) != set(ids):
                raise ValueError(f"SIB-200 {split}: {lang} and {langs[0]} hold different sentences.")
        labels = np.array([CATEGORIES.index(per[langs[0]][i][0]) for i in ids], dtype=np.int64)
        out[split] = Sentences({lang: [per[lang][i][1] for i in ids] for lang in langs}, labels, ids)
    return out
