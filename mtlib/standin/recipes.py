"""Styles and recipes of the stand-in corpus, and the labels they imply (no audio here).

A :class:`Style` (techno, classical strings, country, ...) is a distribution over concrete
*recipes*: which score family, which instruments in which roles, General MIDI program within
each instrument's family, drums, tempo, dynamics, transposition and degradation. Sampling a
recipe and its labels is pure Python on a seeded ``numpy.random.Generator``, so label
statistics can be studied on thousands of clips without rendering any audio.

Labels come in two stages, like MTAT's:

- :func:`clean_tags`: the tags a recipe truly carries (its genre, every instrument clearly
  audible in it, "drums" when the kit is up front, "beat" for a steady groove up front,
  tempo and dynamics classes, "solo" for a lone instrument);
- :func:`annotate`: the weak annotation. Each true tag is dropped with ``drop_rate`` (MTAT's
  players tagged only what struck them), and synonyms are applied inconsistently (a techno
  clip is sometimes also "electronic", a choir sometimes only "vocal", ...).

Style weights were fitted (non-negative least squares, :func:`fit_style_weights`) so that the
annotated tag frequencies match real MTAT's (``vocab.target_marginals``); tests check the
match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mtlib.errors import DataError
from mtlib.standin.vocab import VOCABULARY

DROP_RATE = 0.25  # fraction of true tags left out of the annotation
ACCOMPANIMENT_PROB = 0.35  # chance of one extra (tagged) accompanying instrument
# Levels relative to the lead (dB, before the velocity offsets of arrange.py). An instrument
# tag marks a clip only where a layer of that instrument is clearly audible, at AUDIBLE_DB
# or louder; background parts sit in BACKGROUND_DB and are never tagged: TagATune kept a tag
# only when players named it, and players name what stands out.
AUDIBLE_DB = -8.0
LEVEL_DB = {"lead": 0.0, "support": -5.0, "accompaniment": 0.0}  # +- LEVEL_JITTER_DB
LEVEL_JITTER_DB = 2.0
BACKGROUND_DB = (-16.0, -11.0)  # untagged layers and background drums

SCORE_FAMILIES = ("chorale", "polyphony", "quartet", "fiddle", "folk")
ROLES = (
    "voices",  # every voice of the score (block chords under a single-line tune)
    "melody",  # the top voice
    "counter",  # the second voice, or the melody a sixth below for a single-line tune
    "bass",  # the lowest voice, or the chord roots for a single-line tune
    "chords",  # sustained chords, one per half bar
    "arpeggio",  # broken chords in eighth notes
    "strum",  # strummed chords on every beat
    "power",  # power chords (root, fifth, octave) in eighth notes
    "drone",  # sustained tonic and fifth
)
TEMPO_CLASSES = ("slow", "medium", "fast")
DYNAMICS = ("quiet", "soft", "normal", "loud")
NOISE_COLOURS = ("white", "pink", "brown")
# Drum patterns that make a steady groove (tagged "beat"); the others are percussion colour.
GROOVES = frozenset({"four_on_floor", "pop", "breakbeat", "halftime", "rock"})
DRUM_PATTERNS = (*sorted(GROOVES), "minimal", "rock", "metal", "country", "hand", "swing")

# Rendering ranges; the arrangement and renderer read these from the recipe.
TRANSPOSE_RANGE = (-5, 6)  # semitones, inclusive
LOWPASS_HZ = (3500.0, 7500.0)  # about what MTAT's 32 kbps mp3s carry
SOFT_LOWPASS_HZ = (3000.0, 4500.0)  # "soft" clips are also duller
SNR_DB = (15.0, 35.0)
LEVEL_DBFS = {"quiet": (-32.0, -27.0), "soft": (-25.0, -21.0), "normal": (-21.0, -17.0),
              "loud": (-15.0, -11.0)}  # RMS of the final clip
VELOCITY = {"quiet": (28, 52), "soft": (38, 64), "normal": (62, 96), "loud": (100, 127)}


@dataclass(frozen=True)
class Instrument:
    """A GM instrument family: the tags it carries, its programs and where its line sits.

    ``register`` (MIDI pitches) is the range the median pitch of the line is moved into by
    whole octaves. ``per_voice`` programs (top voice first) are used by role "voices" when set.
    """

    tags: tuple[str, ...]
    programs: tuple[int, ...]
    register: tuple[int, int]
    per_voice: tuple[int, ...] = ()


INSTRUMENTS: dict[str, Instrument] = {
    "piano": Instrument(("piano",), (0, 1, 2, 3), (60, 76)),
    "harpsichord": Instrument(("harpsichord",), (6,), (60, 79)),
    "guitar_nylon": Instrument(("guitar",), (24, 25), (55, 72)),
    "guitar_clean": Instrument(("guitar",), (25, 26, 27, 28), (55, 72)),
    "guitar_drive": Instrument(("guitar",), (29, 30), (52, 72)),
    "strings": Instrument(("strings",), (48, 49, 44, 50), (55, 76)),
    # Two violins over two violas: a cello voice would sound "cello" without the tag.
    "string_quartet": Instrument(("strings", "violin"), (40,), (64, 79), (40, 40, 41, 41)),
    "violin": Instrument(("violin",), (40, 110), (67, 84)),
    "cello": Instrument(("cello",), (42,), (45, 60)),
    "harp": Instrument(("harp",), (46,), (60, 79)),
    "flute": Instrument(("flute",), (73, 72, 74, 75), (72, 88)),
    "sitar": Instrument(("sitar",), (104,), (55, 72)),
    "synth_lead": Instrument(("synth",), (80, 81, 82, 83, 84, 86, 87), (60, 79)),
    "synth_pad": Instrument(("synth",), (88, 89, 90, 91, 92, 93, 94, 95), (55, 72)),
    "choir": Instrument(("choir",), (52, 53, 54), (64, 76)),
    "voice": Instrument(("vocal",), (53, 54, 85, 52), (60, 74)),
    # Untagged timbres: MTAT clips carry many instruments outside the vocabulary.
    "bass": Instrument((), (32, 33, 34, 35), (36, 48)),
    "synth_bass": Instrument((), (38, 39), (36, 48)),
    "organ": Instrument((), (16, 17, 19, 20), (55, 72)),
    "epiano": Instrument((), (4, 5), (55, 72)),
    "brass": Instrument((), (56, 57, 59, 60, 61), (55, 72)),
    "reed": Instrument((), (65, 66, 68, 71), (60, 76)),
    "mallets": Instrument((), (8, 11, 12, 13), (67, 84)),
    "accordion": Instrument((), (21, 22, 23), (60, 76)),
    "banjo": Instrument((), (105,), (60, 76)),
    "shanai": Instrument((), (111,), (64, 79)),
    "drone": Instrument((), (20, 19, 16), (48, 60)),  # organ timbres: no tagged sound
}


@dataclass(frozen=True)
class Layer:
    """One instrument in one role; ``prob`` is its chance of being present (support layers)."""

    instrument: str
    role: str
    prob: float = 1.0
    tagged: bool = True  # False: a background part annotators would not name

    def __post_init__(self) -> None:
        if self.instrument not in INSTRUMENTS:
            raise DataError(f"unknown instrument {self.instrument!r}; valid: {sorted(INSTRUMENTS)}")
        if self.role not in ROLES:
            raise DataError(f"unknown role {self.role!r}; valid: {', '.join(ROLES)}")


@dataclass(frozen=True)
class Drums:
    """A drum layer: present with ``prob``; up front (tagged "drums") with ``prominent``."""

    patterns: tuple[str, ...]  # keys of arrange.DRUM_PATTERNS
    # GM drum kits (program numbers on channel 10): 0 standard, 8 room, 16 power,
    # 24 electronic, 25 TR-808, 32 jazz, 40 brush.
    kits: tuple[int, ...]
    prob: float = 1.0
    prominent: float = 0.5

    def __post_init__(self) -> None:
        unknown = sorted(set(self.patterns) - set(DRUM_PATTERNS))
        if unknown:
            raise DataError(f"unknown drum pattern(s) {unknown}; valid: {', '.join(DRUM_PATTERNS)}")


@dataclass(frozen=True)
class Style:
    """A distribution over recipes. Probabilities are per clip; weights are fitted globally."""

    name: str
    genres: dict[str, float]  # genre tag -> probability it is true of the clip
    families: dict[str, float]  # score family -> weight
    leads: tuple[tuple[Layer, float], ...]  # one lead layer, chosen by weight
    support: tuple[Layer, ...] = ()  # each present with its own prob
    accompaniment: tuple[Layer, ...] = ()  # one of them added with ACCOMPANIMENT_PROB
    drums: Drums | None = None
    tempo: tuple[float, float, float] = (0.3, 0.4, 0.3)  # slow, medium, fast
    dynamics: tuple[float, float, float, float] = (0.1, 0.1, 0.7, 0.1)  # quiet soft normal loud
    solo: bool = False  # "solo" when nothing but the lead instrument plays
    # Per-instrument program overrides, e.g. metal's guitars are always distorted.
    programs: dict[str, tuple[int, ...]] = field(default_factory=dict)


def _L(instrument: str, role: str, prob: float = 1.0, tagged: bool = True) -> Layer:
    return Layer(instrument, role, prob, tagged)


CLASSICAL_ACCOMPANIMENT = (
    _L("harpsichord", "chords"), _L("harp", "arpeggio"),
    _L("flute", "melody"), _L("cello", "bass"), _L("strings", "chords"),
)

STYLES: tuple[Style, ...] = (
    Style(
        "classical_strings", {"classical": 1.0},
        {"chorale": 0.45, "quartet": 0.35, "polyphony": 0.2},
        ((_L("strings", "voices"), 0.7), (_L("string_quartet", "voices"), 0.3)),
        accompaniment=tuple(x for x in CLASSICAL_ACCOMPANIMENT if x.instrument != "strings"),
        tempo=(0.25, 0.69, 0.06), dynamics=(0.08, 0.08, 0.82, 0.02),
    ),
    Style(
        "piano_classical", {"classical": 1.0},
        {"chorale": 0.35, "quartet": 0.3, "folk": 0.2, "fiddle": 0.15},
        ((_L("piano", "voices"), 1.0),),
        accompaniment=(_L("strings", "chords"), _L("violin", "melody"), _L("cello", "bass"),
                       _L("flute", "melody")),
        tempo=(0.25, 0.65, 0.1), dynamics=(0.08, 0.08, 0.8, 0.04), solo=True,
    ),
    Style(
        "harpsichord_baroque", {"classical": 1.0},
        {"chorale": 0.35, "quartet": 0.25, "fiddle": 0.2, "folk": 0.2},
        ((_L("harpsichord", "voices"), 1.0),),
        support=(_L("cello", "bass", 0.3),),  # basso continuo
        accompaniment=(_L("strings", "chords"), _L("violin", "melody"), _L("cello", "bass"),
                       _L("flute", "melody")),
        tempo=(0.1, 0.8, 0.1), dynamics=(0.03, 0.03, 0.9, 0.04), solo=True,
    ),
    Style(
        "choral", {"classical": 0.85},
        {"chorale": 0.5, "polyphony": 0.5},
        ((_L("choir", "voices"), 1.0),),
        support=(_L("organ", "chords", 0.3),),
        accompaniment=(_L("strings", "chords"), _L("harp", "arpeggio")),
        tempo=(0.35, 0.62, 0.03), dynamics=(0.12, 0.1, 0.76, 0.02),
    ),
    Style(
        "solo_violin", {"classical": 0.7},
        {"fiddle": 0.45, "folk": 0.3, "quartet": 0.25},
        ((_L("violin", "melody"), 1.0),),
        accompaniment=(_L("harpsichord", "chords"),
                       _L("harp", "arpeggio"), _L("guitar_nylon", "arpeggio")),
        tempo=(0.2, 0.66, 0.14), dynamics=(0.05, 0.08, 0.82, 0.05), solo=True,
    ),
    Style(
        "solo_cello", {"classical": 0.8},
        {"folk": 0.4, "chorale": 0.3, "quartet": 0.3},
        ((_L("cello", "melody"), 1.0),),
        accompaniment=(_L("harp", "arpeggio"), _L("strings", "chords")),
        tempo=(0.4, 0.57, 0.03), dynamics=(0.08, 0.12, 0.78, 0.02), solo=True,
    ),
    Style(
        "harp", {"classical": 0.6},
        {"chorale": 0.4, "folk": 0.4, "quartet": 0.2},
        ((_L("harp", "melody"), 1.0),),
        support=(_L("harp", "arpeggio"),),
        accompaniment=(_L("flute", "melody"), _L("strings", "chords"), _L("violin", "counter")),
        tempo=(0.3, 0.64, 0.06), dynamics=(0.08, 0.15, 0.77, 0.0), solo=True,
    ),
    Style(
        "flute_classical", {"classical": 1.0},
        {"chorale": 0.3, "quartet": 0.3, "folk": 0.4},
        ((_L("flute", "melody"), 1.0),),
        accompaniment=(_L("harpsichord", "chords"), _L("strings", "chords"),
                       _L("harp", "arpeggio"), _L("guitar_nylon", "arpeggio")),
        tempo=(0.2, 0.72, 0.08), dynamics=(0.06, 0.1, 0.82, 0.02), solo=True,
    ),
    Style(
        "folk_flute", {},
        {"folk": 0.6, "fiddle": 0.4},
        ((_L("flute", "melody"), 1.0),),
        support=(_L("guitar_nylon", "strum", 0.6), _L("accordion", "chords", 0.2)),
        accompaniment=(_L("harp", "arpeggio"), _L("violin", "counter")),
        drums=Drums(("hand",), (0, 8), prob=0.3, prominent=0.3),
        tempo=(0.1, 0.76, 0.14), dynamics=(0.02, 0.06, 0.88, 0.04),
    ),
    Style(
        "classical_guitar", {"classical": 0.6},
        {"chorale": 0.3, "folk": 0.5, "fiddle": 0.2},
        ((_L("guitar_nylon", "melody"), 1.0),),
        support=(_L("guitar_nylon", "arpeggio"),),
        accompaniment=(_L("flute", "melody"), _L("violin", "melody"), _L("cello", "bass"),
                       _L("voice", "melody")),
        tempo=(0.25, 0.68, 0.07), dynamics=(0.05, 0.12, 0.81, 0.02), solo=True,
    ),
    Style(
        "country", {"country": 1.0},
        {"fiddle": 0.7, "folk": 0.3},
        ((_L("violin", "melody"), 0.8), (_L("voice", "melody"), 0.2)),
        support=(_L("guitar_clean", "strum", 0.9), _L("bass", "bass", 0.8),
                 _L("banjo", "arpeggio", 0.35)),
        accompaniment=(_L("voice", "counter"),),
        drums=Drums(("country",), (40, 0, 8), prob=0.6, prominent=0.5),
        tempo=(0.03, 0.76, 0.21), dynamics=(0.0, 0.03, 0.91, 0.06),
    ),
    Style(
        "rock", {"rock": 1.0},
        {"folk": 0.5, "fiddle": 0.5},
        ((_L("guitar_drive", "melody"), 0.55), (_L("voice", "melody"), 0.25),
         (_L("synth_lead", "melody"), 0.1), (_L("organ", "melody"), 0.1)),
        support=(_L("guitar_drive", "power", 0.85), _L("bass", "bass", 0.9)),
        accompaniment=(_L("synth_pad", "chords"), _L("strings", "chords")),
        drums=Drums(("rock",), (0, 8, 16), prominent=0.35),
        tempo=(0.05, 0.78, 0.17), dynamics=(0.0, 0.0, 0.9, 0.1),
    ),
    Style(
        "metal", {"metal": 1.0, "rock": 0.4},
        {"fiddle": 0.6, "folk": 0.4},
        ((_L("guitar_drive", "melody"), 0.8), (_L("voice", "melody"), 0.2)),
        support=(_L("guitar_drive", "power"), _L("bass", "power")),
        accompaniment=(_L("choir", "chords"), _L("strings", "chords"), _L("synth_pad", "chords")),
        drums=Drums(("metal",), (16, 0, 8), prob=1.0, prominent=0.7),
        tempo=(0.02, 0.63, 0.35), dynamics=(0.0, 0.0, 0.75, 0.25),
        programs={"guitar_drive": (30,)},
    ),
    Style(
        "pop", {"pop": 1.0},
        {"folk": 0.6, "fiddle": 0.2, "chorale": 0.2},
        ((_L("voice", "melody"), 0.35), (_L("piano", "melody"), 0.35),
         (_L("synth_lead", "melody"), 0.15), (_L("guitar_clean", "melody"), 0.15)),
        support=(_L("piano", "chords", 0.2, tagged=False), _L("epiano", "chords", 0.3),
                 _L("guitar_clean", "strum", 0.5), _L("bass", "bass", 0.9)),
        accompaniment=(_L("strings", "chords"), _L("synth_pad", "chords"), _L("flute", "counter")),
        drums=Drums(("pop", "halftime", "rock", "rock"), (0, 8, 24), prob=0.85, prominent=0.5),
        tempo=(0.12, 0.78, 0.1), dynamics=(0.03, 0.06, 0.84, 0.07),
    ),
    Style(
        "techno", {"techno": 1.0, "electronic": 0.3},
        {"folk": 0.5, "fiddle": 0.4, "chorale": 0.1},
        ((_L("synth_lead", "arpeggio", tagged=False), 0.6),
         (_L("synth_lead", "melody", tagged=False), 0.15), (_L("synth_lead", "melody"), 0.1),
         (_L("synth_pad", "chords", tagged=False), 0.15)),
        support=(_L("synth_bass", "bass"), _L("synth_pad", "chords", 0.5, tagged=False)),
        # Untagged colour only: a strings pad under techno would carry most "strings" tags.
        accompaniment=(_L("mallets", "arpeggio"), _L("epiano", "chords")),
        drums=Drums(("four_on_floor", "breakbeat", "minimal", "minimal", "minimal", "minimal"),
                    (25, 24), prominent=0.2),
        tempo=(0.0, 0.83, 0.17), dynamics=(0.0, 0.02, 0.93, 0.05),
    ),
    Style(
        "dance", {"dance": 1.0, "electronic": 0.4},
        {"folk": 0.6, "fiddle": 0.4},
        ((_L("synth_lead", "melody"), 0.55), (_L("voice", "melody"), 0.2),
         (_L("piano", "melody"), 0.25)),
        support=(_L("synth_bass", "bass", 0.9), _L("synth_pad", "chords", 0.4, tagged=False),
                 _L("piano", "chords", 0.15, tagged=False)),
        accompaniment=(_L("strings", "chords"), _L("guitar_clean", "strum")),
        # Dance is the four-on-the-floor kick up front, fast and loud more often than techno.
        drums=Drums(("four_on_floor",), (25, 24, 0), prob=1.0, prominent=0.8),
        tempo=(0.0, 0.6, 0.4), dynamics=(0.0, 0.0, 0.8, 0.2),
    ),
    Style(
        "electronic", {"electronic": 1.0},
        {"folk": 0.4, "chorale": 0.3, "fiddle": 0.3},
        # Electronic sound without a synth up front half the time: MTAT tags far fewer clips
        # "synth" than "electronic".
        ((_L("synth_lead", "melody"), 0.3), (_L("synth_pad", "chords"), 0.2),
         (_L("mallets", "melody"), 0.3), (_L("epiano", "melody"), 0.2)),
        support=(_L("synth_bass", "bass", 0.9), _L("mallets", "arpeggio", 0.3),
                 _L("synth_pad", "chords", 0.4, tagged=False)),
        accompaniment=(_L("flute", "melody"), _L("guitar_clean", "arpeggio")),
        drums=Drums(("breakbeat", "halftime", "minimal"), (24, 25), prob=0.4, prominent=0.3),
        tempo=(0.15, 0.75, 0.1), dynamics=(0.04, 0.06, 0.84, 0.06),
    ),
    Style(
        "ambient", {"ambient": 1.0},
        {"chorale": 0.5, "polyphony": 0.3, "folk": 0.2},
        ((_L("synth_pad", "voices"), 0.15), (_L("synth_pad", "voices", tagged=False), 0.45),
         (_L("strings", "voices"), 0.2), (_L("choir", "voices"), 0.2)),
        support=(_L("drone", "drone", 0.5),),
        accompaniment=(_L("voice", "melody"), _L("flute", "melody"),
                       _L("harp", "arpeggio")),
        tempo=(0.55, 0.45, 0.0), dynamics=(0.3, 0.15, 0.55, 0.0),
    ),
    Style(
        "new_age", {"new age": 1.0},
        {"folk": 0.4, "chorale": 0.4, "polyphony": 0.2},
        ((_L("piano", "voices"), 0.35), (_L("harp", "arpeggio"), 0.2),
         (_L("flute", "melody"), 0.25), (_L("synth_pad", "voices"), 0.2)),
        support=(_L("synth_pad", "chords", 0.5, tagged=False), _L("strings", "chords", 0.2)),
        accompaniment=(_L("voice", "melody"), _L("guitar_nylon", "arpeggio"),
                       _L("harp", "arpeggio"), _L("flute", "counter")),
        tempo=(0.5, 0.5, 0.0), dynamics=(0.2, 0.3, 0.5, 0.0),
    ),
    Style(
        # Piano up front over a bass line: most of MTAT's piano clips are piano-led, and a
        # piano heard only as one accompaniment among others is no sound to learn the tag by.
        "piano_ballad", {},
        {"chorale": 0.4, "folk": 0.4, "fiddle": 0.2},
        ((_L("piano", "voices"), 0.7), (_L("piano", "arpeggio"), 0.3)),
        support=(_L("bass", "bass", 0.6), _L("piano", "melody", 0.3)),
        accompaniment=(_L("strings", "chords"), _L("flute", "counter"), _L("voice", "melody")),
        drums=Drums(("swing",), (40, 32), prob=0.4, prominent=0.2),
        tempo=(0.4, 0.55, 0.05), dynamics=(0.1, 0.2, 0.7, 0.0),
    ),
    Style(
        "indian", {"indian": 1.0},
        {"folk": 0.7, "fiddle": 0.3},
        ((_L("sitar", "melody"), 0.75), (_L("shanai", "melody"), 0.15),
         (_L("flute", "melody"), 0.1)),
        support=(_L("drone", "drone", 0.8),),
        accompaniment=(_L("voice", "melody"), _L("violin", "counter"), _L("flute", "counter")),
        drums=Drums(("hand",), (0,), prob=0.85, prominent=0.4),
        tempo=(0.25, 0.61, 0.14), dynamics=(0.04, 0.06, 0.85, 0.05),
    ),
    Style(
        "jazz_band", {},
        {"folk": 0.6, "fiddle": 0.4},
        ((_L("brass", "melody"), 0.5), (_L("reed", "melody"), 0.5)),
        support=(_L("epiano", "chords", 0.6), _L("bass", "bass", 0.9)),
        accompaniment=(_L("guitar_clean", "chords"),),
        drums=Drums(("swing",), (32, 40), prob=0.7, prominent=0.2),
        tempo=(0.15, 0.71, 0.14), dynamics=(0.02, 0.06, 0.84, 0.08),
    ),
    Style(
        "folk_dance", {},
        {"folk": 0.5, "fiddle": 0.5},
        ((_L("accordion", "melody"), 0.5), (_L("organ", "melody"), 0.2),
         (_L("mallets", "melody"), 0.3)),
        support=(_L("accordion", "chords", 0.5), _L("bass", "bass", 0.7)),
        accompaniment=(_L("guitar_clean", "strum"), _L("violin", "counter")),
        drums=Drums(("country", "hand"), (0, 8), prob=0.4, prominent=0.2),
        tempo=(0.1, 0.76, 0.14), dynamics=(0.02, 0.05, 0.85, 0.08),
    ),
    Style(
        "organ", {"classical": 0.7},
        {"chorale": 0.6, "polyphony": 0.4},
        ((_L("organ", "voices"), 1.0),),
        accompaniment=(_L("choir", "chords"), _L("strings", "chords"), _L("flute", "melody")),
        tempo=(0.3, 0.63, 0.07), dynamics=(0.05, 0.05, 0.8, 0.1),
    ),
    Style(
        "brass_ensemble", {},
        {"chorale": 0.5, "polyphony": 0.2, "folk": 0.3},
        ((_L("brass", "voices"), 0.6), (_L("reed", "voices"), 0.4)),
        support=(_L("bass", "bass", 0.3),),
        accompaniment=(_L("guitar_clean", "chords"),),
        drums=Drums(("swing", "country"), (0, 32), prob=0.3, prominent=0.2),
        tempo=(0.2, 0.7, 0.1), dynamics=(0.03, 0.05, 0.82, 0.1),
    ),
)
STYLE_BY_NAME: dict[str, Style] = {s.name: s for s in STYLES}

# fit_style_weights(label_probabilities(20_000, seed=0)[1], targets), rounded to 4 digits.
# Refit after changing any style. The mostly untagged styles (folk_dance, brass_ensemble,
# organ, jazz_band) stand for MTAT clips that carry none of the vocabulary's tags.
STYLE_WEIGHTS: dict[str, float] = {
    "classical_strings": 0.0854,
    "piano_classical": 0.0187,
    "harpsichord_baroque": 0.0464,
    "choral": 0.0226,
    "solo_violin": 0.0040,
    "solo_cello": 0.0040,
    "harp": 0.0040,
    "flute_classical": 0.0040,
    "folk_flute": 0.0040,
    "classical_guitar": 0.0040,
    "country": 0.0278,
    "rock": 0.0934,
    "metal": 0.0258,
    "pop": 0.0475,
    "techno": 0.1561,
    "dance": 0.0312,
    "electronic": 0.0040,
    "ambient": 0.0869,
    "new_age": 0.0261,
    "piano_ballad": 0.0402,
    "indian": 0.0631,
    "jazz_band": 0.0040,
    "folk_dance": 0.0931,
    "organ": 0.0040,
    "brass_ensemble": 0.0996,
}

# (true tag, annotated tag, probability, mode): "swap" annotates the synonym instead of the
# true tag, "add" annotates both. Applied to each true tag that survived dropping.
SYNONYMS: tuple[tuple[str, str, float, str], ...] = (
    ("techno", "electronic", 0.25, "add"),
    ("electronic", "synth", 0.2, "add"),
    ("synth", "electronic", 0.2, "add"),
    ("dance", "electronic", 0.2, "add"),
    ("choir", "vocal", 0.2, "swap"),
    ("strings", "violin", 0.2, "swap"),
    ("violin", "strings", 0.2, "swap"),
    ("cello", "strings", 0.2, "add"),
    ("quiet", "soft", 0.3, "swap"),
    ("soft", "quiet", 0.3, "swap"),
    ("drums", "beat", 0.15, "swap"),
    ("beat", "drums", 0.2, "add"),
    ("ambient", "new age", 0.1, "swap"),
    ("new age", "ambient", 0.2, "swap"),
    ("metal", "rock", 0.3, "add"),
    ("harpsichord", "classical", 0.3, "add"),
    ("sitar", "indian", 0.3, "add"),
)


def _choice(rng: np.random.Generator, options: list, weights: list[float]):
    p = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def style_names() -> tuple[str, ...]:
    return tuple(s.name for s in STYLES)


def get_style(name: str) -> Style:
    if name not in STYLE_BY_NAME:
        raise DataError(f"unknown style {name!r}; valid: {', '.join(STYLE_BY_NAME)}")
    return STYLE_BY_NAME[name]


def _layer_dict(layer: Layer, kind: str, style: Style, rng: np.random.Generator) -> dict:
    inst = INSTRUMENTS[layer.instrument]
    programs = style.programs.get(layer.instrument, inst.programs)
    program = int(programs[int(rng.integers(len(programs)))])
    if layer.tagged:
        gain_db = LEVEL_DB[kind] + float(rng.uniform(-LEVEL_JITTER_DB, LEVEL_JITTER_DB))
    else:  # a background part: in the mix, but too far back for anyone to name it
        gain_db = float(rng.uniform(*BACKGROUND_DB))
    gain_db = round(gain_db, 2)
    return {
        "instrument": layer.instrument,
        "role": layer.role,
        "kind": kind,
        "program": program,
        "tags": list(inst.tags) if gain_db >= AUDIBLE_DB else [],
        "gain_db": gain_db,
    }


def sample_recipe(style_name: str, rng: np.random.Generator) -> dict:
    """One concrete recipe of a style (JSON-ready dict). Draws only from ``rng``.

    Keys: style, family, genres, layers (instrument, role, kind, program, tags, gain_db),
    drums (pattern, kit, prominent, gain_db) or None, tempo, tempo_u (position in the tempo
    class's range, 0-1), dynamics, velocity (lo, hi), level_dbfs, transpose (semitones),
    lowpass_hz, snr_db, noise.
    """
    style = get_style(style_name)
    family = _choice(rng, list(style.families), list(style.families.values()))
    genres = sorted(g for g, p in style.genres.items() if rng.random() < p)
    lead = _choice(rng, [x for x, _ in style.leads], [w for _, w in style.leads])
    layers = [_layer_dict(lead, "lead", style, rng)]
    for layer in style.support:
        if rng.random() < layer.prob:
            layers.append(_layer_dict(layer, "support", style, rng))
    if style.accompaniment and rng.random() < ACCOMPANIMENT_PROB:
        acc = style.accompaniment[int(rng.integers(len(style.accompaniment)))]
        layers.append(_layer_dict(acc, "accompaniment", style, rng))
    drums = None
    if style.drums is not None and rng.random() < style.drums.prob:
        prominent = bool(rng.random() < style.drums.prominent)
        drums = {
            "pattern": style.drums.patterns[int(rng.integers(len(style.drums.patterns)))],
            "kit": int(style.drums.kits[int(rng.integers(len(style.drums.kits)))]),
            "prominent": prominent,
            "gain_db": round(float(rng.uniform(0.0, 3.0) if prominent
                                   else rng.uniform(*BACKGROUND_DB)), 2),
        }
    tempo = _choice(rng, list(TEMPO_CLASSES), list(style.tempo))
    dynamics = _choice(rng, list(DYNAMICS), list(style.dynamics))
    lo, hi = SOFT_LOWPASS_HZ if dynamics == "soft" else LOWPASS_HZ
    level_lo, level_hi = LEVEL_DBFS[dynamics]
    return {
        "style": style.name,
        "family": family,
        "genres": genres,
        "layers": layers,
        "drums": drums,
        "tempo": tempo,
        "tempo_u": round(float(rng.random()), 4),
        "dynamics": dynamics,
        "velocity": list(VELOCITY[dynamics]),
        "level_dbfs": round(float(rng.uniform(level_lo, level_hi)), 2),
        "transpose": int(rng.integers(TRANSPOSE_RANGE[0], TRANSPOSE_RANGE[1] + 1)),
        "lowpass_hz": round(float(rng.uniform(lo, hi)), 1),
        "snr_db": round(float(rng.uniform(*SNR_DB)), 2),
        "noise": NOISE_COLOURS[int(rng.integers(len(NOISE_COLOURS)))],
    }


def clean_tags(recipe: dict) -> list[str]:
    """The tags a recipe truly carries, in VOCABULARY order (before any label dropping)."""
    tags = set(recipe["genres"])
    for layer in recipe["layers"]:
        tags.update(layer["tags"])
    drums = recipe["drums"]
    if drums is not None:
        if drums["prominent"]:
            tags.add("drums")
        if drums["pattern"] in GROOVES and drums["prominent"]:  # a groove heard up front
            tags.add("beat")
    if recipe["tempo"] != "medium":
        tags.add(recipe["tempo"])
    if recipe["dynamics"] != "normal":
        tags.add(recipe["dynamics"])
    style = get_style(recipe["style"])
    lead = recipe["layers"][0]["instrument"]
    if style.solo and drums is None and all(x["instrument"] == lead for x in recipe["layers"]):
        tags.add("solo")
    return [t for t in VOCABULARY if t in tags]


def annotate(
    clean: list[str], rng: np.random.Generator, drop_rate: float = DROP_RATE
) -> list[str]:
    """Weak annotation of ``clean`` tags: drop each with ``drop_rate``, apply SYNONYMS.

    Returns the annotated tags in VOCABULARY order. Draws only from ``rng``.
    """
    if not 0.0 <= drop_rate < 1.0:
        raise DataError(f"drop_rate must be in [0, 1), got {drop_rate}")
    out: set[str] = set()
    for tag in clean:
        if rng.random() < drop_rate:
            continue
        keep = True
        for src, dst, prob, mode in SYNONYMS:
            if src == tag and rng.random() < prob:
                out.add(dst)
                keep = keep and mode == "add"
        if keep:
            out.add(tag)
    return [t for t in VOCABULARY if t in out]


def label_probabilities(
    n_per_style: int = 20_000, seed: int = 0, drop_rate: float = DROP_RATE
) -> tuple[np.ndarray, np.ndarray]:
    """Monte-Carlo P(tag | style) for clean and annotated labels.

    Returns ``(clean, annotated)``, each float64 [len(STYLES), len(VOCABULARY)].
    """
    clean_p = np.zeros((len(STYLES), len(VOCABULARY)))
    ann_p = np.zeros_like(clean_p)
    index = {t: i for i, t in enumerate(VOCABULARY)}
    for s, style in enumerate(STYLES):
        rng = np.random.default_rng([seed, s])
        for _ in range(n_per_style):
            clean = clean_tags(sample_recipe(style.name, rng))
            for t in clean:
                clean_p[s, index[t]] += 1
            for t in annotate(clean, rng, drop_rate):
                ann_p[s, index[t]] += 1
    return clean_p / n_per_style, ann_p / n_per_style


def fit_style_weights(
    annotated: np.ndarray, targets: np.ndarray, floor: float = 0.004, ridge: float = 0.1
) -> np.ndarray:
    """Style weights w >= floor, sum 1, so that ``annotated.T @ w`` matches ``targets``.

    ``annotated``: [n_styles, n_tags] P(annotated tag | style); ``targets``: [n_tags]
    fractions. Non-negative least squares on relative residuals (each tag's residual divided by
    its target, so rare tags count as much as common ones), plus ``ridge`` * (w - uniform) rows
    that spread weight over styles that explain the targets equally well, and a heavily
    weighted row for sum(w) = 1. The floor keeps every style in the corpus.
    """
    from scipy.optimize import nnls

    n = annotated.shape[0]
    scale = 1.0 / targets
    a = annotated.T * scale[:, None]
    b = targets * scale - a @ np.full(n, floor)
    uniform = (1.0 - n * floor) / n
    a = np.vstack([a, ridge * np.eye(n), 10.0 * np.ones(n)])
    b = np.concatenate([b, np.full(n, ridge * uniform), [10.0 * (1.0 - n * floor)]])
    v, _ = nnls(a, b)
    w = floor + v
    return w / w.sum()
