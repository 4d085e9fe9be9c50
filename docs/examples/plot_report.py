"""
An HTML report of a fit
=======================

``corrnet.report`` turns a fit into one self-contained HTML file (figures embedded as PNGs, no
browser or server needed): training curves, generated views, per-unit correlations, and a joint
embedding of both views' codes. ``corrnet demo`` and ``corrnet report`` write the same pages.
"""

import io
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
# The report's generation figure, as embedded in the page: a missing half generated from the other.
buf = io.BytesIO()
grid.savefig(buf, format="png", dpi=80)
buf.seek(0)
fig, ax = plt.subplots(figsize=(7, 3))
ax.imshow(plt.imread(buf))
ax.axis("off")
