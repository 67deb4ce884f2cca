"""The realism card: presence of each tag's sound read from the render plan."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtlib.errors import DataError
from mtlib.standin import realism
from mtlib.standin.plan import plan_corpus
from mtlib.standin.realism import (
    DOCS_END,
    DOCS_START,
    presence_table,
    read_plan,
    realism_card,
    sounding_tags,
    write_docs,
)
from mtlib.standin.vocab import INSTRUMENT_TAGS, VOCABULARY


def _layer(instrument, program, role="melody", tags=()):
    return {"instrument": instrument, "program": program, "role": role, "tags": list(tags),
            "kind": "lead", "gain_db": 0.0}


def _clip(layers, tags, drums=None):
    return {"recipe": {"layers": layers, "drums": drums}, "tags": list(tags)}


def test_sounding_tags_read_programs_and_voices():
    recipe = {"layers": [_layer("piano", 1),
                         _layer("string_quartet", 40, role="voices"),
                         _layer("choir", 52), _layer("voice", 53), _layer("bass", 33),
                         _layer("drone", 20)],
              "drums": {"pattern": "rock", "kit": 0, "prominent": False, "gain_db": -12.0}}
    assert sounding_tags(recipe) == {"piano", "violin", "strings", "choir", "vocal", "drums"}
    assert sounding_tags({"layers": [_layer("synth_pad", 90)], "drums": None}) == {"synth"}


def test_presence_table_counts_tagged_and_untagged_clips():
    clips = [
        _clip([_layer("piano", 0)], ["piano"]),
        _clip([_layer("piano", 0)], ["piano", "fast"]),
        _clip([_layer("piano", 0)], []),  # piano heard, tag dropped
        _clip([_layer("harp", 46)], ["harp"]),
        _clip([_layer("harp", 46)], ["harp"]),
    ]
    table = presence_table(clips).set_index("tag")
    assert table.loc["piano", "n_tagged"] == 2
    assert table.loc["piano", "tagged_presence"] == 1.0
    assert table.loc["piano", "untagged_presence"] == pytest.approx(1 / 3)
    assert table.loc["harp", "untagged_presence"] == 0.0
    assert np.isnan(table.loc["fast", "tagged_presence"])  # no instrument behind "fast"
    assert table.loc["fast", "corpus_freq"] == pytest.approx(0.2)
    card = realism_card(clips, {"piano": 0.7}).set_index("tag")
    assert card.loc["piano", "baseline_auc"] == 0.7 and np.isnan(card.loc["harp", "baseline_auc"])
    assert list(card.index) == list(VOCABULARY)
    with pytest.raises(DataError, match="no clips"):
        presence_table([])


def test_default_plan_hears_every_instrument_tag():
    """On a planned corpus every instrument's sound is in (nearly) every clip with its tag,
    and in far fewer of the clips without it."""
    clips = [p.to_dict() for p in plan_corpus(4000, seed=0)]
    table = presence_table(clips).set_index("tag")
    for tag in INSTRUMENT_TAGS:
        tagged, untagged = table.loc[tag, ["tagged_presence", "untagged_presence"]]
        assert tagged >= 0.7, (tag, tagged)  # only synonym swaps lower it
        assert untagged <= 0.5 * tagged, (tag, tagged, untagged)


def test_read_plan_and_write_docs(tmp_path):
    with pytest.raises(DataError, match="standin_metadata.json"):
        read_plan(tmp_path)
    (tmp_path / "standin_metadata.json").write_text(json.dumps({"clips_detail": [{"a": 1}]}))
    assert read_plan(tmp_path) == [{"a": 1}]
    page = tmp_path / "page.md"
    page.write_text(f"intro\n{DOCS_START}\nold\n{DOCS_END}\nafter\n")
    write_docs(page, f"{DOCS_START}\nnew\n{DOCS_END}")
    assert page.read_text() == f"intro\n{DOCS_START}\nnew\n{DOCS_END}\nafter\n"
    page.write_text("no markers\n")
    with pytest.raises(DataError, match="no realism-card block"):
        write_docs(page, "x")
    assert realism.PRESENCE_TAGS == INSTRUMENT_TAGS


def test_card_markdown_is_a_pipe_table():
    clips = [_clip([_layer("piano", 0)], ["piano"]), _clip([_layer("harp", 46)], [])]
    text = realism.card_markdown(realism_card(clips, {"piano": 0.75}), 2, 0, 0.75)
    lines = text.splitlines()
    assert lines[0] == DOCS_START and lines[-1] == DOCS_END
    assert "2 clips, seed 0; baseline macro ROC-AUC 0.750" in lines[1]
    header = [line for line in lines if line.startswith("| tag")][0]
    assert header.count("|") == 9
    piano = [line for line in lines if line.startswith("| piano ")][0]
    assert "| 50.0 % |" in piano and "| 0.750 |" in piano and "| 100.0 % |" in piano
    assert len([line for line in lines if line.startswith("| ")]) == 2 + len(VOCABULARY)


def test_corpus_card_reuses_the_cached_baseline_and_the_section_reads_it(tmp_path):
    from mtlib.report.sections import tag_distribution

    clips = [p.to_dict() for p in plan_corpus(48, seed=0)]
    (tmp_path / "standin_metadata.json").write_text(json.dumps(
        {"fingerprint": "abc", "clips_detail": clips}))
    per_tag = {t: 0.6 + 0.01 * i for i, t in enumerate(VOCABULARY)}
    (tmp_path / realism.BASELINE_FILE).write_text(json.dumps(
        {"fingerprint": "abc", "result": {"per_tag": per_tag, "macro_roc_auc": 0.75}}))
    card = realism.corpus_card(tmp_path)  # no audio here: the cache must answer
    assert card.set_index("tag")["baseline_auc"].to_dict() == pytest.approx(per_tag)
    text = tag_distribution.realism_closing(card)
    assert "lowest on **guitar** (0.600)" in text and "macro ROC-AUC" in text
    assert tag_distribution.realism_closing(None) == ""
    (tmp_path / "standin_metadata.json").write_text("{}")
    with pytest.raises(DataError, match="fingerprint"):
        realism.corpus_baseline(tmp_path)
