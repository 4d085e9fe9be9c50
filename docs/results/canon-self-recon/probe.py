"""Issue 25, goal 2: DCCAE's reconstruction (each view decoded only from codes that saw it) inside
the ``canonical`` preset, screened on Noisy MNIST's validation split. A prototype: it patches the
objective that the training loop calls, so nothing in the library changes.

    python docs/results/canon-self-recon/probe.py SEED MODE [JSON_OVERRIDES]

``MODE``: ``self`` drops the cross-reconstruction terms (view v's error counts only in the passes
whose input holds v: x from h(x, y) and h(x, 0), y from h(x, y) and h(0, y)); ``preset`` runs the
unpatched preset (the control). Scored by ``../noisy-screen/scoring.py`` (the test split is not
read); one JSON line appended to ``log.jsonl`` beside this file. One torch thread.
"""

import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "noisy-screen"))
from scoring import score_and_log

from corrnet import CorrNet, objective, training
from corrnet.datasets import load_dataset

seed, mode = int(sys.argv[1]), sys.argv[2]
over = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
torch.set_num_threads(1)
original = objective.reconstruction_error


def patched_loss(model, xs, config, mask=None, weight=None, reduce=None):
    """multiview_loss with each view's error zeroed in the passes that did not see it."""
    subsets = objective.pass_subsets(tuple(config.reconstruct_from), model.n_views)
    view = iter(range(model.n_views))

    def self_only(x, out, loss, logits=False):  # called once per view, in view order: (P, B)
        v = next(view)
        keep = torch.tensor([v in s for s in subsets], dtype=out.dtype, device=out.device)
        return original(x, out, loss, logits=logits) * keep[:, None]

    objective.reconstruction_error = self_only
    try:
        return objective_multiview_loss(model, xs, config, mask, weight, reduce)
    finally:
        objective.reconstruction_error = original


objective_multiview_loss = objective.multiview_loss
if mode == "self":
    training.multiview_loss = patched_loss
d = load_dataset("noisy-mnist", None)
t0 = time.perf_counter()
est = CorrNet.from_preset("canonical", **{"n_components": 10, **over}, random_state=seed, device="cpu")
est.fit(d.X_train, d.Y_train)
secs = time.perf_counter() - t0
head = {"name": f"canonical {mode}-recon", "dataset": "noisy-mnist", "seed": seed, "mode": mode, "over": over}
score_and_log(head, est, d, secs, log=Path(__file__).with_name("log.jsonl"))
