"""Fit time and peak memory on text: CLDR names (one script at a time), SIB-200 and Multi30k,
CorrNet's defaults beside linear CCA, each fit in its own process (clean peak RSS), all in one run.

    python benchmarks/bench_text.py                   # CLDR (the experiment's 5 scripts), SIB-200, Multi30k
    python benchmarks/bench_text.py --only cldr       # CLDR only (about a minute)
    python benchmarks/bench_text.py --seeds 0,1,2     # more seeds of CorrNet

* CLDR names (`cldr_names((script,), seed=0)`, character 1-3-gram TF-IDF views, about 1 000
  training rows): ``CorrNet(n_components=128)`` with nothing else set, beside ``LinearCCA(128,
  reg=1.0)`` on the same n-grams (the setting the transliteration experiment chose most often).
* SIB-200 English / German (800 sentence pairs, character 2-4-gram TF-IDF, 10 976 + 12 753
  columns): ``CorrNet(n_components=50)`` beside SVD (300) + standardised linear CCA (50, the
  quality gate's baseline, its ridge chosen on validation); scored as the gate scores it
  (cross-language classification accuracy, both directions).
* Multi30k (29 000 training pairs, word TF-IDF, 5 844 + 7 822 columns): ``CorrNet(n_components=100)``
  beside SVD (1 000) + CCA (500), the setting its experiment chose on validation.

Prints one line per fit (wall and CPU seconds of ``fit``, the process's peak RSS, the test score:
recall@1 both ways, or SIB-200's accuracy) and a table; each fit's time is also given as a ratio to
the CCA fit of the same run. Goals: <= 5 s and <= 10x CCA per CLDR script, <= 10 s and <= 10x
SVD + CCA on SIB-200, <= 30 s on Multi30k.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from typing import Any

import numpy as np

SCRIPTS = ("ru", "el", "hi", "ar", "ko")


def _views(data: str) -> dict[str, tuple[Any, Any]]:
    """(train, test) sparse view pairs of ``cldr:<locale>`` or ``multi30k``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if data.startswith("cldr:"):
        from corrnet.datasets.cldr import cldr_names
        from corrnet.experiments import transliteration as T

        loc = data.split(":")[1]
        table = cldr_names((loc,), seed=0)
        names = {s: table.pairs(loc, s) for s in ("train", "test")}
        ve, vo = T._vectoriser().fit(names["train"][0]), T._vectoriser().fit(names["train"][1])
        return {s: (ve.transform(a), vo.transform(b)) for s, (a, b) in names.items()}
    from corrnet.datasets.multi30k import multi30k

    t = multi30k(None)
    ven = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32).fit(t["train"][0])
    vde = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32).fit(t["train"][1])
    return {s: (ven.transform(t[s][0]), vde.transform(t[s][1])) for s in ("train", "test")}


def run_one(data: str, method: str, seed: int) -> dict[str, Any]:
    from sklearn.decomposition import TruncatedSVD

    from corrnet import CorrNet, metrics
    from corrnet.baselines import LinearCCA

    if data == "sib200":
        return _run_sib200(method, seed)
    v = _views(data)
    (X, Y), (Xt, Yt) = v["train"], v["test"]
    w0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "corrnet":
            est = CorrNet(n_components=128 if data.startswith("cldr") else 100, random_state=seed).fit(X, Y)
            a, b = est.transform(X=Xt), est.transform(Y=Yt)
            extra = {"epochs": est.n_epochs_, "optimizer": est.optimizer_, "engine": est.engine_}
        elif data.startswith("cldr"):
            cca = LinearCCA(128, reg=1.0).fit(X.toarray(), Y.toarray())
            a, b = cca.transform(X=Xt.toarray()), cca.transform(Y=Yt.toarray())
            extra = {}
        else:
            se, sd = TruncatedSVD(1000, random_state=seed).fit(X), TruncatedSVD(1000, random_state=seed).fit(Y)
            cca = LinearCCA(500).fit(se.transform(X), sd.transform(Y))
            a, b = cca.transform(X=se.transform(Xt)), cca.transform(Y=sd.transform(Yt))
            extra = {}
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0  # fit and encoding the test rows
    r1 = [metrics.retrieval(a, b)["recall@1"] * 100, metrics.retrieval(b, a)["recall@1"] * 100]
    return _row(data, method, seed, X, Y, wall, cpu, r1, **extra)


def _row(data: str, method: str, seed: int, X: Any, Y: Any, wall: float, cpu: float, r1: list, **extra: Any) -> dict:
    """One fit's line: its data, the views' shape, its wall and CPU seconds, the process's peak RSS, its scores."""
    return {
        "data": data,
        "method": method,
        "seed": seed,
        "rows": X.shape[0],
        "columns": [X.shape[1], Y.shape[1]],
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "r1": r1,
        **extra,
    }


def _run_sib200(method: str, seed: int) -> dict[str, Any]:
    """SIB-200 English / German through the quality gate's task: its fit and its score."""
    from corrnet.experiments import quality

    task = quality.TASKS["sib200-en-de"]
    v = task.load(None)
    X, Y = v.train
    w0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = quality._fit("default" if method == "corrnet" else "cca", v, task, seed)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        score = quality.score(task, est, v) * 100
    return _row("sib200", method, seed, X, Y, wall, cpu, [score, score])  # one accuracy over both directions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("cldr", "sib200", "multi30k"))
    ap.add_argument("--seeds", default="0", help="CorrNet seeds (CCA is deterministic: seed 0)")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(a.one[0], a.one[1], int(a.one[2]))))
        return
    datasets = [f"cldr:{s}" for s in SCRIPTS] if a.only in (None, "cldr") else []
    datasets += [d for d in ("sib200", "multi30k") if a.only in (None, d)]
    rows = []
    for data in datasets:
        for method in ("corrnet", "cca"):
            for seed in [int(s) for s in a.seeds.split(",")] if method == "corrnet" else [0]:
                cmd = [sys.executable, __file__, "--one", data, method, str(seed)]
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode:
                    raise SystemExit(p.stderr)
                rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
                r = rows[-1]
                print(
                    f"{data} {method} seed {seed}: {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, "
                    f"{r['peak_rss_mb']:.0f} MB, R@1 {r['r1'][0]:.1f} / {r['r1'][1]:.1f}",
                    flush=True,
                )
    print(
        "\n| data | rows | columns | method | fit + encode s (wall) | × CCA | CPU s | peak RSS MB | "
        "R@1 en→x / x→en (SIB-200: accuracy) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for data in datasets:
        cca_s = np.mean([r["wall_s"] for r in rows if r["data"] == data and r["method"] == "cca"])
        for method in ("corrnet", "cca"):
            rs = [r for r in rows if r["data"] == data and r["method"] == method]
            name = (
                "CorrNet defaults" if method == "corrnet" else "linear CCA" if data.startswith("cldr") else "SVD + CCA"
            )
            r1 = np.array([r["r1"] for r in rs])
            sd = r1.std(0) if len(rs) > 1 else None
            r1s = " / ".join(
                f"{m:.1f}" + (f" ± {s:.1f}" if sd is not None else "")
                for m, s in zip(r1.mean(0), sd if sd is not None else [0, 0])
            )
            print(
                f"| {data} | {rs[0]['rows']} | {rs[0]['columns'][0]} + {rs[0]['columns'][1]} | {name} | "
                f"{np.mean([r['wall_s'] for r in rs]):.1f} | {np.mean([r['wall_s'] for r in rs]) / cca_s:.1f} | "
                f"{np.mean([r['cpu_s'] for r in rs]):.1f} | "
                f"{np.mean([r['peak_rss_mb'] for r in rs]):.0f} | {r1s} |"
            )


if __name__ == "__main__":
    main()
