"""``corrnet experiment transliteration``: are two names, in two scripts, the same name?

Data: ``datasets.cldr_names`` (territories, languages, currencies and cities from babel's CLDR data),
English against each of several scripts, split by name (no name in two splits). Views: character
n-grams (scikit-learn's ``TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3))``, fitted on the
training names of that view), scipy.sparse CSR.

Two tasks on the held-out (test) names of each script, scored by the cosine similarity of the two
names' codes:

- **equivalence detection**: every true pair against one mismatched pair per English name (the name
  of another held-out row, drawn with the seed); ROC AUC, and the accuracy of a similarity threshold
  chosen on the validation pairs (built the same way);
- **retrieval** among the held-out names, both ways: recall@1, recall@10, MRR.

Methods: ``random`` (exact expectations: AUC and accuracy 0.5, recall@k = k / n), ``romanise`` (not
learned: the other name romanised with anyascii, then the cosine of character n-gram TF-IDF vectors
of the two Latin strings), ``cca`` (linear CCA on the n-gram views; width and ridge chosen on
validation), ``corrnet`` (CorrNet on the sparse n-gram views, one model per script; code width chosen
on validation), ``corrnet-multi`` (one MultiViewCorrNet over English and every script at once: N
views, rows masked where a script has no name). Settings are chosen by validation MRR.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import roc_auc_score

from .. import metrics, report
from ..baselines import LinearCCA
from ..datasets.cldr import KINDS, SCRIPTS, NameTable, cldr_names
from ..estimator import CorrNet
from ..multiview import MultiViewCorrNet
from . import tables

METHODS = ("random", "romanise", "cca", "corrnet", "corrnet-multi")
LOCALES = ("ru", "el", "hi", "ar", "ko")
CCA_GRID = ((50, 0.1), (50, 1.0), (128, 1.0))  # (n_components, ridge)
# Code widths searched (every other parameter: the defaults, epochs="auto" included).
CORRNET_GRID: tuple[dict[str, Any], ...] = (dict(n_components=128), dict(n_components=300))
Codes = Callable[[str], tuple[np.ndarray, np.ndarray]]  # split -> (English codes, other codes), row-aligned


def _vectoriser() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32)


def _romanise(names: list[str]) -> list[str]:
    from anyascii import anyascii

    return [anyascii(n) for n in names]


def _negatives(n: int, other: list[str], rng: np.random.Generator) -> np.ndarray:
    """For each row i, another row j (j != i, and a different name) to pair with i as a mismatch."""
    j = (np.arange(n) + rng.integers(1, max(n, 2), size=n)) % n
    for i in np.flatnonzero(np.array([other[a] == other[b] for a, b in enumerate(j)])):
        while other[j[i]] == other[i]:
            j[i] = rng.integers(n)
    return j


def _cosine_rows(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Cosine similarity of row i of A with row i of B, shape (n,)."""
    A, B = metrics._unit_rows(np.asarray(A, np.float64)), metrics._unit_rows(np.asarray(B, np.float64))
    return (A * B).sum(1)


def _scores(E: np.ndarray, T: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, labels): n true pairs (label 1), then n mismatched pairs (label 0)."""
    s = np.concatenate([_cosine_rows(E, T), _cosine_rows(E, T[neg])])
    return s, np.r_[np.ones(len(E)), np.zeros(len(E))]


def _best_threshold(s: np.ndarray, y: np.ndarray) -> float:
    """The similarity threshold (predict "same name" above it) with the best accuracy on (s, y)."""
    order = np.argsort(s)
    s, y = s[order], y[order]
    # threshold between s[i-1] and s[i]: rows < i are "different"; accuracy = negatives below + positives above
    correct = np.r_[0, np.cumsum(1 - y)] + np.r_[np.cumsum(y[::-1])[::-1], 0]
    i = int(np.argmax(correct))
    if i == 0:
        return float(s[0] - 1e-6)
    return float((s[i - 1] + s[i]) / 2) if i < len(s) else float(s[-1] + 1e-6)


def _evaluate(codes: Codes, negs: dict[str, np.ndarray]) -> dict[str, float]:
    Ev, Tv = codes("val")
    Et, Tt = codes("test")
    sv, yv = _scores(Ev, Tv, negs["val"])
    st, yt = _scores(Et, Tt, negs["test"])
    thr = _best_threshold(sv, yv)
    out = {"auc": float(roc_auc_score(yt, st)), "accuracy": float(((st > thr) == yt).mean())}
    out |= {f"en->x {k}": v for k, v in metrics.retrieval(Et, Tt, ks=(1, 10)).items()}
    out |= {f"x->en {k}": v for k, v in metrics.retrieval(Tt, Et, ks=(1, 10)).items()}
    val = metrics.retrieval(Ev, Tv, ks=(1,))["mrr"] + metrics.retrieval(Tv, Ev, ks=(1,))["mrr"]
    return out | {"val_mrr": val / 2}


def _random(n: int) -> dict[str, float]:
    one = {f"recall@{k}": k / n for k in (1, 10)} | {"mrr": float(np.sum(1.0 / np.arange(1, n + 1)) / n)}
    return {"auc": 0.5, "accuracy": 0.5} | {f"{d} {k}": v for d in ("en->x", "x->en") for k, v in one.items()}


def _romanise_codes(names: dict[str, tuple[list[str], list[str]]]) -> Codes:
    vec = _vectoriser().fit(names["train"][0] + _romanise(names["train"][1]))

    def codes(split: str) -> tuple[np.ndarray, np.ndarray]:
        en, other = names[split]
        return vec.transform(en).toarray(), vec.transform(_romanise(other)).toarray()

    return codes


def _cca_codes(views: dict[str, tuple[Any, Any]], k: int, reg: float) -> Codes:
    X, Y = views["train"]
    k = min(k, X.shape[1], Y.shape[1], X.shape[0] - 1)
    cca = LinearCCA(k, reg=reg).fit(X.toarray(), Y.toarray())

    def codes(split: str) -> tuple[np.ndarray, np.ndarray]:
        E, T = views[split]
        return cca.transform(X=E.toarray()), cca.transform(Y=T.toarray())

    return codes


def _corrnet_codes(views: dict[str, tuple[Any, Any]], params: dict[str, Any], seed: int, epochs: Any) -> Codes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = CorrNet(random_state=seed, **params, **({"epochs": epochs} if epochs else {})).fit(*views["train"])

    def codes(split: str) -> tuple[np.ndarray, np.ndarray]:
        E, T = views[split]
        return est.transform(X=E), est.transform(Y=T)

    return codes


def _multi_codes(table: NameTable, locales: tuple[str, ...], params: dict[str, Any], seed: int, epochs: Any):
    """One MultiViewCorrNet over [English, *locales]; returns locale -> Codes."""
    vecs = [_vectoriser().fit([table.english[i] for i in np.flatnonzero(table.split == "train")])]
    for loc in locales:
        vecs.append(_vectoriser().fit(table.pairs(loc, "train")[1]))

    def view(j: int, rows: np.ndarray) -> sp.csr_matrix:
        names = [table.english[i] for i in rows] if j == 0 else [table.names[locales[j - 1]][i] or "" for i in rows]
        return vecs[j].transform(names).tocsr()

    train = np.flatnonzero(table.split == "train")
    masks = [None] + [table.present(loc)[train] for loc in locales]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MultiViewCorrNet(random_state=seed, **params, **({"epochs": epochs} if epochs else {}))
        est.fit([view(j, train) for j in range(len(vecs))], masks=masks)

    def for_locale(j: int) -> Codes:
        def codes(split: str) -> tuple[np.ndarray, np.ndarray]:
            rows = np.flatnonzero(table.present(locales[j - 1], split))
            none: list[Any] = [None] * len(vecs)
            E = est.transform([view(0, rows), *none[1:]])
            T = est.transform([*none[:j], view(j, rows), *none[j + 1 :]])
            return E, T

        return codes

    return {loc: for_locale(j + 1) for j, loc in enumerate(locales)}


def _choose(grid, make: Callable[[Any], Any], negs, verbose: bool, label: str, cache: dict | None = None):
    """Fit each setting; keep the one with the best validation MRR -> (setting, results, codes, fit seconds).

    ``cache`` (for methods that do not depend on the seed) keeps each setting's codes and fit time
    across seeds: later seeds only redraw the mismatched pairs."""
    best = None
    store = cache if cache is not None else {}
    for setting in grid:
        key = (label, repr(setting))
        if key not in store:
            t0 = time.perf_counter()
            made = make(setting)
            store[key] = (made, time.perf_counter() - t0)
        made, fit_s = store[key]
        res = {loc: _evaluate(c, negs[loc]) for loc, c in made.items()}
        score = float(np.mean([r["val_mrr"] for r in res.values()]))
        if verbose:
            print(f"{label} {setting}: val MRR {score:.3f} ({fit_s:.1f} s)", flush=True)
        if best is None or score > best[0]:
            best = (score, setting, res, made, fit_s)
    return best[1], best[2], best[3], best[4]


def _transliteration_data(locales: tuple[str, ...], kinds: tuple[str, ...], subset: int | None) -> tuple:
    """(the CLDR name table, per locale and split the (English, other) names, their character n-gram
    views, the data's description); ``subset`` keeps the first N rows of each split."""
    table = cldr_names(tuple(locales), kinds=tuple(kinds), seed=0)
    if subset:
        table = table.take(
            np.concatenate([np.flatnonzero(table.split == s)[:subset] for s in ("train", "val", "test")])
        )
    names = {loc: {s: table.pairs(loc, s) for s in ("train", "val", "test")} for loc in locales}
    views = {}
    for loc in locales:
        ve, vo = _vectoriser().fit(names[loc]["train"][0]), _vectoriser().fit(names[loc]["train"][1])
        views[loc] = {s: (ve.transform(en), vo.transform(o)) for s, (en, o) in names[loc].items()}
    info = {
        "versions": table.versions,
        "kinds": list(kinds),
        "pairs": {loc: {s: len(names[loc][s][0]) for s in names[loc]} for loc in locales},
    }
    return table, names, views, info


def _transliteration_sections(md: str, info: dict[str, Any], locales: tuple[str, ...],
                              top1: dict[tuple[str, str], list[int]], names: dict) -> list[tuple[str, Any]]:
    """The report's sections: the table, the data, and each script's top-1 matches."""
    sections: list[tuple[str, Any]] = [
        ("Held-out names (settings chosen on validation)", report.md_table_to_html(md)),
        ("Data", f"<pre>{json.dumps(info, indent=1)}</pre>"),
    ]
    for loc in locales:
        if ("corrnet", loc) in top1 and ("romanise", loc) in top1:
            html = _examples_html(top1[("corrnet", loc)], top1[("romanise", loc)], names[loc]["test"])
            sections.append((f"English -> {SCRIPTS.get(loc, loc)} ({loc}): top-1 matches among the test names", html))
    return sections


def run_transliteration(
    out: str | Path = "results/transliteration",
    locales: tuple[str, ...] = LOCALES,
    methods: tuple[str, ...] = METHODS,
    kinds: tuple[str, ...] = KINDS,
    seeds: tuple[int, ...] = (0,),
    epochs: int | None = None,
    subset: int | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """Run the methods for each script; write ``results.{md,json}`` and ``index.html`` to ``out``.

    The split (seed 0) is drawn over the rows of all ``locales`` together, so every method and script
    sees the same held-out English names. ``seeds`` seed the models and the mismatched pairs;
    ``subset`` keeps the first N rows of each split (smoke runs).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"unknown methods {bad}; use some of {METHODS}.")
    table, names, views, info = _transliteration_data(locales, kinds, subset)
    rows: list[dict[str, Any]] = []
    top1: dict[tuple[str, str], list[int]] = {}  # (method, locale) -> each English test name's best match
    fitted: dict[Any, Any] = {}  # romanise and CCA do not depend on the seed: fitted once
    for seed in seeds:
        rng = np.random.default_rng(seed)
        negs = {
            loc: {s: _negatives(len(names[loc][s][1]), names[loc][s][1], rng) for s in ("val", "test")}
            for loc in locales
        }
        for method in methods:
            if method == "random":
                if seed == seeds[0]:
                    rows += [_row(method, loc, 0, "-", 0.0, _random(len(names[loc]["test"][0]))) for loc in locales]
                continue
            if method == "corrnet-multi":  # one model for every script
                grid, make = _methods(method, table, tuple(locales), seed, epochs)
                setting, res, made, fit_s = _choose(grid, make, negs, verbose, method)
                rows += [_row(method, loc, seed, setting, fit_s, res[loc]) for loc in locales]
                _write(out, rows, info, locales)
                continue
            for loc in locales:  # one model per script
                grid, make = _methods(method, (names[loc], views[loc]), (loc,), seed, epochs)
                cache = fitted if method in ("romanise", "cca") else None
                setting, res, made, fit_s = _choose(grid, make, negs, verbose, f"{method} {loc}", cache)
                rows.append(_row(method, loc, seed, setting, fit_s, res[loc]))
                if seed == seeds[0]:
                    top1[(method, loc)] = _top1(made[loc])
            _write(out, rows, info, locales)  # after every method: a long run's finished part is kept
    md = _write(out, rows, info, locales)
    sections = _transliteration_sections(md, info, locales, top1, names)
    report.write_report(out / "index.html", "Transliteration equivalence across scripts (CLDR names)", sections)
    return {"markdown": md, "rows": rows, "info": info, "dir": str(out)}


def _write(out: Path, rows: list[dict[str, Any]], info: dict[str, Any], locales: tuple[str, ...]) -> str:
    md = _table(rows, locales)
    tables.write_tables(out, md, {"info": info, "rows": rows})
    return md


def _methods(method: str, data: Any, locales: tuple[str, ...], seed: int, epochs: int | None):
    """(grid, make): the settings searched and ``make(setting) -> {locale: Codes}`` for one method.

    ``data`` is the NameTable for ``corrnet-multi``, else one script's ``(names, views)``."""
    if method == "corrnet-multi":
        return CORRNET_GRID, lambda p: _multi_codes(data, locales, p, seed, epochs)
    (loc,), (names, views) = locales, data
    if method == "romanise":
        return ["-"], lambda _: {loc: _romanise_codes(names)}
    if method == "cca":
        return CCA_GRID, lambda s: {loc: _cca_codes(views, *s)}
    return CORRNET_GRID, lambda p: {loc: _corrnet_codes(views, p, seed, epochs)}


def _row(method: str, loc: str, seed: int, setting: Any, fit_s: float, res: dict[str, float]) -> dict[str, Any]:
    return {"method": method, "locale": loc, "seed": seed, "setting": _short(setting), "fit_s": fit_s, **res}


def _top1(codes: Codes) -> list[int]:
    """For each English test name, the index of the other-script test name with the most similar code."""
    E, T = codes("test")
    return list(np.argmax(metrics._unit_rows(E) @ metrics._unit_rows(T).T, axis=1))


def _examples_html(cn: list[int], ro: list[int], names: tuple[list[str], list[str]], n: int = 8) -> str:
    """Test names by outcome of CorrNet's top-1 match (``cn``) and romanisation's (``ro``), n of each."""
    from anyascii import anyascii

    en, other = names
    parts = []
    for want, title in (
        ((True, True), "both right"),
        ((True, False), "CorrNet right, romanisation wrong"),
        ((False, True), "CorrNet wrong, romanisation right"),
        ((False, False), "both wrong"),
    ):
        rows = [
            {
                "English": en[i],
                "true name": f"{other[i]} ({anyascii(other[i])})",
                "CorrNet's match": f"{other[cn[i]]} ({anyascii(other[cn[i]])})",
                "romanisation's match": f"{other[ro[i]]} ({anyascii(other[ro[i]])})",
            }
            for i in range(len(en))
            if (cn[i] == i, ro[i] == i) == want
        ]
        parts.append(f"<h3>{title}: {len(rows)} of {len(en)}</h3>" + report.table_html(rows[:n]))
    return "".join(parts)


def _short(setting: Any) -> str:
    if isinstance(setting, dict):
        return ", ".join(f"{k}={v}" for k, v in setting.items())
    if isinstance(setting, tuple):
        return f"k={setting[0]}, ridge={setting[1]}"
    return str(setting)


COLS = ("auc", "accuracy", "en->x recall@1", "en->x recall@10", "x->en recall@1", "x->en recall@10")


def _table(rows: list[dict[str, Any]], locales: tuple[str, ...]) -> str:
    head = (
        "| script | method | setting (chosen on val) | AUC | accuracy | en→x R@1 | en→x R@10 | x→en R@1 | x→en R@10 |"
    )
    lines = [head + " fit s |", "|---" * 10 + "|"]
    for loc in locales:
        for m in dict.fromkeys(r["method"] for r in rows):
            rs = [r for r in rows if r["method"] == m and r["locale"] == loc]
            if not rs:
                continue
            cells = []
            for c in COLS:
                v = np.array([r[c] for r in rs]) * 100
                cells.append(f"{v.mean():.1f}" + (f" ± {v.std():.1f}" if len(v) > 1 else ""))
            fit = np.mean([r["fit_s"] for r in rs])
            lines.append(
                f"| {SCRIPTS.get(loc, loc)} ({loc}) | {m} | {rs[0]['setting']} | "
                + " | ".join(cells)
                + f" | {fit:.1f} |"
            )
    return "\n".join(lines)
