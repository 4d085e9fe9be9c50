"""The systems the speed benchmark runs, each a function (data, epochs, threads) -> result dict.

Every system trains the same paper-exact CorrNet objective (MNIST halves, 50 sigmoid units, tied
weights, sum (x - x_hat)^2 / 2, lam = 2, batch 100) so that the test sum-correlation after a fixed
number of epochs can be compared: speed must never hide a wrong loss.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from corrnet import CorrNet, metrics


def _result(epoch_times: list[float], n_rows: int, sum_corr: float, **extra: Any) -> dict[str, Any]:
    steady = epoch_times[1:] if len(epoch_times) > 1 else epoch_times  # the first epoch warms up
    s = float(np.median(steady))
    return {"s_per_epoch": s, "rows_per_s": n_rows / s, "epoch_times": epoch_times, "test_sum_corr": sum_corr, **extra}


def corrnet(
    d, epochs: int, engine: str = "autograd", device: str = "cpu", precision: str = "float32"
) -> dict[str, Any]:
    est = CorrNet.paper(epochs=epochs, random_state=0, engine=engine, device=device, precision=precision)
    t0 = time.perf_counter()
    est.fit(d.X_train, d.Y_train)
    total = time.perf_counter() - t0
    times = [r["time_s"] for r in est.history_]
    return _result(times, len(d.X_train), est.score(d.X_test, d.Y_test), wall_s=total)


class PlainCorrNet(torch.nn.Module):
    """What a user would write from the paper: encode/decode methods, three separate passes."""

    def __init__(self, dx: int, dy: int, k: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.W = torch.nn.Parameter(torch.empty(dx, k).uniform_(-1, 1, generator=g) * 4 * np.sqrt(6 / (dx + k)))
        self.V = torch.nn.Parameter(torch.empty(dy, k).uniform_(-1, 1, generator=g) * 4 * np.sqrt(6 / (dy + k)))
        self.b = torch.nn.Parameter(torch.zeros(k))
        self.bx = torch.nn.Parameter(torch.zeros(dx))
        self.by = torch.nn.Parameter(torch.zeros(dy))

    def encode(self, x, y):
        return torch.sigmoid(x @ self.W + y @ self.V + self.b)

    def decode(self, h):
        return torch.sigmoid(h @ self.W.T + self.bx), torch.sigmoid(h @ self.V.T + self.by)

    def loss(self, x, y, lam=2.0):
        zx, zy = torch.zeros_like(x), torch.zeros_like(y)
        total = 0.0
        for xi, yi in ((x, y), (x, zy), (zx, y)):
            xh, yh = self.decode(self.encode(xi, yi))
            total = total + 0.5 * ((xh - x) ** 2).sum(1).mean() + 0.5 * ((yh - y) ** 2).sum(1).mean()
        hx, hy = self.encode(x, zy), self.encode(zx, y)
        cx, cy = hx - hx.mean(0), hy - hy.mean(0)
        corr = (cx * cy).sum(0) / (torch.sqrt((cx**2).sum(0) + 1e-8) * torch.sqrt((cy**2).sum(0) + 1e-8))
        return total - lam * corr.sum()


def plain_pytorch(d, epochs: int, device: str = "cpu") -> dict[str, Any]:
    """Three separate forward passes, DataLoader over a TensorDataset, the original RMSprop written
    as a loop over parameters."""
    from torch.utils.data import DataLoader, TensorDataset

    model = PlainCorrNet(d.X_train.shape[1], d.Y_train.shape[1], 50).to(device)
    loader = DataLoader(TensorDataset(torch.from_numpy(d.X_train), torch.from_numpy(d.Y_train)), batch_size=100)
    cache = [torch.zeros_like(p) for p in model.parameters()]
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = model.loss(xb, yb)
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p, v in zip(model.parameters(), cache):
                    v.mul_(0.9).add_(0.1 * p.grad**2)
                    p.sub_(0.01 * p.grad / torch.sqrt(v + 1e-8))
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        X, Y = torch.from_numpy(d.X_test).to(device), torch.from_numpy(d.Y_test).to(device)
        hx = model.encode(X, torch.zeros_like(Y)).cpu().numpy()
        hy = model.encode(torch.zeros_like(X), Y).cpu().numpy()
    return _result(times, len(d.X_train), metrics.sum_correlation(hx, hy))


def keras_seed_blog(d, epochs: int, batch_size: int = 100) -> dict[str, Any]:
    """The seed Keras blog's model on Keras 3 (torch backend), with the correlation sign fixed:
    two relu encoders summed, linear decoders, six MSE terms + (-lam * sum corr)."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    from keras import layers, ops

    dx, dy, k, lam = d.X_train.shape[1], d.Y_train.shape[1], 50, 0.02
    inx, iny = keras.Input((dx,)), keras.Input((dy,))
    ex, ey = layers.Dense(k, activation="relu"), layers.Dense(k, activation="relu")
    rx, ry = layers.Dense(dx), layers.Dense(dy)

    def branch(a, b):
        h = ex(a) + ey(b)
        return rx(h), ry(h), h

    zx, zy = ops.zeros_like(inx), ops.zeros_like(iny)
    rx1, ry1, h1 = branch(inx, zy)
    rx2, ry2, h2 = branch(zx, iny)
    rx3, ry3, _ = branch(inx, iny)

    class CorrLoss(layers.Layer):
        def call(self, h1, h2):
            c1, c2 = h1 - ops.mean(h1, 0), h2 - ops.mean(h2, 0)
            corr = ops.sum(c1 * c2, 0) / (ops.sqrt(ops.sum(c1 * c1, 0) + 1e-8) * ops.sqrt(ops.sum(c2 * c2, 0) + 1e-8))
            self.add_loss(-lam * ops.sum(corr))  # the blog adds +lam * corr: the sign bug, fixed here
            return h1

    CorrLoss()(h1, h2)
    model = keras.Model([inx, iny], [rx1, rx2, rx3, ry1, ry2, ry3])
    model.compile(optimizer="rmsprop", loss=["mse"] * 6)
    X, Y = d.X_train, d.Y_train

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    times: list[float] = []
    model.fit(
        [X, Y], [X, X, X, Y, Y, Y], batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[Timer()]
    )
    enc_x = keras.Model(inx, ex(inx) + ey(ops.zeros_like(inx[:, :dy])))
    enc_y = keras.Model(iny, ex(ops.zeros_like(iny[:, :dx])) + ey(iny))
    hx = np.asarray(enc_x.predict(d.X_test, batch_size=1000, verbose=0))
    hy = np.asarray(enc_y.predict(d.Y_test, batch_size=1000, verbose=0))
    return _result(
        times,
        len(X),
        metrics.sum_correlation(hx, hy),
        batch_size=batch_size,
        note="seed blog architecture (different model): sum-corr not comparable",
    )
