"""The container every loader returns, and where loaders look for data files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def data_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Where a dataset's directory ``name`` is looked for, in order: ``data_dir`` and
    ``data_dir/name``, ``$CORRNET_DATA/name``, ``../shared/data/name`` from the working directory."""
    cands = [] if data_dir is None else [Path(data_dir), Path(data_dir) / name]
    if os.environ.get("CORRNET_DATA"):
        cands.append(Path(os.environ["CORRNET_DATA"]) / name)
    cands.append(Path.cwd().parent / "shared" / "data" / name)
    return cands


@dataclass
class MultiViewData:
    """Paired views with labels, split into train / validation / test.

    ``X_*`` (n, d_x) and ``Y_*`` (n, d_y) float32 arrays; ``y_*`` (n,) int labels. ``shape_x`` and
    ``shape_y`` give each view's image shape (rows, cols) where the views are images, for figures.
    """

    name: str
    X_train: np.ndarray
    Y_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    Y_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    y_test: np.ndarray
    shape_x: tuple[int, int] | None = None
    shape_y: tuple[int, int] | None = None

    def subset(self, n_train: int, n_val: int | None = None, n_test: int | None = None) -> MultiViewData:
        """The first rows of each split (for smoke runs); order is kept."""
        nv = n_val if n_val is not None else n_train
        nt = n_test if n_test is not None else n_train
        return MultiViewData(
            self.name,
            self.X_train[:n_train],
            self.Y_train[:n_train],
            self.y_train[:n_train],
            self.X_val[:nv],
            self.Y_val[:nv],
            self.y_val[:nv],
            self.X_test[:nt],
            self.Y_test[:nt],
            self.y_test[:nt],
            self.shape_x,
            self.shape_y,
        )


def split_halves(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, h, w) images -> left half (n, h * w//2) and right half (n, h * (w - w//2)), row-major."""
    w = images.shape[2] // 2
    n = len(images)
    return images[:, :, :w].reshape(n, -1), images[:, :, w:].reshape(n, -1)
