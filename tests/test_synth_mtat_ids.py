"""The stand-in corpus under real MTAT clip ids and mp3 paths (``synth_mtat(mtat_ids=True)``).

The clips take entries of the standard split lists, so ``split_rows("standard", ...)`` of the
prepared cache resolves on the stand-in exactly as on real MTAT.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from smoke_env import session_dirs

from mtlib import cli
from mtlib.constants import PARTS
from mtlib.data import metadata
from mtlib.data.cache import ClipCache
from mtlib.data.mtat import folder_split, read_annotations
from mtlib.data.prepare import prepare_mtat
from mtlib.errors import DataError
from mtlib.standin import plan as plan_mod
from mtlib.standin.corpus import (
    ANNOTATIONS_FILE,
    METADATA_FILE,
    PLAN_FILE,
    _metadata,
    annotations_text,
    fingerprint,
    render_clip,
    standin_settings,
    synth_mtat,
)
from mtlib.standin.plan import GENERATOR_VERSION, plan_corpus, standard_part_counts
from mtlib.standin.render import write_mp3
from mtlib.standin.vocab import VOCABULARY

CLIPS, SEED = 24, 0  # 17 train, 2 valid, 5 test


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A 24-clip corpus with MTAT ids, written by two worker processes (the pool path)."""
    base = tmp_path_factory.getbasetemp()
    with session_dirs(base):  # module fixtures run before conftest's redirect
        yield synth_mtat(base / "mtat24", CLIPS, seed=SEED, workers=2, progress=False,
                         mtat_ids=True)


@pytest.fixture(scope="module")
def lists():
    """part -> {mp3_path: clip_id} of the shipped standard lists."""
    return {part: {path: clip_id for clip_id, path in c}
            for part, c in metadata.standard_split_clips().items()}


def _entries(lists):
    return {part: {(i, p) for p, i in entries.items()} for part, entries in lists.items()}


# --- the plan (no audio) ---------------------------------------------------------------
def test_part_counts_follow_the_standard_lists():
    sizes = {part: len(p) for part, p in metadata.standard_split_paths().items()}
    assert sizes == {"train": 15_244, "valid": 1_529, "test": 4_332}
    for clips in (6, 24, 48, 120, 1000, 21_105):
        counts = standard_part_counts(clips)
        assert sum(counts.values()) == clips and min(counts.values()) >= 2
        for part in PARTS:  # proportional (largest remainder) unless topped up to the minimum
            exact = clips * sizes[part] / sum(sizes.values())
            assert abs(counts[part] - exact) < 1 or counts[part] == plan_mod.MIN_PART_CLIPS
    assert standard_part_counts(24) == {"train": 17, "valid": 2, "test": 5}
    assert standard_part_counts(48) == {"train": 35, "valid": 3, "test": 10}
    assert standard_part_counts(21_105) == sizes
    for bad in (5, 21_106):
        with pytest.raises(DataError, match="needs 6 to 21105 clips"):
            plan_corpus(bad, seed=0, mtat_ids=True)


@pytest.mark.parametrize("clips,seed", [(48, 0), (120, 3)])
def test_plan_uses_real_entries_of_each_part(clips, seed, lists):
    plans = plan_corpus(clips, seed, mtat_ids=True)
    entries = _entries(lists)
    assert {part: sum(p.split == part for p in plans) for part in PARTS} == (
        standard_part_counts(clips))
    for p in plans:
        assert (p.clip_id, p.mp3_path) in entries[p.split]
        assert folder_split(p.mp3_path) == p.split
    assert len({p.mp3_path for p in plans}) == len({p.clip_id for p in plans}) == clips
    folder, split = {}, {}
    for p in plans:  # a score keeps one folder and never spans two splits
        assert folder.setdefault(p.score.score_id, p.mp3_path[0]) == p.mp3_path[0]
        assert split.setdefault(p.score.score_id, p.split) == p.split
    # Deterministic from the seed; another seed draws other clips.
    again = plan_corpus(clips, seed, mtat_ids=True)
    assert [p.to_dict() for p in again] == [p.to_dict() for p in plans]
    other = plan_corpus(clips, seed + 1, mtat_ids=True)
    assert {p.mp3_path for p in other} != {p.mp3_path for p in plans}


def test_labels_and_audio_recipe_are_made_as_without_ids():
    plans = plan_corpus(48, 0, mtat_ids=True)
    default = plan_corpus(48, 0)
    assert [p.clip_id for p in default] == list(range(1, 49))  # the default is untouched
    for a, b in zip(plans, default, strict=True):
        # Recipes come from the clip's own generator; only the excerpt start may differ.
        assert {**a.recipe, "start_s": 0} == {**b.recipe, "start_s": 0}
        assert set(a.tags) <= set(VOCABULARY)


def test_take_entry_falls_back_to_the_next_folder_of_the_part():
    entries = {"d": [(1, "d/a.mp3")], "e": [], "f": [(3, "f/c.mp3")]}
    used: dict[str, int] = {}
    assert plan_mod._take_entry(entries, used, "def", "d") == (1, "d/a.mp3")
    assert plan_mod._take_entry(entries, used, "def", "d") == (3, "f/c.mp3")
    with pytest.raises(DataError, match="no unused MTAT entry"):
        plan_mod._take_entry(entries, used, "def", "e")


# --- the corpus on disk ----------------------------------------------------------------
def test_corpus_rows_are_real_mtat_entries_of_the_right_lists(corpus, lists):
    df = read_annotations(corpus)
    meta = json.loads((corpus / METADATA_FILE).read_text())
    split_of = {c["mp3_path"]: c["split"] for c in meta["clips_detail"]}
    assert len(df) == CLIPS and set(split_of) == set(df["mp3_path"])
    for clip_id, path in zip(df["clip_id"], df["mp3_path"], strict=True):
        part = split_of[path]
        assert lists[part].get(path) == clip_id  # the real clip id of a real listed path
        assert folder_split(path) == part
        assert (corpus / path).is_file()
    assert meta["split_counts"] == standard_part_counts(CLIPS)
    assert sorted(p.relative_to(corpus).as_posix() for p in corpus.glob("?/*.mp3")) == sorted(
        df["mp3_path"])
    unused = [t for t in metadata.TAGS188 if t not in VOCABULARY]
    assert int(df[unused].to_numpy().sum()) == 0


def test_prepared_cache_resolves_the_standard_split(corpus, tmp_path):
    out = prepare_mtat(corpus, 16_000, dataset="standin-mtat-ids", workers=1, progress=False,
                       out=tmp_path / "prepared")
    cache = ClipCache.open(out)
    assert (cache.index["status"] == "ok").all() and cache.n_clips == CLIPS
    listed = metadata.standard_split_paths()
    paths = cache.index["mp3_path"].tolist()
    meta = json.loads((corpus / METADATA_FILE).read_text())
    split_of = {c["mp3_path"]: c["split"] for c in meta["clips_detail"]}
    seen = []
    for part, n in standard_part_counts(CLIPS).items():
        rows = cache.split_rows("standard", part)
        assert len(rows) == n > 0
        assert rows.tolist() == [r for r, p in enumerate(paths) if p in set(listed[part])]
        assert rows.tolist() == [r for r, p in enumerate(paths) if split_of[p] == part]
        assert rows.tolist() == cache.split_rows("dieleman", part).tolist()  # folder rule
        tagged = cache.split_rows("standard", part, require_tag=True)
        assert set(tagged) <= set(rows)
        assert (cache.index["n_tags_pos"].to_numpy()[tagged] > 0).all()
        seen += rows.tolist()
    assert sorted(seen) == list(range(CLIPS))


def test_deterministic_annotations_and_audio(corpus):
    plans = plan_corpus(CLIPS, SEED, mtat_ids=True)
    assert (corpus / ANNOTATIONS_FILE).read_text() == annotations_text(plans)
    assert annotations_text(plans).encode() == (corpus / ANNOTATIONS_FILE).read_bytes()


def test_in_process_render_matches_the_pool(corpus, tmp_path):
    clip = plan_corpus(CLIPS, SEED, mtat_ids=True)[0]
    write_mp3(tmp_path / "x.mp3", render_clip(clip, seed=SEED))
    here = sf.read(tmp_path / "x.mp3", dtype="int16")[0]
    assert np.array_equal(here, sf.read(corpus / clip.mp3_path, dtype="int16")[0])


def test_resume_rewrites_identical_files(corpus, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    plans = plan_corpus(CLIPS, SEED, mtat_ids=True)
    redo = copy / plans[1].mp3_path
    redo_bytes = redo.read_bytes()
    for name in (METADATA_FILE, ANNOTATIONS_FILE):
        (copy / name).unlink()
    redo.unlink()
    synth_mtat(copy, CLIPS, seed=SEED, workers=1, progress=False, mtat_ids=True)
    assert redo.read_bytes() == redo_bytes
    for name in (METADATA_FILE, ANNOTATIONS_FILE):
        assert (copy / name).read_bytes() == (corpus / name).read_bytes()


# --- the marker tells the two kinds apart ----------------------------------------------
def test_marker_and_plan_file_record_mtat_ids(corpus):
    meta = json.loads((corpus / METADATA_FILE).read_text())
    plan_info = json.loads((corpus / PLAN_FILE).read_text())
    assert meta["mtat_ids"] is True and plan_info["mtat_ids"] is True
    assert standin_settings(corpus) == {"generator_version": GENERATOR_VERSION,
                                        "clips": CLIPS, "seed": SEED, "mtat_ids": True}
    default = plan_corpus(CLIPS, SEED)
    assert _metadata(default, CLIPS, SEED, fingerprint(default), False)["mtat_ids"] is False
    assert fingerprint(default) != meta["fingerprint"]
    # Same plans, other kind: the fingerprint still differs.
    mtat_plans = plan_corpus(CLIPS, SEED, mtat_ids=True)
    assert fingerprint(mtat_plans) != fingerprint(mtat_plans, mtat_ids=True)


def test_standin_settings_of_an_old_marker_means_no_mtat_ids(tmp_path):
    (tmp_path / ANNOTATIONS_FILE).write_text("x")
    assert standin_settings(tmp_path) is None
    (tmp_path / METADATA_FILE).write_text(json.dumps(
        {"generator_version": "1.0", "clips": 3, "seed": 1}))
    assert standin_settings(tmp_path)["mtat_ids"] is False
    (tmp_path / METADATA_FILE).write_text("{")
    assert standin_settings(tmp_path) is None


def test_one_kind_is_never_taken_for_the_other(corpus, tmp_path):
    # A folder holding the MTAT-ids corpus's plan refuses a default run, and vice versa;
    # both are refused before anything is rendered.
    a = tmp_path / "a"
    a.mkdir()
    shutil.copy(corpus / PLAN_FILE, a / PLAN_FILE)
    with pytest.raises(DataError, match=r"MTAT ids\); asked for 24 clips.*stand-in ids"):
        synth_mtat(a, CLIPS, seed=SEED, workers=1, progress=False)
    b = tmp_path / "b"
    b.mkdir()
    default = plan_corpus(CLIPS, SEED)
    (b / PLAN_FILE).write_text(json.dumps({
        "generator_version": GENERATOR_VERSION, "seed": SEED, "clips": CLIPS,
        "mtat_ids": False, "fingerprint": fingerprint(default)}))
    with pytest.raises(DataError, match=r"stand-in ids\); asked for 24 clips.*MTAT ids"):
        synth_mtat(b, CLIPS, seed=SEED, workers=1, progress=False, mtat_ids=True)
    assert not list(a.glob("?/*.mp3")) and not list(b.glob("?/*.mp3"))
    with pytest.raises(DataError, match="mtat_ids must be True or False"):
        synth_mtat(tmp_path / "c", CLIPS, seed=SEED, mtat_ids=1)


def test_cli_flag(corpus, capsys):
    # The finished corpus: the CLI with the flag returns at once; without it, it refuses.
    args = ["synth-mtat", "--out", str(corpus), "--clips", str(CLIPS), "--seed", str(SEED),
            "--workers", "1", "--quiet"]
    assert cli.main([*args, "--mtat-ids"]) == 0
    assert capsys.readouterr().out.strip() == str(corpus)
    assert cli.main(args) == 2
    assert "holds a different stand-in corpus" in capsys.readouterr().err
    assert cli.main(["synth-mtat", "--out", str(corpus.parent / "tiny"), "--clips", "5",
                     "--mtat-ids"]) == 2
    assert "needs 6 to 21105 clips" in capsys.readouterr().err
