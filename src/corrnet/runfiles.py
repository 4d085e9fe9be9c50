"""What a fit writes as it runs: the checkpoints' fingerprint of the data and parameters, the
per-epoch log (``history.csv``, TensorBoard if installed), and the files a fit is asked to write."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import training
from .data import sample_bytes

# Parameters added after checkpoints existed (version added), at their value that trains as before.
_FINGERPRINT_NEUTRAL: dict[str, Any] = {
    "lr_schedule": "constant", "decoder_layers": None,  # 0.3.0
    "encoders": None, "decoders": None,  # 0.4.0
}
_UNSET = object()


def fingerprint(views: list[np.ndarray], params: dict[str, Any]) -> str:
    """A short hash of the data and parameters, so a checkpoint resumes only the run it belongs to."""
    h = hashlib.sha256()
    for A in views:
        h.update(str(A.shape).encode())
        step = max(1, A.shape[0] // 1000)
        for part in sample_bytes(A, step):
            h.update(part)
    # epochs (and min_steps, which only raises them) may grow on resume; device, engine and verbose do
    # not change the result
    skip = ("verbose", "device", "epochs", "min_steps", "engine", "precision")
    keep = {k: v for k, v in params.items() if k not in skip}
    # a parameter added later is left out at the value that reproduces runs made before it existed, so
    # their checkpoints still resume
    keep = {k: v for k, v in keep.items() if _FINGERPRINT_NEUTRAL.get(k, _UNSET) != v}
    h.update(json.dumps(keep, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


class EpochLogger:
    """Appends the newest history row to ``history.csv`` (and TensorBoard, if installed)."""

    def __init__(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.path = log_dir / "history.csv"
        self.writer = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(log_dir))
        except ImportError:
            pass

    def __call__(self, state: training.TrainState) -> None:
        row = state.history[-1]
        new = not self.path.exists() or row["epoch"] == 1
        with open(self.path, "w" if new else "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)
        if self.writer is not None:
            for k, v in row.items():
                if k != "epoch":
                    self.writer.add_scalar(k, v, row["epoch"])
            self.writer.flush()


@dataclass
class RunFiles:
    """What a fit writes as it runs (``fit``'s keywords of the same names)."""

    checkpoint_dir: str | os.PathLike | None = None
    checkpoint_every: int = 1
    resume: bool = False
    log_dir: str | os.PathLike | None = None
