"""
More than two views: Bridge CorrNet
===================================

Three views of each digit: the left half, the right half, and a pivot (the digit at half
resolution). Views 1 and 2 never appear in the same row: each is paired only with the pivot.
``MultiViewCorrNet`` with row masks still puts the left-half and right-half codes in one space.
"""

import matplotlib.pyplot as plt
import numpy as np

from corrnet import MultiViewCorrNet, metrics
from corrnet.datasets import load_dataset

d = load_dataset("digits-halves")


def pivot(X, Y):  # 4x4 average-pooled digit: a third view of the same image
    img = np.concatenate([X.reshape(-1, 8, 4), Y.reshape(-1, 8, 4)], axis=2)
    return img.reshape(-1, 4, 2, 4, 2).mean((2, 4)).reshape(-1, 16)


n = len(d.X_train)
first = np.arange(n) < n // 2
views = [d.X_train, d.Y_train, pivot(d.X_train, d.Y_train)]
masks = [first, ~first, None]  # left half only in the first half of the rows, right half only in the second
est = MultiViewCorrNet(20, epochs=60, random_state=0).fit(views, masks=masks)  # 60 epochs: a short docs build

H_left = est.transform([d.X_test, None, None])
H_right = est.transform([None, d.Y_test, None])
acc = metrics.transfer_accuracy_folds(H_left, H_right, d.y_test)
print(f"left -> right transfer, never trained on a left/right pair: {100 * acc:.1f} %")

# %%
# Correlation of the left-half and right-half codes, per unit, on test rows.
corr = np.sort(est.correlations([d.X_test, d.Y_test, pivot(d.X_test, d.Y_test)])[0])[::-1]
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(range(len(corr)), corr)
ax.set_xlabel("hidden unit (sorted)")
ax.set_ylabel("corr(left code, right code)")
fig.tight_layout()
