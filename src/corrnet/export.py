"""ONNX export of a fitted CorrNet: one graph per use.

``encode_x.onnx``   x (n, d_x)  -> the code from x alone (n, k), as ``transform(X=x)``
``encode_y.onnx``   y (n, d_y)  -> the code from y alone (n, k), as ``transform(Y=y)``
``encode_xy.onnx``  x, y        -> the code from both (n, k), as ``transform(x, y)``
``generate_y.onnx`` x (n, d_x)  -> y generated from x (n, d_y), as ``generate(X=x)``
``generate_x.onnx`` y (n, d_y)  -> x generated from y (n, d_x), as ``generate(Y=y)``
``decode.onnx``     h (n, k)    -> x_hat (n, d_x), y_hat (n, d_y), from ``encode_xy``'s codes

Inputs and outputs are in the data's own units: the fitted per-feature scaling (``scale``, an
affine map per feature) is part of the graphs, as in ``CorrNet.transform`` / ``reconstruct``.
A ``correlation="canonical"`` model's codes are aligned by its final linear CCA, which the decoders
do not take: it has every graph but ``decode.onnx``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn


def _affine(scaler, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``scaled = x * a + c`` for a fitted StandardScaler / MinMaxScaler (identity for None)."""
    if scaler is None:
        return torch.ones(d), torch.zeros(d)
    if hasattr(scaler, "mean_"):  # StandardScaler: (x - mean) / scale
        a = 1.0 / torch.as_tensor(scaler.scale_, dtype=torch.float64)
        return a.float(), (-torch.as_tensor(scaler.mean_, dtype=torch.float64) * a).float()
    if hasattr(scaler, "max_abs_"):  # MaxAbsScaler (sparse views): x / scale
        return (1.0 / torch.as_tensor(scaler.scale_, dtype=torch.float64)).float(), torch.zeros(d)
    return torch.as_tensor(scaler.scale_).float(), torch.as_tensor(scaler.min_).float()  # MinMaxScaler


class _EncodeX(nn.Module):
    def __init__(self, m, scalers=(None, None)):
        super().__init__()
        self.m = m
        ax, cx = _affine(scalers[0], m.dims[0])
        ay, cy = _affine(scalers[1], m.dims[1])
        for name, t in (("ax", ax), ("cx", cx), ("ay", ay), ("cy", cy)):
            self.register_buffer(name, t)

    def forward(self, x):
        return self.m.represent([x * self.ax + self.cx, None])


class _EncodeY(_EncodeX):
    def forward(self, y):
        return self.m.represent([None, y * self.ay + self.cy])


class _EncodeXY(_EncodeX):
    def forward(self, x, y):
        return self.m.represent([x * self.ax + self.cx, y * self.ay + self.cy])


class _Decode(_EncodeX):
    def forward(self, h):
        x_hat, y_hat = self.m.decode(h)
        return (x_hat - self.cx) / self.ax, (y_hat - self.cy) / self.ay


class _GenerateY(_EncodeX):
    def forward(self, x):
        (y_hat,) = self.m.decode_pre(self.m.encode([x * self.ax + self.cx, None]), views=[1])
        return (self.m.g(y_hat) - self.cy) / self.ay


class _GenerateX(_EncodeX):
    def forward(self, y):
        (x_hat,) = self.m.decode_pre(self.m.encode([None, y * self.ay + self.cy]), views=[0])
        return (self.m.g(x_hat) - self.cx) / self.ax


def export_onnx(est, out_dir: str | os.PathLike, opset: int = 18) -> dict[str, Path]:
    """Write the ONNX graphs of a fitted estimator into ``out_dir`` (module docstring); returns their paths."""
    try:
        import onnx  # noqa: F401
    except ImportError as err:
        raise ValueError("ONNX export needs the onnx extra: pip install 'corrnet[onnx]'.") from err
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "model_")
    model = est.model_.to("cpu").eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (dx, dy), k = model.dims, model.k
    x, y, h = torch.rand(2, dx), torch.rand(2, dy), torch.rand(2, k)
    n = {0: "n"}
    sc = tuple(est.scalers_)
    specs = {
        "encode_x": (_EncodeX(model, sc), (x,), ["x"], ["h"], {"x": n, "h": n}),
        "encode_y": (_EncodeY(model, sc), (y,), ["y"], ["h"], {"y": n, "h": n}),
        "encode_xy": (_EncodeXY(model, sc), (x, y), ["x", "y"], ["h"], {"x": n, "y": n, "h": n}),
        "generate_y": (_GenerateY(model, sc), (x,), ["x"], ["y_hat"], {"x": n, "y_hat": n}),
        "generate_x": (_GenerateX(model, sc), (y,), ["y"], ["x_hat"], {"y": n, "x_hat": n}),
    }
    if not model.canonical:  # a canonical model's codes are aligned: not what its decoders take
        specs["decode"] = (_Decode(model, sc), (h,), ["h"], ["x_hat", "y_hat"], {"h": n, "x_hat": n, "y_hat": n})
    paths = {}
    for name, (mod, args, ins, outs, dyn) in specs.items():
        path = out / f"{name}.onnx"
        tmp = out / f".{name}.onnx.tmp"
        torch.onnx.export(
            mod, args, str(tmp), input_names=ins, output_names=outs, dynamic_axes=dyn, opset_version=opset, dynamo=False
        )
        os.replace(tmp, path)
        paths[name] = path
    est.model_.to(est._device())
    return paths
