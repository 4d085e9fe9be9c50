"""
Two views: left and right halves of a digit
============================================

``CorrNet`` with its defaults on scikit-learn's bundled 8x8 digits, split into left and right halves.
The codes computed from one half alone line up with the codes from the other half: a classifier
trained on left-half codes classifies right-half codes (transfer).
"""

import matplotlib.pyplot as plt
import numpy as np

from corrnet import CorrNet, metrics
from corrnet.datasets import load_dataset

d = load_dataset("digits-halves")  # 8x8 digits, left/right 32 + 32 pixels in [0, 1]
est = CorrNet(20, random_state=0).fit(d.X_train, d.Y_train)

H_left, H_right = est.transform(X=d.X_test), est.transform(Y=d.Y_test)  # (n, 20) each
print(f"test sum-correlation: {est.score(d.X_test, d.Y_test):.2f} of 20")
print(f"transfer left -> right: {100 * metrics.transfer_accuracy_folds(H_left, H_right, d.y_test):.1f} %")

# %%
# Per-unit correlation of the two views' codes on held-out rows, sorted.
corr = np.sort(est.correlations(d.X_test, d.Y_test))[::-1]
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(range(len(corr)), corr)
ax.set_xlabel("hidden unit (sorted)")
ax.set_ylabel("corr(h(x, 0), h(0, y))")
ax.set_title("CorrNet(20) on digit halves: test correlations")
fig.tight_layout()
