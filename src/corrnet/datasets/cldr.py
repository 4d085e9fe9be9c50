"""Names across scripts from the Unicode CLDR data inside ``babel``: territories, languages, currencies, cities.

Every row is one CLDR item, keyed by ``(kind, code)`` (``("territory", "KE")``, ``("language", "sw")``,
``("currency", "INR")``, ``("city", "Europe/Berlin")``), with its English name and its name in each
requested locale (``"Kenya"``, ``"Кения"``, ``"केन्या"``, ...). Some are transliterations (Kenya/Кения),
some translations (Germany/Германия, "Indian Rupee"/"индийская рупия"): that mix is what the data holds.

Nothing is downloaded: babel ships the CLDR release it was built from (``versions`` records both).
English city names are not in CLDR's English data for most zones (they equal the zone ID's last part,
``America/Sao_Paulo`` -> ``Sao Paulo``); they are derived from the ID.

A locale's name is dropped when it holds a Latin letter (CLDR falls back to the English spelling where
a locale has no name of its own, and that pair would teach nothing about the script). Language variants
(``en_GB``: "British English") and ``Etc/`` zones are left out.

**Split by name.** Rows that share a name (the English name, or one locale's name, compared case-folded)
are joined into one group; groups, not rows, are shuffled with the seed and cut into train/val/test, so
no name, in any script, is in two splits.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KINDS = ("territory", "language", "currency", "city")
# Locales whose names are in a non-Latin script, with the script (the experiment's default is the first 5).
SCRIPTS = {
    "ru": "Cyrillic",
    "el": "Greek",
    "hi": "Devanagari",
    "ar": "Arabic",
    "ko": "Hangul",
    "he": "Hebrew",
    "th": "Thai",
    "ja": "Japanese (katakana, kanji)",
    "ka": "Georgian",
    "ta": "Tamil",
}
SPLITS = ("train", "val", "test")


def _babel():
    try:
        import babel
        from babel import Locale
    except ImportError as e:  # pragma: no cover - babel is in the `names` and `test` extras
        raise ImportError("the CLDR names need babel: pip install 'corrnet[names]' (or pip install babel)") from e
    return babel, Locale


def _has_latin(s: str) -> bool:
    return any("LATIN" in unicodedata.name(c, "") for c in s if c.isalpha())


def _items(locale, kind: str) -> dict[str, str]:
    """``code -> name`` of one kind in one locale (before filtering)."""
    if kind == "territory":
        return dict(locale.territories)
    if kind == "language":
        return {k: v for k, v in locale.languages.items() if "_" not in k}
    if kind == "currency":
        return dict(locale.currencies)
    if kind == "city":
        from babel.core import get_global

        zones = set(locale.time_zones)
        if locale.language == "en":  # English has its own spelling for a few zones only: the rest is the ID's
            zones |= set(get_global("zone_territories"))
        out = {}
        for zone in sorted(z for z in zones if not z.startswith("Etc/")):
            city = locale.time_zones.get(zone, {}).get("city")
            if city is None and locale.language == "en":
                city = zone.rsplit("/", 1)[-1].replace("_", " ")
            if city is not None:
                out[zone] = city
        return out
    raise ValueError(f"unknown kind {kind!r}; use some of {KINDS}.")


@dataclass
class NameTable:
    """Aligned names: row i is ``(kind[i], code[i])``, named ``english[i]`` and ``names[loc][i]`` (or None).

    Attributes
    ----------
    kind, code : ndarray of str, shape (n_rows,)
    english : list of str, length n_rows
    names : dict locale -> list of (str or None), each of length n_rows
    split : ndarray of str, shape (n_rows,), "train" / "val" / "test"
    versions : dict with "cldr" and "babel" (the releases the names came from)
    """

    kind: np.ndarray
    code: np.ndarray
    english: list[str]
    names: dict[str, list[str | None]]
    split: np.ndarray
    versions: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.english)

    def present(self, locale: str, split: str | None = None) -> np.ndarray:
        """Boolean mask (n_rows,): rows with a name in ``locale`` (and in ``split``, if given)."""
        m = np.array([n is not None for n in self.names[locale]], dtype=bool)
        return m if split is None else m & (self.split == split)

    def take(self, rows: np.ndarray) -> NameTable:
        """The table restricted to ``rows`` (integer indices or a boolean mask), in that order."""
        idx = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=np.int64)
        return NameTable(
            kind=self.kind[idx],
            code=self.code[idx],
            english=[self.english[i] for i in idx],
            names={loc: [ns[i] for i in idx] for loc, ns in self.names.items()},
            split=self.split[idx],
            versions=dict(self.versions),
        )

    def pairs(self, locale: str, split: str | None = None) -> tuple[list[str], list[str]]:
        """Aligned ``(english, other)`` name lists for the rows that have a ``locale`` name."""
        idx = np.flatnonzero(self.present(locale, split))
        return [self.english[i] for i in idx], [self.names[locale][i] for i in idx]  # type: ignore[misc]


class _Groups:
    """Union-find over names; rows sharing a name end in one group."""

    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, a: object) -> object:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: object, b: object) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb, key=repr)] = min(ra, rb, key=repr)  # deterministic root


def _rows(en: Any, locales: dict[str, Any], kinds: tuple[str, ...]) -> list[tuple[str, str, str, dict[str, str]]]:
    """(kind, code, English name, {locale: name}) for every CLDR item with a non-Latin name in a locale."""
    rows: list[tuple[str, str, str, dict[str, str]]] = []
    for kind in kinds:
        en_items = _items(en, kind)
        per_loc = {loc: _items(L, kind) for loc, L in locales.items()}
        for code in sorted(en_items):
            other = {loc: per_loc[loc][code] for loc in locales if code in per_loc[loc]}
            other = {loc: n for loc, n in other.items() if n.strip() and not _has_latin(n)}
            if other:
                rows.append((kind, code, en_items[code], other))

    return rows


def _split_groups(
    rows: list[tuple[str, str, str, dict[str, str]]], seed: int, fractions: tuple[float, float, float]
) -> tuple[list[Any], dict[Any, str]]:
    """(each row's group, each group's split): rows that share a name (in any language, case-folded)
    are one group, and whole groups, in a seeded order, fill train, then val, then test."""
    groups = _Groups()
    for i, (_, _, eng, other) in enumerate(rows):
        groups.union(("row", i), ("en", eng.casefold()))
        for loc, n in other.items():
            groups.union(("row", i), (loc, n.casefold()))
    root = [groups.find(("row", i)) for i in range(len(rows))]
    keys = sorted(set(root), key=repr)
    order = np.random.default_rng(seed).permutation(len(keys))
    sizes = {k: 0 for k in keys}
    for r in root:
        sizes[r] += 1
    bounds = np.cumsum(fractions)[:2] * len(rows)
    which, done = {}, 0
    for j in order:  # whole groups, in shuffled order, fill train, then val, then test
        k = keys[j]
        which[k] = SPLITS[int(np.searchsorted(bounds, done, side="right"))]
        done += sizes[k]
    return root, which


def cldr_names(
    script_locales: tuple[str, ...] = ("ru", "hi", "ar"),
    kinds: tuple[str, ...] = KINDS,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
) -> NameTable:
    """English names and their names in ``script_locales``, from babel's CLDR data, split by name.

    Parameters
    ----------
    script_locales : CLDR locale codes (``"ru"``, ``"hi"``, ``"ar"``, ``"el"``, ``"ko"``, ...; any
        locale babel knows works; ``SCRIPTS`` lists the ones tried here).
    kinds : some of ``KINDS``.
    seed : the split's seed (same seed, same babel -> same split).
    fractions : train/val/test shares of the rows (approximate: whole groups are assigned).

    Returns
    -------
    NameTable with one row per CLDR item that has a name in at least one of ``script_locales``.
    """
    babel, Locale = _babel()
    from babel.core import get_cldr_version

    if not script_locales:
        raise ValueError("script_locales is empty; name at least one locale, e.g. ('ru', 'hi', 'ar').")
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ValueError(f"unknown kinds {bad or kinds!r}; use some of {KINDS}.")
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions={fractions!r}: give three non-negative train/val/test shares that sum to 1.")
    try:
        locales = {loc: Locale.parse(loc) for loc in script_locales}
    except (ValueError, babel.UnknownLocaleError) as e:
        raise ValueError(f"{e}; script_locales must be CLDR locale codes such as 'ru', 'hi', 'ar'.") from e
    rows = _rows(Locale("en"), locales, kinds)
    root, which = _split_groups(rows, seed, fractions)
    return NameTable(
        kind=np.array([r[0] for r in rows]),
        code=np.array([r[1] for r in rows]),
        english=[r[2] for r in rows],
        names={loc: [r[3].get(loc) for r in rows] for loc in locales},
        split=np.array([which[r] for r in root]),
        versions={"cldr": str(get_cldr_version()), "babel": babel.__version__},
    )
