"""Arrange a score's note list for one recipe: a ``pretty_midi.PrettyMIDI`` excerpt.

Every layer of the recipe becomes one ``pretty_midi.Instrument(program)`` (a string-quartet
texture becomes one instrument per voice), drums an instrument with ``is_drum=True`` (GM
channel 10, ``program`` = drum kit). The piece loops until the excerpt window is filled.

Tempo: without drums the tempo class sets the melody's note rate (notes per second), which
is what makes music sound fast or slow whatever the score's note values; with drums it sets
the pulse (beats per minute). Dynamics set note velocities. Each layer's level is a CC7
(channel volume) event at time 0: value = 127 * 10 ** (gain_db / 20).
"""

from __future__ import annotations

import numpy as np
import pretty_midi

from mtlib.errors import DataError
from mtlib.standin.recipes import INSTRUMENTS, ROLES
from mtlib.standin.scores import ScoreNotes

# Slow is well apart from medium (a gap of about an octave of tempo), so "slow" is heard.
NOTE_RATE = {"slow": (0.6, 1.1), "medium": (2.0, 3.2), "fast": (4.2, 6.5)}  # notes / s
DRUM_BPM = {"slow": (52.0, 72.0), "medium": (92.0, 124.0), "fast": (132.0, 176.0)}
# Note-length factor: fast playing is detached, slow and soft playing legato.
ARTICULATION = {"slow": 1.15, "medium": 1.0, "fast": 0.6}
# Velocity offset: slow playing is gentler, fast playing more energetic.
TEMPO_VELOCITY = {"slow": -10, "medium": 0, "fast": 8}
ROLE_REGISTER = {"bass": (36, 50), "power": (40, 52), "drone": (45, 57), "strum": (48, 60)}
TIMING_JITTER_S = 0.008
VELOCITY_JITTER = 6

_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
# Diatonic triads (root offset from tonic, minor quality?) of major and minor keys.
_DIATONIC = {
    "major": {(0, False), (2, True), (4, True), (5, False), (7, False), (9, True)},
    "minor": {(0, True), (3, False), (5, True), (7, False), (7, True), (8, False), (10, False)},
}

# 16 steps per four beats; "X" accented hit, "x" hit, "-" ghost (soft) hit.
DRUM_PATTERNS: dict[str, dict[int, str]] = {
    "four_on_floor": {36: "X...X...X...X...", 39: "....x.......x...", 42: "..x...x...x...x.",
                      46: "..............x."},
    "minimal": {36: "X.........x.....", 37: "...x.....x....x.", 42: "-.-.-.-.-.-.-.-."},
    "breakbeat": {36: "X.........x..x..", 38: "....X.......X..-", 42: "x.x.x.x.x.x.x.x."},
    "halftime": {36: "X......x..x.....", 38: "........X.......", 42: "x.x.x.x.x.x.x.x."},
    "pop": {36: "X.....x.x.......", 38: "....X.......X...", 42: "x.x.x.x.x.x.x.x."},
    "rock": {36: "X.......x.x.....", 38: "....X.......X...", 42: "x.x.x.x.x.x.x.x.",
             49: "X..............."},
    "metal": {36: "xxxxxxxxxxxxxxxx", 38: "....X.......X...", 51: "x.x.x.x.x.x.x.x.",
              49: "X.......X......."},
    "country": {36: "X.......x.......", 38: "....x.......x...", 42: "x-x-x-x-x-x-x-x-"},
    "hand": {60: "X..x..x.x..x..x.", 61: "..x...x...x....x", 63: "x.....x...x.....",
             62: ".-..-....-..-..."},
    "swing": {51: "x...x.x.x...x.x.", 44: "....x.......x...", 36: "x.........-.....",
              38: "...........-...."},
}


def estimate_key(notes: np.ndarray) -> tuple[int, str]:
    """(tonic pitch class, "major"|"minor") by Krumhansl-Schmuckler on durations."""
    hist = np.bincount(notes[:, 2].astype(int) % 12, weights=notes[:, 1], minlength=12)
    best, key = -np.inf, (0, "major")
    for tonic in range(12):
        for mode, profile in (("major", _MAJOR), ("minor", _MINOR)):
            r = np.corrcoef(hist, np.roll(profile, tonic))[0, 1]
            if np.isfinite(r) and r > best:
                best, key = r, (tonic, mode)
    return key


def chord_segments(score: ScoreNotes, key: tuple[int, str]) -> np.ndarray:
    """One triad per segment (half bar, or whole bar of <= 3 quarters) of the score.

    Returns int [n_segments, 2]: root pitch class, 1 if minor else 0. Each segment picks the
    triad covering most of its sounding pitch classes, preferring chords of the key.
    """
    seg_q = score.bar_q if score.bar_q <= 3 else score.bar_q / 2
    n_seg = max(1, int(np.ceil(score.length_q / seg_q)))
    weights = np.zeros((n_seg, 12))
    on, dur, pitch = score.notes[:, 0], score.notes[:, 1], score.notes[:, 2].astype(int) % 12
    for s in range(n_seg):
        lo, hi = s * seg_q, (s + 1) * seg_q
        overlap = np.clip(np.minimum(on + dur, hi) - np.maximum(on, lo), 0, None)
        weights[s] = np.bincount(pitch, weights=overlap, minlength=12)
    tonic, mode = key
    out = np.zeros((n_seg, 2), dtype=int)
    prev = (tonic, int(mode == "minor"))
    for s in range(n_seg):
        w = weights[s]
        total = w.sum()
        if total <= 0:
            out[s] = prev
            continue
        best, choice = -np.inf, prev
        for root in range(12):
            for minor in (0, 1):
                tones = {root, (root + (3 if minor else 4)) % 12, (root + 7) % 12}
                inside = sum(w[t] for t in tones)
                score_ = inside - 0.6 * (total - inside)
                if ((root - tonic) % 12, bool(minor)) in _DIATONIC[mode]:
                    score_ += 0.15 * total
                if root == tonic:
                    score_ += 0.05 * total
                if score_ > best:
                    best, choice = score_, (root, minor)
        out[s] = choice
        prev = choice
    return out


def _fit_register(pitches: np.ndarray, register: tuple[int, int]) -> int:
    """Whole-octave shift that moves the median of ``pitches`` into ``register``."""
    if len(pitches) == 0:
        return 0
    median = float(np.median(pitches))
    lo, hi = register
    centre = (lo + hi) / 2
    return int(12 * np.round((centre - median) / 12))


def _diatonic_below(pitches: np.ndarray, key: tuple[int, str], steps: int = 2) -> np.ndarray:
    """Each pitch moved ``steps`` scale degrees down (2 = a diatonic third)."""
    tonic, mode = key
    scale = np.array(_MAJOR_SCALE if mode == "major" else _MINOR_SCALE)
    out = np.empty_like(pitches)
    for i, p in enumerate(pitches.astype(int)):
        rel = (p - tonic) % 12
        degree = int(np.argmin(np.abs(scale - rel)))
        octave = (p - tonic - rel) // 12
        target = degree - steps
        out[i] = tonic + 12 * (octave + target // 7) + scale[target % 7]
    return out


class _Timeline:
    """Maps score time (quarters, looped) to excerpt time (seconds from the clip start)."""

    def __init__(self, length_q: float, spq: float, start_s: float, duration_s: float):
        self.length_q = length_q
        self.spq = spq
        self.start_s = start_s
        self.duration_s = duration_s
        first_q = start_s / spq
        last_q = (start_s + duration_s) / spq
        self.loops = range(int(first_q // length_q), int(last_q // length_q) + 1)

    def tile(self, onset_q: np.ndarray, dur_q: np.ndarray):
        """Yield (start_s, end_s, index) arrays of the events inside the window, per loop."""
        for k in self.loops:
            start = (onset_q + k * self.length_q) * self.spq - self.start_s
            end = start + dur_q * self.spq
            keep = (end > 0) & (start < self.duration_s)
            if keep.any():
                idx = np.nonzero(keep)[0]
                yield np.maximum(start[idx], 0.0), np.minimum(end[idx], self.duration_s), idx


def _tempo(score: ScoreNotes, recipe: dict) -> float:
    """Seconds per quarter note."""
    u = float(recipe["tempo_u"])
    if recipe["drums"] is not None:
        lo, hi = DRUM_BPM[recipe["tempo"]]
        return 60.0 / (lo + u * (hi - lo))
    melody = score.notes[score.notes[:, 3] == 0]
    onsets = np.unique(melody[:, 0])
    gaps = np.diff(onsets)
    ioi_q = float(np.clip(np.median(gaps) if len(gaps) else 1.0, 0.25, 2.0))
    lo, hi = NOTE_RATE[recipe["tempo"]]
    rate = lo + u * (hi - lo)
    return 1.0 / (rate * ioi_q)


def _role_lines(score: ScoreNotes, role: str, chords: np.ndarray, key, spq: float,
                rhythm_q: float) -> list[np.ndarray]:
    """Notes [n, 3] (onset q, duration q, pitch) for a role; a list of lines (voices)."""
    notes = score.notes
    seg_q = score.bar_q if score.bar_q <= 3 else score.bar_q / 2
    n_seg = len(chords)
    seg_on = np.arange(n_seg) * seg_q

    def triad(s: int, base: int) -> list[int]:
        root, minor = chords[s]
        return [base + root, base + root + (3 if minor else 4), base + root + 7]

    def voice(v: int) -> np.ndarray:
        return notes[notes[:, 3] == v][:, :3]

    if role == "melody":
        return [voice(0)]
    if score.n_voices > 1:  # the score's own voices
        if role == "voices":
            return [voice(v) for v in range(score.n_voices)]
        if role == "counter":
            return [voice(1)]
        if role == "bass":
            return [voice(score.n_voices - 1)]
    melody = voice(0)
    if role == "counter":  # single-line tune: a diatonic third below the melody
        line = melody.copy()
        line[:, 2] = _diatonic_below(melody[:, 2], key)
        return [line]
    if role == "voices":  # single-line tune: melody over block chords
        med = int(np.median(melody[:, 2]))
        base = 12 * ((med - 14) // 12)  # chords in the octave(s) below the tune
        rows = [(seg_on[s], seg_q, p) for s in range(n_seg) for p in triad(s, base)]
        return [melody, np.asarray(rows, dtype=float)]
    if role == "bass":
        rows = []
        for s in range(n_seg):
            step = rhythm_q if rhythm_q < seg_q else seg_q
            for t in np.arange(0, seg_q - 1e-9, step):
                rows.append((seg_on[s] + t, step * 0.9, 36 + chords[s][0]))
        return [np.asarray(rows, dtype=float)]
    if role == "chords":
        rows = [(seg_on[s], seg_q, p) for s in range(n_seg) for p in triad(s, 48)]
        return [np.asarray(rows, dtype=float)]
    if role == "arpeggio":
        rows = []
        for s in range(n_seg):
            tones = triad(s, 48) + [48 + chords[s][0] + 12]
            for i, t in enumerate(np.arange(0, seg_q - 1e-9, 0.5)):
                rows.append((seg_on[s] + t, 0.5, tones[i % 4]))
        return [np.asarray(rows, dtype=float)]
    if role == "strum":
        rows = []
        beat = 1.0 if seg_q >= 2 else seg_q / 2
        for s in range(n_seg):
            root, minor = chords[s]
            shape = [40 + root, 47 + root, 52 + root, 55 + root + (3 if minor else 4),
                     59 + root]
            for t in np.arange(0, seg_q - 1e-9, beat):
                for j, p in enumerate(shape):
                    rows.append((seg_on[s] + t + j * 0.012 / spq, beat * 0.9, p))
        return [np.asarray(rows, dtype=float)]
    if role == "power":
        rows = []
        for s in range(n_seg):
            root = 40 + (chords[s][0] - 4) % 12
            for t in np.arange(0, seg_q - 1e-9, 0.5):
                for p in (root, root + 7, root + 12):
                    rows.append((seg_on[s] + t, 0.4, p))
        return [np.asarray(rows, dtype=float)]
    if role == "drone":
        tonic = key[0]
        bar = score.bar_q * 2
        rows = [(t, bar, p) for t in np.arange(0, score.length_q, bar)
                for p in (48 + tonic, 55 + tonic)]
        return [np.asarray(rows, dtype=float)]
    raise DataError(f"unknown role {role!r}; valid: {', '.join(ROLES)}")


def _velocities(n: int, onset_q: np.ndarray, vel_range, rng: np.random.Generator,
                offset: int = 0) -> np.ndarray:
    lo, hi = vel_range
    base = rng.uniform(lo, hi)
    accent = np.where(np.isclose(onset_q % 1.0, 0.0), 6, 0)
    v = base + offset + accent + rng.integers(-VELOCITY_JITTER, VELOCITY_JITTER + 1, n)
    return np.clip(np.round(v), 1, 127).astype(int)


def _gain_cc(gain_db: float) -> pretty_midi.ControlChange:
    value = int(np.clip(round(127 * 10 ** (gain_db / 20)), 1, 127))
    return pretty_midi.ControlChange(number=7, value=value, time=0.0)


def arrange(score: ScoreNotes, recipe: dict, duration_s: float,
            rng: np.random.Generator) -> pretty_midi.PrettyMIDI:
    """The excerpt of ``score`` played by ``recipe``: ``duration_s`` seconds from
    ``recipe["start_s"]`` (looping the piece), times in seconds from the clip start.

    Draws velocities and timing jitter from ``rng``.
    """
    key = estimate_key(score.notes)
    transpose = int(recipe["transpose"])
    key = ((key[0] + transpose) % 12, key[1])
    spq = _tempo(score, recipe)
    shifted = ScoreNotes(score.ref, score.notes + np.array([0, 0, transpose, 0]),
                         score.n_voices, score.bar_q, score.length_q)
    chords = chord_segments(shifted, key)
    timeline = _Timeline(score.length_q, spq, float(recipe["start_s"]), duration_s)
    legato = ARTICULATION[recipe["tempo"]] * (1.1 if recipe["dynamics"] in ("soft", "quiet")
                                              else 1.0)
    drums = recipe["drums"]
    rhythm_q = 1.0 if drums is not None else 4.0

    pm = pretty_midi.PrettyMIDI(initial_tempo=60.0 / spq)
    for layer in recipe["layers"]:
        inst = INSTRUMENTS[layer["instrument"]]
        role = layer["role"]
        lines = _role_lines(shifted, role, chords, key, spq, rhythm_q)
        if not any(len(line) for line in lines):
            continue
        register = ROLE_REGISTER.get(role, inst.register)
        all_pitch = np.concatenate([line[:, 2] for line in lines if len(line)])
        top = lines[0][:, 2] if len(lines[0]) else all_pitch
        shift = _fit_register(all_pitch if role in ROLE_REGISTER else top, register)
        if role == "voices" and inst.per_voice:
            programs = [inst.per_voice[min(i, len(inst.per_voice) - 1)] for i in range(len(lines))]
        else:
            programs = [layer["program"]] * len(lines)
        offset = {"lead": 0, "support": -8, "accompaniment": -2}[layer["kind"]]
        offset += TEMPO_VELOCITY[recipe["tempo"]]
        by_program: dict[int, pretty_midi.Instrument] = {}
        for line, program in zip(lines, programs, strict=True):
            if len(line) == 0:
                continue
            instrument = by_program.get(program)
            if instrument is None:
                instrument = pretty_midi.Instrument(program=program, name=f"{layer['instrument']}"
                                                    f":{role}")
                instrument.control_changes.append(_gain_cc(float(layer["gain_db"])))
                by_program[program] = instrument
            pitch = np.clip(line[:, 2] + shift, 21, 108).astype(int)
            for start, end, idx in timeline.tile(line[:, 0], line[:, 1] * legato):
                jitter = rng.uniform(-TIMING_JITTER_S, TIMING_JITTER_S, len(idx))
                start = np.clip(start + jitter, 0.0, duration_s)
                vel = _velocities(len(idx), line[idx, 0], recipe["velocity"], rng, offset)
                for s, e, p, v in zip(start, end, pitch[idx], vel, strict=True):
                    if e - s > 0.02:
                        instrument.notes.append(pretty_midi.Note(int(v), int(p), float(s),
                                                                 float(e)))
        pm.instruments.extend(by_program.values())

    if drums is not None:
        pm.instruments.append(_drum_track(drums, recipe, score, spq, timeline, rng))
    for instrument in pm.instruments:
        instrument.notes.sort(key=lambda n: (n.start, n.pitch))
    return pm


def _drum_track(drums: dict, recipe: dict, score: ScoreNotes, spq: float, timeline: _Timeline,
                rng: np.random.Generator) -> pretty_midi.Instrument:
    kit = pretty_midi.Instrument(program=int(drums["kit"]), is_drum=True, name="drums")
    kit.control_changes.append(_gain_cc(float(drums["gain_db"])))
    pattern = DRUM_PATTERNS[drums["pattern"]]
    step_q = 0.25
    n_steps = int(np.ceil(score.length_q / step_q))
    lo, hi = recipe["velocity"]
    for key_number, hits in pattern.items():
        onsets, vels = [], []
        for i in range(n_steps):
            mark = hits[i % len(hits)]
            if mark == ".":
                continue
            onsets.append(i * step_q)
            vels.append({"X": hi, "x": (lo + hi) / 2, "-": lo * 0.7}[mark])
        if not onsets:
            continue
        onsets = np.asarray(onsets)
        if drums["pattern"] == "swing":  # off-beat eighths late: a triplet feel
            onsets = onsets + np.where(np.isclose(onsets % 1.0, 0.5), 1 / 6, 0.0)
        vels = np.asarray(vels)
        for start, end, idx in timeline.tile(onsets, np.full(len(onsets), 0.1 / spq)):
            jitter = rng.uniform(-TIMING_JITTER_S / 2, TIMING_JITTER_S / 2, len(idx))
            v = np.clip(vels[idx] + rng.integers(-VELOCITY_JITTER, VELOCITY_JITTER + 1,
                                                 len(idx)), 1, 127).astype(int)
            for s, e, vv in zip(np.clip(start + jitter, 0, None), end, v, strict=True):
                kit.notes.append(pretty_midi.Note(int(vv), int(key_number), float(s),
                                                  float(max(e, s + 0.05))))
    return kit
