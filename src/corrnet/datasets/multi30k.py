"""Multi30k (task 1) English–German caption pairs: 29 000 train, 1 014 val, 1 000 test-2016 pairs.

Non-commercial research / educational use only (see ``../shared/data/multi30k/README.md``). Looked
for in ``data_dir``, ``$CORRNET_DATA/multi30k``, ``../shared/data/multi30k``; every file is checked
against the MD5 sums below before use (nothing is downloaded).
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from .base import data_dirs

MD5 = {
    "train.en.gz": "0065d13af80720a55ca8153d126e6627",
    "train.de.gz": "81ff90b99829c0cd4b1b587d394afd39",
    "val.en.gz": "2b69aa9253948ac9f67e94917272dd40",
    "val.de.gz": "6e0e229eb049e3fc99a1ef02fb2d5f91",
    "test_2016_flickr.en.gz": "ff2c0fcb4893a13bd73414306bc250ae",
    "test_2016_flickr.de.gz": "efd67d314d98489b716b145475101932",
}
SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}


def find_multi30k(data_dir: str | os.PathLike | None = None) -> Path:
    cands = data_dirs("multi30k", data_dir)
    for c in cands:
        if (c / "train.en.gz").is_file():
            return c
    raise FileNotFoundError(
        f"Multi30k not found (searched {', '.join(map(str, cands))}). Set CORRNET_DATA to a directory holding "
        "multi30k/{train,val,test_2016_flickr}.{en,de}.gz (https://github.com/multi30k/dataset, data/task1/raw)."
    )


def multi30k(data_dir: str | os.PathLike | None = None) -> dict[str, tuple[list[str], list[str]]]:
    """``{"train": (english, german), "val": ..., "test": ...}``: aligned lists of sentences."""
    root = find_multi30k(data_dir)
    out = {}
    for split, stem in SPLITS.items():
        pair = []
        for lang in ("en", "de"):
            name = f"{stem}.{lang}.gz"
            raw = (root / name).read_bytes()
            if hashlib.md5(raw).hexdigest() != MD5[name]:
                raise ValueError(f"{root / name} does not match its MD5 sum; replace it with the upstream file.")
            pair.append(gzip.decompress(raw).decode("utf-8").splitlines())
        if len(pair[0]) != len(pair[1]):
            raise ValueError(f"Multi30k {split}: {len(pair[0])} English but {len(pair[1])} German lines.")
        out[split] = (pair[0], pair[1])
    return out
