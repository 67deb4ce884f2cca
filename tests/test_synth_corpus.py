"""The stand-in corpus on disk: MTAT format, data-layer loading, determinism, resuming."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from smoke_env import session_dirs

from mtlib import cli
from mtlib.data import metadata
from mtlib.data.cache import ClipCache
from mtlib.data.mtat import folder_split, read_annotations, top_tags
from mtlib.data.prepare import prepare_mtat
from mtlib.errors import DataError
from mtlib.standin.corpus import (
    ANNOTATIONS_FILE,
    METADATA_FILE,
    PLAN_FILE,
    render_clip,
    synth_mtat,
)
from mtlib.standin.plan import GENERATOR_VERSION, plan_corpus
from mtlib.standin.render import CLIP_SAMPLES, SAMPLE_RATE, write_mp3
from mtlib.standin.vocab import VOCABULARY

CLIPS = 16  # 12 train, 1 valid, 3 test


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A 16-clip corpus written by two worker processes (the pool path)."""
    base = tmp_path_factory.getbasetemp()
    with session_dirs(base):  # module fixtures run before conftest's redirect
        yield synth_mtat(base / "corpus16", CLIPS, seed=0, workers=2, progress=False)


def _decoded(root):
    return {p.relative_to(root).as_posix(): sf.read(p, dtype="int16")[0]
            for p in sorted(root.glob("?/*.mp3"))}


def test_annotations_are_in_mtat_format(corpus):
    text = (corpus / ANNOTATIONS_FILE).read_text()
    lines = text.splitlines()
    assert len(lines) == CLIPS + 1 and text.endswith("\n")
    header = lines[0].split("\t")
    assert header == [f'"{c}"' for c in ["clip_id", *metadata.TAGS188, "mp3_path"]]
    for line in lines[1:]:
        fields = line.split("\t")
        assert len(fields) == 190
        assert all(f.startswith('"') and f.endswith('"') for f in fields)
    df = read_annotations(corpus)
    unused = [t for t in metadata.TAGS188 if t not in VOCABULARY]
    assert int(df[unused].to_numpy().sum()) == 0
    assert set(top_tags(df, 50)) <= set(VOCABULARY)


def test_loads_through_data_layer_without_special_case(corpus, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "unpublished annotations" warning either
        df = read_annotations(corpus)
    assert {folder_split(p) for p in df["mp3_path"]} == {"train", "valid", "test"}
    out = prepare_mtat(corpus, 16_000, dataset="standin-test", workers=1, progress=False,
                       out=tmp_path / "prepared")
    cache = ClipCache.open(out)
    assert (cache.index["status"] == "ok").all()
    assert cache.audio.shape == (CLIPS, 466_000)
    assert set(cache.tags) <= set(VOCABULARY)
    assert len(cache.split_rows("dieleman", "test")) == 3
    assert np.abs(cache.load_float(np.arange(2))).max() > 0.01


def test_mp3s_are_mtat_like(corpus):
    files = sorted(corpus.glob("?/*.mp3"))
    assert len(files) == CLIPS
    for path in files[:4]:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.format) == (SAMPLE_RATE, 1, "MP3")
        audio, _ = sf.read(path)
        assert len(audio) == CLIP_SAMPLES
        assert 1e-3 < np.sqrt(np.mean(audio ** 2)) < 0.5
    # ~32 kbps on average, like MTAT; VBR lets a noisy, bright clip run larger.
    sizes = [path.stat().st_size for path in files]
    assert np.mean(sizes) < 200_000 and max(sizes) < 300_000
    assert not list(corpus.rglob("*.tmp"))


def test_metadata_records_scores_recipes_and_clean_labels(corpus):
    meta = json.loads((corpus / METADATA_FILE).read_text())
    assert meta["generator_version"] == GENERATOR_VERSION and meta["seed"] == 0
    assert meta["vocabulary"] == list(VOCABULARY)
    df = read_annotations(corpus)
    by_path = {c["mp3_path"]: c for c in meta["clips_detail"]}
    assert set(by_path) == set(df["mp3_path"])
    for _, row in df.iterrows():
        clip = by_path[row["mp3_path"]]
        assert clip["clip_id"] == row["clip_id"]
        assert clip["split"] == folder_split(row["mp3_path"])
        assert clip["score"]["path"] and clip["recipe"]["style"]
        assert len(clip["clean_labels"]) == len(VOCABULARY)
        annotated = [t for t in VOCABULARY if row[t] == 1]
        assert annotated == clip["tags"]
        clean = [t for t, v in zip(VOCABULARY, clip["clean_labels"], strict=True) if v]
        assert clean == clip["clean_tags"]
    scores = {}
    for clip in meta["clips_detail"]:  # a score never spans two splits
        assert scores.setdefault(clip["score"]["id"], clip["split"]) == clip["split"]


def test_same_seed_identical_different_seed_differs(tmp_path):
    a = synth_mtat(tmp_path / "a", 3, seed=5, workers=1, progress=False)
    b = synth_mtat(tmp_path / "b", 3, seed=5, workers=1, progress=False)
    c = synth_mtat(tmp_path / "c", 3, seed=6, workers=1, progress=False)
    assert (a / ANNOTATIONS_FILE).read_bytes() == (b / ANNOTATIONS_FILE).read_bytes()
    da, db = _decoded(a), _decoded(b)
    assert da.keys() == db.keys()
    assert all(np.array_equal(da[k], db[k]) for k in da)
    assert (a / ANNOTATIONS_FILE).read_bytes() != (c / ANNOTATIONS_FILE).read_bytes()


def test_pool_and_in_process_give_identical_audio(corpus, tmp_path):
    plans = plan_corpus(CLIPS, seed=0)
    for clip in plans[:2]:  # rendered here, in this process, vs by the pool workers
        write_mp3(tmp_path / "x.mp3", render_clip(clip, seed=0))
        here = sf.read(tmp_path / "x.mp3", dtype="int16")[0]
        pooled = sf.read(corpus / clip.mp3_path, dtype="int16")[0]
        assert np.array_equal(here, pooled)


def test_resume_skips_finished_clips_and_rewrites_metadata(tmp_path):
    out = synth_mtat(tmp_path / "r", 4, seed=1, workers=1, progress=False)
    annotations = (out / ANNOTATIONS_FILE).read_bytes()
    plans = plan_corpus(4, seed=1)
    kept = out / plans[0].mp3_path
    redo = out / plans[1].mp3_path
    kept_bytes, redo_bytes = kept.read_bytes(), redo.read_bytes()
    # Simulate an interrupted run: metadata and annotations not yet written, one clip missing.
    (out / METADATA_FILE).unlink()
    (out / ANNOTATIONS_FILE).unlink()
    redo.unlink()
    kept.write_bytes(kept_bytes + b"")  # untouched content, new mtime
    mtime = kept.stat().st_mtime_ns
    synth_mtat(out, 4, seed=1, workers=1, progress=False)
    assert kept.stat().st_mtime_ns == mtime  # not rendered again
    assert redo.read_bytes() == redo_bytes  # re-rendered identically
    assert (out / ANNOTATIONS_FILE).read_bytes() == annotations
    # A finished corpus returns at once, without touching any file.
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    synth_mtat(out, 4, seed=1, workers=1, progress=False)
    assert before == {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_refuses_to_mix_corpora_or_overwrite_foreign_annotations(tmp_path):
    out = synth_mtat(tmp_path / "x", 2, seed=1, workers=1, progress=False)
    with pytest.raises(DataError, match=r"holds a different stand-in corpus \(2 clips, seed 1"):
        synth_mtat(out, 2, seed=2, workers=1, progress=False)
    foreign = tmp_path / "real"
    foreign.mkdir()
    (foreign / ANNOTATIONS_FILE).write_text("x")
    with pytest.raises(DataError, match="was not written by synth-mtat"):
        synth_mtat(foreign, 2, seed=1, workers=1, progress=False)
    assert (out / PLAN_FILE).is_file()


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli.main(["synth-mtat", "--out", str(out), "--clips", "2", "--seed", "3",
                     "--workers", "1", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    assert len(pd.read_csv(out / ANNOTATIONS_FILE, sep="\t")) == 2
    assert cli.main(["synth-mtat", "--out", str(out), "--clips", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "mtlib synth-mtat: error: clips must be a positive integer, got 0"
    assert cli.main(["synth-mtat", "--out", str(out), "--clips", "2", "--workers", "0"]) == 2
    assert "workers must be a positive integer" in capsys.readouterr().err
