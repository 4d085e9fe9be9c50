"""Cross-language document classification (CLDC) on SIB-200: the paper's first application.

The protocol, fixed:

* **Representation.** Learned from the parallel train + dev sentences of the two languages (800
  pairs; topic labels unused). Test sentences never enter it, nor any feature vocabulary.
* **Classifier.** A logistic regression trained on the *source* language's training codes (701
  sentences), its C chosen on the source language's dev codes (99). Target labels are never used
  for any choice.
* **Test.** On the *target* language's test codes (204 sentences), computed from that language alone.
* **Scores.** Accuracy and macro-F1 on the target test split; seeded methods over several seeds.

Features: each language's TF-IDF (character 2-4-grams within word boundaries, ``min_df=2``,
sublinear term frequency), fitted on that language's representation sentences.

Methods:

* ``majority``: the source training split's most frequent topic;
* ``no-adaptation``: one shared TF-IDF vocabulary over both languages, the classifier trained on
  the source's vectors and applied to the target's (what shared spelling alone carries);
* ``cca``: a truncated SVD (300) of each view, standardised, then linear CCA (k); its ridge chosen
  on the source dev score;
* ``dcca``: Deep CCA on the same SVD-reduced views ((500, 300) ReLU layers, k outputs, full-batch
  Adam), its number of steps chosen on the source dev score;
* ``corrnet``: ``CorrNet(n_components=k)`` with nothing else set, on the sparse TF-IDF views;
* ``corrnet-canonical``: the ``canonical`` preset with linear decoders (on request: about 7
  minutes a fit here);
* ``in-language``: the upper bound, the classifier trained and tested in the target language;
* ``corrnet-multi`` and ``gcca-multi`` (on request): the same 800 sentences in more languages
  (``helpers``: the other languages given to :func:`run_cldc`) as more views,
  ``MultiViewCorrNet(n_components=k)`` and MAXVAR generalised CCA on the SVD-reduced views (its
  ridge chosen on the source dev score); each scored on the pair alone.

:func:`run_pair` takes any two SIB-200 language folders (``eng_Latn``, ``deu_Latn``, ...); the
others are looked for the same way (``data_dir``, ``$CORRNET_DATA/sib200``, ``../shared/data/sib200``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import tables
from .harness import over_methods_and_seeds

LANGUAGES = ("eng_Latn", "deu_Latn", "fra_Latn")
PAIRS = (("eng_Latn", "deu_Latn"), ("eng_Latn", "fra_Latn"))  # each scored both ways: four directions
METHODS = ("majority", "no-adaptation", "cca", "dcca", "corrnet", "in-language")
# on request: the canonical preset (minutes a fit here); the pair plus helper languages as more views
ALL_METHODS = (*METHODS, "corrnet-canonical", "corrnet-multi", "gcca-multi")
SEEDED = ("dcca", "corrnet", "corrnet-canonical", "corrnet-multi")
C_GRID = (0.1, 1.0, 10.0, 100.0)
CCA_REGS = (1e-3, 1e-2, 1e-1, 1.0)
DCCA_EPOCHS = (30, 100, 300)  # full-batch Adam steps (the representation has 800 rows)
SVD_WIDTH = 300
TFIDF = {"analyzer": "char_wb", "ngram_range": (2, 4), "min_df": 2, "sublinear_tf": True}


@dataclass
class PairData:
    """One language pair's SIB-200 sentences: ``texts[split][i]`` the (n,) sentences of language i
    (0: source, 1: target) in ``split`` (train, dev, test), ``labels[split]`` (n,) topic indices."""

    langs: tuple[str, str]
    texts: dict[str, tuple[list[str], list[str]]]
    labels: dict[str, np.ndarray]
    helpers: dict[str, list[str]] = field(default_factory=dict)  # language -> its 800 representation sentences

    def representation_texts(self, i: int) -> list[str]:
        """Language i's sentences the representation learns from: train then dev (701 + 99 = 800)."""
        return self.texts["train"][i] + self.texts["dev"][i]


def load_pair(src: str, tgt: str, data_dir: str | None = None, helpers: tuple[str, ...] = ()) -> PairData:
    """The pair's sentences and labels; ``helpers``: more languages whose train + dev sentences (the
    same 800, translated) the ``-multi`` methods add as views of the representation."""
    from ..datasets.sib200 import sib200

    d = sib200((src, tgt, *helpers), data_dir)
    texts = {s: (d[s].texts[src], d[s].texts[tgt]) for s in d}
    extra = {h: d["train"].texts[h] + d["dev"].texts[h] for h in helpers}
    return PairData((src, tgt), texts, {s: d[s].labels for s in d}, extra)


def _vectoriser(texts: list[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(dtype=np.float32, **TFIDF).fit(texts)


@dataclass
class Extra:
    """More representation data than the 800 SIB-200 pairs: ``pairs`` (two lists of parallel
    sentences, source then target language) and ``unpaired`` (sentences in one language only, none
    a translation of another: source-only, then target-only). Only the representation sees them."""

    pairs: tuple[list[str], list[str]] = ([], [])
    unpaired: tuple[list[str], list[str]] = ([], [])
    name: str = ""


def classify(
    train: Any, y_train: np.ndarray, dev: Any, y_dev: np.ndarray, test: Any, y_test: np.ndarray
) -> dict[str, float]:
    """The protocol's classifier: a logistic regression on ``train`` (n_train, k) codes, its C chosen
    on ``dev`` codes (the same language's), scored on ``test`` codes (the other language's):
    ``{"accuracy", "macro_f1"}`` in [0, 1], the ``dev_accuracy`` that chose ``C``, and ``C``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    clfs = [LogisticRegression(C=c, max_iter=3000).fit(train, y_train) for c in C_GRID]
    devs = [c.score(dev, y_dev) for c in clfs]
    best = clfs[int(np.argmax(devs))]
    pred = best.predict(test)
    return {
        "accuracy": float(np.mean(pred == y_test)),
        "macro_f1": float(f1_score(y_test, pred, average="macro")),
        "dev_accuracy": float(max(devs)),
        "C": float(best.C),
    }


def features(p: PairData, extra: Extra | None = None) -> tuple[dict[str, list[Any]], list[Any], list[Any]]:
    """Each language's TF-IDF, fitted on its representation sentences (and ``extra``'s): the
    per-split views ``{split: [source (n, d_s), target (n, d_t)]}`` (CSR), the representation views
    (800 + extra pairs rows) and the unpaired rows per language (or None)."""
    extra = extra or Extra()
    texts = [p.representation_texts(i) + extra.pairs[i] for i in range(2)]
    vecs = [_vectoriser(t + u) for t, u in zip(texts, extra.unpaired)]
    X = {s: [v.transform(t) for v, t in zip(vecs, p.texts[s])] for s in p.texts}
    rep = [v.transform(t) for v, t in zip(vecs, texts)]
    return X, rep, [v.transform(u) if u else None for v, u in zip(vecs, extra.unpaired)]


class _Encoder:
    """A fitted two-view method as codes per language: ``codes(i, A)`` -> (n, k)."""

    def __init__(self, codes: Callable[[int, Any], np.ndarray]) -> None:
        self.codes = codes


def _fit_corrnet(
    views: list[Any], k: int, seed: int, preset: str | None, unpaired: list[Any], epochs: int | None
) -> _Encoder:
    from ..config import measuring_deprecated_presets
    from ..estimator import CorrNet

    kw: dict[str, Any] = {"n_components": k, "random_state": seed, **({"epochs": epochs} if epochs else {})}
    if preset is None:
        est = CorrNet(**kw)
    else:
        with measuring_deprecated_presets():
            est = CorrNet.from_preset(preset, decoder_layers=(), **kw)
    est.fit(*views, X_unpaired=unpaired[0], Y_unpaired=unpaired[1])
    return _Encoder(lambda i, A: est.transform(X=A) if i == 0 else est.transform(Y=A))


class _SVDViews:
    """Each view reduced by a truncated SVD fitted on its representation rows, then standardised."""

    def __init__(self, views: list[Any], width: int = SVD_WIDTH) -> None:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.preprocessing import StandardScaler

        self.svd = [TruncatedSVD(min(width, A.shape[1] - 1), random_state=0).fit(A) for A in views]
        self.scale = [StandardScaler().fit(s.transform(A)) for s, A in zip(self.svd, views)]

    def __call__(self, i: int, A: Any) -> np.ndarray:
        return self.scale[i].transform(self.svd[i].transform(A)).astype(np.float32)


def _fit_cca(views: list[Any], k: int, reg: float, red: _SVDViews) -> _Encoder:
    from ..baselines import LinearCCA

    cca = LinearCCA(k, reg=reg).fit(red(0, views[0]), red(1, views[1]))
    return _Encoder(lambda i, A: cca.transform(X=red(0, A)) if i == 0 else cca.transform(Y=red(1, A)))


def _fit_dcca(views: list[Any], k: int, seed: int, red: _SVDViews, epochs: int) -> _Encoder:
    from ..baselines import DeepCCA

    n = views[0].shape[0]
    dcca = DeepCCA(k, layers=(500, 300), activation="relu", random_state=seed, epochs=epochs, batch_size=n)
    dcca.fit(red(0, views[0]), red(1, views[1]))
    return _Encoder(lambda i, A: dcca.transform(X=red(0, A)) if i == 0 else dcca.transform(Y=red(1, A)))


def _both(score: Callable[[int, int], dict[str, float]]) -> list[dict[str, float]]:
    """``score(source, target)`` for both directions of a pair: [0 -> 1, 1 -> 0]."""
    return [score(0, 1), score(1, 0)]


def _transfer(enc: _Encoder, X: dict[str, list[Any]], p: PairData) -> list[dict[str, float]]:
    """The protocol's scores for one fitted representation, both ways: source train/dev codes,
    target test codes."""
    y = p.labels
    return _both(
        lambda s, t: classify(
            enc.codes(s, X["train"][s]),
            y["train"],
            enc.codes(s, X["dev"][s]),
            y["dev"],
            enc.codes(t, X["test"][t]),
            y["test"],
        )
    )


def _best(cands: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    """Per direction, the candidate with the best source dev accuracy (the first on ties)."""
    return [max((c[d] for c in cands), key=lambda r: r["dev_accuracy"]) for d in range(2)]


def run_pair(
    p: PairData,
    methods: tuple[str, ...] = METHODS,
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
    k: int = 50,
    extra: Extra | None = None,
    epochs: int | None = None,
    verbose: bool = False,
) -> list[dict[str, Any]]:
    """Every method on one language pair, both directions from one fit: one run per direction,
    method and seed, ``{"source", "target", "method", "seed", "accuracy", "macro_f1",
    "dev_accuracy", "fit_s"}`` (``fit_s``: seconds of the one fit, its choices on dev and both
    directions' classifiers, the same on both directions).
    ``extra``: representation data beyond SIB-200's pairs (the vocabularies see it too); unpaired
    rows reach only CorrNet. ``epochs`` overrides the neural models' epochs (smoke runs)."""
    if unknown := [m for m in methods if m not in ALL_METHODS]:
        raise ValueError(f"unknown method {unknown}; use some of {', '.join(ALL_METHODS)}.")
    extra = extra or Extra()
    X, rep, unpaired = features(p, extra)
    red = _SVDViews(rep) if {"cca", "dcca"} & set(methods) else None

    def run(method: str, seed: int) -> list[dict[str, Any]]:  # one row per direction
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = _method(method, seed, p, X, rep, red, k, unpaired, epochs)
        fit_s = time.perf_counter() - t0
        directions = zip(((0, 1), (1, 0)), res)
        return [{"source": p.langs[s], "target": p.langs[t], **r, "fit_s": fit_s, "extra": extra.name}
                for (s, t), r in directions]

    unseeded = [m for m in methods if m not in SEEDED]
    return over_methods_and_seeds(methods, seeds, run, once=unseeded, verbose=verbose)


def _method(
    method: str,
    seed: int,
    p: PairData,
    X: dict,
    rep: list[Any],
    red: Any,
    k: int,
    unpaired: list[Any],
    epochs: int | None = None,
) -> list[dict[str, float]]:
    y = p.labels
    if method == "majority":
        from sklearn.metrics import f1_score

        pred = np.full_like(y["test"], np.bincount(y["train"]).argmax())
        acc = float(np.mean(pred == y["test"]))
        res = {"accuracy": acc, "macro_f1": float(f1_score(y["test"], pred, average="macro"))}
        return [{**res, "dev_accuracy": float("nan")}] * 2
    if method == "no-adaptation":
        shared = _vectoriser(p.representation_texts(0) + p.representation_texts(1))
        V = {sp: [shared.transform(t) for t in p.texts[sp]] for sp in p.texts}
        return _both(lambda s, t: classify(V["train"][s], y["train"], V["dev"][s], y["dev"], V["test"][t], y["test"]))
    if method == "in-language":  # the target's own train and dev rows: the upper bound
        return _both(lambda s, t: classify(X["train"][t], y["train"], X["dev"][t], y["dev"], X["test"][t], y["test"]))
    if method == "cca":  # the ridge chosen on the source dev split
        return _best([_transfer(_fit_cca(rep, k, r, red), X, p) for r in CCA_REGS])
    if method == "dcca":  # full-batch steps, their number chosen on the source dev split
        return _best([_transfer(_fit_dcca(rep, k, seed, red, e), X, p) for e in ((epochs,) if epochs else DCCA_EPOCHS)])
    if method in ("corrnet-multi", "gcca-multi"):
        return _multi(method, seed, p, X, rep, k, epochs)
    if method in ("corrnet", "corrnet-canonical"):
        preset = None if method == "corrnet" else "canonical"
        return _transfer(_fit_corrnet(rep, k, seed, preset, unpaired, epochs), X, p)
    raise ValueError(f"unknown method {method!r}; use some of {ALL_METHODS}.")


def _multi(method: str, seed: int, p: PairData, X: dict, rep: list[Any], k: int, epochs: int | None) -> list[dict]:
    """The pair's views and the helper languages' (their 800 sentences), fitted together; the codes
    of the pair's two languages scored as in :func:`_transfer`."""
    if not p.helpers:
        raise ValueError(
            f"{method} adds more languages as views and none was given: pass three or more languages "
            "(--languages eng_Latn,deu_Latn,fra_Latn), the others being the pair's helpers."
        )
    views = rep + [_vectoriser(t).transform(t) for t in p.helpers.values()]
    n = len(views)
    if method == "corrnet-multi":
        from ..multiview import MultiViewCorrNet

        kw = {"epochs": epochs} if epochs else {}
        est = MultiViewCorrNet(k, random_state=seed, **kw).fit(views)
        return _transfer(_Encoder(lambda i, A: est.transform([A if j == i else None for j in range(n)])), X, p)
    from ..baselines import MaxVarGCCA

    red = _SVDViews(views)
    reduced = [red(i, A) for i, A in enumerate(views)]
    cands = []
    for reg in CCA_REGS:
        g = MaxVarGCCA(k, reg=reg).fit(reduced)

        def codes(i: int, A: Any, g: Any = g) -> np.ndarray:
            return g.transform([red(i, A) if j == i else None for j in range(n)])[i]

        cands.append(_transfer(_Encoder(codes), X, p))
    return _best(cands)


def run_extra_data(
    out: str | Path = "results/cldc-extra",
    n_extra: int = 5_000,
    methods: tuple[str, ...] = ("cca", "corrnet"),
    seeds: tuple[int, ...] = (0, 1, 2),
    data_dir: str | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """English <-> German with more representation data than SIB-200's 800 pairs: ``n_extra`` Multi30k
    training captions (another domain: image captions) added as pairs, or the same number added as
    unpaired rows (the first half English only, the second half German only, so no caption meets
    its translation). Writes the table (one row per data x method) into ``out``."""
    from ..datasets.multi30k import multi30k

    en, de = (list(t[:n_extra]) for t in multi30k(data_dir)["train"])
    half = n_extra // 2
    extras = [Extra(name="SIB-200 pairs only"), Extra(pairs=(en, de), name=f"+ {n_extra} caption pairs")]
    extras.append(Extra(unpaired=(en[:half], de[half:]), name=f"+ {n_extra} unpaired captions"))
    runs: list[dict[str, Any]] = []
    for a, b in PAIRS[:1]:
        p = load_pair(a, b, data_dir)
        for ex in extras:
            ms = tuple(m for m in methods if m.startswith("corrnet") or not ex.unpaired[0])  # CCA needs pairs
            for run in run_pair(p, ms, seeds, extra=ex, verbose=verbose):
                runs.append({**run, "method": f"{run['method']} ({ex.name})"})
        rows, md = _write(out, runs, {"n_extra": n_extra}, "SIB-200 cross-language classification, more data")
    return {"dir": str(out), "rows": rows, "runs": runs, "markdown": md}


def _uses_helpers(methods: tuple[str, ...]) -> bool:
    return any(m.endswith("-multi") for m in methods)


def pairs_for(languages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The first language paired with each of the others: (en, de, fr) -> (en, de), (en, fr); each
    pair is scored both ways."""
    if len(languages) < 2:
        raise ValueError(f"cldc needs at least two SIB-200 languages (got {list(languages)}), e.g. eng_Latn,deu_Latn.")
    return tuple((languages[0], other) for other in languages[1:])


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (direction, method): mean and sd over seeds of accuracy and macro-F1, mean fit s."""
    rows = []
    for key in dict.fromkeys((r["source"], r["target"], r["method"]) for r in runs):
        rs = [r for r in runs if (r["source"], r["target"], r["method"]) == key]
        row = {"source": key[0], "target": key[1], "method": key[2], "seeds": len(rs)}
        for m in ("accuracy", "macro_f1"):
            s = [r[m] for r in rs]
            row[m], row[f"{m}_sd"] = float(np.mean(s)), float(np.std(s, ddof=1)) if len(s) > 1 else 0.0
        row["fit_s"] = float(np.mean([r["fit_s"] for r in rs]))
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table: one column per direction (accuracy % and macro-F1 %), one row per method, and the
    mean over directions."""
    dirs = list(dict.fromkeys((r["source"], r["target"]) for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    at = {(r["source"], r["target"], r["method"]): r for r in rows}
    short = lambda lang: lang.split("_")[0][:2].upper()  # noqa: E731
    head = ["method"] + [f"{short(s)}→{short(t)} acc / F1" for s, t in dirs] + ["mean acc", "fit s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in methods:
        cells, accs, secs = [], [], []
        for d in dirs:
            r = at.get((*d, m))
            if r is None:
                cells.append("–")
                continue
            sd = f" ± {100 * r['accuracy_sd']:.1f}" if r["seeds"] > 1 else ""
            cells.append(f"{100 * r['accuracy']:.1f}{sd} / {100 * r['macro_f1']:.1f}")
            accs.append(r["accuracy"])
            secs.append(r["fit_s"])
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {100 * np.mean(accs):.1f} | {np.mean(secs):.1f} |")
    return "\n".join(lines)


def run_cldc(
    out: str | Path = "results/cldc",
    pairs: tuple[tuple[str, str], ...] = PAIRS,
    methods: tuple[str, ...] = METHODS,
    languages: tuple[str, ...] = LANGUAGES,
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
    data_dir: str | None = None,
    k: int = 50,
    epochs: int | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """The protocol on every pair, both ways (the other ``languages`` are each pair's helpers for the
    ``-multi`` methods); writes ``results.{md,csv,json}`` and ``index.html`` into ``out``."""
    runs: list[dict[str, Any]] = []
    for a, b in pairs:
        helpers = tuple(lang for lang in languages if lang not in (a, b)) if _uses_helpers(methods) else ()
        runs += run_pair(load_pair(a, b, data_dir, helpers), methods, seeds, k, epochs=epochs, verbose=verbose)
        rows, md = _write(out, runs, {"k": k, "seeds": list(seeds)}, "SIB-200 cross-language classification")
    return {"dir": str(out), "rows": rows, "runs": runs, "markdown": md}


def _write(out: str | Path, runs: list[dict[str, Any]], info: dict[str, Any], title: str) -> tuple[list, str]:
    """The table (Markdown, CSV, JSON with every run) and an HTML report with a figure."""
    from .. import report

    rows = summarise(runs)
    md = markdown(rows)
    data = {"protocol": (__doc__ or "").split("Methods:")[0].strip(), **info, "rows": rows, "runs": runs}
    sections = [("Target-language test accuracy", _figure(rows)), ("Table", report.md_table_to_html(md))]
    tables.write_tables(out, md, data, csv_rows=rows, html=(f"corrnet: {title}", sections))
    return rows, md


def _figure(rows: list[dict[str, Any]]) -> Any:
    """Accuracy per direction (groups) and method (bars), the seeds' sd as error bars."""
    import matplotlib.pyplot as plt

    dirs = list(dict.fromkeys((r["source"], r["target"]) for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    at = {(r["source"], r["target"], r["method"]): r for r in rows}
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(dirs) + 2), 3.6))
    w = 0.8 / len(methods)
    for j, m in enumerate(methods):
        rs = [at.get((*d, m)) for d in dirs]
        ys = [100 * r["accuracy"] if r else np.nan for r in rs]
        es = [100 * r["accuracy_sd"] if r else 0.0 for r in rs]
        ax.bar(np.arange(len(dirs)) + (j - (len(methods) - 1) / 2) * w, ys, w, yerr=es, label=m)
    ax.set_xticks(range(len(dirs)), [f"{s.split('_')[0]} → {t.split('_')[0]}" for s, t in dirs])
    ax.set_ylabel("target test accuracy, %")
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig
