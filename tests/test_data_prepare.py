"""prepare_mtat: decoding, bad inputs, idempotence, resumption after a hard kill."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from helpers_mtat import BAD_FILES, write_mtat_fixture

from mtlib import paths
from mtlib.data import prepare
from mtlib.data.cache import ClipCache
from mtlib.data.mtat import AnnotationsBlobWarning, read_annotations, top_tags
from mtlib.errors import DataError

REAL_CLIP = Path(__file__).parent / "data" / "joram-moments_of_clarity-08-solipsism-59-88.mp3"
CLIP_SECONDS = 1.0
CACHE_FILES = ("audio.npy", "index.csv", "labels.npy", "meta.json", "skipped.csv", "COMPLETE")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_mtat_fixture(
        tmp_path_factory.mktemp("mtat"), n_clips_per_folder=2, seconds=CLIP_SECONDS + 0.25
    )


def _prepare(root, out, **kw):
    kw.setdefault("workers", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationsBlobWarning)
        return prepare.prepare_mtat(
            root, 12000, progress=False, out=out, clip_seconds=CLIP_SECONDS, **kw
        )


@pytest.fixture(scope="module")
def reference(root, tmp_path_factory):
    """An uninterrupted single-process run: the bytes every other run must reproduce."""
    return _prepare(root, tmp_path_factory.mktemp("ref") / "cache", chunk_rows=4)


def _assert_same_cache(a: Path, b: Path) -> None:
    for name in CACHE_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert sorted(p.name for p in b.iterdir()) == sorted(CACHE_FILES)  # no state left behind


def test_real_mtat_clip_decodes_to_mtat_length():
    assert prepare.clip_samples_for(12000) == 349500
    assert prepare.clip_samples_for(16000) == 466000
    data, sr = sf.read(REAL_CLIP, dtype="float32")
    assert sr == 16000 and data.shape == (465984,)  # 29.124 s of native 16 kHz mono
    native = prepare.decode_clip(REAL_CLIP, 16000, 466000)
    assert native.dtype == np.int16 and native.shape == (466000,)
    np.testing.assert_array_equal(native[:465984], np.rint(data * 32768).astype(np.int16))
    assert not native[465984:].any()  # zero padding up to 29.125 s
    at12k = prepare.decode_clip(REAL_CLIP, 12000, 349500)
    assert at12k.dtype == np.int16 and at12k.shape == (349500,)
    assert np.abs(at12k.astype(np.float32)).max() > 1000  # real music, not silence
    last16, last12 = np.flatnonzero(native)[-1], np.flatnonzero(at12k)[-1]
    assert abs(last12 - last16 * 0.75) < 50  # same content on a 3/4 time axis

    # 16 -> 12 kHz keeps the band below 4 kHz: the energies of 250 Hz bands agree
    def band_energy(x: np.ndarray, n: int) -> np.ndarray:
        power = (np.abs(np.fft.rfft(x[:n] / 32768.0)) / n) ** 2  # 29 bins per Hz for n below
        return power[: 4000 * 29].reshape(16, -1).sum(axis=1)

    band_a, band_b = band_energy(native, 464000), band_energy(at12k, 348000)
    np.testing.assert_allclose(band_b, band_a, rtol=0.05)


def test_decode_clip_reasons(tmp_path):
    (tmp_path / "empty.mp3").write_bytes(b"")
    (tmp_path / "junk.mp3").write_bytes(b"junk" * 100)
    cases = {"nothere.mp3": "missing", "empty.mp3": "empty", "junk.mp3": "undecodable"}
    for name, reason in cases.items():
        with pytest.raises(prepare.ClipError, match=name) as err:
            prepare.decode_clip(tmp_path / name, 12000, 1000)
        assert err.value.reason == reason
    with pytest.raises(prepare.ClipError, match=r"decodes to 29\.12 s, expected >= 30\.00 s"):
        prepare.decode_clip(REAL_CLIP, 12000, 349500, min_seconds=30.0)
    with pytest.raises(prepare.ClipError) as err:  # default threshold: 25 s per 29.125 s
        prepare.decode_clip(REAL_CLIP, 12000, 2 * 349500)
    assert err.value.reason == "too_short"


def test_prepare_fixture_contents(root, reference):
    cache = ClipCache.open(reference)
    ann = read_annotations(root, verify_blob=False)
    tags = top_tags(ann, 50)
    assert cache.tags == tags and cache.clip_samples == 12000
    np.testing.assert_array_equal(cache.labels, ann[tags].to_numpy())
    status = dict(zip(cache.index["clip_id"], cache.index["status"], strict=True))
    for bad in BAD_FILES:
        assert status[bad.clip_id] == bad.status
    assert cache.meta["n_ok"] == 32 and cache.meta["n_clips"] == 36
    assert cache.meta["source_root"] == str(root.resolve())
    skipped = pd.read_csv(reference / "skipped.csv")
    assert list(skipped.columns) == ["clip_id", "mp3_path", "reason"]
    assert sorted(skipped["clip_id"]) == sorted(b.clip_id for b in BAD_FILES)
    reasons = dict(zip(skipped["clip_id"], skipped["reason"], strict=True))
    for bad in BAD_FILES:
        assert reasons[bad.clip_id].startswith(bad.status + ": ")
    assert "0 bytes" in reasons[35644] and "expected >= " in reasons[90002]
    for row in (0, 13, 31):  # rows are exactly decode_clip of their mp3
        mp3 = root / cache.index.at[row, "mp3_path"]
        np.testing.assert_array_equal(cache.audio[row], prepare.decode_clip(mp3, 12000, 12000))


def test_second_call_is_a_no_op(root, reference):
    before = {n: os.stat(reference / n).st_mtime_ns for n in CACHE_FILES}
    assert _prepare(root, reference, chunk_rows=4) == reference
    assert {n: os.stat(reference / n).st_mtime_ns for n in CACHE_FILES} == before
    with pytest.raises(DataError, match=r"already prepared with tags=.*choose another --dataset"):
        _prepare(root, reference, n_tags=10)


def test_hard_kill_then_resume_is_byte_identical(root, reference, tmp_path, monkeypatch):
    out = tmp_path / "killed"
    code = (
        "import sys, warnings; sys.path.insert(0, sys.argv[3]);"
        "warnings.simplefilter('ignore');"
        "from mtlib.data.prepare import prepare_mtat;"
        "prepare_mtat(sys.argv[1], 12000, progress=False, out=sys.argv[2], workers=1,"
        f" clip_seconds={CLIP_SECONDS}, chunk_rows=4)"
    )
    env = {**os.environ, prepare.KILL_AFTER_CHUNKS_ENV: "3"}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(root), str(out), str(paths.repo_root())],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert not (out / "COMPLETE").exists()
    done = sorted(p.name for p in (out / prepare.STATE_DIR).glob("chunk-*.json"))
    assert done == ["chunk-00000.json", "chunk-00001.json", "chunk-00002.json"]
    with pytest.raises(DataError, match="incomplete"):
        ClipCache.open(out)
    audio = np.load(out / "audio.npy", mmap_mode="r")
    assert audio[:12].any() and not audio[12:].any()  # 3 chunks of 4 rows on disk
    del audio
    # resume decodes only the 36 - 12 rows of unrecorded chunks
    decoded = []
    real_decode = prepare.decode_clip
    monkeypatch.setattr(
        prepare, "decode_clip", lambda p, *a: decoded.append(p) or real_decode(p, *a)
    )
    _prepare(root, out, chunk_rows=4)
    assert len(decoded) == 36 - 12
    _assert_same_cache(reference, out)
    assert json.loads((out / "meta.json").read_text())["n_ok"] == 32


def test_changed_plan_restarts_and_parallel_run_matches(root, reference, tmp_path):
    out = tmp_path / "par"
    out.mkdir()
    (out / prepare.STATE_DIR).mkdir()
    (out / prepare.STATE_DIR / "plan.json").write_text('{"stale": true}')
    (out / prepare.STATE_DIR / "chunk-00000.json").write_text('{"chunk": 0}')
    np.save(out / "audio.npy", np.ones((36, 12000), np.int16))
    _prepare(root, out, workers=2, chunk_rows=5)  # different chunking, 2 processes
    _assert_same_cache(reference, out)


def test_prepared_dir_default_and_cli(root, capsys):
    parser = argparse.ArgumentParser()
    prepare.add_command(parser.add_subparsers())
    args = parser.parse_args(
        [
            "prepare-mtat",
            "--root",
            str(root),
            "--sample-rate",
            "8000",
            "--dataset",
            "clitest",
            "--n-tags",
            "5",
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationsBlobWarning)
        assert args.func(args) == 0
    # default 29.125 s clips: the 1.25 s fixture mp3s are all too short, and say so
    out = paths.prepared_dir("clitest", 8000)
    assert f"{out}: 0/36 clips ok, 5 tags, 233000 samples at 8000 Hz" in capsys.readouterr().out
    cache = ClipCache.open(out)
    assert set(cache.index["status"]) == {"too_short", "empty", "undecodable", "missing"}
    assert cache.split_rows("dieleman", "train").size == 0


def test_bad_arguments(root, tmp_path):
    with pytest.raises(DataError, match="sample rate must be a positive number of Hz"):
        prepare.prepare_mtat(root, 0, out=tmp_path / "x")
    with pytest.raises(DataError, match="n_tags must be >= 1"):
        _prepare(root, tmp_path / "x", n_tags=0)
    with pytest.raises(DataError, match="MTAT root folder does not exist"):
        prepare.prepare_mtat(tmp_path / "none", 12000, out=tmp_path / "x")
