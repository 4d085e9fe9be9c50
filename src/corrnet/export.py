"""ONNX export of a fitted CorrNet: one graph per use.

``encode_x.onnx``  x (n, d_x)  -> h(x, 0) (n, k)
``encode_y.onnx``  y (n, d_y)  -> h(0, y) (n, k)
``encode_xy.onnx`` x, y        -> h(x, y) (n, k)
``decode.onnx``    h (n, k)    -> x_hat (n, d_x), y_hat (n, d_y)

Inputs are in the model's (scaled) units: apply the fitted scaler first if ``scale`` was used.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn


class _EncodeX(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m.encode(x=x)


class _EncodeY(_EncodeX):
    def forward(self, y):
        return self.m.encode(y=y)


class _EncodeXY(_EncodeX):
    def forward(self, x, y):
        return self.m.encode(x, y)


class _Decode(_EncodeX):
    def forward(self, h):
        return self.m.decode(h)


def export_onnx(est, out_dir: str | os.PathLike, opset: int = 18) -> dict[str, Path]:
    """Write the four ONNX graphs of a fitted estimator into ``out_dir``; returns their paths."""
    try:
        import onnx  # noqa: F401
    except ImportError as err:
        raise ValueError("ONNX export needs the onnx extra: pip install 'corrnet[onnx]'.") from err
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "model_")
    model = est.model_.to("cpu").eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dx, dy, k = model.d_x, model.d_y, model.k
    x, y, h = torch.rand(2, dx), torch.rand(2, dy), torch.rand(2, k)
    n = {0: "n"}
    specs = {
        "encode_x": (_EncodeX(model), (x,), ["x"], ["h"], {"x": n, "h": n}),
        "encode_y": (_EncodeY(model), (y,), ["y"], ["h"], {"y": n, "h": n}),
        "encode_xy": (_EncodeXY(model), (x, y), ["x", "y"], ["h"], {"x": n, "y": n, "h": n}),
        "decode": (_Decode(model), (h,), ["h"], ["x_hat", "y_hat"], {"h": n, "x_hat": n, "y_hat": n}),
    }
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
