"""Clips to listen to: which clips a chapter names (a tag's hit, miss and false alarm; where
two models disagree), the files written for each (the clip's own mp3, a small spectrogram),
and the HTML that plays them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_train import write_learnable_cache

from mtlib import paths
from mtlib.report import listening

TAGS = ["guitar", "piano", "drums"]


def scores(model: str, y_score: list[list[float]], y_true: list[list[int]] | None = None,
           clip_ids: list[int] | None = None) -> listening.Scores:
    y_score = np.asarray(y_score, dtype=np.float32)
    y_true = np.asarray(y_true if y_true is not None else np.zeros_like(y_score), np.uint8)
    ids = np.asarray(clip_ids if clip_ids is not None else range(10, 10 + len(y_score)))
    return listening.Scores(model, ids, y_true, y_score, TAGS)


def test_a_tags_clips_are_its_best_hit_worst_miss_and_worst_false_alarm():
    s = scores("shallow CNN",
               [[0.9, 0.1, 0.2], [0.2, 0.3, 0.1], [0.8, 0.5, 0.9], [0.4, 0.2, 0.3]],
               [[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]])
    hit, miss, alarm = listening.tag_clips(s, "guitar", " (ROC-AUC 0.75)")
    assert (hit.clip_id, miss.clip_id, alarm.clip_id) == (10, 11, 12)
    assert hit.why == "guitar (ROC-AUC 0.75): the tagged clip it scores highest"
    assert miss.true_tags == ("guitar", "piano")
    (p,) = alarm.predictions
    assert p.focus == ("guitar", pytest.approx(0.8))
    assert [t for t, _ in p.top] == ["drums", "guitar", "piano"]  # highest score first
    # A tag on every clip (or on none) has no untagged (or tagged) clip to pick.
    assert listening.tag_clips(scores("m", [[0.5, 0, 0]], [[1, 0, 0]]), "guitar") == []


def test_disagreements_compare_ranks_not_raw_scores():
    # b scores everything higher; only the ranks differ on clips 10 and 13.
    a = scores("SampleCNN", [[0.9, 0, 0], [0.5, 0, 0], [0.4, 0, 0], [0.1, 0, 0]])
    b = scores("shallow CNN", [[0.96, 0, 0], [0.98, 0, 0], [0.97, 0, 0], [0.99, 0, 0]])
    clips = listening.disagreements(a, b, "guitar", 1)
    assert [c.clip_id for c in clips] == [10, 13]
    assert clips[0].why.startswith("guitar: SampleCNN ranks it 75 percentile points above")
    assert [p.model for p in clips[1].predictions] == ["SampleCNN", "shallow CNN"]
    # Only the clips both models scored count.
    c = scores("c", [[0.2, 0, 0], [0.1, 0, 0]], clip_ids=[13, 99])
    assert {x.clip_id for x in listening.disagreements(a, c, "guitar", 1)} == {13}


def test_a_group_has_at_most_max_clips_and_survives_json():
    clip = listening.Clip(1, "why", ("guitar",), (listening.Prediction(
        "m", (("guitar", 0.5),), ("guitar", 0.5)),))
    with pytest.raises(ValueError, match="at most"):
        listening.Listening("t", (clip,) * (listening.MAX_CLIPS + 1), "d", 12000)
    group = listening.Listening("t", (clip,), "d", 12000, listening.MTAT_ATTRIBUTION)
    assert listening.Listening.from_dict(json.loads(json.dumps(group.to_dict()))) == group
    assert listening.attribution("standin") == ""
    assert "CC BY-NC-SA 3.0" in listening.attribution("mtat")


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """A prepared cache whose test clips have mp3 files (a tone each) under a corpus root."""
    import soundfile as sf

    monkeypatch.setenv("MTLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MTLIB_RESULTS_DIR", str(tmp_path / "results"))
    cache = write_learnable_cache(dataset="listen", clips_per_folder=2)
    root = tmp_path / "corpus"
    test = cache.index[cache.index["split_folder"] == "test"]
    for mp3 in test["mp3_path"][:2]:
        (root / mp3).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / mp3, 0.2 * np.sin(np.arange(8000) / 5.0), 8000, format="MP3")
    meta = json.loads((cache.path / "meta.json").read_text())
    (cache.path / "meta.json").write_text(json.dumps({**meta, "source_root": str(root)}))
    return cache, [int(c) for c in test["clip_id"][:2]]


def test_write_copies_each_clips_mp3_and_draws_a_small_spectrogram(corpus):
    cache, ids = corpus
    group = listening.Listening("two clips", tuple(listening.Clip(
        c, "why", (), ()) for c in ids), "listen", cache.sample_rate)
    written = listening.write(group)
    root = json.loads((cache.path / "meta.json").read_text())["source_root"]
    by_id = dict(zip(cache.index["clip_id"], cache.index["mp3_path"], strict=True))
    assert written == [paths.listen_dir() / f"clip-{c:06d}.mp3" for c in ids]
    for c, mp3 in zip(ids, written, strict=True):
        assert mp3.read_bytes() == (paths.Path(root) / by_id[c]).read_bytes()  # unchanged
        png = mp3.with_suffix(".png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) < 40_000
    page = listening.html(group, lambda c, ext: f"listen/{listening.clip_file(c, ext)}")
    assert page.count("<audio controls") == 2
    assert f'src="listen/clip-{ids[0]:06d}.mp3"' in page
    assert f'src="listen/clip-{ids[0]:06d}.png"' in page


def test_html_shows_tags_scores_and_the_licence_escaped():
    clip = listening.Clip(3, "a <b> & c", ("rock",), (
        listening.Prediction("shallow CNN", (("rock", 0.812), ("pop", 0.1)), ("guitar", 0.05)),
        listening.Prediction("SampleCNN", (("pop", 0.7),), ("guitar", 0.6))))
    page = listening.html(listening.Listening("g", (clip,), "d", 1, listening.MTAT_ATTRIBUTION),
                          lambda c, ext: f"x.{ext}")
    for shown in ("a &lt;b&gt; &amp; c", "true tags: rock (no guitar)", "rock 0.81",
                  "<strong>guitar 0.05</strong>; top: rock 0.81",
                  "<em>SampleCNN</em>: <strong>guitar 0.60</strong>; top: pop 0.70",
                  "CC BY-NC-SA 3.0"):
        assert shown in page, shown
    plain = listening.html(listening.Listening("g", (clip,), "d", 1), lambda c, ext: "x")
    assert "CC BY" not in plain


def test_notebook_05_names_the_section7_clips_its_test_set_holds():
    """On MTAT the test set holds the clips Section VII names: each gets a player, and the
    groups carry MTAT's licence."""
    import pandas as pd

    from mtlib.config import RunConfig
    from mtlib.report.profiles import load_profile
    from mtlib.report.sections import per_tag_analysis as pta
    from mtlib.training.rundir import RunResult

    ids = [48208, 1, 2, 3]  # 48208: Sec. VII's jackass_canyon
    y_true = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], np.uint8)
    y_score = np.array([[0.9, 0.2, 0.4], [0.3, 0.8, 0.1], [0.6, 0.1, 0.3], [0.2, 0.4, 0.7]],
                       np.float32)
    metrics = {"per_tag": {t: {"roc_auc": 0.5 + i / 10, "pr_auc": 0.5, "n_train_pos": 10 - i}
                           for i, t in enumerate(TAGS)}}
    run = RunResult("r", RunConfig(tags=tuple(TAGS)), None, metrics, pd.DataFrame(),
                    _predictions=(np.array(ids), y_true, y_score, TAGS))
    clips = pta.clip_table(run)
    per_tag = pta.per_tag_table([run])
    p = pta.PerTag(per_tag, clips, clips.assign(rank="best"), per_tag.iloc[0], 1, 3,
                   per_tag.nsmallest(1, "roc_auc"), 0.0, pta._named_clips(clips),
                   pta._section7_tags(per_tag), run)
    groups = pta.listening(load_profile("quick").replace(data_source="mtat"), p)
    (named,) = groups[pta.LISTEN["section7"]].clips
    assert named.clip_id == 48208 and named.why.startswith("Section VII: shira_kammen")
    assert named.true_tags == ("guitar", "drums")
    assert [len(g.clips) for g in groups.values()] == [4, 1, 3]
    assert all(g.attribution == listening.MTAT_ATTRIBUTION for g in groups.values())
