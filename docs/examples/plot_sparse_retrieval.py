"""
Sparse text views: English <-> German sentences
===============================================

Two sparse TF-IDF views (``scipy.sparse`` CSR, never densified) of the same sentences in English
and in German: SIB-200's 1 004 topic-labelled FLORES-200 sentences, which ship with these docs
(``docs/data/``, CC BY-SA 4.0). ``CorrNet`` learns one code from the 800 training and development
pairs; on the 204 test sentences, a code computed from one language retrieves the translation among
the other language's codes, and a topic classifier trained on English codes labels German ones.
"""

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from corrnet import CorrNet, metrics

# docs/data/, beside this example's folder (the gallery runs examples from their own folder)
DATA = Path(globals().get("__file__", "plot_sparse_retrieval.py")).resolve().parents[1] / "data" / "sib200-en-de.tsv"
with open(DATA, newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"))
train = [r for r in rows if r["split"] != "test"]  # 701 train + 99 dev sentences: the representation
test = [r for r in rows if r["split"] == "test"]  # 204 sentences, never seen in training

ven = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32).fit([r["en"] for r in train])
vde = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32).fit([r["de"] for r in train])
X, Y = ven.transform([r["en"] for r in train]), vde.transform([r["de"] for r in train])  # CSR
print(f"views: {X.shape[1]} English and {Y.shape[1]} German columns, {X.nnz / X.shape[0]:.1f} words per row")

est = CorrNet(64, random_state=0).fit(X, Y)
H_en = est.transform(X=ven.transform([r["en"] for r in test]))  # (204, 64), from English alone
H_de = est.transform(Y=vde.transform([r["de"] for r in test]))  # (204, 64), from German alone
r = metrics.retrieval(H_en, H_de)
print(f"English -> German, 204 candidates: R@1 {100 * r['recall@1']:.1f} %, R@10 {100 * r['recall@10']:.1f} %")

# %%
# Cross-language topic classification: a classifier trained on the English training sentences'
# codes, tested on the German test sentences' codes (computed from German alone).
clf = LogisticRegression(max_iter=2000).fit(est.transform(X=X), [r["category"] for r in train])
labels = np.array([r["category"] for r in test])
majority = max(np.mean(labels == c) for c in set(labels))
print(f"English -> German topic accuracy: {100 * np.mean(clf.predict(H_de) == labels):.1f} % "
      f"(majority class {100 * majority:.1f} %)")

# %%
# Recall at k as k grows (204 test sentences; chance is k / 204).
ks = (1, 2, 5, 10, 20, 50)
r = metrics.retrieval(H_en, H_de, ks=ks)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(ks, [100 * r[f"recall@{k}"] for k in ks], marker="o", label="CorrNet(64)")
ax.plot(ks, [100 * k / len(test) for k in ks], ls="--", label="chance")
ax.set_xscale("log")
ax.set_xlabel("k")
ax.set_ylabel("recall@k (%)")
ax.legend()
fig.tight_layout()
