"""Candidate tag vocabularies, the clips of the report's Sec. VII, and counting tagged clips."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from helpers_mtat import BAD_FILES, write_mtat_fixture

from mtlib import paths
from mtlib.data import metadata, mtat
from mtlib.errors import DataError
from mtlib.forensics import vocabularies as voc
from mtlib.paper import dataset as reported

# --- Sec. VII clips against the shipped files ----------------------------------------------


def test_section7_clips_are_computed_from_the_shipped_files():
    assert voc.section7_clips() == reported.SECTION7_CLIPS


def test_section7_clips_against_raw_shipped_files():
    """Check the constants with plain file reads, independent of section7_clips()."""
    base = paths.shipped_mtat_dir()
    index_lines = (base / "musicnn-training/index_mtt.tsv").read_text().splitlines()
    test_npy = {str(x) for x in np.load(base / "split/test.npy")}
    valid_npy = {str(x) for x in np.load(base / "split/valid.npy")}
    lists = {
        part: set(pickle.load(open(base / f"MTAT_split/{part}_list_pub.cP", "rb"),
                              encoding="latin1"))
        for part in ("train", "valid", "test")
    }
    tags = metadata.standard_tags()
    gt = {}
    for line in (base / "musicnn-training/test_gt_mtt.tsv").read_text().splitlines():
        clip_id, values = line.split("\t")
        gt[int(clip_id)] = [float(x) for x in values.strip("[] ").split(",")]
    for clip in reported.SECTION7_CLIPS:
        assert index_lines[clip.row] == f"{clip.clip_id}\t{clip.mp3_path}"
        assert sum(clip.mp3_path in line for line in index_lines) == 1
        assert clip.folder == clip.mp3_path[0] and clip.folder in "def"
        assert clip.dieleman_part == clip.standard_part == "test"
        assert f"{clip.row}\t{clip.mp3_path}" in test_npy
        assert not any(clip.mp3_path in x for x in valid_npy)
        npy_name = clip.mp3_path[: -len(".mp3")] + ".npy"
        assert [p for p, items in lists.items() if npy_name in items] == ["test"]
        labels = zip(tags, gt[clip.clip_id], strict=True)
        assert clip.standard_labels == tuple(t for t, y in labels if y)


def test_report_misspells_one_artist():
    index = (paths.shipped_mtat_dir() / "musicnn-training/index_mtt.tsv").read_text()
    frank = reported.SECTION7_CLIPS[2]
    assert "frankenstien" in frank.report_name and frank.report_name not in index
    assert "electric_frankenstein-sick_songs-08-back_at_you-88-117.mp3" in index
    for clip in reported.SECTION7_CLIPS[:2]:
        assert clip.report_name + ".mp3" in clip.mp3_path


def test_no_singer_of_the_report_is_the_merged_group_of_the_standard_labels():
    shira, masley, frank = reported.SECTION7_CLIPS
    # standard labels "no vocals" / "no voice" become "no singer" after merging synonyms
    assert "no singer" in voc.merge_tags(shira.standard_labels)
    assert voc.merge_tags(masley.standard_labels) == ("ambient", "no singer")
    assert voc.merge_tags(masley.standard_labels, "kyungyunlee") == ("ambient", "no vocal")
    assert voc.merge_tags(frank.standard_labels) == ("loud", "rock")
    for clip in reported.SECTION7_CLIPS:
        assert set(clip.report_tags) <= set(voc.RENESEMELA_TOP50.tags)


# --- vocabularies as data ------------------------------------------------------------------


def test_section7_tags_in_standard_top50_is_none():
    none = {t: False for t in reported.SECTION7_TAGS}
    assert voc.section7_tags_in("standard") == none
    assert voc.section7_tags_in(metadata.standard_tags()) == none
    assert voc.section7_coverage(voc.STANDARD_TOP50) == {t: None for t in reported.SECTION7_TAGS}


def test_section7_tags_in_merged_vocabularies():
    assert all(voc.section7_tags_in("renesemela").values())
    assert all(voc.section7_tags_in(["No_Singer", "no_beat", "foreign", "no piano", "hard",
                                     "heavy"]).values())
    kylee = voc.section7_tags_in(voc.KYUNGYUNLEE_TOP50)
    assert [t for t, ok in kylee.items() if not ok] == ["no singer"]
    assert voc.section7_coverage("kyungyunlee")["no singer"] == "no vocal"
    assert voc.section7_coverage("renesemela") == {t: t for t in reported.SECTION7_TAGS}


def test_section7_tags_are_raw_mtat_tags_outside_the_top50():
    rank = {t: i + 1 for i, t in enumerate(metadata.sorted_tags188())}
    assert {t: rank[t] for t in reported.SECTION7_TAGS} == {
        "foreign": 66, "no singer": 172, "no beat": 134, "no piano": 61, "hard": 121, "heavy": 77,
    }


def test_vocabulary_data_is_consistent():
    assert voc.STANDARD_TOP50.tags == tuple(metadata.standard_tags())
    assert voc.ALL_TAGS188.tags == metadata.TAGS188
    for v in voc.VOCABULARIES.values():
        assert len(set(v.tags)) == len(v.tags)
        for tag in v.tags:
            assert set(v.members(tag)) <= set(metadata.TAGS188)
    for key in ("standard", "renesemela", "kyungyunlee"):
        assert len(voc.VOCABULARIES[key]) == 50

    def groups(v):
        return {frozenset(v.members(t)) for t in v.tags}

    # the two published merged top-50 lists are the same 50 groups under different names
    assert groups(voc.RENESEMELA_TOP50) == groups(voc.KYUNGYUNLEE_TOP50)
    # ... and cover every standard tag, so they tag at least the standard's clips
    merged_raw = set().union(*groups(voc.RENESEMELA_TOP50))
    assert set(metadata.standard_tags()) <= merged_raw
    # the three synonym lists: same groups up to names, except "female vocal"
    as_sets = {k: {frozenset(m) for m in s.values()} for k, s in voc.SYNONYM_MAPS.items()}
    assert as_sets["renesemela"] == as_sets["kyungyunlee"]
    diff = as_sets["renesemela"] ^ as_sets["keunwoochoi"]
    assert {t for g in diff for t in g} - set(voc.KEUNWOOCHOI_SYNONYMS["female"]) == {
        "female vocal"}
    assert "no singer" in voc.RENESEMELA_TOP50 and "no_beat" in voc.RENESEMELA_TOP50


def test_bad_vocabularies_raise():
    with pytest.raises(DataError, match="not one of the 188 MTAT tags"):
        voc.Vocabulary(key="x", tags=("a",), source="-", order="-", synonyms={"a": ("nope",)})
    with pytest.raises(DataError, match="two synonym groups"):
        voc.Vocabulary(key="x", tags=("a",), source="-", order="-",
                       synonyms={"a": ("rock",), "b": ("rock", "pop")})
    with pytest.raises(DataError, match="neither MTAT tags"):
        voc.section7_coverage(["rock", "no such tag"])
    with pytest.raises(DataError, match="unknown vocabulary"):
        voc.section7_tags_in("top50-of-nowhere")
    with pytest.raises(DataError, match="unknown synonyms"):
        voc.merge_tags(["rock"], "nobody")


# --- the report's percentages --------------------------------------------------------------


def test_implied_report_counts():
    assert reported.implied_report_counts(rule="round") == {
        "train": [15424, 15425], "valid": [1537, 1538], "test": [4390, 4391]}
    assert reported.implied_report_counts(rule="truncate") == {
        "train": [15425, 15426], "valid": [1538, 1539], "test": [4391, 4392]}
    assert reported.report_split_triples(rule="round") == []  # 15425 + 1538 + 4391 = 21354
    assert reported.report_split_triples() == [(15425, 1538, 4392), (15425, 1539, 4391),
                                          (15426, 1538, 4391)]
    assert reported.implied_report_counts()["valid"] == [1537, 1538, 1539]
    with pytest.raises(DataError, match="rule must be"):
        reported.implied_report_counts(rule="ceil")


def _counts(n_tagged):
    return voc.VocabularyCounts(
        vocabulary=("rock",), folders=voc.DIELEMAN_FOLDERS, n_clips=n_tagged,
        n_tagged=n_tagged, tag_counts=pd.DataFrame(), excluded=(), blob_id=None)


def test_matches_report():
    assert _counts({"train": 15425, "valid": 1538, "test": 4392}).matches_report()
    # the standard top-50 on the folder split (0-b derived, c and d-f from the gt files)
    standard = _counts({"train": 15247, "valid": 1529, "test": 4332})
    assert standard.total == 21108 and not standard.matches_report()
    assert {p: round(v, 2) for p, v in standard.percent.items()} == {
        "train": 72.23, "valid": 7.24, "test": 20.52}
    # train and test print as the report's only truncated, valid only rounded: no one rule
    assert not _counts({"train": 15426, "valid": 1537, "test": 4392}).matches_report()


# --- counting on an MTAT-format fixture ----------------------------------------------------

# good clips written without any tag (helpers_mtat.UNTAGGED) get one non-top-50 raw tag each
EXTRA_TAGS = {
    "c/fixture_artist_c-fixture_album-02-track-0-29.mp3": "no drums",
    "e/fixture_artist_e-fixture_album-02-track-0-29.mp3": "foreign",
    "1/fixture_artist_1-fixture_album-02-track-0-29.mp3": "hard rock",
}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = write_mtat_fixture(tmp_path_factory.mktemp("mtat"), n_clips_per_folder=2,
                              seconds=0.5)
    path = root / mtat.ANNOTATIONS_FILE
    lines = path.read_text().splitlines()
    header = [f.strip('"') for f in lines[0].split("\t")]
    out = [lines[0]]
    for line in lines[1:]:
        fields = [f.strip('"') for f in line.split("\t")]
        tag = EXTRA_TAGS.get(fields[-1])
        if tag is not None:
            assert set(fields[1:-1]) == {"0"}
            fields[header.index(tag)] = "1"
        out.append("\t".join(f'"{f}"' for f in fields))
    path.write_text("\n".join(out) + "\n")
    return root


def _plain_rows(root):
    """(clip_id, folder, set of tags) per data row, read without mtlib."""
    lines = (root / mtat.ANNOTATIONS_FILE).read_text().splitlines()
    header = [f.strip('"') for f in lines[0].split("\t")]
    rows = []
    for line in lines[1:]:
        fields = [f.strip('"') for f in line.split("\t")]
        tags = {t for t, x in zip(header[1:-1], fields[1:-1], strict=True) if x == "1"}
        rows.append((int(fields[0]), fields[-1][0], tags))
    return rows


def _expected(root, vocabulary, exclude=()):
    groups = [set(vocabulary.members(t)) for t in vocabulary.tags]
    out = {}
    for part, chars in voc.DIELEMAN_FOLDERS.items():
        rows = [r for r in _plain_rows(root) if r[1] in chars and r[0] not in exclude]
        out[part] = sum(any(g & r[2] for g in groups) for r in rows)
    return out


def test_vocabulary_counts_standard_top50_on_fixture(root):
    counts = voc.vocabulary_counts(root / mtat.ANNOTATIONS_FILE, "standard", verify_blob=False)
    # 0-b: 24 good clips + 4 bad-file rows, one untagged; c: 2, one untagged; d-f: 6, one
    assert dict(counts.n_clips) == {"train": 28, "valid": 2, "test": 6}
    assert dict(counts.n_tagged) == {"train": 27, "valid": 1, "test": 5}
    assert dict(counts.n_tagged) == _expected(root, voc.STANDARD_TOP50)
    assert counts.total == 33 and not counts.matches_report()
    assert sum(counts.percent.values()) == pytest.approx(100.0)
    assert counts.percent["valid"] == pytest.approx(100 / 33)
    assert counts.blob_id == mtat.git_blob_id((root / mtat.ANNOTATIONS_FILE).read_bytes())
    assert list(counts.tag_counts.index) == metadata.standard_tags()
    assert list(counts.tag_counts.columns) == ["train", "valid", "test", "total"]


@pytest.mark.parametrize("key", ["renesemela", "kyungyunlee", "all188"])
def test_vocabulary_counts_merged_vocabularies_on_fixture(root, key):
    vocabulary = voc.VOCABULARIES[key]
    counts = voc.vocabulary_counts(root, key, verify_blob=False)
    # the three clips with only a non-top-50 raw tag now count as tagged
    assert dict(counts.n_tagged) == {"train": 28, "valid": 2, "test": 6}
    assert dict(counts.n_tagged) == _expected(root, vocabulary)
    rows = _plain_rows(root)
    for tag in vocabulary.tags:
        members = set(vocabulary.members(tag))
        for part, chars in voc.DIELEMAN_FOLDERS.items():
            expected = sum(bool(members & r[2]) for r in rows if r[1] in chars)
            assert counts.tag_counts.at[tag, part] == expected, (tag, part)
    if key == "renesemela":
        assert counts.tag_counts.at["no beat", "valid"] >= 1  # the "no drums" clip
        assert counts.tag_counts.at["foreign", "test"] >= 1
        assert counts.tag_counts.at["hard", "train"] >= 1  # the "hard rock" clip


def test_vocabulary_counts_options(root):
    df = mtat.read_annotations(root, verify_blob=False)
    base = voc.vocabulary_counts(df, "renesemela")
    assert base.blob_id == df.attrs["blob_id"]
    # the standard tag list merged with the renesemela synonyms is a third vocabulary
    merged = voc.vocabulary_counts(df, metadata.standard_tags(), synonyms="renesemela")
    assert "no singer" not in merged.vocabulary and merged.total == 33
    # raw tag names, no synonyms: "no drums" alone tags the one c clip
    raw = voc.vocabulary_counts(df, ["no drums"])
    assert raw.n_tagged["valid"] >= 1
    # the 3 empty mp3s (one of them, 35644, is in the fixture, in folder 6)
    assert BAD_FILES[0].clip_id in metadata.EMPTY_MP3_CLIP_IDS
    dropped = voc.vocabulary_counts(df, "renesemela",
                                    exclude_clip_ids=metadata.EMPTY_MP3_CLIP_IDS)
    assert dropped.n_clips["train"] == base.n_clips["train"] - 1
    assert dict(dropped.n_tagged) == _expected(root, voc.RENESEMELA_TOP50,
                                               metadata.EMPTY_MP3_CLIP_IDS)
    assert dropped.excluded == tuple(sorted(metadata.EMPTY_MP3_CLIP_IDS))
    # any folder mapping
    custom = voc.vocabulary_counts(df, "standard", folders={"first": "0", "second": "1"})
    assert dict(custom.n_tagged) == {"first": 2, "second": 1}
    with pytest.raises(DataError, match="disjoint"):
        voc.vocabulary_counts(df, "standard", folders={"a": "01", "b": "1"})
    with pytest.raises(DataError, match="disjoint"):
        voc.vocabulary_counts(df, "standard", folders={"a": "0g"})


def test_vocabulary_counts_bad_inputs(root, tmp_path):
    with pytest.raises(DataError, match="neither MTAT tags"):
        voc.vocabulary_counts(root, ["rock", "speed metal"], verify_blob=False)
    other = tmp_path / "labels.csv"
    other.write_text((root / mtat.ANNOTATIONS_FILE).read_text())
    with pytest.raises(DataError, match="expected an MTAT root folder"):
        voc.vocabulary_counts(other, "standard", verify_blob=False)
    with pytest.raises(DataError, match="annotations file is missing"):
        voc.vocabulary_counts(tmp_path / mtat.ANNOTATIONS_FILE, "standard")
    with pytest.raises(DataError, match="lacks columns"):
        voc.vocabulary_counts(pd.DataFrame({"clip_id": [1]}), "standard")


def test_unpublished_annotations_warn(root):
    with pytest.warns(mtat.AnnotationsBlobWarning):
        voc.vocabulary_counts(root, "standard")


def test_compare_vocabularies_on_fixture(root):
    table = voc.compare_vocabularies(root, verify_blob=False)
    assert len(table) == 2 * len(voc.VOCABULARIES)
    assert list(table.columns) == ["vocabulary", "exclusion", "train", "valid", "test", "total",
                                   "pct_train", "pct_valid", "pct_test", "matches_report"]
    row = table.set_index(["vocabulary", "exclusion"]).loc[("standard", "all clips")]
    assert (row["train"], row["valid"], row["test"], row["total"]) == (27, 1, 5, 33)
    assert not table["matches_report"].any()
    dropped = table.set_index(["vocabulary", "exclusion"]).loc[("renesemela",
                                                                "without empty mp3s")]
    assert dropped["train"] == 27


def test_merged_top_tags_on_fixture(root):
    top = voc.merged_top_tags(root, "renesemela", n=8, verify_blob=False)
    assert len(top) == 8
    assert [c for _, c in top] == sorted((c for _, c in top), reverse=True)
    rows = _plain_rows(root)
    for tag, count in top:
        members = set(voc.RENESEMELA_SYNONYMS.get(tag, (tag,)))
        assert count == sum(bool(members & r[2]) for r in rows)
    # merged groups replace their members
    every = dict(voc.merged_top_tags(root, "renesemela", n=500, verify_blob=False))
    assert "no singer" in every and "no vocals" not in every and "foreign" in every
    assert len(every) == 188 - sum(len(m) - 1 for m in voc.RENESEMELA_SYNONYMS.values())
    with pytest.raises(DataError, match="n must be"):
        voc.merged_top_tags(root, n=0, verify_blob=False)
