"""Model-ready views of a prepared cache: Dieleman subclips and SampleCNN segments.

Batches are cut straight from the int16 cache (one row copy per clip, no per-sample Python
work) and converted to float32 on the target device, so loading stays far faster than the
models consume it (see ``benchmarks/bench_training.py``).

Views
-----
- :class:`SubclipDataset`: a clip of ``clip_samples`` becomes ``[10, 1, clip_samples // 10]``
  (10 consecutive, non-overlapping subclips; 2.9 s each at any sample rate).
- :class:`SegmentDataset`: 59,049-sample segments. Training: one random crop per clip per
  epoch, offset drawn from ``numpy.random.default_rng([seed, epoch, row])`` (never a global
  RNG), so a crop depends only on the seed, the epoch and the clip's cache row. Evaluation:
  all ``clip_samples // 59049`` non-overlapping segments from the start of the clip
  (7 at 16 kHz, 5 at 12 kHz); the tail shorter than a segment is not used.

Input normalisation (:class:`InputNorm`) is an affine map ``x' = (x - shift) / scale`` of the
float samples ``x = int16 / 32768``:

- ``none``: shift 0, scale 1.
- ``standardise``: shift = mean, scale = standard deviation.
- ``minmax``: shift = min, scale = max - min, so values land in ``MINMAX_RANGE`` = [0, 1]
  (the report, Sec. V).

Granularity (``scope``): ``clip`` uses the statistics of the whole 29.1 s clip (all subclips
and segments of one clip share them, so a crop is normalised like the clip it came from);
``dataset`` uses one set of statistics over the training clips actually used for training,
computed exactly (integer sums) on a fixed subsample of at most 256 of them, evenly spaced in
row order. A silent clip (zero range or deviation) keeps scale 1, so it maps to zeros.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
from dataclasses import dataclass
from typing import Iterator, Protocol, Sequence

import numpy as np
import torch

from mtlib.config import INPUT_NORM_SCOPES, INPUT_NORMS, ConfigError, RunConfig
from mtlib.constants import N_SUBCLIPS, PARTS, SEGMENT_SAMPLES
from mtlib.data.cache import INT16_SCALE

# set per trial by mtlib.training.executors (Ray, fractional GPUs)
GPU_SHARE_ENV = "MTLIB_GPU_SHARE"

DATASET_STATS_CLIPS = 256  # training clips used for dataset-scope statistics
SUBSET_SEED = 0  # fixed: the max_train_clips / train_eval subsets do not depend on the run seed


class CacheLike(Protocol):
    """What the views need from a cache (:class:`mtlib.data.cache.ClipCache` fits)."""

    audio: np.ndarray  # int16 [n_clips, clip_samples]
    labels: np.ndarray  # uint8 [n_clips, n_tags]
    tags: list[str]
    clip_samples: int


# --- audio storage ----------------------------------------------------------------------
class AudioSource:
    """int16 clips of a cache, handed out as torch tensors on ``device``.

    ``resident=True`` copies the needed rows to the device once (the whole working set lives
    in GPU memory, and a batch is an on-device gather); otherwise rows are copied from the
    memmap per batch (into pinned memory when the device is CUDA).
    """

    def __init__(
        self,
        audio: np.ndarray,
        device: str | torch.device = "cpu",
        rows: np.ndarray | None = None,
        resident: bool = False,
    ) -> None:
        self.audio = audio
        self.device = torch.device(device)
        self.clip_samples = int(audio.shape[1])
        self.resident = bool(resident)
        self._pin = self.device.type == "cuda"
        self._position: np.ndarray | None = None
        self._stored: torch.Tensor | None = None
        if self.resident:
            rows = np.unique(np.asarray(rows if rows is not None else np.arange(len(audio))))
            self._position = np.full(len(audio), -1, dtype=np.int64)
            self._position[rows] = np.arange(len(rows))
            self._stored = torch.empty(
                (len(rows), self.clip_samples), dtype=torch.int16, device=self.device
            )
            chunk = max(1, (64 << 20) // (2 * self.clip_samples))  # ~64 MiB per host copy
            for start in range(0, len(rows), chunk):
                part = self._gather_host(rows[start : start + chunk])
                self._stored[start : start + len(part)].copy_(part, non_blocking=True)

    @staticmethod
    def working_set_bytes(n_rows: int, clip_samples: int) -> int:
        return 2 * n_rows * clip_samples

    def _gather_host(self, rows: np.ndarray) -> torch.Tensor:
        out = torch.empty((len(rows), self.clip_samples), dtype=torch.int16, pin_memory=self._pin)
        buf = out.numpy()
        for i, r in enumerate(rows):  # row copies: fancy indexing a memmap would copy twice
            buf[i] = self.audio[r]
        return out

    def _positions(self, rows: np.ndarray) -> torch.Tensor:
        pos = self._position[rows]
        if (pos < 0).any():
            raise IndexError(f"rows {rows[pos < 0][:5].tolist()} were not loaded to the device")
        return torch.as_tensor(pos, device=self.device)

    def clips(self, rows: np.ndarray) -> torch.Tensor:
        """int16 ``[len(rows), clip_samples]`` on the device."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.resident:
            return self._stored.index_select(0, self._positions(rows))
        return self._gather_host(rows).to(self.device, non_blocking=True)

    def crops(self, rows: np.ndarray, offsets: np.ndarray, length: int) -> torch.Tensor:
        """int16 ``[len(rows), length]``: ``audio[row, offset : offset + length]`` per row."""
        rows = np.asarray(rows, dtype=np.int64)
        offsets = np.asarray(offsets, dtype=np.int64)
        if self.resident:
            pos = self._positions(rows)
            idx = torch.as_tensor(offsets, device=self.device)[:, None] + torch.arange(
                length, device=self.device
            )
            return self._stored[pos[:, None], idx]
        out = torch.empty((len(rows), length), dtype=torch.int16, pin_memory=self._pin)
        buf = out.numpy()
        for i, (r, o) in enumerate(zip(rows, offsets, strict=True)):
            buf[i] = self.audio[r, o : o + length]
        return out.to(self.device, non_blocking=True)

    def clip_sums(self, rows: np.ndarray) -> np.ndarray:
        """Exact per-clip statistics, int64 ``[len(rows), 4]``: sum, sum of squares, min, max."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), 4), dtype=np.int64)
        if self.resident:
            chunk = 64
            for s in range(0, len(rows), chunk):
                x = self.clips(rows[s : s + chunk]).to(torch.int64)
                stats = torch.stack(
                    [x.sum(1), (x * x).sum(1), x.min(1).values, x.max(1).values], dim=1
                )
                out[s : s + len(x)] = stats.cpu().numpy()
            return out
        for i, r in enumerate(rows):
            x = np.asarray(self.audio[r])
            x64 = x.astype(np.int64)
            out[i] = (x64.sum(), np.dot(x64, x64), x.min(), x.max())
        return out


# --- normalisation ----------------------------------------------------------------------
MINMAX_RANGE = (0.0, 1.0)  # where min-max scaling maps a clip (the report, Sec. V)

def _affine_from_sums(kind: str, sums: np.ndarray, n_samples: np.ndarray) -> np.ndarray:
    """(shift, scale) in float units per row of ``sums`` (see :meth:`AudioSource.clip_sums`)."""
    sums = np.atleast_2d(sums).astype(np.float64)
    n = np.asarray(n_samples, dtype=np.float64).reshape(-1)
    if kind == "none":
        shift, scale = np.zeros(len(sums)), np.ones(len(sums))
    elif kind == "standardise":
        mean = sums[:, 0] / n
        var = np.maximum(sums[:, 1] / n - mean**2, 0.0)
        shift, scale = mean, np.sqrt(var)
    elif kind == "minmax":  # (x - shift) / scale maps [min, max] onto MINMAX_RANGE
        lo, hi = MINMAX_RANGE
        scale = (sums[:, 3] - sums[:, 2]) / (hi - lo)
        shift = sums[:, 2] - lo * scale
    else:
        raise ConfigError(f"unknown input_norm {kind!r}; valid: {', '.join(INPUT_NORMS)}")
    scale = np.where(scale > 0, scale, INT16_SCALE)  # silent: (x - shift) / 1.0 in float units
    return np.stack([shift / INT16_SCALE, scale / INT16_SCALE], axis=1)


@dataclass(frozen=True)
class InputNorm:
    """Input normalisation ``kind`` (none|standardise|minmax) at ``scope`` (clip|dataset).

    For ``scope="dataset"``, ``shift``/``scale`` (float units) hold the training statistics;
    build it with :meth:`fit`.
    """

    kind: str = "none"
    scope: str = "clip"
    shift: float = 0.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in INPUT_NORMS:
            raise ConfigError(f"unknown input_norm {self.kind!r}; valid: {', '.join(INPUT_NORMS)}")
        if self.scope not in INPUT_NORM_SCOPES:
            raise ConfigError(
                f"unknown input_norm_scope {self.scope!r}; valid: {', '.join(INPUT_NORM_SCOPES)}"
            )

    @classmethod
    def fit(
        cls, kind: str, scope: str, source: AudioSource, train_rows: np.ndarray
    ) -> "InputNorm":
        """Dataset scope: statistics of <= 256 evenly spaced ``train_rows``; clip scope: as is."""
        if scope == "clip" or kind == "none":
            return cls(kind, scope)
        train_rows = np.asarray(train_rows, dtype=np.int64)
        if len(train_rows) == 0:
            raise ConfigError("dataset-scope input normalisation needs training clips")
        pick = np.unique(np.linspace(0, len(train_rows) - 1, DATASET_STATS_CLIPS).round())
        sums = source.clip_sums(train_rows[pick.astype(np.int64)])
        total = np.array([[sums[:, 0].sum(), sums[:, 1].sum(), sums[:, 2].min(), sums[:, 3].max()]])
        shift, scale = _affine_from_sums(kind, total, [len(sums) * source.clip_samples])[0]
        return cls(kind, scope, float(shift), float(scale))

    def affine(self, source: AudioSource, rows: np.ndarray) -> np.ndarray:
        """float32 ``[len(rows), 2]``: (shift, scale) in float units for each clip."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.scope == "dataset" or self.kind == "none":
            return np.tile(np.array([self.shift, self.scale], np.float32), (len(rows), 1))
        sums = source.clip_sums(rows)
        return _affine_from_sums(self.kind, sums, np.full(len(rows), source.clip_samples)).astype(
            np.float32
        )


# --- views ------------------------------------------------------------------------------
class _ClipView:
    """Shared part of the views: rows, labels and per-clip normalisation of one split."""

    units_per_clip: int
    unit_samples: int

    def __init__(
        self,
        source: AudioSource,
        labels: np.ndarray,
        rows: Sequence[int] | np.ndarray,
        norm: InputNorm | None = None,
    ) -> None:
        self.source = source
        self.rows = np.asarray(rows, dtype=np.int64)
        self.norm = norm or InputNorm()
        self.labels = np.asarray(labels)[self.rows].astype(np.float32)  # [n, n_tags]
        affine = self.norm.affine(source, self.rows)
        # x' = int16 * a + b with a = 1 / (32768 scale), b = -shift / scale (one fused pass).
        a = 1.0 / (INT16_SCALE * affine[:, 1].astype(np.float64))
        b = -affine[:, 0].astype(np.float64) / affine[:, 1]
        self._ab = torch.as_tensor(np.stack([a, b], 1), dtype=torch.float32, device=source.device)
        self._labels_dev = torch.as_tensor(self.labels, device=source.device)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def n_tags(self) -> int:
        return self.labels.shape[1]

    def _to_float(self, int16: torch.Tensor, positions: np.ndarray) -> torch.Tensor:
        ab = self._ab[torch.as_tensor(positions, device=self._ab.device)]
        shape = (-1,) + (1,) * (int16.dim() - 1)
        return int16.to(torch.float32).mul_(ab[:, 0].reshape(shape)).add_(ab[:, 1].reshape(shape))

    def _targets(self, positions: np.ndarray) -> torch.Tensor:
        return self._labels_dev[torch.as_tensor(positions, device=self._labels_dev.device)]

    def batch(self, positions: np.ndarray, epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One clip: ``(x [units, 1, unit_samples], y [n_tags])`` (epoch 0 for crops)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} clips")
        x, y = self.batch(np.array([i % len(self)]))
        return x[0], y[0]


class SubclipDataset(_ClipView):
    """Dieleman view: clip -> float32 ``[10, 1, clip_samples // 10]`` (consecutive subclips).

    :meth:`batch` returns ``x [B, 10, 1, clip_samples // 10]`` and ``y [B, n_tags]`` (0/1
    float32) on the source's device.
    """

    def __init__(self, source, labels, rows, norm=None, n_subclips: int = N_SUBCLIPS) -> None:
        super().__init__(source, labels, rows, norm)
        self.units_per_clip = n_subclips
        self.unit_samples = source.clip_samples // n_subclips

    def batch(self, positions: np.ndarray, epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        positions = np.asarray(positions, dtype=np.int64)
        used = self.units_per_clip * self.unit_samples
        raw = self.source.clips(self.rows[positions])[:, :used]
        x = self._to_float(raw, positions).reshape(
            len(positions), self.units_per_clip, 1, self.unit_samples
        )
        return x, self._targets(positions)


class SegmentDataset(_ClipView):
    """SampleCNN view: 59,049-sample segments.

    ``segments=0``: a clip's non-overlapping segments (``clip_samples // 59049`` of them);
    ``segments=N``: N evenly spaced, overlapping segments from the clip's start to its end.
    :meth:`batch` gives ``x [B, units, 1, 59049]`` and ``y [B, n_tags]``. A training view with
    ``crop=True`` gives instead one random crop per clip, ``x [B, 1, 1, 59049]``, its offset
    from ``default_rng([seed, epoch, row])``.
    """

    def __init__(
        self,
        source,
        labels,
        rows,
        norm=None,
        crop: bool = False,
        seed: int = 0,
        segments: int = 0,
        segment_samples: int = SEGMENT_SAMPLES,
    ) -> None:
        if source.clip_samples < segment_samples:
            raise ConfigError(
                f"clips of {source.clip_samples} samples are shorter than a "
                f"{segment_samples}-sample segment"
            )
        super().__init__(source, labels, rows, norm)
        self.crop = crop
        self.seed = int(seed)
        self.unit_samples = segment_samples
        if segments:
            offsets = np.linspace(0, source.clip_samples - segment_samples, segments)
            self.offsets = offsets.round().astype(np.int64)
        else:
            self.offsets = np.arange(source.clip_samples // segment_samples) * segment_samples
        self.units_per_clip = 1 if crop else len(self.offsets)

    def crop_offsets(self, positions: np.ndarray, epoch: int) -> np.ndarray:
        """Start sample of each training crop; depends only on (seed, epoch, cache row)."""
        high = self.source.clip_samples - self.unit_samples + 1
        return np.array(
            [
                np.random.default_rng([self.seed, epoch, int(r)]).integers(0, high)
                for r in self.rows[np.asarray(positions, dtype=np.int64)]
            ],
            dtype=np.int64,
        )

    def batch(self, positions: np.ndarray, epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        positions = np.asarray(positions, dtype=np.int64)
        rows = self.rows[positions]
        if self.crop:
            raw = self.source.crops(rows, self.crop_offsets(positions, epoch), self.unit_samples)
        else:
            clips = self.source.clips(rows)
            raw = torch.stack([clips[:, o : o + self.unit_samples] for o in self.offsets], 1)
        x = self._to_float(raw, positions).reshape(
            len(positions), self.units_per_clip, 1, self.unit_samples
        )
        return x, self._targets(positions)


def iterate_batches(
    view: _ClipView, batches: Sequence[np.ndarray], epoch: int = 0, prefetch: bool = False
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``view.batch(b, epoch)`` for each position array; ``prefetch`` prepares the next
    batch in a background thread while the caller trains on the current one."""
    if not prefetch:
        for b in batches:
            yield view.batch(b, epoch)
        return
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(view.batch, batches[0], epoch) if len(batches) else None
        for i in range(len(batches)):
            current = pending.result()
            if i + 1 < len(batches):
                pending = pool.submit(view.batch, batches[i + 1], epoch)
            yield current


# --- the four views of a run ------------------------------------------------------------
@dataclass
class DataViews:
    """Everything a run reads: the split views, tag names and training positives per tag."""

    train: _ClipView  # training view (crops for SampleCNN)
    valid: _ClipView
    test: _ClipView
    train_eval: _ClipView  # fixed train subset scored like validation (for train ROC-AUC)
    tags: list[str]
    n_train_pos: np.ndarray  # int64 [n_tags]
    clip_ids: dict[str, np.ndarray]  # part -> clip ids of its rows (valid, test)
    source: AudioSource


def select_tags(cache_tags: Sequence[str], wanted: Sequence[str]) -> np.ndarray:
    """Column indices of ``wanted`` (all columns when empty); ConfigError names unknown tags."""
    cache_tags = list(cache_tags)
    if not wanted:
        return np.arange(len(cache_tags))
    unknown = [t for t in wanted if t not in cache_tags]
    if unknown:
        raise ConfigError(f"unknown tag(s) {unknown}; valid: {', '.join(cache_tags)}")
    return np.array([cache_tags.index(t) for t in wanted], dtype=np.int64)


def subset_rows(rows: np.ndarray, n: int | None) -> np.ndarray:
    """A fixed random subset of ``n`` rows (ascending); the same for every run seed.

    The subsets are nested: a smaller ``n`` takes a prefix of the same permutation.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if n is None or n >= len(rows):
        return rows
    return np.sort(np.random.default_rng(SUBSET_SEED).permutation(rows)[:n])


def gpu_share() -> float:
    """This trial's share of its GPU, in (0, 1]: ``MTLIB_GPU_SHARE`` (set by the Ray executor
    for fractional-GPU trials), 1 when unset."""
    raw = os.environ.get(GPU_SHARE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        share = float(raw)
    except ValueError:
        share = float("nan")
    if not 0.0 < share <= 1.0:
        raise ConfigError(f"{GPU_SHARE_ENV}={raw!r}: expected a GPU share in (0, 1]")
    return share


def gpu_fits(
    n_rows: int, clip_samples: int, device: torch.device, fraction: float | None = None
) -> bool:
    """Whether ``n_rows`` int16 clips take at most ``fraction`` of the device's free memory.

    ``fraction`` defaults to half this trial's GPU share (:func:`gpu_share`): four trials
    with a quarter of a GPU each may together claim at most half of it, leaving the rest for
    activations, even when they all check the free memory at the same moment.
    """
    if device.type != "cuda":
        return False
    if fraction is None:
        fraction = 0.5 * gpu_share()
    free, _ = torch.cuda.mem_get_info(device)
    return AudioSource.working_set_bytes(n_rows, clip_samples) <= fraction * free


def build_views(
    cache: CacheLike,
    config: RunConfig,
    device: str | torch.device = "cpu",
    resident: bool | None = None,
) -> DataViews:
    """The train / valid / test / train-eval views of ``cache`` for ``config``.

    Rows come from ``cache.split_rows(config.split, part, config.require_tag)``; training
    rows are cut to ``config.max_train_clips`` (fixed subset, :func:`subset_rows`), and the
    train-eval rows are the first ``config.train_eval_clips`` of the same permutation. On
    CUDA the whole working set is copied to GPU memory when it takes <= half the free memory
    (times this trial's GPU share, :func:`gpu_fits`); ``resident`` True / False forces the
    choice (benchmarks compare the two paths).
    """
    device = torch.device(device)
    columns = select_tags(cache.tags, config.tags)
    tags = [cache.tags[j] for j in columns]
    labels = np.asarray(cache.labels)[:, columns]
    parts = {p: cache.split_rows(config.split, p, config.require_tag) for p in PARTS}
    for part, rows in parts.items():
        if len(rows) == 0:
            raise ConfigError(f"split {config.split!r} has no usable {part} clips in {cache!r}")
    train_rows = subset_rows(parts["train"], config.max_train_clips)
    eval_rows = subset_rows(train_rows, max(1, config.train_eval_clips))
    needed = np.unique(np.concatenate([train_rows, parts["valid"], parts["test"]]))
    if resident is None:
        resident = gpu_fits(len(needed), cache.clip_samples, device)
    source = AudioSource(cache.audio, device, rows=needed, resident=resident)
    norm = InputNorm.fit(config.input_norm, config.input_norm_scope, source, train_rows)

    if config.model == "dieleman":
        def view(rows: np.ndarray, train: bool) -> _ClipView:
            return SubclipDataset(source, labels, rows, norm)
    else:
        def view(rows: np.ndarray, train: bool) -> _ClipView:
            return SegmentDataset(source, labels, rows, norm, seed=config.seed,
                                  crop=train and config.train_segments == "crop",
                                  segments=config.segments)

    clip_ids = {}
    index = getattr(cache, "index", None)
    for part in ("valid", "test"):
        if index is not None and "clip_id" in index:
            clip_ids[part] = index["clip_id"].to_numpy()[parts[part]].astype(np.int64)
        else:
            clip_ids[part] = parts[part].copy()
    return DataViews(
        train=view(train_rows, True),
        valid=view(parts["valid"], False),
        test=view(parts["test"], False),
        train_eval=view(eval_rows, False),
        tags=tags,
        n_train_pos=labels[train_rows].sum(0).astype(np.int64),
        clip_ids=clip_ids,
        source=source,
    )


def eval_batch_clips(view: _ClipView, device: torch.device) -> int:
    """Clips per evaluation batch: about 64 units on CPU, 512 on CUDA (never below 1)."""
    units = 512 if torch.device(device).type == "cuda" else 64
    return max(1, math.floor(units / view.units_per_clip))
