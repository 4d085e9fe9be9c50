"""
An HTML report of a fit
=======================

``corrnet.report`` turns a fit into one self-contained HTML file (figures embedded as PNGs, no
browser or server needed): training curves, generated views, per-unit correlations, and a joint
embedding of both views' codes. ``corrnet demo`` and ``corrnet report`` write the same pages.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from corrnet import CorrNet
from corrnet import report as rep
from corrnet.datasets import load_dataset

d = load_dataset("digits-halves")
est = CorrNet(20, random_state=0).fit(d.X_train, d.Y_train)

curves = rep.fig_training_curves(est.history_)
grid = rep.fig_generation_grid(
    d.X_test, d.Y_test, est.generate(Y=d.Y_test), est.generate(X=d.X_test), d.shape_x, d.shape_y, n=8
)
embedding = rep.fig_embedding(est.transform(X=d.X_test), est.transform(Y=d.Y_test), d.y_test, ("left", "right"))
path = rep.write_report(
    Path(tempfile.mkdtemp()) / "index.html",
    "CorrNet(20) on digit halves",
    [("Training", curves), ("Generated halves", grid), ("Joint embedding of the codes", embedding)],
)
print(f"wrote {path} ({path.stat().st_size // 1024} KiB, self-contained)")

# %%
# The page's three figures, drawn again here as the report draws them (each function returns a
# matplotlib figure): the training curves with the epoch early stopping kept, halves generated from
# the other half beside the real ones, and the two views' codes in one embedding.
rep.fig_training_curves(est.history_, est.best_epoch_)
rep.fig_generation_grid(
    d.X_test, d.Y_test, est.generate(Y=d.Y_test), est.generate(X=d.X_test), d.shape_x, d.shape_y, n=8
)
rep.fig_embedding(est.transform(X=d.X_test), est.transform(Y=d.Y_test), d.y_test, ("left", "right"))
plt.show()
