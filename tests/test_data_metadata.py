"""Shipped real-MTAT metadata: tag order, standard split lists, label matrices, counts."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from mtlib import paths
from mtlib.data import metadata
from mtlib.errors import DataError


def test_standard_tags_order_matches_published_files():
    tags = metadata.standard_tags()
    assert len(tags) == 50 and len(set(tags)) == 50
    assert tags[:5] == ["guitar", "classical", "slow", "techno", "strings"]
    assert tags[-3:] == ["metal", "female voice", "choral"]
    assert metadata.sorted_tags188()[:50] == tags
    text = (paths.shipped_mtat_dir() / "musicnn-training/output_labels_mtt.txt").read_text()
    musicnn = ast.literal_eval(text.split("=", 1)[1].strip())
    assert musicnn == tags


def test_tags188_is_the_annotation_column_order():
    assert len(metadata.TAGS188) == 188
    assert metadata.TAGS188[:3] == ("no voice", "singer", "duet")
    assert set(metadata.standard_tags()) <= set(metadata.TAGS188)
    assert set(metadata.sorted_tags188()) == set(metadata.TAGS188)


def test_standard_split_sizes_folders_and_consistency():
    split = metadata.standard_split_paths()
    assert {k: len(v) for k, v in split.items()} == {"train": 15244, "valid": 1529, "test": 4332}
    folders = {"train": set("0123456789ab"), "valid": {"c"}, "test": set("def")}
    for part, items in split.items():
        assert all(p.endswith(".mp3") and p[1] == "/" for p in items)
        assert {p[0] for p in items} == folders[part]
        assert len(set(items)) == len(items)
    # valid/test are the same sets as minzwon's split/{valid,test}.npy ("ROW\tpath")
    for part in ("valid", "test"):
        minzwon = np.load(paths.shipped_mtat_dir() / f"split/{part}.npy")
        assert {str(x).split("\t")[1] for x in minzwon} == set(split[part])
    index_paths = set(metadata.mtt_index()["mp3_path"])
    assert all(p in index_paths for items in split.values() for p in items)


def test_standard_label_matrix_columns_follow_standard_tags():
    """y_*_pub.npy swap metal/female voice; after reordering every row equals the gt file."""
    index = metadata.mtt_index()
    clip_of = dict(zip(index["mp3_path"], index["clip_id"], strict=True))
    raw = np.load(paths.shipped_mtat_dir() / "MTAT_split/y_valid_pub.npy")
    for part in ("valid", "test"):
        items, labels = metadata.standard_label_matrix(part)
        assert labels.dtype == np.uint8 and labels.shape == (len(items), 50)
        gt_ids, gt = metadata.gt_labels(part)
        gt_row = {int(c): i for i, c in enumerate(gt_ids)}
        expected = gt[[gt_row[clip_of[p]] for p in items]]
        np.testing.assert_array_equal(labels, expected)
        assert labels.sum(axis=1).min() >= 1  # published valid/test keep tagged clips only
    _, valid = metadata.standard_label_matrix("valid")
    tags = metadata.standard_tags()
    m, fv = tags.index("metal"), tags.index("female voice")
    np.testing.assert_array_equal(valid[:, m], raw[:, fv])  # the swap is real
    assert not np.array_equal(valid[:, m], raw[:, m])


def test_standard_label_matrix_rejects_train():
    with pytest.raises(DataError, match="valid: valid, test"):
        metadata.standard_label_matrix("train")


def test_top50_tag_counts_agree_with_gt_files():
    counts = metadata.top50_tag_counts()
    assert list(counts.columns) == ["tag", "all_25860", "train_0b", "valid_c", "test_def"]
    assert counts["tag"].tolist() == metadata.standard_tags()
    assert (counts["all_25860"] == counts[["train_0b", "valid_c", "test_def"]].sum(1)).all()
    for part, col in (("valid", "valid_c"), ("test", "test_def")):
        ids, gt = metadata.gt_labels(part)
        assert len(ids) == {"valid": 1825, "test": 5329}[part]
        np.testing.assert_array_equal(gt.sum(axis=0), counts[col].to_numpy())
    by_tag = dict(zip(counts["tag"], counts["all_25860"], strict=True))
    assert by_tag["metal"] == by_tag["female voice"] == 505
    assert by_tag["no vocal"] == by_tag["pop"] == 995


def test_empty_mp3_clip_ids_are_the_documented_paths():
    index = metadata.mtt_index().set_index("clip_id")["mp3_path"]
    assert len(index) == 25863 and index.index.is_unique
    assert index[35644] == "6/norine_braun-now_and_zen-08-gently-117-146.mp3"
    assert [index[c][0] for c in metadata.EMPTY_MP3_CLIP_IDS] == ["6", "8", "9"]


def test_missing_shipped_file_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MTLIB_MTAT_METADATA", str(tmp_path))
    with pytest.raises(DataError, match=r"top50_tag_counts\.tsv: shipped MTAT metadata"):
        metadata.top50_tag_counts()
    (tmp_path / "musicnn-training").mkdir()
    (tmp_path / "musicnn-training/index_mtt.tsv").write_text("1\t0/a.mp3\n")
    with pytest.raises(DataError, match=r"index_mtt\.tsv: expected 25863 rows, found 1"):
        metadata.mtt_index()
