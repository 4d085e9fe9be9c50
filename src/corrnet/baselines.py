"""Baselines in the same harness as CorrNet: linear CCA, kernel CCA (Nystroem), a multimodal
autoencoder (MAE) and Deep CCA. Each has ``fit(X, Y)``, ``transform(X=...)``/``transform(Y=...)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.kernel_approximation import Nystroem
from torch import Tensor, nn

from .data import check_view, check_views
from .optim import Adam


def _inv_sqrt(C: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh(C)
    return (V / np.sqrt(np.maximum(w, 1e-12))) @ V.T


class MaxVarGCCA(BaseEstimator):
    """Generalised CCA for N views, MAXVAR form (Carroll 1968; Kettenring 1971), regularised.

    Finds a shared representation ``G`` (n, k), ``G^T G = I``, maximising ``sum_i ||P_i G||^2`` with
    ``P_i = X_i (X_i^T X_i + r_i I)^-1 X_i^T`` (``r_i = reg * trace / d_i``, rows centred): the top-k
    left singular vectors of ``[X_1 C_1^-1/2, ..., X_N C_N^-1/2]``, computed through its (sum d_i)^2
    Gram matrix. View i maps to the shared space by ``U_i = C_i^-1 X_i^T G / n`` (least squares).
    Attributes: ``weights_`` (list of (d_i, k)), ``means_``, ``eigenvalues_`` (k,), descending; an
    eigenvalue near N means all views agree on that direction.
    """

    def __init__(self, n_components: int = 50, reg: float = 1e-3) -> None:
        self.n_components = n_components
        self.reg = reg

    def fit(self, Xs: list[Any], y: Any = None) -> MaxVarGCCA:
        Xs = [check_view(X, f"Xs[{i}]").astype(np.float64) for i, X in enumerate(Xs)]
        if len(Xs) < 2 or len({len(X) for X in Xs}) != 1:
            raise ValueError("MaxVarGCCA needs a list of two or more views with the same number of rows.")
        n, k = len(Xs[0]), self.n_components
        if k > sum(X.shape[1] for X in Xs):
            raise ValueError(f"n_components={k} exceeds the views' total width.")
        self.means_ = [X.mean(0) for X in Xs]
        cs = [X - m for X, m in zip(Xs, self.means_)]
        covs = []
        for c in cs:
            C = c.T @ c / n
            covs.append(C + self.reg * np.trace(C) / len(C) * np.eye(len(C)))
        A = np.hstack([c @ _inv_sqrt(C) for c, C in zip(cs, covs)]) / np.sqrt(n)  # (n, sum d)
        w, V = np.linalg.eigh(A.T @ A)
        top = np.argsort(w)[::-1][:k]
        self.eigenvalues_ = w[top]
        G = A @ V[:, top] / np.sqrt(np.maximum(w[top], 1e-12))  # (n, k), orthonormal columns
        self.weights_ = [np.linalg.solve(C, c.T @ G) / np.sqrt(n) for c, C in zip(cs, covs)]
        return self

    def transform(self, Xs: list[Any]) -> list[np.ndarray | None]:
        """Each given view's codes (n, k) in the shared space (``None`` entries stay ``None``)."""
        return [
            None if X is None else (check_view(X, f"Xs[{i}]") - self.means_[i]) @ self.weights_[i]
            for i, X in enumerate(Xs)
        ]


class _OneViewTransform:
    """``transform(X=...)`` or ``transform(Y=...)``: validates the call, then maps the view."""

    def transform(self, X: Any = None, Y: Any = None) -> np.ndarray:
        if (X is None) == (Y is None):
            raise ValueError("transform takes exactly one view: X=... or Y=....")
        if X is not None:
            return self._transform_x(check_view(X, "X"))
        return self._transform_y(check_view(Y, "Y"))


class LinearCCA(_OneViewTransform, BaseEstimator):
    """Regularised linear CCA in closed form.

    ``C11 + r1 I`` and ``C22 + r2 I`` (with ``r = reg * trace(C) / d``) are whitened, and the top
    ``n_components`` singular vectors of ``C11^-1/2 C12 C22^-1/2`` give the projections.
    Attributes ``weights_x_`` (d_x, k), ``weights_y_`` (d_y, k), ``correlations_`` (k,) on the
    training data (descending).
    """

    def __init__(self, n_components: int = 50, reg: float = 1e-3) -> None:
        self.n_components = n_components
        self.reg = reg

    def fit(self, X: Any, Y: Any) -> LinearCCA:
        X, Y = check_views(X, Y)
        X, Y = X.astype(np.float64), Y.astype(np.float64)
        k = self.n_components
        if k > min(X.shape[1], Y.shape[1]):
            raise ValueError(f"n_components={k} exceeds the smaller view width {min(X.shape[1], Y.shape[1])}.")
        self.mean_x_, self.mean_y_ = X.mean(0), Y.mean(0)
        cx, cy = X - self.mean_x_, Y - self.mean_y_
        n = len(X) - 1
        C11, C22, C12 = cx.T @ cx / n, cy.T @ cy / n, cx.T @ cy / n
        C11 += self.reg * np.trace(C11) / len(C11) * np.eye(len(C11))
        C22 += self.reg * np.trace(C22) / len(C22) * np.eye(len(C22))
        A, B = _inv_sqrt(C11), _inv_sqrt(C22)
        U, s, Vt = np.linalg.svd(A @ C12 @ B)
        self.weights_x_, self.weights_y_ = A @ U[:, :k], B @ Vt[:k].T
        self.correlations_ = s[:k]
        return self

    def _transform_x(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_x_) @ self.weights_x_

    def _transform_y(self, Y: np.ndarray) -> np.ndarray:
        return (Y - self.mean_y_) @ self.weights_y_


class KernelCCA(_OneViewTransform, BaseEstimator):
    """Approximate kernel CCA: RBF Nystroem features per view (``n_features`` landmarks), then
    :class:`LinearCCA` on them (Lopez-Paz et al. 2014 use random features the same way)."""

    def __init__(
        self,
        n_components: int = 50,
        n_features: int = 1000,
        gamma: float | None = None,
        reg: float = 1e-3,
        random_state: int | None = 0,
    ) -> None:
        self.n_components = n_components
        self.n_features = n_features
        self.gamma = gamma
        self.reg = reg
        self.random_state = random_state

    def fit(self, X: Any, Y: Any) -> KernelCCA:
        X, Y = check_views(X, Y)

        def gamma(A: np.ndarray) -> float:  # median heuristic on a sample of row distances
            if self.gamma is not None:
                return self.gamma
            rng = np.random.default_rng(0)
            idx = rng.choice(len(A), size=min(len(A), 500), replace=False)
            d2 = ((A[idx, None, :] - A[None, idx, :]) ** 2).sum(-1)
            return 1.0 / max(float(np.median(d2[d2 > 0])), 1e-12)

        m = min(self.n_features, len(X))
        self.fx_ = Nystroem(gamma=gamma(X), n_components=m, random_state=self.random_state).fit(X)
        self.fy_ = Nystroem(gamma=gamma(Y), n_components=m, random_state=self.random_state).fit(Y)
        self.cca_ = LinearCCA(self.n_components, self.reg).fit(self.fx_.transform(X), self.fy_.transform(Y))
        return self

    def _transform_x(self, X: np.ndarray) -> np.ndarray:
        return self.cca_.transform(X=self.fx_.transform(X))

    def _transform_y(self, Y: np.ndarray) -> np.ndarray:
        return self.cca_.transform(Y=self.fy_.transform(Y))


def cca_objective(H1: Tensor, H2: Tensor, reg: float = 1e-4) -> Tensor:
    """Sum of the canonical correlations of two code batches (B, k), differentiable (Deep CCA's
    objective, Andrew et al. 2013): trace norm of ``S11^-1/2 S12 S22^-1/2`` with ``reg * I`` added
    to the covariances."""
    H1, H2 = H1.double(), H2.double()
    n = H1.shape[0]
    c1, c2 = H1 - H1.mean(0), H2 - H2.mean(0)
    eye1 = torch.eye(H1.shape[1], dtype=H1.dtype, device=H1.device)
    eye2 = torch.eye(H2.shape[1], dtype=H2.dtype, device=H2.device)
    S11 = c1.T @ c1 / (n - 1) + reg * eye1
    S22 = c2.T @ c2 / (n - 1) + reg * eye2
    S12 = c1.T @ c2 / (n - 1)

    def inv_sqrt(S: Tensor) -> Tensor:
        w, V = torch.linalg.eigh(S)
        return (V * w.clamp_min(1e-12).rsqrt()) @ V.T

    T = inv_sqrt(S11) @ S12 @ inv_sqrt(S22)
    # trace norm via the eigenvalues of T^T T (stable gradients; svdvals' gradient is not at ties)
    ev = torch.linalg.eigvalsh(T.T @ T + 1e-12 * eye2)
    return ev.clamp_min(1e-12).sqrt().sum()


def _mlp(
    d_in: int, layers: tuple[int, ...], d_out: int, act: str = "sigmoid", batch_norm: bool = False
) -> nn.Sequential:
    mods: list[nn.Module] = []
    for w in layers:
        mods += [nn.Linear(d_in, w), *([nn.BatchNorm1d(w)] if batch_norm else []), _ACTS[act]()]
        d_in = w
    mods.append(nn.Linear(d_in, d_out))
    return nn.Sequential(*mods)


_ACTS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}


class DeepCCA(_OneViewTransform, BaseEstimator):
    """Deep CCA: one MLP per view (hidden layers, linear output), trained with Adam on minibatches
    to maximise the sum of canonical correlations of the outputs; a final linear CCA on the training
    outputs aligns the units (so per-unit correlations are the canonical ones).

    The defaults are the project's first baseline (sigmoid (500, 300)). Wang et al. (ICML 2015)'s
    Noisy MNIST architecture is ``layers=(1024, 1024, 1024), n_components=10,
    activation="relu"``; ``batch_norm=True`` and ``weight_decay`` follow the public re-implementations
    that train it with Adam (``tools/dcca_published.py``)."""

    def __init__(
        self,
        n_components: int = 50,
        layers: tuple[int, ...] = (500, 300),
        epochs: int = 30,
        batch_size: int = 1000,
        lr: float = 1e-3,
        reg: float = 1e-4,
        random_state: int | None = 0,
        device: str = "cpu",
        activation: str = "sigmoid",
        batch_norm: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        self.n_components = n_components
        self.layers = layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.reg = reg
        self.random_state = random_state
        self.device = device
        self.activation = activation
        self.batch_norm = batch_norm
        self.weight_decay = weight_decay

    def fit(self, X: Any, Y: Any) -> DeepCCA:
        X, Y = check_views(X, Y)
        gen = torch.Generator().manual_seed(int(self.random_state or 0))
        torch_state = torch.random.get_rng_state()
        torch.manual_seed(int(self.random_state or 0))
        arch = (tuple(self.layers), self.n_components, self.activation, self.batch_norm)
        self.f_ = _mlp(X.shape[1], *arch).to(self.device)
        self.g_ = _mlp(Y.shape[1], *arch).to(self.device)
        torch.random.set_rng_state(torch_state)
        xt = torch.as_tensor(X, dtype=torch.float32, device=self.device)
        yt = torch.as_tensor(Y, dtype=torch.float32, device=self.device)
        params = [*self.f_.parameters(), *self.g_.parameters()]
        opt = Adam(params, lr=self.lr, weight_decay=self.weight_decay)  # torch's, without the dynamo import
        self.f_.train(), self.g_.train()
        self.history_ = []
        for _ in range(self.epochs):
            perm = torch.randperm(len(X), generator=gen).to(self.device)
            tot = 0.0
            starts = range(0, len(X) - self.batch_size + 1, self.batch_size) or [0]
            for s in starts:
                idx = perm[s : s + self.batch_size]
                loss = -cca_objective(self.f_(xt[idx]), self.g_(yt[idx]), self.reg)
                opt.zero_grad()
                loss.backward()
                opt.step()
                tot += loss.item()
            self.history_.append(-tot / len(starts))
        self.f_.eval(), self.g_.eval()  # batch norm: running statistics from here on
        with torch.no_grad():
            H1, H2 = self.f_(xt).cpu().numpy(), self.g_(yt).cpu().numpy()
        self.cca_ = LinearCCA(self.n_components, reg=1e-6).fit(H1, H2)
        return self

    def _net(self, net: nn.Module, A: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.as_tensor(A, dtype=torch.float32, device=self.device)).cpu().numpy()

    def _transform_x(self, X: np.ndarray) -> np.ndarray:
        return self.cca_.transform(X=self._net(self.f_, X))

    def _transform_y(self, Y: np.ndarray) -> np.ndarray:
        return self.cca_.transform(Y=self._net(self.g_, Y))
