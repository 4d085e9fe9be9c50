"""
Semi-paired data: generate the missing half
===========================================

Only 200 rows have both halves; 600 more have the left half only and 600 the right half only.
``fit(X, Y, X_unpaired=..., Y_unpaired=...)`` trains on all of them (single-view rows add only the
reconstruction terms they can), and ``generate`` fills in the missing view in its own units. Two
baselines judge the result: the same model fitted on the 200 pairs alone, and the mean right half
of the training digits (what a model that learnt nothing would draw). Both fits train Adam for
100 epochs: a fit with single-view rows always trains minibatch Adam, and the pairs alone would
otherwise get full-batch L-BFGS, a different optimiser.
"""

import matplotlib.pyplot as plt
import numpy as np

from corrnet import CorrNet
from corrnet.datasets import load_dataset

d = load_dataset("digits-halves")
X, Y = d.X_train, d.Y_train
# to generate a view: the per-unit objective (the canonical one, the default on dense views, keeps
# its decoders only as a regulariser)
est = CorrNet(20, correlation="per_unit", optimizer="adam", epochs=100, random_state=0)
est.fit(X[:200], Y[:200], X_unpaired=X[200:800], Y_unpaired=Y[800:1400])
print("strategy used for the unpaired rows:", est.unpaired_strategy_)

right_from_left = est.generate(X=d.X_test)  # (n, 32): the right half, from the left half alone
pairs_only = CorrNet(20, correlation="per_unit", optimizer="adam", epochs=100, random_state=0)
pairs_only.fit(X[:200], Y[:200])
from_pairs = pairs_only.generate(X=d.X_test)
mean_half = np.broadcast_to(Y[:1400].mean(0), d.Y_test.shape)
for name, made in (("pairs + single views", right_from_left), ("the 200 pairs alone", from_pairs),
                   ("the mean right half", mean_half)):
    print(f"generation MSE per pixel, {name}: {np.mean((made - d.Y_test) ** 2):.4f}")

# %%
# Each row: the real left half beside a right half. Top: the real digit; then the right half
# generated with the single-view rows, from the pairs alone, and the training mean.
rows = (("real", d.Y_test), ("pairs + single views", right_from_left), ("pairs alone", from_pairs),
        ("mean", mean_half))
fig, axes = plt.subplots(len(rows), 8, figsize=(8, 1.3 * len(rows)))
for r, (name, right) in enumerate(rows):
    for i in range(8):
        ax = axes[r, i]
        ax.imshow(np.hstack([d.X_test[i].reshape(8, 4), right[i].reshape(8, 4)]), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
fig.suptitle("left half real; right half: real, generated, or the mean")
fig.tight_layout()
