"""Reading and writing views as files: .npy, .npz, .csv, .parquet; TOML/JSON/YAML config files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

VIEW_FORMATS = (".npy", ".npz", ".csv", ".parquet")


def read_array(spec: str | os.PathLike, mmap: bool = False) -> np.ndarray:
    """Read a 2-D (or 1-D, for labels) array. ``file.npz:key`` picks an array from an .npz (default:
    its only array). CSV: numeric columns, a header row is detected and skipped. Errors name the
    file and the fix. ``mmap``: an .npy file is memory-mapped (read-only ``numpy.memmap``) and a
    .parquet file opened as a :class:`corrnet.data.ParquetArray` (read by row groups), not loaded."""
    spec = str(spec)
    key = None
    if ".npz:" in spec:
        spec, key = spec.rsplit(":", 1)
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file. Pass an existing {'/'.join(VIEW_FORMATS)} file.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                names = list(z.keys())
                if key is None:
                    if len(names) != 1:
                        raise ValueError(f"{path} holds arrays {names}; pick one with {path}:NAME.")
                    key = names[0]
                if key not in names:
                    raise ValueError(f"{path} has no array {key!r}; it holds {names}.")
                return z[key]
        if suffix == ".csv":
            import pandas as pd

            first = path.open().readline().split(",")
            header = 0 if any(_not_number(c) for c in first) else None
            return pd.read_csv(path, header=header).to_numpy()
        if suffix == ".parquet" and mmap:
            from .data import ParquetArray

            return ParquetArray(path)  # type: ignore[return-value]
        if suffix == ".parquet":
            import pandas as pd

            return pd.read_parquet(path).to_numpy()
    except (ValueError, OSError, EOFError) as err:
        if isinstance(err, ValueError) and str(path) in str(err):
            raise
        raise ValueError(f"{path} could not be read as {suffix} ({err}); is the file corrupt?") from err
    raise ValueError(f"{path}: unsupported file type {suffix!r}; use one of {VIEW_FORMATS}.")


def _not_number(s: str) -> bool:
    try:
        float(s)
        return False
    except ValueError:
        return True


def write_array(path: str | os.PathLike, arr: np.ndarray) -> Path:
    """Write .npy, .npz (key ``arr``) or .csv atomically (temporary file, then rename)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz", ".csv"):
        raise ValueError(f"{path}: output must end in .npy, .npz or .csv.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        if suffix == ".npy":
            np.save(tmp, arr)
        elif suffix == ".npz":
            np.savez(tmp, arr=arr)
        else:
            np.savetxt(tmp, arr, delimiter=",", fmt="%.7g")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """Estimator parameters from a .toml, .json or .yaml file (a flat table of CorrNet parameters,
    optionally with ``preset = "paper"``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist.")
    suffix = path.suffix.lower()
    text = path.read_text()
    try:
        if suffix == ".toml":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                import tomli as tomllib

            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError as err:
                raise ValueError(f"{path}: reading YAML needs PyYAML (pip install pyyaml); or use TOML.") from err
            data = yaml.safe_load(text)
        else:
            raise ValueError(f"{path}: config files must be .toml, .json or .yaml.")
    except ValueError:
        raise
    except Exception as err:  # tomllib.TOMLDecodeError, yaml.YAMLError
        raise ValueError(f"{path} is not valid {suffix[1:]}: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a table of parameters, got {type(data).__name__}.")
    return data
