"""Scores, arrangement, SoundFont rendering and degradation of the stand-in corpus."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest
from scipy import signal

from mtlib.errors import DataError
from mtlib.standin import arrange as arr
from mtlib.standin import recipes
from mtlib.standin.render import CLIP_SAMPLES, SAMPLE_RATE, Renderer, degrade
from mtlib.standin.scores import ScoreNotes, cache_path, catalogue, load_notes, slug

DURATION_S = CLIP_SAMPLES / SAMPLE_RATE


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    """Module-scoped fixtures run before conftest's per-test redirection: redirect here too."""
    base = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MTLIB_CACHE_DIR", str(base / "cache"))
        mp.setenv("MTLIB_RESULTS_DIR", str(base / "results"))
        yield


@pytest.fixture(scope="module")
def chorale(isolated) -> ScoreNotes:
    ref = next(r for r in catalogue()["chorale"] if r.score_id == "bach/bwv10.7")
    return load_notes(ref)


@pytest.fixture(scope="module")
def tune(isolated) -> ScoreNotes:
    return load_notes(catalogue()["fiddle"][0])


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _recipe(style: str, seed: int = 0, **changes) -> dict:
    recipe = recipes.sample_recipe(style, np.random.default_rng(seed))
    recipe["start_s"] = 0
    recipe.update(changes)
    return recipe


def test_catalogue_and_note_cache(chorale, tune):
    cat = catalogue()
    assert set(cat) == set(recipes.SCORE_FAMILIES)
    assert all(len(refs) >= 20 for refs in cat.values())
    assert cat == catalogue.__wrapped__()  # deterministic rebuild
    assert chorale.n_voices == 4 and chorale.bar_q == 4.0
    assert chorale.notes.shape[1] == 4 and np.all(np.diff(chorale.notes[:, 0]) >= 0)
    assert np.all(chorale.notes[:, 1] > 0) and 36 <= chorale.notes[:, 2].min()
    # voice 0 is the highest
    means = [chorale.notes[chorale.notes[:, 3] == v, 2].mean() for v in range(4)]
    assert means == sorted(means, reverse=True)
    assert tune.n_voices == 1
    path = cache_path(chorale.ref)
    assert path.is_file()
    path.write_text("{broken")  # a damaged cache entry is parsed again
    again = load_notes(chorale.ref)
    assert np.array_equal(again.notes, chorale.notes)
    assert slug("Ryan's  Reel -- No. 2") == "ryan_s_reel_no_2"


def test_arrangement_layers_programs_and_drums(chorale):
    recipe = _recipe("rock")
    pm = arr.arrange(chorale, recipe, DURATION_S, np.random.default_rng(0))
    programs = {i.program for i in pm.instruments if not i.is_drum}
    assert {layer["program"] for layer in recipe["layers"]} <= programs
    drums = [i for i in pm.instruments if i.is_drum]
    assert len(drums) == 1 and drums[0].program == recipe["drums"]["kit"]
    for inst in pm.instruments:
        assert inst.notes, inst.name
        assert all(0 <= n.start < n.end <= DURATION_S + 1e-9 for n in inst.notes)
        assert any(c.number == 7 for c in inst.control_changes)
    quartet = _recipe("classical_strings", layers=[{
        "instrument": "string_quartet", "role": "voices", "kind": "lead", "program": 40,
        "tags": ["strings", "violin"], "gain_db": 0.0}], drums=None)
    pm = arr.arrange(chorale, quartet, DURATION_S, np.random.default_rng(0))
    assert sorted(i.program for i in pm.instruments) == [40, 41]  # two violins, two violas


def test_tempo_classes_change_note_rate(tune):
    rates = {}
    for tempo in ("slow", "medium", "fast"):
        recipe = _recipe("solo_violin", tempo=tempo, tempo_u=0.5, drums=None)
        recipe["layers"] = recipe["layers"][:1]
        pm = arr.arrange(tune, recipe, DURATION_S, np.random.default_rng(0))
        rates[tempo] = len(pm.instruments[0].notes) / DURATION_S
    assert rates["slow"] < rates["medium"] < rates["fast"]
    assert rates["slow"] < 1.6 and rates["fast"] > 3.5


def test_drum_patterns_cover_every_named_pattern():
    assert set(arr.DRUM_PATTERNS) == set(recipes.DRUM_PATTERNS)
    assert all(len(hits) == 16 for p in arr.DRUM_PATTERNS.values() for hits in p.values())
    with pytest.raises(DataError, match="unknown drum pattern"):
        recipes.Drums(("polka",), (0,))


def test_key_and_chords():
    scale = np.array([[i, 1.0, p, 0] for i, p in enumerate([62, 64, 66, 67, 69, 71, 73, 74])],
                     dtype=float)
    assert arr.estimate_key(scale) == (2, "major")  # D major
    triad = np.array([[0, 2, 60, 0], [0, 2, 64, 1], [0, 2, 67, 2], [2, 2, 65, 0],
                      [2, 2, 69, 1], [2, 2, 72, 2]], dtype=float)
    score = ScoreNotes(None, triad, 3, 4.0, 4.0)
    assert arr.chord_segments(score, (0, "major")).tolist() == [[0, 0], [5, 0]]  # C, F


def test_render_is_deterministic_and_sounds(renderer, chorale):
    pm = arr.arrange(chorale, _recipe("piano_classical", drums=None), DURATION_S,
                     np.random.default_rng(1))
    a = renderer.render(pm)
    b = renderer.render(pm)
    assert a.shape == (CLIP_SAMPLES,) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert np.sqrt(np.mean(a ** 2)) > 1e-3
    empty = renderer.render(pretty_midi.PrettyMIDI())
    assert not empty.any()


def test_degrade_level_noise_and_lowpass(renderer, chorale):
    pm = arr.arrange(chorale, _recipe("choral", drums=None), DURATION_S,
                     np.random.default_rng(2))
    clean = renderer.render(pm)
    recipe = {"level_dbfs": -20.0, "noise": "pink", "snr_db": 20.0, "lowpass_hz": 4000.0}
    out = degrade(clean, recipe, np.random.default_rng(0))
    assert out.dtype == np.float32 and out.shape == clean.shape
    level = 20 * np.log10(np.sqrt(np.mean(out ** 2)))
    assert -23.0 < level < -19.0
    f, pxx = signal.welch(out, SAMPLE_RATE, nperseg=2048)
    below = pxx[(f > 500) & (f < 3000)].mean()
    above = pxx[f > 6000].mean()
    assert 10 * np.log10(below / above) > 40  # 8th-order low-pass at 4 kHz
    again = degrade(clean, recipe, np.random.default_rng(0))
    assert np.array_equal(out, again)
    louder = degrade(clean, dict(recipe, level_dbfs=-12.0), np.random.default_rng(0))
    assert np.sqrt(np.mean(louder ** 2)) > 2 * np.sqrt(np.mean(out ** 2))


def test_render_errors_name_the_problem(monkeypatch):
    from mtlib.standin import render

    monkeypatch.setattr(render.pretty_midi, "__file__", "/nonexistent/pretty_midi/__init__.py")
    with pytest.raises(DataError, match="TimGM6mb.sf2: SoundFont missing"):
        render.soundfont_path()
