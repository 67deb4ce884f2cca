"""A deliberately simple learnability baseline for an MTAT-format corpus.

Features: the mean and standard deviation over time of each band of a log-mel spectrogram
(64 bands, 32 ms frames, 16 ms hop at 16 kHz), i.e. 128 numbers per clip. Classifier:
one-vs-rest logistic regression (L2, C = 0.1) on standardised features, trained on the train
and valid folders (0-c; nothing is tuned, so the valid folder needs no holding out) and scored
on the test folders (d-f) by macro ROC-AUC over the tags with positives and negatives in both.

On the stand-in corpus this baseline should land between 0.80 and 0.95: far below 1.0, so
the corpus is not trivially separable, yet well above chance, so the tags are audible.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mtlib.constants import MTAT_SAMPLE_RATE as SAMPLE_RATE
from mtlib.constants import N_TAGS
from mtlib.errors import DataError

N_FFT = 512
HOP = 256
N_MELS = 64


def mel_filterbank(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT,
                   n_mels: int = N_MELS) -> np.ndarray:
    """Triangular HTK-mel filters, float64 [n_mels, n_fft // 2 + 1], 0 Hz to Nyquist."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(0, hz_to_mel(sample_rate / 2), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lower) / (centre - lower)
    down = (upper - freqs[None, :]) / (upper - centre)
    return np.clip(np.minimum(up, down), 0.0, None)


_FILTERS = mel_filterbank()
_WINDOW = np.hanning(N_FFT)


def logmel_stats(audio: np.ndarray) -> np.ndarray:
    """float32 [2 * N_MELS]: per-band mean, then per-band std, of the dB log-mel of
    ``audio`` (float [n_samples] at 16 kHz, n_samples >= N_FFT)."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1 or len(x) < N_FFT:
        raise DataError(f"expected mono audio of at least {N_FFT} samples, got {x.shape}")
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP] * _WINDOW
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    mel_db = 10.0 * np.log10(power @ _FILTERS.T + 1e-10)
    return np.concatenate([mel_db.mean(axis=0), mel_db.std(axis=0)]).astype(np.float32)


def _features_of(path: str) -> np.ndarray:
    import soundfile as sf

    try:
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as err:  # noqa: BLE001 - libsndfile raises several error types
        raise DataError(f"{path}: cannot decode ({err})") from err
    if sr != SAMPLE_RATE:
        raise DataError(f"{path}: sample rate {sr} Hz; the baseline expects {SAMPLE_RATE} Hz")
    return logmel_stats(audio.mean(axis=1))


def corpus_features(root: str | Path, n_tags: int = N_TAGS, workers: int | None = None,
                    progress: bool = True) -> dict:
    """Features and labels of every clip of the MTAT-format folder ``root``.

    Returns ``{"features": float32 [n, 128], "labels": uint8 [n, T], "tags": [T],
    "split": [n] of "train"|"valid"|"test", "mp3_path": [n]}``; T = top ``n_tags`` tags with
    positives (fewer if fewer have any).
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from mtlib.data.mtat import folder_split, read_annotations, top_tags
    from mtlib.progress import tqdm

    root = Path(root)
    annotations = read_annotations(root)
    tags = top_tags(annotations, n_tags)
    files = [str(root / p) for p in annotations["mp3_path"]]
    workers = max(1, min(workers or os.cpu_count() or 1, len(files)))
    if workers == 1:
        feats = [_features_of(f) for f in tqdm(files, desc="log-mel features", unit="clip",
                                                disable=not progress)]
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            feats = list(tqdm(pool.map(_features_of, files, chunksize=16), total=len(files),
                              desc="log-mel features", unit="clip", disable=not progress))
    return {
        "features": np.stack(feats),
        "labels": annotations[tags].to_numpy(dtype=np.uint8),
        "tags": tags,
        "split": [folder_split(p) for p in annotations["mp3_path"]],
        "mp3_path": list(annotations["mp3_path"]),
    }


def evaluate_baseline(features: np.ndarray, labels: np.ndarray, tags: list[str],
                      split: list[str], c: float = 0.1) -> dict:
    """Train on "train" and "valid" rows, score "test" rows. Returns macro_roc_auc, per_tag
    {tag: auc}, excluded tags (no positive or no negative in train or test), n_train, n_test."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    split = np.asarray(split)
    train, test = np.isin(split, ["train", "valid"]), split == "test"
    if not train.any() or not test.any():
        raise DataError("the baseline needs clips in both the train/valid (0-c) and test (d-f) "
                        "folders")
    scaler = StandardScaler().fit(features[train])
    x_train, x_test = scaler.transform(features[train]), scaler.transform(features[test])
    per_tag, excluded = {}, []
    for j, tag in enumerate(tags):
        y_train, y_test = labels[train, j], labels[test, j]
        if len(set(y_train)) < 2 or len(set(y_test)) < 2:
            excluded.append(tag)
            continue
        model = LogisticRegression(C=c, max_iter=2000).fit(x_train, y_train)
        per_tag[tag] = float(roc_auc_score(y_test, model.decision_function(x_test)))
    if not per_tag:
        raise DataError("no tag has positives and negatives in both train and test")
    return {
        "macro_roc_auc": float(np.mean(list(per_tag.values()))),
        "per_tag": per_tag,
        "excluded_tags": excluded,
        "n_train": int(train.sum()),
        "n_test": int(test.sum()),
        "c": c,
    }


def run_baseline(root: str | Path, workers: int | None = None, progress: bool = True) -> dict:
    """:func:`corpus_features` then :func:`evaluate_baseline` on the MTAT-format ``root``."""
    data = corpus_features(root, workers=workers, progress=progress)
    return evaluate_baseline(data["features"], data["labels"], data["tags"], data["split"])
