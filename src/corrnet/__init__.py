"""corrnet: Correlational Neural Networks (Chandar et al., Neural Computation 2016)."""

from ._version import __version__
from .config import PRESETS, Config
from .estimator import CorrNet
from .model import CorrNetModule
from .multiview import MultiViewCorrNet
from .objective import correlation, corrnet_loss, multiview_loss
from .optim import OriginalRMSprop

__all__ = [
    "PRESETS",
    "Config",
    "CorrNet",
    "CorrNetModule",
    "MultiViewCorrNet",
    "OriginalRMSprop",
    "__version__",
    "correlation",
    "corrnet_loss",
    "multiview_loss",
]
