"""ClipCache: opening, split rows, float loading and refusal of broken caches."""

from __future__ import annotations

import json
import pickle
import shutil
import warnings

import numpy as np
import pytest
import soundfile as sf
from helpers_mtat import BAD_FILES, write_prepared_fixture

from mtlib import paths
from mtlib.data import metadata
from mtlib.data.cache import ClipCache, open_cache
from mtlib.data.mtat import AnnotationsBlobWarning
from mtlib.data.prepare import prepare_mtat
from mtlib.errors import DataError

CLIP_SECONDS = 2.0


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> ClipCache:
    return write_prepared_fixture(tmp_path_factory.mktemp("cache"), clip_seconds=CLIP_SECONDS)


def test_open_exposes_contract_attributes(cache):
    n = 16 * 2 + len(BAD_FILES)
    assert cache.sample_rate == 12000 and cache.clip_samples == 24000
    assert isinstance(cache.audio, np.memmap)
    assert cache.audio.dtype == np.int16 and cache.audio.shape == (n, 24000)
    assert not cache.audio.flags.writeable
    assert cache.labels.dtype == np.uint8 and cache.labels.shape == (n, 50)
    assert sorted(cache.tags) == sorted(metadata.standard_tags())
    assert list(cache.index.columns) == [
        "row", "clip_id", "mp3_path", "split_folder", "status", "n_tags_pos"]
    np.testing.assert_array_equal(cache.index["n_tags_pos"], cache.labels.sum(axis=1))


def test_load_float_is_exact_int16_scale(cache):
    rows = np.array([5, 0, 17])
    x = cache.load_float(rows)
    assert x.dtype == np.float32 and x.shape == (3, cache.clip_samples)
    np.testing.assert_array_equal(x, cache.audio[rows].astype(np.float32) / 32768)
    assert x.min() >= -1.0 and x.max() < 1.0 and np.abs(x).max() > 0.1
    buffer = np.full((3, cache.clip_samples), np.nan, dtype=np.float32)
    assert cache.load_float(rows, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, x)
    with pytest.raises(ValueError, match=r"out must be float32 \(3, 24000\)"):
        cache.load_float(rows, out=np.empty((2, 24000), np.float32))


def test_skipped_rows_are_zero_and_never_in_splits(cache):
    bad = (cache.index["status"] != "ok").to_numpy()
    assert bad.sum() == len(BAD_FILES)
    assert not cache.audio[bad].any()
    assert (cache.audio[~bad] != 0).any(axis=1).all()
    all_rows = np.concatenate([cache.split_rows("dieleman", p) for p in ("train", "valid", "test")])
    assert sorted(all_rows.tolist()) == np.flatnonzero(~bad).tolist()


def test_dieleman_split_rows_follow_folders_and_require_tag(cache):
    folder = cache.index["mp3_path"].str[0]
    for part, folders in (("train", "0123456789ab"), ("valid", "c"), ("test", "def")):
        rows = cache.split_rows("dieleman", part)
        assert rows.dtype == np.int64 and (np.diff(rows) > 0).all()
        assert set(folder[rows]) == set(folders)
        tagged = cache.split_rows("dieleman", part, require_tag=True)
        assert len(tagged) == len(rows) - 1  # each part has one untagged fixture clip
        assert (cache.labels[tagged].sum(axis=1) > 0).all()


def test_standard_split_needs_mtat_paths(cache):
    with pytest.raises(DataError, match="none of this dataset's paths are in them"):
        cache.split_rows("standard", "train")
    with pytest.raises(DataError, match="valid: standard, dieleman"):
        cache.split_rows("random", "train")
    with pytest.raises(DataError, match="valid: train, valid, test"):
        cache.split_rows("dieleman", "dev")


def test_standard_split_on_real_mtat_paths(tmp_path):
    """A dataset with real MTAT file names: rows follow the shipped lists, not the folders."""
    lists = metadata.standard_split_paths()
    in_c = set(lists["valid"])
    untagged_c = next(p for p in metadata.mtt_index()["mp3_path"] if p[0] == "c" and p not in in_c)
    chosen = lists["train"][:2] + lists["valid"][:2] + lists["test"][:2] + [untagged_c]
    root = tmp_path / "mtat"
    lines = ["\t".join(f'"{c}"' for c in ["clip_id", *metadata.TAGS188, "mp3_path"])]
    rng = np.random.default_rng(0)
    for i, mp3 in enumerate(chosen):
        (root / mp3).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / mp3, 0.1 * rng.standard_normal(2000).astype(np.float32), 16000,
                 format="MP3")
        tags = ["1" if (t == "guitar" and mp3 != untagged_c) else "0" for t in metadata.TAGS188]
        lines.append("\t".join(f'"{c}"' for c in [i + 1, *tags, mp3]))
    (root / "annotations_final.csv").write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationsBlobWarning)
        cache = ClipCache.open(prepare_mtat(root, 8000, n_tags=1, workers=1, progress=False,
                                            out=tmp_path / "prep", clip_seconds=0.1))
    assert cache.split_rows("standard", "train").tolist() == [0, 1]
    assert cache.split_rows("standard", "valid").tolist() == [2, 3]
    assert cache.split_rows("standard", "test").tolist() == [4, 5]
    assert cache.split_rows("dieleman", "valid").tolist() == [2, 3, 6]
    assert cache.split_rows("dieleman", "valid", require_tag=True).tolist() == [2, 3]


def test_pickling_reopens_instead_of_copying_audio(cache):
    blob = pickle.dumps(cache)
    assert len(blob) < cache.audio.nbytes / 10
    clone = pickle.loads(blob)
    assert isinstance(clone.audio, np.memmap)
    np.testing.assert_array_equal(clone.load_float([3]), cache.load_float([3]))


def test_open_cache_uses_prepared_dir(cache, tmp_path):
    target = paths.prepared_dir("copied-fixture", 12000)
    shutil.copytree(cache.path, target, dirs_exist_ok=True)
    assert open_cache("copied-fixture", 12000).path == target
    named = write_prepared_fixture(tmp_path, 8000, n_clips_per_folder=1, clip_seconds=0.5,
                                   bad_files=False, n_tags=5, dataset="named-fixture")
    assert named.path == paths.prepared_dir("named-fixture", 8000)
    assert open_cache("named-fixture", 8000).n_clips == 16
    with pytest.raises(DataError, match=r"no prepared cache for dataset 'nope' at 16000 Hz"):
        open_cache("nope", 16000)


def test_incomplete_or_inconsistent_caches_are_refused(cache, tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        ClipCache.open(tmp_path / "missing")
    broken = tmp_path / "broken"
    shutil.copytree(cache.path, broken)
    (broken / "COMPLETE").unlink()
    with pytest.raises(DataError, match=r"broken: prepared cache is incomplete"):
        ClipCache.open(broken)
    (broken / "COMPLETE").write_text("complete\n")
    np.save(broken / "labels.npy", np.zeros((3, 50), np.uint8))
    with pytest.raises(DataError, match=r"labels\.npy: expected uint8 \(36, 50\)"):
        ClipCache.open(broken)
    shutil.copy(cache.path / "labels.npy", broken / "labels.npy")
    np.save(broken / "audio.npy", np.zeros((36, 10), np.int16))
    with pytest.raises(DataError, match=r"audio\.npy: expected int16 \(36, 24000\)"):
        ClipCache.open(broken)
    meta = json.loads((broken / "meta.json").read_text())
    meta["format_version"] = 99
    (broken / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="format_version 99 is not supported"):
        ClipCache.open(broken)
