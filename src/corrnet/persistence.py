"""Model directories and training checkpoints, without pickle.

A model directory holds ``weights.safetensors`` (the module's tensors and the scalers' arrays) and
``model.json`` (format version, package versions, estimator parameters, data widths, history,
metrics). Loading parses JSON and safetensors only, so a tampered directory can fail to load but
can never execute code. Every write goes to a temporary sibling first and is renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ._version import __version__
from .config import TUPLE_FIELDS, Config
from .model import CorrNetModule

# 3: every estimator writes its view widths (``widths``) and one scaler per view (``scalers``,
# ``scaler_0.*``); 2: a list of views (encoders.0, decoders.1, out_bias.0 ...), CorrNet's scalers
# named ``scaler_x``/``scaler_y``; 1: corrnet <= 0.2, two views named x and y (enc_x, dec_y, b_x ...).
# Older formats are read (format 1's names translated on load, ``_from_format_1``).
FORMAT_VERSION = 3
READABLE_FORMATS = (1, 2, 3)
_FORMAT_1_NAMES = {
    "enc_x.": "encoders.0.",
    "enc_y.": "encoders.1.",
    "dec_x.": "decoders.0.",
    "dec_y.": "decoders.1.",
    "b_x": "out_bias.0",
    "b_y": "out_bias.1",
}
WEIGHTS, META = "weights.safetensors", "model.json"
CKPT_TENSORS, CKPT_META = "checkpoint.safetensors", "checkpoint.json"
_SCALER_ARRAYS = {
    "StandardScaler": ("mean_", "scale_", "var_"),
    "MinMaxScaler": ("min_", "scale_", "data_min_", "data_max_", "data_range_"),
    "MaxAbsScaler": ("scale_", "max_abs_"),  # sparse views
}


class ModelFormatError(ValueError):
    """A model directory or checkpoint that is missing, corrupt, tampered or from another version."""


def _atomic_dir(path: Path, write) -> Path:
    """Call ``write(tmpdir)`` then move tmpdir to ``path`` (replacing it only after success)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp creates 0700; a model directory is ordinary data
        write(tmp)
        for f in tmp.iterdir():  # flush file contents before the rename makes them visible
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _flat(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict as safetensors entries ``prefix.name`` (CPU, contiguous)."""
    return {f"{prefix}.{k}": v.detach().cpu().contiguous() for k, v in state.items()}


def _unflat(prefix: str, tensors: dict[str, torch.Tensor], version: int = FORMAT_VERSION) -> dict[str, torch.Tensor]:
    """The entries written by ``_flat(prefix, ...)``, with the prefix removed (and a format-1 state
    dict's names translated)."""
    start = len(prefix) + 1
    out = {k[start:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    return _from_format_1(out) if version == 1 else out


def _from_format_1(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Format 1's two-view parameter names (``enc_x.proj.weight``, ``b_y``) -> the view list's."""

    def rename(k: str) -> str:
        for old, new in _FORMAT_1_NAMES.items():
            if k.startswith(old) and (old.endswith(".") or k == old):
                return new + k[len(old) :]
        return k

    return {rename(k): v for k, v in state.items()}


def _versions() -> dict[str, str]:
    return {"corrnet": __version__, "torch": torch.__version__, "numpy": np.__version__}


def _scaler_to(prefix: str, scaler: Any, tensors: dict[str, torch.Tensor]) -> dict[str, Any] | None:
    if scaler is None:
        return None
    kind = type(scaler).__name__
    for attr in _SCALER_ARRAYS[kind]:
        tensors[f"{prefix}.{attr}"] = torch.from_numpy(np.ascontiguousarray(getattr(scaler, attr), np.float64))
    return {"kind": kind, "params": scaler.get_params(), "n_samples_seen_": int(np.sum(scaler.n_samples_seen_))}


def _scaler_from(prefix: str, meta: dict[str, Any] | None, tensors: dict[str, torch.Tensor]) -> Any:
    if meta is None:
        return None
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

    kinds = {"StandardScaler": StandardScaler, "MinMaxScaler": MinMaxScaler, "MaxAbsScaler": MaxAbsScaler}
    if meta.get("kind") not in kinds:
        raise ModelFormatError(f"unknown scaler kind {meta.get('kind')!r} in the model file.")
    params = dict(meta["params"])
    if "feature_range" in params:
        params["feature_range"] = tuple(params["feature_range"])
    scaler = kinds[meta["kind"]](**params)
    for attr in _SCALER_ARRAYS[meta["kind"]]:
        setattr(scaler, attr, tensors[f"{prefix}.{attr}"].numpy())
    scaler.n_features_in_ = len(scaler.scale_)
    scaler.n_samples_seen_ = meta["n_samples_seen_"]
    return scaler


def _widths_and_scalers(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[list[int], list[Any]]:
    """The view widths and per-view scalers of a model file (formats 1 and 2 named them otherwise:
    ``n_features_views_`` for N views; ``n_features_in_``/``n_features_y_`` and ``scaler_x``/``scaler_y``
    for two)."""
    if "widths" in meta:
        dims = [int(d) for d in meta["widths"]]
    elif "n_features_views_" in meta:
        dims = [int(d) for d in meta["n_features_views_"]]
    else:
        dims = [int(meta["n_features_in_"]), int(meta["n_features_y_"])]
    if "scalers" in meta:
        scalers = [_scaler_from(f"scaler_{i}", m, tensors) for i, m in enumerate(meta["scalers"])]
    else:
        scalers = [_scaler_from(f"scaler_{v}", meta[f"scaler_{v}"], tensors) for v in "xy"]
    if len(scalers) != len(dims):
        raise ValueError(f"{len(dims)} view widths but {len(scalers)} scalers")
    return dims, scalers


def save_estimator(est: Any, path: str | os.PathLike, metrics: dict[str, float] | None = None) -> Path:
    """Write a fitted :class:`~corrnet.CorrNet` or :class:`~corrnet.MultiViewCorrNet` to the directory
    ``path`` (atomically)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est, "model_")
    tensors = _flat("model", est.model_.state_dict())
    params = est.get_params()
    for key in CUSTOM_MODULES:  # the classes' names: a module is code, and model.json holds none
        params[key] = None if params.get(key) is None else [_class_name(m) for m in params[key]]
    for key in TUPLE_FIELDS:
        params[key] = params[key] if params[key] in (None, "auto") else list(params[key])
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None
    meta = {
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "params": params,
        "estimator": type(est).__name__,
        "n_features_in_": est.n_features_in_,
        "config": est.config_.to_dict() if hasattr(est, "config_") else None,
        "resolved": {k: getattr(est, k, None) for k in ("engine_", "stop_reason_")},
        "lam_scores": [[lam, score] for lam, score in getattr(est, "lam_scores_", {}).items()],
        "n_epochs_": est.n_epochs_,
        "best_epoch_": est.best_epoch_,
        "history": est.history_,
        "metrics": metrics or {},
        "generation_warning": getattr(est, "generation_warning_", None),
    }
    meta["widths"] = list(est.model_.dims)
    meta["scalers"] = [_scaler_to(f"scaler_{i}", sc, tensors) for i, sc in enumerate(est.scalers_)]

    def write(d: Path) -> None:
        save_file(tensors, str(d / WEIGHTS), metadata={"format": "corrnet", "format_version": str(FORMAT_VERSION)})
        (d / META).write_text(json.dumps(meta, indent=1, default=float))

    return _atomic_dir(Path(path), write)


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The parsed ``model.json`` of a model directory, checked for format and version."""
    path = Path(path)
    if not (path / META).is_file() or not (path / WEIGHTS).is_file():
        raise ModelFormatError(
            f"{path} is not a corrnet model directory: it needs {META} and {WEIGHTS} (written by CorrNet.save)."
        )
    try:
        meta = json.loads((path / META).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelFormatError(f"{path / META} is corrupt ({err}); re-save or retrain the model.") from err
    if not isinstance(meta, dict) or "format_version" not in meta:
        raise ModelFormatError(f"{path / META} has no format_version: not a corrnet model file.")
    if meta["format_version"] not in READABLE_FORMATS:
        raise ModelFormatError(
            f"{path} was written in model format {meta['format_version']!r} (by corrnet "
            f"{meta.get('versions', {}).get('corrnet', '?')}); this corrnet reads formats {READABLE_FORMATS}. "
            "Load it with the corrnet version that wrote it and re-save, or retrain."
        )
    return meta


CUSTOM_MODULES = ("encoders", "decoders")


def _class_name(module: Any) -> str | None:
    return None if module is None else f"{type(module).__module__}.{type(module).__qualname__}"


def _custom_modules(path: Path, params: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The ``encoders`` / ``decoders`` to rebuild the model with: the caller's, checked against the
    class names the model was saved with (``params``). Loading imports nothing, so a model fitted
    with custom modules needs them passed again."""
    out = {}
    for key in CUSTOM_MODULES:
        saved, mods = params.get(key), given.get(key)
        if saved is None and mods is None:
            continue
        if mods is None:
            names = ", ".join(f"{key}[{i}]: {n}" for i, n in enumerate(saved) if n is not None)
            raise ModelFormatError(
                f"{path} was fitted with custom {key} ({names}). Loading runs no code, so it cannot build them: "
                f"pass them, freshly built, to load: load({str(path)!r}, {key}=[...]) (None for a built-in one)."
            )
        names = [_class_name(m) for m in mods]
        if saved is None or names != list(saved):
            raise ModelFormatError(
                f"{path} was fitted with {key} {saved}, but load was given {names}: pass modules of the same "
                "classes, built with the same arguments."
            )
        out[key] = list(mods)
    return out


def load_estimator(path: str | os.PathLike, cls: type, device: str | None = None, **modules: Any) -> Any:
    """Rebuild a fitted estimator of class ``cls`` (:class:`~corrnet.CorrNet`) from a model directory
    (no pickle, no code run). The class is passed in: this module never imports the estimator.
    ``modules``: ``encoders`` / ``decoders``, the custom modules the model was fitted with, built
    afresh by the caller (their weights are loaded into them)."""

    path = Path(path)
    meta = read_meta(path)
    kind = meta.get("estimator", "CorrNet")  # format 1 files: CorrNet
    if kind != cls.__name__:
        raise ModelFormatError(f"{path} holds a {kind} model; load it with {kind}.load.")
    try:
        tensors = load_file(str(path / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelFormatError(f"{path / WEIGHTS} is corrupt ({err}); re-save or retrain the model.") from err
    try:
        params = dict(meta["params"])
        for key in TUPLE_FIELDS:
            if params.get(key) is not None and params[key] != "auto":
                params[key] = tuple(params[key])
        if device is not None:
            params["device"] = device
        params.update(_custom_modules(path, params, modules))
        est = cls(**params)
        # models saved before "auto" settings existed have no resolved config: their params are concrete
        config = est.config()
        if meta.get("config"):
            saved = Config.from_dict(meta["config"]).validate()
            # correlation="auto" resolves by the views' kind (dense or sparse): either may have been fitted
            differ = min((est.config(sparse=s).unresolved_fields(saved) for s in (False, True)), key=len)
            if differ or not saved.resolved:
                raise ValueError(f"params and config disagree on {differ or 'auto settings'}")
            config = saved
        est.config_ = config
        for k, v in (meta.get("resolved") or {}).items():  # engine_, stop_reason_ (the rest derives from config_)
            if k in ("engine_", "stop_reason_"):
                setattr(est, k, v)
        est.lam_scores_ = {float(lam): float(score) for lam, score in meta.get("lam_scores", [])}
        dims, scalers = _widths_and_scalers(meta, tensors)
        model = CorrNetModule(dims, config, encoders=est.encoders, decoders=est.decoders)
        model.load_state_dict(_unflat("model", tensors, meta["format_version"]), strict=True)
        est.scalers_ = scalers
        est._set_widths(dims)
        if est.n_features_in_ != int(meta["n_features_in_"]):
            raise ValueError(f"n_features_in_ {meta['n_features_in_']} does not match the widths {dims}")
    except (KeyError, TypeError, RuntimeError, ValueError) as err:
        if isinstance(err, ModelFormatError):
            raise
        raise ModelFormatError(f"{path} does not describe a consistent corrnet model ({err}).") from err
    est.model_ = model.to(est._device()).eval()
    est.history_ = meta.get("history", [])
    est.n_epochs_, est.best_epoch_ = meta.get("n_epochs_"), meta.get("best_epoch_")
    est.n_iter_ = est.n_epochs_
    est.metrics_ = meta.get("metrics", {})
    est.generation_warning_ = meta.get("generation_warning")
    return est


# -- training checkpoints -------------------------------------------------------------------------
def save_checkpoint(state: Any, path: str | os.PathLike, extra: dict[str, Any] | None = None) -> Path:
    """Model, optimiser, shuffling RNG, epoch, history and early-stopping state, atomically."""
    tensors = _flat("model", state.model.state_dict())
    opt_sd = state.optimizer.state_dict()
    opt_meta: dict[str, Any] = {"param_groups": opt_sd["param_groups"], "state": {}}
    for pid, st in opt_sd["state"].items():
        opt_meta["state"][str(pid)] = {}
        for name, val in st.items():
            if torch.is_tensor(val):
                tensors[f"opt.{pid}.{name}"] = val.detach().cpu().contiguous()
                opt_meta["state"][str(pid)][name] = "tensor"
            elif isinstance(val, list) and all(torch.is_tensor(v) for v in val):  # L-BFGS's history
                for i, v in enumerate(val):
                    tensors[f"opt.{pid}.{name}.{i}"] = v.detach().cpu().contiguous()
                opt_meta["state"][str(pid)][name] = f"tensors:{len(val)}"
            else:
                opt_meta["state"][str(pid)][name] = val
    tensors["rng"] = state.generator.get_state()
    if state.best_state is not None:
        tensors.update(_flat("best", state.best_state))
    meta = {
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "epoch": state.epoch,
        "history": state.history,
        "best_score": state.best_score,
        "best_epoch": state.best_epoch,
        "bad_epochs": state.bad_epochs,
        "best_loss": state.best_loss,
        "loss_bad_epochs": state.loss_bad_epochs,
        "stop_reason": state.stop_reason,
        "optimizer": opt_meta,
        "extra": extra or {},
    }

    def write(d: Path) -> None:
        save_file(tensors, str(d / CKPT_TENSORS))
        (d / CKPT_META).write_text(json.dumps(meta, default=float))

    return _atomic_dir(Path(path), write)


def _opt_value(tensors: dict[str, torch.Tensor], key: str, meta: Any, device: torch.device) -> Any:
    """One optimiser state entry from a checkpoint: a tensor, a list of tensors, or the JSON value."""
    # cloned: a tensor read from the file may sit at an address whose alignment sends a BLAS
    # reduction (L-BFGS's dot products) down another code path than a fresh allocation, which
    # changes the rounding and so a resumed run's weights
    if meta == "tensor":
        return tensors[key].to(device).clone()
    if isinstance(meta, str) and meta.startswith("tensors:"):
        return [tensors[f"{key}.{i}"].to(device).clone() for i in range(int(meta.split(":")[1]))]
    return meta


def load_checkpoint(state: Any, path: str | os.PathLike) -> dict[str, Any]:
    """Restore ``state`` (a fresh :class:`~corrnet.training.TrainState`) in place; returns ``extra``."""
    path = Path(path)
    try:
        meta = json.loads((path / CKPT_META).read_text())
        tensors = load_file(str(path / CKPT_TENSORS))
    except (OSError, json.JSONDecodeError, SafetensorError) as err:
        raise ModelFormatError(f"checkpoint {path} is missing or corrupt ({err}); delete it to start over.") from err
    version = meta.get("format_version")
    if version not in READABLE_FORMATS:
        raise ModelFormatError(
            f"checkpoint {path} has format {version!r}; this corrnet reads formats {READABLE_FORMATS}."
        )
    device = next(state.model.parameters()).device
    state.model.load_state_dict(_unflat("model", tensors, version))
    opt_meta = meta["optimizer"]
    opt_state = {}
    for pid, st in opt_meta["state"].items():
        opt_state[int(pid)] = {n: _opt_value(tensors, f"opt.{pid}.{n}", v, device) for n, v in st.items()}
    state.optimizer.load_state_dict({"state": opt_state, "param_groups": opt_meta["param_groups"]})
    state.generator.set_state(tensors["rng"])
    best = {k: v.to(device) for k, v in _unflat("best", tensors, version).items()}
    state.best_state = best or None
    state.epoch, state.history = meta["epoch"], meta["history"]
    state.best_score, state.best_epoch, state.bad_epochs = meta["best_score"], meta["best_epoch"], meta["bad_epochs"]
    state.best_loss, state.loss_bad_epochs = meta.get("best_loss"), meta.get("loss_bad_epochs", 0)
    state.stop_reason = meta.get("stop_reason")
    return meta.get("extra", {})
