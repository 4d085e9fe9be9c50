"""MNIST from the original IDX files, checksum-verified; MNIST halves and Noisy MNIST views.

Where the files are looked for, in order: ``data_dir`` if given; ``$CORRNET_DATA`` and
``$CORRNET_DATA/mnist``; ``../shared/data/mnist`` from the working directory; ``~/.cache/corrnet/mnist``.
Nothing is downloaded unless ``download=True`` is passed.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from .base import MultiViewData, split_halves

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
CACHE = Path.home() / ".cache" / "corrnet" / "mnist"


def md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Directories searched for the MNIST files, in order."""
    dirs: list[Path] = []
    if data_dir is not None:
        dirs += [Path(data_dir), Path(data_dir) / "mnist"]
    env = os.environ.get("CORRNET_DATA")
    if env:
        dirs += [Path(env), Path(env) / "mnist"]
    dirs += [Path.cwd().parent / "shared" / "data" / "mnist", CACHE]
    return dirs


def find_mnist(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The first candidate directory that holds all four files, or None."""
    for d in candidate_dirs(data_dir):
        if all((d / f).is_file() for f in FILES.values()):
            return d
    return None


def verify(directory: Path) -> None:
    """Check each file's MD5; raise ``ValueError`` naming the corrupt file and the fix."""
    for name, expected in MD5.items():
        got = md5(directory / name)
        if got != expected:
            raise ValueError(
                f"{directory / name} has MD5 {got}, expected {expected}: the file is corrupt or not the "
                "original MNIST. Delete it and copy it again (or use download=True)."
            )


def download(target: Path = CACHE, mirrors: tuple[str, ...] = MIRRORS, timeout: float = 30.0) -> Path:
    """Fetch the four files into ``target``, verifying each checksum; atomic per file."""
    target.mkdir(parents=True, exist_ok=True)
    for name, expected in MD5.items():
        dest = target / name
        if dest.is_file() and md5(dest) == expected:
            continue
        errors = []
        for base in mirrors:
            try:
                with (
                    urllib.request.urlopen(base + name, timeout=timeout) as r,
                    tempfile.NamedTemporaryFile(dir=target, delete=False) as tmp,
                ):
                    shutil.copyfileobj(r, tmp)
                tmp_path = Path(tmp.name)
                if md5(tmp_path) != expected:
                    tmp_path.unlink()
                    errors.append(f"{base}: checksum mismatch")
                    continue
                os.replace(tmp_path, dest)
                break
            except (urllib.error.URLError, OSError) as err:
                errors.append(f"{base}: {err}")
        else:
            raise ConnectionError(
                f"could not download {name} ({'; '.join(errors)}). If you are offline, copy the four MNIST "
                f"files into a directory and set CORRNET_DATA to it."
            )
    return target


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in (1, 3):
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {magic:#x}).")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(dims))} values, found {arr.size}.")
    return arr.reshape(dims)


def load_mnist(
    data_dir: str | os.PathLike | None = None, download_if_missing: bool = False, check: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST as ``(train_images (60000, 28, 28) uint8, train_labels (60000,), test_images
    (10000, 28, 28), test_labels (10000,))``, in file order. ``check`` verifies the MD5 sums."""
    d = find_mnist(data_dir)
    if d is None:
        if not download_if_missing:
            searched = ", ".join(str(p) for p in candidate_dirs(data_dir))
            raise FileNotFoundError(
                f"MNIST files not found (searched {searched}). Set CORRNET_DATA to a directory holding "
                f"{', '.join(FILES.values())}, pass data_dir=..., or pass download=True."
            )
        d = download()
    if check:
        verify(d)
    return tuple(_read_idx(d / FILES[k]) for k in ("train_images", "train_labels", "test_images", "test_labels"))


def mnist_halves(data_dir: str | os.PathLike | None = None, download: bool = False, raw: bool = False) -> MultiViewData:
    """Left 14 columns / right 14 columns of MNIST (392 + 392 pixels in [0, 1]), the original split:
    train = first 50 000 of MNIST train, validation = last 10 000, test = MNIST test.
    ``raw=True`` keeps the files' pixel values 0..255 (a view *not* in [0, 1], for the defaults table)."""
    tr_img, tr_lab, te_img, te_lab = load_mnist(data_dir, download_if_missing=download)
    div = np.float32(1.0 if raw else 255.0)
    tr = tr_img.astype(np.float32) / div
    te = te_img.astype(np.float32) / div
    L, R = split_halves(tr)
    Lt, Rt = split_halves(te)
    y, yt = tr_lab.astype(np.int64), te_lab.astype(np.int64)
    return MultiViewData(
        "mnist-halves-raw" if raw else "mnist-halves",
        L[:50000],
        R[:50000],
        y[:50000],
        L[50000:],
        R[50000:],
        y[50000:],
        Lt,
        Rt,
        yt,
        shape_x=(28, 14),
        shape_y=(28, 14),
    )


def noisy_mnist(
    data_dir: str | os.PathLike | None = None, random_state: int = 0, download: bool = False
) -> MultiViewData:
    """Noisy MNIST (Wang et al., ICML 2015): view 1 is the digit rotated by an angle drawn uniformly
    from [-45, 45] degrees; view 2 is a *different* image of the same class with uniform [0, 1] noise
    added and clipped to [0, 1]. 784 + 784 pixels; same 50 000 / 10 000 / 10 000 split as
    :func:`mnist_halves`. Seeded: the same ``random_state`` gives the same views."""
    tr_img, tr_lab, te_img, te_lab = load_mnist(data_dir, download_if_missing=download)
    images = np.concatenate([tr_img, te_img]).astype(np.float32) / 255.0
    labels = np.concatenate([tr_lab, te_lab]).astype(np.int64)
    v1, v2, _ = noisy_views(images, labels, (0, 50000, 60000, 70000), random_state)
    s = (slice(0, 50000), slice(50000, 60000), slice(60000, 70000))
    return MultiViewData(
        "noisy-mnist",
        v1[s[0]],
        v2[s[0]],
        labels[s[0]],
        v1[s[1]],
        v2[s[1]],
        labels[s[1]],
        v1[s[2]],
        v2[s[2]],
        labels[s[2]],
        shape_x=(28, 28),
        shape_y=(28, 28),
    )


def noisy_views(
    images: np.ndarray, labels: np.ndarray, bounds: tuple[int, ...], random_state: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two Noisy MNIST views of (n, h, w) images in [0, 1] -> (n, h*w) float32 each, and the
    (n,) index of the image each view-2 row was made from.

    View 1: each image rotated by U[-45, 45] degrees (bilinear, zero fill). View 2: for each row, a
    different image of the same class from the same split (``bounds`` are the split edges, so no
    test image leaks into training rows), plus U[0, 1] noise, clipped to [0, 1].
    """
    from scipy.ndimage import rotate

    rng = np.random.default_rng(random_state)
    n = len(images)
    angles = rng.uniform(-45.0, 45.0, size=n)
    v1 = np.stack([rotate(im, a, reshape=False, order=1, mode="constant") for im, a in zip(images, angles)])
    v1 = np.clip(v1, 0.0, 1.0)
    partner = np.arange(n)
    for lo, hi in itertools.pairwise(bounds):
        for c in np.unique(labels[lo:hi]):
            idx = lo + np.flatnonzero(labels[lo:hi] == c)
            if len(idx) < 2:
                raise ValueError(f"class {c} has a single image in rows {lo}:{hi}; it needs a different partner.")
            perm = rng.permutation(len(idx))
            # a random cyclic order: each image is paired with the next one, never with itself
            partner[idx[perm]] = idx[np.roll(perm, -1)]
    noise = rng.uniform(0.0, 1.0, size=images.shape).astype(np.float32)
    v2 = np.clip(images[partner] + noise, 0.0, 1.0)
    return v1.reshape(n, -1).astype(np.float32), v2.reshape(n, -1).astype(np.float32), partner
