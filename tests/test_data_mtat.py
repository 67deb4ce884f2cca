"""Reading MTAT annotations: strict layout, blob check, top-N tags and the splits."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from helpers_mtat import BAD_FILES, write_mtat_fixture

from mtlib import paths
from mtlib.data import metadata, mtat
from mtlib.errors import DataError


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_mtat_fixture(tmp_path_factory.mktemp("mtat"), n_clips_per_folder=1, seconds=0.5)


def _read(root, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mtat.AnnotationsBlobWarning)
        return mtat.read_annotations(root, **kw)


def _rewrite(src, dst, edit):
    """Copy the fixture annotations to dst with ``edit(list of lines) -> lines``."""
    dst.mkdir()
    lines = (src / mtat.ANNOTATIONS_FILE).read_text().splitlines()
    (dst / mtat.ANNOTATIONS_FILE).write_text("\n".join(edit(lines)) + "\n")
    return dst


def test_read_annotations_types_and_order(root):
    df = _read(root)
    assert list(df.columns) == ["clip_id", *metadata.TAGS188, "mp3_path"]
    assert len(df) == 16 + len(BAD_FILES)
    assert df["clip_id"].dtype == np.int64
    assert (df[list(metadata.TAGS188)].dtypes == np.uint8).all()
    assert df["mp3_path"].iloc[0].startswith("0/") and df["mp3_path"].iloc[15].startswith("f/")
    assert df.attrs["blob_id"] == mtat.git_blob_id((root / mtat.ANNOTATIONS_FILE).read_bytes())


def test_git_blob_id_matches_sources_md():
    data = (paths.shipped_mtat_dir() / "split/tags.npy").read_bytes()
    assert mtat.git_blob_id(data) == "2da2559e2b5684caa44801d52e9a3c2ce0cd59de"
    assert mtat.git_blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob


def test_unpublished_annotations_warn_once_with_ids(root, tmp_path, monkeypatch):
    with pytest.warns(mtat.AnnotationsBlobWarning) as record:
        mtat.read_annotations(root)
    assert len(record) == 1
    message = str(record[0].message)
    assert "annotations_final.csv: git blob id" in message
    assert "496918feac773267a6badccd11ade3c520a0f69b" in message
    # a published copy (here: the fixture's id registered as known) and the stand-in do not warn
    blob = mtat.git_blob_id((root / mtat.ANNOTATIONS_FILE).read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error", mtat.AnnotationsBlobWarning)
        mtat.read_annotations(root, verify_blob=False)
        monkeypatch.setitem(mtat.KNOWN_ANNOTATION_BLOBS, blob, "test")
        mtat.read_annotations(root)
        monkeypatch.delitem(mtat.KNOWN_ANNOTATION_BLOBS, blob)
        standin = _rewrite(root, tmp_path / "standin", lambda lines: lines)
        (standin / mtat.STANDIN_MARKER).write_text("{}")
        mtat.read_annotations(standin)


def test_missing_root_and_file_say_how_to_get_them(tmp_path):
    with pytest.raises(DataError, match=r"nowhere: MTAT root folder does not exist.*download-mtat"):
        mtat.read_annotations(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"annotations_final\.csv: annotations file is missing"
                                        r".*mtlib download-mtat .*mirg\.city\.ac\.uk"):
        mtat.read_annotations(tmp_path)


def test_wrong_layout_names_expected_columns(root, tmp_path):
    def swap(lines):
        head = lines[0].split("\t")
        head[1], head[2] = head[2], head[1]
        return ["\t".join(head), *lines[1:]]

    bad = _rewrite(root, tmp_path / "swapped", swap)
    with pytest.raises(DataError, match=r"expected 190 columns \"clip_id\", the 188 tags of .*"
                                        r"column 1 is 'singer' instead of 'no voice'"):
        _read(bad)
    short = _rewrite(root, tmp_path / "short", lambda ls: [ls[0].rsplit("\t", 1)[0]] + ls[1:])
    with pytest.raises(DataError, match="found 189 columns"):
        _read(short)
    commas = _rewrite(root, tmp_path / "commas", lambda ls: [x.replace("\t", ",") for x in ls])
    with pytest.raises(DataError, match="found 1 columns"):
        _read(commas)


def test_bad_values_ids_and_paths_are_named(root, tmp_path):
    def value_two(lines):
        f = lines[3].split("\t")
        f[5] = '"2"'
        return [*lines[:3], "\t".join(f), *lines[4:]]

    with pytest.raises(DataError, match=r"data row 3, column 'hard rock' is '2'; expected 0 or 1"):
        _read(_rewrite(root, tmp_path / "v", value_two))
    with pytest.raises(DataError, match="clip_id 1 appears more than once"):
        _read(_rewrite(root, tmp_path / "d", lambda ls: [*ls, ls[1]]))
    with pytest.raises(DataError, match=r"mp3_path 'x/a\.mp3' is not"):
        _read(_rewrite(root, tmp_path / "p", lambda ls: [*ls[:-1], ls[-1].rsplit("\t", 1)[0]
                                                           + '\t"x/a.mp3"']))


def _frame_with_counts(counts: dict[str, int], n_rows: int) -> pd.DataFrame:
    data = np.zeros((n_rows, 188), dtype=np.uint8)
    for j, tag in enumerate(metadata.TAGS188):
        data[: counts.get(tag, 0), j] = 1
    df = pd.DataFrame(data, columns=list(metadata.TAGS188))
    df.insert(0, "clip_id", np.arange(n_rows))
    df["mp3_path"] = "0/x.mp3"
    return df


def test_top_tags_reproduce_standard_order_on_real_counts():
    counts = metadata.top50_tag_counts()
    real = dict(zip(counts["tag"], counts["all_25860"], strict=True))
    assert real["metal"] == real["female voice"] and real["no vocal"] == real["pop"]
    rng = np.random.default_rng(0)
    others = [t for t in metadata.TAGS188 if t not in real]
    for tag in others:  # the remaining 138 tags are rarer than choral (490), with ties
        real[tag] = int(rng.integers(0, 480))
    df = _frame_with_counts(real, 25860)
    assert mtat.top_tags(df, 50) == metadata.standard_tags()
    assert mtat.top_tags(df, 5) == metadata.standard_tags()[:5]
    # ties are not decided by column order: the column order puts "pop" and "metal" elsewhere
    assert metadata.TAGS188.index("female voice") < metadata.TAGS188.index("metal")


def test_top_tags_ignore_zero_count_tags():
    df = _frame_with_counts({"pop": 3, "no vocal": 3, "drum": 5}, 10)
    assert mtat.top_tags(df, 50) == ["drum", "no vocal", "pop"]
    with pytest.raises(DataError, match="no positive labels"):
        mtat.top_tags(_frame_with_counts({}, 4))


def test_folder_split():
    assert [mtat.folder_split(f"{c}/x.mp3") for c in "0bcdf"] == [
        "train", "train", "valid", "test", "test"]
    with pytest.raises(DataError, match="expected '<folder 0-f>/<name>.mp3'"):
        mtat.folder_split("g/x.mp3")


def test_dieleman_split_figures_on_real_index():
    index = metadata.mtt_index()
    p = index["mp3_path"].tolist()
    sizes = {part: int(mtat.split_mask(p, "dieleman", part).sum()) for part in mtat.PARTS}
    assert sizes == {"train": 18709, "valid": 1825, "test": 5329}
    has_audio = ~index["clip_id"].isin(metadata.EMPTY_MP3_CLIP_IDS).to_numpy()
    assert int((mtat.split_mask(p, "dieleman", "train") & has_audio).sum()) == 18706
    conventional = np.load(paths.shipped_mtat_dir() / "keunwoochoi/conventional_set_idxs.npy",
                           allow_pickle=True, encoding="latin1")
    assert [len(x) for x in conventional] == [18706, 1825, 5329]
    # with >= 1 top-50 tag (labels of every folder-c / d-f clip from the gt files)
    n_pos = np.full(len(index), -1)
    row_of = {c: i for i, c in enumerate(index["clip_id"])}
    for part in ("valid", "test"):
        ids, gt = metadata.gt_labels(part)
        n_pos[[row_of[int(c)] for c in ids]] = gt.sum(axis=1)
    for part, expected in (("valid", 1529), ("test", 4332)):
        mask = mtat.split_mask(p, "dieleman", part, n_pos=n_pos, require_tag=True)
        assert int(mask.sum()) == expected


def test_standard_split_mask_on_real_index():
    p = metadata.mtt_index()["mp3_path"].tolist()
    sizes = {part: int(mtat.split_mask(p, "standard", part).sum()) for part in mtat.PARTS}
    assert sizes == {"train": 15244, "valid": 1529, "test": 4332}
    with pytest.raises(DataError, match="needs the positive-tag counts"):
        mtat.split_mask(p, "standard", "train", require_tag=True)
