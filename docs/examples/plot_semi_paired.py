"""
Semi-paired data: generate the missing half
===========================================

Only 200 rows have both halves; 600 more have the left half only and 600 the right half only.
``fit(X, Y, X_unpaired=..., Y_unpaired=...)`` trains on all of them (single-view rows add only the
reconstruction terms they can), and ``generate`` fills in the missing view in its own units.
"""

import matplotlib.pyplot as plt
import numpy as np

from corrnet import CorrNet
from corrnet.datasets import load_dataset

d = load_dataset("digits-halves")
X, Y = d.X_train, d.Y_train
# to generate a view: the per-unit objective (the canonical one, the default on dense views, keeps
# its decoders only as a regulariser)
est = CorrNet(20, correlation="per_unit", epochs=100, random_state=0)
est.fit(X[:200], Y[:200], X_unpaired=X[200:800], Y_unpaired=Y[800:1400])
print("strategy used for the unpaired rows:", est.unpaired_strategy_)

right_from_left = est.generate(X=d.X_test)  # (n, 32): the right half, from the left half alone
print(f"generation MSE per pixel: {np.mean((right_from_left - d.Y_test) ** 2):.4f}")

# %%
# Top: real digits. Bottom: real left half, generated right half.
fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
for i in range(8):
    real = np.hstack([d.X_test[i].reshape(8, 4), d.Y_test[i].reshape(8, 4)])
    made = np.hstack([d.X_test[i].reshape(8, 4), right_from_left[i].reshape(8, 4)])
    for ax, img in ((axes[0, i], real), (axes[1, i], made)):
        ax.imshow(img, cmap="gray_r", vmin=0, vmax=1)
        ax.axis("off")
fig.suptitle("real (top) and right half generated from the left (bottom)")
fig.tight_layout()
