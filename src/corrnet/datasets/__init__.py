"""Two-view datasets: embedded digits halves, MNIST halves, Noisy MNIST."""

from .base import MultiViewData
from .digits import digits_halves
from .mnist import load_mnist, mnist_halves, noisy_mnist

__all__ = ["MultiViewData", "digits_halves", "load_mnist", "mnist_halves", "noisy_mnist"]
