"""Dataset views: subclip / segment layout, seeded crops, normalisation, split selection."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers_train import TAGS, one_torch_thread, write_learnable_cache

from mtlib import paths
from mtlib.config import ConfigError, RunConfig
from mtlib.data.datasets import (
    AudioSource,
    InputNorm,
    SegmentDataset,
    SubclipDataset,
    build_views,
    iterate_batches,
    subset_rows,
)

SEG = 59_049


_one_thread = pytest.fixture(autouse=True)(one_torch_thread)


@pytest.fixture
def cache():
    return write_learnable_cache("views", 12000, clip_samples=25_600, clips_per_folder=4,
                                 silent_rows=1)


@pytest.fixture
def seg_cache():
    return write_learnable_cache("segs", 16000, clip_samples=2 * SEG + 500, clips_per_folder=1)


def _float(cache, row):
    return np.asarray(cache.audio[row], dtype=np.float64) / 32768.0


def test_subclip_layout_without_normalisation(cache):
    rows = cache.split_rows("dieleman", "train")
    view = SubclipDataset(AudioSource(cache.audio), cache.labels, rows)
    x, y = view.batch(np.array([2, 0]))
    assert x.shape == (2, 10, 1, 2560) and x.dtype == torch.float32
    # subclip k of clip r holds samples k*2560 .. (k+1)*2560 - 1
    np.testing.assert_allclose(x[0, 3, 0].numpy(), _float(cache, rows[2])[3 * 2560 : 4 * 2560])
    np.testing.assert_array_equal(y.numpy(), cache.labels[rows[[2, 0]]])
    xi, yi = view[2]
    assert torch.equal(xi, x[0]) and torch.equal(yi, y[0])
    with pytest.raises(IndexError):
        view[len(view)]


def test_clip_scope_minmax_and_standardise(cache):
    rows = cache.split_rows("dieleman", "train")[:5]
    src = AudioSource(cache.audio)
    mm = SubclipDataset(src, cache.labels, rows, InputNorm("minmax", "clip")).batch(np.arange(5))[0]
    flat = mm.reshape(5, -1)
    np.testing.assert_allclose(flat.max(1).values.numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(flat.min(1).values.numpy(), 0.0, atol=1e-6)  # the report: [0, 1]
    st = SubclipDataset(src, cache.labels, rows, InputNorm("standardise", "clip"))
    flat = st.batch(np.arange(5))[0].reshape(5, -1).double()
    np.testing.assert_allclose(flat.mean(1).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(flat.std(1, correction=0).numpy(), 1.0, atol=1e-5)


def test_silent_clip_normalises_to_zeros(cache):
    silent = np.flatnonzero(cache.index["status"] == "empty")
    assert len(silent) == 1 and not cache.audio[silent[0]].any()
    for kind in ("minmax", "standardise"):
        view = SubclipDataset(AudioSource(cache.audio), cache.labels, silent, InputNorm(kind))
        x = view.batch(np.array([0]))[0]
        assert torch.isfinite(x).all() and not x.any()


def test_dataset_scope_uses_train_statistics(cache):
    train = cache.split_rows("dieleman", "train")
    src = AudioSource(cache.audio)
    norm = InputNorm.fit("standardise", "dataset", src, train)
    data = np.concatenate([_float(cache, r) for r in train])  # 48 clips <= 256: all of them
    assert norm.shift == pytest.approx(data.mean(), abs=1e-9)
    assert norm.scale == pytest.approx(data.std(), rel=1e-9)
    valid = cache.split_rows("dieleman", "valid")
    x = SubclipDataset(src, cache.labels, valid, norm).batch(np.arange(2))[0]
    expected = (_float(cache, valid[1]) - data.mean()) / data.std()
    np.testing.assert_allclose(x[1].reshape(-1).numpy(), expected, atol=1e-5)
    mm = InputNorm.fit("minmax", "dataset", src, train)
    assert mm.shift == pytest.approx(data.min())
    assert mm.scale == pytest.approx(data.max() - data.min())


def test_segment_crops_are_seeded_by_seed_epoch_row(seg_cache):
    rows = seg_cache.split_rows("dieleman", "train")
    src = AudioSource(seg_cache.audio)

    def view(seed):
        return SegmentDataset(src, seg_cache.labels, rows, crop=True, seed=seed)

    a = view(0).batch(np.array([0, 1, 2]), epoch=1)[0]
    assert a.shape == (3, 1, 1, SEG)
    assert torch.equal(a, view(0).batch(np.array([0, 1, 2]), epoch=1)[0])
    # a crop depends on its own clip only, not on the rest of the batch
    assert torch.equal(a[1], view(0).batch(np.array([1]), epoch=1)[0][0])
    assert not torch.equal(a, view(0).batch(np.array([0, 1, 2]), epoch=2)[0])
    assert not torch.equal(a, view(1).batch(np.array([0, 1, 2]), epoch=1)[0])
    off = view(0).crop_offsets(np.array([1]), epoch=1)[0]
    expected = _float(seg_cache, rows[1])[off : off + SEG]
    np.testing.assert_allclose(a[1, 0, 0].numpy(), expected)
    assert 0 <= off <= seg_cache.clip_samples - SEG


def test_segment_evaluation_uses_all_whole_segments(seg_cache):
    rows = seg_cache.split_rows("dieleman", "test")
    view = SegmentDataset(AudioSource(seg_cache.audio), seg_cache.labels, rows)
    x, _ = view.batch(np.array([0]))
    assert x.shape == (1, 2, 1, SEG)  # (2 * 59049 + 500) // 59049 = 2; the 500-sample tail unused
    np.testing.assert_allclose(x[0, 1, 0].numpy(), _float(seg_cache, rows[0])[SEG : 2 * SEG])
    with pytest.raises(ConfigError, match="shorter than"):
        SegmentDataset(AudioSource(np.zeros((2, 1000), np.int16)), np.zeros((2, 1)), [0])


def test_evenly_spaced_segments_cover_the_clip(seg_cache):
    # The report's reading: ten subclips per clip, each a whole SampleCNN segment.
    rows = seg_cache.split_rows("dieleman", "test")
    view = SegmentDataset(AudioSource(seg_cache.audio), seg_cache.labels, rows, segments=10)
    x, _ = view.batch(np.array([0]))
    assert x.shape == (1, 10, 1, SEG) and view.offsets[0] == 0
    assert view.offsets[-1] == seg_cache.clip_samples - SEG
    clip = _float(seg_cache, rows[0])
    np.testing.assert_allclose(x[0, 9, 0].numpy(), clip[-SEG:])
    assert np.all(np.diff(view.offsets) > 0)


def test_build_views_subsets_and_tags(cache):
    cfg = RunConfig(dataset="views", max_train_clips=20, train_eval_clips=8, tags=("top", "low"))
    views = build_views(cache, cfg)
    train_rows = cache.split_rows("dieleman", "train")
    assert len(views.train) == 20 and set(views.train.rows) <= set(train_rows)
    assert set(views.train_eval.rows) <= set(views.train.rows) and len(views.train_eval) == 8
    # the subset does not depend on the run seed, and smaller subsets are nested
    assert np.array_equal(build_views(cache, cfg.replace(seed=5)).train.rows, views.train.rows)
    assert set(subset_rows(train_rows, 10)) <= set(subset_rows(train_rows, 20))
    assert views.tags == ["top", "low"]
    cols = [TAGS.index("top"), TAGS.index("low")]
    np.testing.assert_array_equal(views.valid.labels, cache.labels[views.valid.rows][:, cols])
    train_labels = cache.labels[views.train.rows][:, cols]
    np.testing.assert_array_equal(views.n_train_pos, train_labels.sum(0))
    test_ids = cache.index["clip_id"].to_numpy()[views.test.rows]
    assert np.array_equal(views.clip_ids["test"], test_ids)
    with pytest.raises(ConfigError, match="unknown tag.*valid: low, mid, high, top"):
        build_views(cache, cfg.replace(tags=("drums",)))
    # the silent "empty" row is never part of a split
    silent_row = int(np.flatnonzero(cache.index["status"] == "empty")[0])
    assert all(silent_row not in v.rows for v in (views.train, views.valid, views.test))
    # residency: automatic (never on a CPU) unless forced
    assert not views.source.resident
    forced = build_views(cache, cfg, resident=True)
    assert forced.source.resident
    assert torch.equal(forced.valid.batch(np.arange(2))[0], views.valid.batch(np.arange(2))[0])


def test_prefetching_iterator_yields_the_same_batches(cache):
    rows = cache.split_rows("dieleman", "train")
    view = SubclipDataset(AudioSource(cache.audio), cache.labels, rows, InputNorm("minmax"))
    batches = [np.array([0, 1]), np.array([5, 3, 2]), np.array([7])]
    plain = list(iterate_batches(view, batches))
    fetched = list(iterate_batches(view, batches, prefetch=True))
    for (xa, ya), (xb, yb) in zip(plain, fetched, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_views_on_a_prepared_mtat_fixture(tmp_path, monkeypatch):
    # The prepared MTAT fixture: real mp3 decode through prepare_mtat, skipped bad files.
    from helpers_mtat import write_prepared_fixture

    monkeypatch.setenv("MTLIB_CACHE_DIR", str(tmp_path))

    cache = write_prepared_fixture(paths.cache_dir(), 12000, n_clips_per_folder=1,
                                   clip_seconds=3.0)
    views = build_views(cache, RunConfig(dataset="fixture"))
    assert (cache.index["status"].to_numpy()[views.train.rows] == "ok").all()
    x, y = views.train.batch(np.arange(2))
    assert x.shape == (2, 10, 1, 3600) and y.shape == (2, 50)
    flat = x.reshape(2, -1)
    np.testing.assert_allclose(flat.max(1).values.numpy(), 1.0, atol=1e-6)  # minmax/clip
    np.testing.assert_allclose(flat.min(1).values.numpy(), 0.0, atol=1e-6)


def test_device_resident_source_matches_memmap_source(seg_cache):
    # The GPU path keeps the working set in one tensor; exercise its indexing on the CPU.
    rows = seg_cache.split_rows("dieleman", "train")
    mapped = AudioSource(seg_cache.audio)
    resident = AudioSource(seg_cache.audio, rows=rows, resident=True)
    pick = rows[[3, 0, 5]]
    assert torch.equal(mapped.clips(pick), resident.clips(pick))
    offsets = np.array([0, 17, seg_cache.clip_samples - SEG])
    assert torch.equal(mapped.crops(pick, offsets, SEG), resident.crops(pick, offsets, SEG))
    np.testing.assert_array_equal(mapped.clip_sums(pick), resident.clip_sums(pick))
    norm = InputNorm("standardise", "clip")
    a = SegmentDataset(mapped, seg_cache.labels, rows, norm, crop=True, seed=2)
    b = SegmentDataset(resident, seg_cache.labels, rows, norm, crop=True, seed=2)
    assert torch.equal(a.batch(np.arange(4), epoch=3)[0], b.batch(np.arange(4), epoch=3)[0])
    with pytest.raises(IndexError, match="not loaded"):
        resident.clips(seg_cache.split_rows("dieleman", "test")[:1])


def test_gpu_residency_budget_scales_with_the_trials_gpu_share(monkeypatch):
    from mtlib.data import datasets

    cuda = torch.device("cuda")
    clip = 349_500
    one_clip = AudioSource.working_set_bytes(1, clip)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (100 * one_clip, 0))
    monkeypatch.delenv(datasets.GPU_SHARE_ENV, raising=False)
    assert datasets.gpu_fits(50, clip, cuda)  # whole GPU: half the free memory
    assert not datasets.gpu_fits(51, clip, cuda)
    monkeypatch.setenv(datasets.GPU_SHARE_ENV, "0.25")  # a quarter of the GPU: an eighth
    assert datasets.gpu_fits(12, clip, cuda)
    assert not datasets.gpu_fits(13, clip, cuda)
    assert not datasets.gpu_fits(1, clip, torch.device("cpu"))
    monkeypatch.setenv(datasets.GPU_SHARE_ENV, "1.5")
    with pytest.raises(ConfigError, match=r"MTLIB_GPU_SHARE='1.5': expected a GPU share"):
        datasets.gpu_fits(1, clip, cuda)
