"""Stand-in labels without audio: vocabulary, target frequencies, weak labels, splits."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np
import pytest

from mtlib.data import metadata
from mtlib.errors import DataError
from mtlib.standin import recipes
from mtlib.standin.plan import FOLDERS_OF_SPLIT, label_matrix, plan_corpus, style_counts
from mtlib.standin.vocab import VOCABULARY, label_vector, target_marginals

# Tolerance of the label model: on a large label-only sample every tag's annotated frequency
# is within 25 % (relative) of its MTAT frequency, and the mean number of tags per clip within
# 10 %. (Fitted weights reach <= 19 %; 20,000 clips add ~5 % sampling noise on a 2 % tag.)
MARGINAL_REL_TOL = 0.25
DENSITY_REL_TOL = 0.10
MTAT_NAME = re.compile(r"^[0-9a-f]/[a-z0-9_]+-[a-z0-9_]+-\d{2,}-[a-z0-9_]+-\d+-\d+\.mp3$")


@pytest.fixture(scope="module")
def big_plan():
    return plan_corpus(20_000, seed=0)


def test_vocabulary_is_mtat_top50_subset_without_voice_quality_tags():
    top50 = metadata.standard_tags()
    assert len(VOCABULARY) == 31
    assert all(t in top50 for t in VOCABULARY)
    assert list(VOCABULARY) == [t for t in top50 if t in VOCABULARY]  # MTAT order
    for left_out in ("male", "female", "opera", "singing", "vocals", "weird", "female voice"):
        assert left_out not in VOCABULARY
    with pytest.raises(DataError, match="unknown stand-in tag 'bagpipes'"):
        label_vector(["bagpipes"])


def test_marginals_match_mtat_within_tolerance(big_plan):
    y = label_matrix(big_plan)
    freq = y.mean(axis=0)
    targets = target_marginals()
    for j, tag in enumerate(VOCABULARY):
        rel = abs(freq[j] - targets[tag]) / targets[tag]
        assert rel <= MARGINAL_REL_TOL, f"{tag}: {freq[j]:.4f} vs MTAT {targets[tag]:.4f}"
    density = y.sum(axis=1).mean()
    target_density = sum(targets.values())
    assert abs(density - target_density) / target_density <= DENSITY_REL_TOL
    # Imbalanced like MTAT: the most frequent tag is ~10x the rarest.
    assert freq.max() / freq.min() > 5


def test_labels_are_weak_drop_rate_and_synonyms(big_plan):
    rng = np.random.default_rng(0)
    kept = np.mean([bool(recipes.annotate(["piano"], rng)) for _ in range(20_000)])
    assert abs(kept - (1 - recipes.DROP_RATE)) < 0.02  # piano has no synonym
    assert recipes.annotate(["piano", "fast"], rng, drop_rate=0.0) == ["fast", "piano"]
    with pytest.raises(DataError, match="drop_rate"):
        recipes.annotate(["piano"], rng, drop_rate=1.5)
    clean = label_matrix(big_plan, clean=True)
    ann = label_matrix(big_plan)
    kept_share = (clean & ann).sum() / clean.sum()
    assert 0.6 < kept_share < 0.8
    # Synonyms inconsistently: some choir clips are annotated only "vocal", most stay "choir".
    choir, vocal = VOCABULARY.index("choir"), VOCABULARY.index("vocal")
    has_choir = clean[:, choir] == 1
    only_vocal = (ann[has_choir, vocal] == 1) & (ann[has_choir, choir] == 0)
    assert 0.05 < only_vocal.mean() < 0.4
    assert ann[has_choir, choir].mean() > 0.4
    # A tag outside a clip's clean set can only come from a synonym rule.
    sources = defaultdict(set)
    for src, dst, _, _ in recipes.SYNONYMS:
        sources[dst].add(src)
    for p in big_plan[:2000]:
        for tag in set(p.tags) - set(p.clean_tags):
            assert sources[tag] & set(p.clean_tags), (p.index, tag)


def test_tags_co_occur_but_not_rigidly(big_plan):
    y = label_matrix(big_plan, clean=True)
    col = {t: y[:, i] == 1 for i, t in enumerate(VOCABULARY)}
    # genre with its instruments and tempo ...
    assert col["guitar"][col["metal"]].mean() > 0.8
    assert col["sitar"][col["indian"]].mean() > 0.5
    assert col["slow"][col["ambient"]].mean() > 0.3
    # ... but no tag implies another outright
    assert 0.05 < col["electronic"][col["techno"]].mean() < 0.5
    assert 0.2 < col["classical"][col["strings"]].mean() < 1.0
    assert col["beat"][col["drums"]].mean() < 0.9
    sets = Counter(tuple(t for t in VOCABULARY if col[t][i] and t in
                         ("guitar", "drums", "vocal", "synth", "piano", "strings"))
                   for i in np.nonzero(col["rock"])[0])
    assert len(sets) >= 5  # rock comes with many instrument combinations


def test_plan_is_deterministic_and_seed_dependent():
    a, b, c = plan_corpus(60, seed=3), plan_corpus(60, seed=3), plan_corpus(60, seed=4)
    assert [p.to_dict() for p in a] == [p.to_dict() for p in b]
    assert [p.mp3_path for p in a] != [p.mp3_path for p in c]


def test_splits_follow_folders_and_no_score_leaks():
    for clips in (48, 1000):
        plans = plan_corpus(clips, seed=0)
        splits = Counter(p.split for p in plans)
        if clips == 48:
            assert splits == {"train": 36, "valid": 3, "test": 9}
        else:
            assert abs(splits["train"] / clips - 12 / 16) < 0.01
            assert abs(splits["test"] / clips - 3 / 16) < 0.01
        by_score = defaultdict(set)
        for p in plans:
            assert p.mp3_path[0] in FOLDERS_OF_SPLIT[p.split]
            assert MTAT_NAME.match(p.mp3_path), p.mp3_path
            by_score[p.score.score_id].add(p.split)
        assert all(len(s) == 1 for s in by_score.values())
        assert len({p.mp3_path for p in plans}) == clips
        assert len({p.clip_id for p in plans}) == clips
        assert not {35644, 55753, 57881} & {p.clip_id for p in plans}


def test_smoke_sized_plan_has_most_tags_in_train():
    plans = plan_corpus(48, seed=0)
    train = label_matrix([p for p in plans if p.split == "train"])
    assert (train.sum(axis=0) > 0).sum() >= 0.7 * len(VOCABULARY)


def test_style_counts_and_errors():
    counts = style_counts(1000)
    assert sum(counts.values()) == 1000
    assert set(counts) == set(recipes.style_names())
    weights = recipes.STYLE_WEIGHTS
    total = sum(weights.values())
    assert all(abs(counts[n] - 1000 * w / total) <= 1 for n, w in weights.items())
    with pytest.raises(DataError, match="unknown style 'polka'; valid: classical_strings"):
        recipes.sample_recipe("polka", np.random.default_rng(0))
    with pytest.raises(DataError, match="clips must be a positive integer"):
        plan_corpus(0, seed=0)
    with pytest.raises(DataError, match="seed must be a non-negative integer"):
        plan_corpus(5, seed=-1)


def test_recipes_vary_programs_within_family(big_plan):
    programs = defaultdict(set)
    for p in big_plan[:3000]:
        for layer in p.recipe["layers"]:
            programs[layer["instrument"]].add(layer["program"])
    for inst in ("piano", "guitar_drive", "strings", "synth_lead", "synth_pad", "flute"):
        assert programs[inst] == set(recipes.INSTRUMENTS[inst].programs), inst
    accompanied = np.mean([any(x["kind"] == "accompaniment" for x in p.recipe["layers"])
                           for p in big_plan])
    assert abs(accompanied - recipes.ACCOMPANIMENT_PROB) < 0.03


def test_instrument_tags_mark_clearly_audible_layers(big_plan):
    """A layer carries its instrument's tags exactly when it is at AUDIBLE_DB or louder;
    background parts sit in BACKGROUND_DB, well below every tagged layer."""
    lo, hi = recipes.BACKGROUND_DB
    for p in big_plan[:3000]:
        for layer in p.recipe["layers"]:
            inst_tags = list(recipes.INSTRUMENTS[layer["instrument"]].tags)
            audible = layer["gain_db"] >= recipes.AUDIBLE_DB
            assert layer["tags"] == (inst_tags if audible else []), (p.index, layer)
            assert audible or lo <= layer["gain_db"] <= hi, (p.index, layer)
        drums = p.recipe["drums"]
        if drums is not None and not drums["prominent"]:
            assert lo <= drums["gain_db"] <= hi
