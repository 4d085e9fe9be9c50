"""AV digits: spoken digits (Free Spoken Digit Dataset) paired with handwritten digits (MNIST).

View 1 (audio): a log-mel spectrogram of each recording, computed with librosa (32 mel bands x 32
frames of 16 ms = 0.51 s at 8 kHz; shorter clips are padded with silence, longer ones centre-cropped),
in dB, scaled to [0, 1] with the training split's min and max: 1 024 features.
View 2 (image): an MNIST image of the same digit (784 pixels in [0, 1]), drawn with a seeded RNG
from MNIST train for training/validation clips and from MNIST test for test clips.
Splits by speaker, so test voices are never heard in training: one held-out speaker for test,
one for validation, the other four for training.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from .base import MultiViewData
from .mnist import load_mnist

SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
N_MELS, N_FRAMES, SR, N_FFT, HOP = 32, 32, 8000, 512, 128


def find_fsdd(data_dir: str | os.PathLike | None = None) -> Path:
    """The ``recordings`` directory of FSDD: ``data_dir``, ``$CORRNET_DATA/fsdd``, ``../shared/data/fsdd``."""
    cands = []
    if data_dir is not None:
        cands += [Path(data_dir), Path(data_dir) / "recordings", Path(data_dir) / "fsdd" / "recordings"]
    env = os.environ.get("CORRNET_DATA")
    if env:
        cands += [Path(env) / "fsdd" / "recordings"]
    cands += [Path.cwd().parent / "shared" / "data" / "fsdd" / "recordings"]
    for c in cands:
        if c.is_dir() and any(c.glob("*.wav")):
            return c
    raise FileNotFoundError(
        "Free Spoken Digit Dataset recordings not found (searched "
        + ", ".join(map(str, cands))
        + "). Set CORRNET_DATA to a directory holding fsdd/recordings/*.wav."
    )


def log_mel(path: Path) -> np.ndarray:
    """(N_MELS, N_FRAMES) log-mel spectrogram in dB (librosa), padded/cropped to fixed size."""
    import librosa

    audio, _ = librosa.load(path, sr=SR)
    S = librosa.feature.melspectrogram(y=audio, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    S = librosa.power_to_db(S, ref=1.0, top_db=None)
    floor = -100.0  # silence, in dB: what padding adds
    S = np.maximum(S, floor)
    if S.shape[1] >= N_FRAMES:
        start = (S.shape[1] - N_FRAMES) // 2
        return S[:, start : start + N_FRAMES]
    pad = N_FRAMES - S.shape[1]
    return np.pad(S, ((0, 0), (pad // 2, pad - pad // 2)), constant_values=floor)


def audio_features(rec_dir: Path, cache: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (n, N_MELS * N_FRAMES) in dB, digit labels (n,), speaker names (n,)), sorted by
    file name; cached in ``~/.cache/corrnet`` keyed by the file list and the settings."""
    files = sorted(rec_dir.glob("*.wav"))
    key = hashlib.sha256(
        ("|".join(f"{f.name}:{f.stat().st_size}" for f in files) + f"{N_MELS},{N_FRAMES},{SR},{N_FFT},{HOP}").encode()
    ).hexdigest()[:16]
    cache_file = Path.home() / ".cache" / "corrnet" / f"fsdd-logmel-{key}.npz"
    labels = np.array([int(f.name.split("_")[0]) for f in files])
    speakers = np.array([f.name.split("_")[1] for f in files])
    if cache and cache_file.is_file():
        with np.load(cache_file) as z:
            return z["features"], labels, speakers
    feats = np.stack([log_mel(f).reshape(-1) for f in files]).astype(np.float32)
    if cache:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp.npz")
        np.savez(tmp, features=feats)
        os.replace(tmp, cache_file)
    return feats, labels, speakers


def av_digits(
    data_dir: str | os.PathLike | None = None,
    test_speaker: str = "theo",
    val_speaker: str = "nicolas",
    random_state: int = 0,
    raw: bool = False,
) -> MultiViewData:
    """Audio (view X, 1 024 log-mel features) paired with an image of the same digit (view Y, 784
    pixels). Splits by speaker: ``test_speaker`` (500 clips) for test, ``val_speaker`` for
    validation, the other four speakers (2 000 clips) for training. Both views are in [0, 1]
    (audio min-max scaled on the training clips); ``raw=True`` keeps the audio in dB and the
    pixels at 0..255."""
    if test_speaker == val_speaker or {test_speaker, val_speaker} - set(SPEAKERS):
        raise ValueError(f"test_speaker and val_speaker must be two different names from {SPEAKERS}.")
    feats, labels, speakers = audio_features(find_fsdd(data_dir))
    tr_img, tr_lab, te_img, te_lab = load_mnist(data_dir)
    rng = np.random.default_rng(random_state)
    splits = {}
    for name, mask in (
        ("train", ~np.isin(speakers, [test_speaker, val_speaker])),
        ("val", speakers == val_speaker),
        ("test", speakers == test_speaker),
    ):
        idx = np.flatnonzero(mask)
        idx = idx[rng.permutation(len(idx))]  # mix digits and speakers within the split
        pool_img, pool_lab = (te_img, te_lab) if name == "test" else (tr_img, tr_lab)
        images = np.empty((len(idx), 784), np.float32)
        for c in range(10):
            rows = np.flatnonzero(labels[idx] == c)
            choice = rng.choice(np.flatnonzero(pool_lab == c), size=len(rows), replace=False)
            images[rows] = pool_img[choice].reshape(len(rows), -1) / np.float32(255.0)
        splits[name] = (feats[idx], images, labels[idx])
    lo, hi = splits["train"][0].min(), splits["train"][0].max()
    scale = lambda a: np.clip((a - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)  # noqa: E731
    if raw:  # audio in dB, images 0..255: views at their natural scales
        scale = lambda a: a.astype(np.float32)  # noqa: E731
        splits = {k: (a, i * np.float32(255.0), y) for k, (a, i, y) in splits.items()}
    (a_tr, i_tr, y_tr), (a_va, i_va, y_va), (a_te, i_te, y_te) = splits["train"], splits["val"], splits["test"]
    return MultiViewData(
        "av-digits-raw" if raw else "av-digits",
        scale(a_tr),
        i_tr,
        y_tr,
        scale(a_va),
        i_va,
        y_va,
        scale(a_te),
        i_te,
        y_te,
        shape_x=(N_MELS, N_FRAMES),
        shape_y=(28, 28),
    )
