"""CLDR names across scripts (babel's data): alignment, split by name, versions; the experiment's parts."""

import json

import babel
import numpy as np
import pytest
from click.testing import CliRunner

from corrnet.cli import main
from corrnet.datasets.cldr import KINDS, cldr_names
from corrnet.experiments import transliteration as tl


@pytest.fixture(scope="module")
def table():
    return cldr_names(("ru", "hi", "ko"), seed=3)


def _row(t, kind, code):
    (i,) = np.flatnonzero((t.kind == kind) & (t.code == code))
    return i


def test_names_are_aligned_by_cldr_code(table):
    # independent of the loader: babel's own lookups for a few items of every kind
    from babel import Locale
    from babel.dates import get_timezone_location

    ru, hi, ko = Locale("ru"), Locale("hi"), Locale("ko")
    i = _row(table, "territory", "KE")
    assert (table.english[i], table.names["ru"][i], table.names["ko"][i]) == ("Kenya", "Кения", "케냐")
    i = _row(table, "language", "sw")
    assert table.english[i] == "Swahili" and table.names["hi"][i] == hi.languages["sw"]
    i = _row(table, "currency", "INR")
    assert table.english[i] == "Indian Rupee" and table.names["ru"][i] == ru.currencies["INR"]
    i = _row(table, "city", "America/Sao_Paulo")  # English's own spelling (CLDR 49), else the zone ID's
    assert table.english[i] == Locale("en").time_zones.get("America/Sao_Paulo", {}).get("city", "Sao Paulo")
    assert table.names["ru"][i] == get_timezone_location("America/Sao_Paulo", locale="ru", return_city=True)
    assert table.names["ko"][i] == ko.time_zones["America/Sao_Paulo"]["city"]
    assert set(table.kind) == set(KINDS)
    assert len(table) > 1000  # ~1 500 items with a name in at least one of the three scripts


def test_latin_fallbacks_variants_and_etc_zones_are_dropped(table):
    for loc, names in table.names.items():
        for n in names:
            assert n is None or not any("a" <= c.lower() <= "z" for c in n), (loc, n)
    assert not any("_" in c for c, k in zip(table.code, table.kind) if k == "language")  # en_GB etc.
    assert not any(c.startswith("Etc/") for c in table.code)
    # a missing name is one the locale lacks or spells in Latin letters (CLDR's fallback), per babel itself
    from babel import Locale

    raw = {"territory": "territories", "language": "languages", "currency": "currencies"}
    missing = 0
    for loc, names in table.names.items():
        L = Locale(loc)
        for i in np.flatnonzero([n is None for n in names]):
            if table.kind[i] in raw:
                name = getattr(L, raw[table.kind[i]]).get(table.code[i])
                assert name is None or any("a" <= c.lower() <= "z" for c in name), (loc, table.code[i], name)
                missing += 1
    assert missing > 10
    zone = "Asia/Kolkata" if "Asia/Kolkata" in set(table.code) else "Asia/Calcutta"  # CLDR 49 renamed it
    i = _row(table, "city", zone)  # before CLDR 49 the ID said Calcutta: English's own spelling wins
    assert table.english[i] == "Kolkata" and table.names["hi"][i] == "कोलकाता"


def test_split_is_by_name_in_every_script(table):
    assert set(table.split) == {"train", "val", "test"}
    shares = np.array([(table.split == s).mean() for s in ("train", "val", "test")])
    np.testing.assert_allclose(shares, [0.7, 0.15, 0.15], atol=0.03)
    seen: dict[tuple[str, str], str] = {}
    for i in range(len(table)):
        keys = [("en", table.english[i].casefold())]
        keys += [(loc, ns[i].casefold()) for loc, ns in table.names.items() if ns[i] is not None]
        for k in keys:  # no name, in any script, in two splits
            assert seen.setdefault(k, table.split[i]) == table.split[i], k
    # names shared by several items exist (so the grouping matters), and stay together
    eng = [n.casefold() for n in table.english]
    assert len(set(eng)) < len(eng)


def test_split_is_seeded_and_versions_recorded(table):
    from babel.core import get_cldr_version

    again = cldr_names(("ru", "hi", "ko"), seed=3)
    other = cldr_names(("ru", "hi", "ko"), seed=4)
    np.testing.assert_array_equal(again.split, table.split)
    assert (other.split != table.split).mean() > 0.2
    assert table.versions == {"cldr": str(get_cldr_version()), "babel": babel.__version__}
    en, ru = table.pairs("ru", "test")
    rows = np.flatnonzero(table.present("ru", "test"))
    assert en == [table.english[i] for i in rows] and ru == [table.names["ru"][i] for i in rows]
    sub = table.take(rows[:5])
    assert sub.english == en[:5] and list(sub.split) == ["test"] * 5


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(script_locales=()), "script_locales is empty"),
        (dict(script_locales=("xx-nope",)), "CLDR locale codes"),
        (dict(kinds=("planet",)), "unknown kinds"),
        (dict(fractions=(0.5, 0.5, 0.5)), "sum to 1"),
    ],
)
def test_bad_arguments_name_the_problem(kw, match):
    with pytest.raises(ValueError, match=match):
        cldr_names(**kw)


def test_best_threshold_matches_brute_force():
    rng = np.random.default_rng(0)
    s = np.r_[rng.normal(1, 1, 40), rng.normal(0, 1, 40)]
    y = np.r_[np.ones(40), np.zeros(40)]
    thr = tl._best_threshold(s, y)
    brute = max(((s > t) == y).mean() for t in np.r_[s, s.min() - 1])
    assert ((s > thr) == y).mean() == brute


def test_mismatched_pairs_never_pair_a_name_with_itself():
    names = ["a", "b", "b", "c", "d"] * 3
    for seed in range(20):
        j = tl._negatives(len(names), names, np.random.default_rng(seed))
        assert all(names[a] != names[b] for a, b in enumerate(j))


@pytest.mark.slow
def test_transliteration_experiment_smoke(tmp_path):
    r = CliRunner().invoke(
        main,
        [
            "experiment",
            "transliteration",
            "--out",
            str(tmp_path / "t"),
            "--seeds",
            "0",
            "--epochs",
            "2",
            "--subset",
            "100",
            "--locales",
            "ru,el",
            "--quiet",
        ],
    )
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "t" / "results.json").read_text())
    by = {(row["method"], row["locale"]): row for row in res["rows"]}
    assert set(by) == {(m, loc) for m in tl.METHODS for loc in ("ru", "el")}
    assert by[("random", "ru")]["en->x recall@1"] == pytest.approx(1 / res["info"]["pairs"]["ru"]["test"])
    # romanising Cyrillic and Greek recovers most names: far above chance even on 100 rows
    assert by[("romanise", "ru")]["auc"] > 0.9 and by[("romanise", "el")]["en->x recall@1"] > 0.4
    html = (tmp_path / "t" / "index.html").read_text()
    assert "top-1 matches among the test names" in html and "CorrNet right, romanisation wrong" in html
    assert res["info"]["versions"]["babel"] == babel.__version__
