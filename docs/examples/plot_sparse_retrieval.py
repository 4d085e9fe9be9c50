"""
Sparse text views: English <-> German caption retrieval
=======================================================

Two sparse TF-IDF views (``scipy.sparse`` CSR, never densified) of Multi30k image captions, English
and German. ``CorrNet`` codes from one language retrieve the matching caption in the other.
(A 3 000-caption subset, for the docs build; the full run is in the results page.) The data is
found under ``$CORRNET_DATA/multi30k`` (this repository's CI has it in ``../shared/data``).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from corrnet import CorrNet, metrics
from corrnet.datasets.multi30k import multi30k

texts = multi30k()
en, de = texts["train"][0][:3000], texts["train"][1][:3000]
ten, tde = texts["test"][0][:500], texts["test"][1][:500]
ven = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32).fit(en)
vde = TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32).fit(de)
X, Y = ven.transform(en), vde.transform(de)  # CSR, (3000, d_en) and (3000, d_de)
print(f"views: {X.shape[1]} English and {Y.shape[1]} German columns, {X.nnz / X.shape[0]:.1f} words per row")

est = CorrNet(64, epochs=30, random_state=0).fit(X, Y)
r = metrics.retrieval(est.transform(X=ven.transform(ten)), est.transform(Y=vde.transform(tde)))
print(f"English -> German, 500 candidates: R@1 {100 * r['recall@1']:.1f} %, R@10 {100 * r['recall@10']:.1f} %")

# %%
# Recall at k as k grows (500 test captions; chance is k / 500).
ks = (1, 2, 5, 10, 20, 50)
r = metrics.retrieval(est.transform(X=ven.transform(ten)), est.transform(Y=vde.transform(tde)), ks=ks)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(ks, [100 * r[f"recall@{k}"] for k in ks], marker="o", label="CorrNet(64)")
ax.plot(ks, [100 * k / 500 for k in ks], ls="--", label="chance")
ax.set_xscale("log")
ax.set_xlabel("k")
ax.set_ylabel("recall@k (%)")
ax.legend()
fig.tight_layout()
