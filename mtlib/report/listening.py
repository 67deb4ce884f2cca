"""Clips to listen to: every clip a chapter names, with its audio, its true tags, each model's
top tags with their scores, and a small log-mel spectrogram.

A section picks clips from the test predictions of a run (:class:`Scores`: the best and worst
clips, the clips of one tag, the clips on which two models disagree) into a
:class:`Listening`, a group of at most :data:`MAX_CLIPS` clips under a title. Its
:class:`~mtlib.report.outputs.Outputs` writes each clip once, by clip id, to
``results/listen/`` (:func:`write`): ``clip-NNNNNN.mp3``, the clip's own mp3 copied unchanged
(30 s, as the model heard it, at its original compression), and ``clip-NNNNNN.png``, its
log-mel spectrogram drawn from the prepared cache the model read.

In Jupyter a group shows as HTML5 players with the mp3 embedded (:func:`show`); the display
carries the group as metadata (:data:`METADATA_KEY`), from which the site renders the same HTML
with players that load the copied files (:func:`html`). On MagnaTagATune every group carries
the dataset's licence (:data:`MTAT_ATTRIBUTION`).
"""

from __future__ import annotations

import base64
import html as _html
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from mtlib import paths
from mtlib.io import atomic_path

METADATA_KEY = "mtlib_listening"  # where a display output carries its group, for the site
MAX_CLIPS = 16  # clips per group: a chapter names a few, and each costs ~120 kB of mp3
TOP_TAGS = 5  # predicted tags shown per model
N_MELS = 64  # mel bands of the spectrogram
N_FFT = 1024  # its STFT window, samples (85 ms at 12 kHz)
HOP_SECONDS = 0.04  # its hop: ~730 frames for a 29 s clip, more than the image's width
PNG_COLOURS = 64  # colours of the spectrogram's PNG
# The licence of MagnaTagATune's audio (data/mtat/SOURCES.md): every page that plays it says so.
MTAT_ATTRIBUTION = (
    "Audio: MagnaTagATune (Law et al., ISMIR 2009; MIRG, City University London), music from "
    "Magnatune, licensed CC BY-NC-SA 3.0 "
    "(https://creativecommons.org/licenses/by-nc-sa/3.0/). Clips are copied unchanged.")


@dataclass(frozen=True)
class Prediction:
    """One model's view of a clip: its :data:`TOP_TAGS` highest scores, and the score of the
    tag the clip was chosen for (``focus``; None when chosen for no tag). Scores: sigmoid
    outputs in [0, 1]."""

    model: str
    top: tuple[tuple[str, float], ...]
    focus: tuple[str, float] | None = None


@dataclass(frozen=True)
class Clip:
    """A test clip a chapter names: why it is named, its true tags, and each model's view."""

    clip_id: int
    why: str
    true_tags: tuple[str, ...]
    predictions: tuple[Prediction, ...]


@dataclass(frozen=True)
class Listening:
    """A group of clips under a ``title``, from the prepared cache ``dataset`` at
    ``sample_rate`` Hz (where their audio and mp3 paths are found). ``attribution``: the
    licence line of the audio, "" for the stand-in corpus."""

    title: str
    clips: tuple[Clip, ...]
    dataset: str
    sample_rate: int
    attribution: str = ""

    def __post_init__(self) -> None:
        if len(self.clips) > MAX_CLIPS:
            raise ValueError(f"listening group {self.title!r}: {len(self.clips)} clips, "
                             f"at most {MAX_CLIPS}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Listening":
        """The group of :meth:`to_dict` (JSON turns tuples into lists)."""
        def prediction(p: dict) -> Prediction:
            return Prediction(p["model"], tuple((t, float(s)) for t, s in p["top"]),
                              None if p["focus"] is None else (p["focus"][0],
                                                               float(p["focus"][1])))
        clips = tuple(Clip(int(c["clip_id"]), c["why"], tuple(c["true_tags"]),
                           tuple(prediction(p) for p in c["predictions"]))
                      for c in d["clips"])
        return cls(d["title"], clips, d["dataset"], int(d["sample_rate"]),
                   d.get("attribution", ""))


def attribution(data_source: str) -> str:
    """The licence line for audio from ``data_source`` (a profile's): MTAT's, or "" for the
    stand-in corpus."""
    return "" if data_source == "standin" else MTAT_ATTRIBUTION


# --- picking clips -----------------------------------------------------------------------


@dataclass
class Scores:
    """The test predictions of one run, by clip: ``clip_ids`` [n], ``y_true`` uint8 [n, T],
    ``y_score`` float [n, T] in [0, 1], ``tags`` [T]; ``model`` names the run for a reader."""

    model: str
    clip_ids: np.ndarray
    y_true: np.ndarray
    y_score: np.ndarray
    tags: list[str]
    _row: dict[int, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._row = {int(c): i for i, c in enumerate(self.clip_ids)}

    @classmethod
    def of(cls, result, model: str) -> "Scores":
        """The predictions of a finished run (:class:`mtlib.training.rundir.RunResult`)."""
        clip_ids, y_true, y_score, tags = result.predictions()
        return cls(model, np.asarray(clip_ids), np.asarray(y_true), np.asarray(y_score),
                   list(tags))

    def column(self, tag: str) -> int:
        return self.tags.index(tag)

    def prediction(self, clip_id: int, focus: str | None = None) -> Prediction:
        scores = self.y_score[self._row[clip_id]]
        top = tuple((self.tags[j], float(scores[j])) for j in np.argsort(-scores)[:TOP_TAGS])
        return Prediction(self.model, top, None if focus is None
                          else (focus, float(scores[self.column(focus)])))

    def true_tags(self, clip_id: int) -> tuple[str, ...]:
        row = self.y_true[self._row[clip_id]]
        return tuple(t for t, y in zip(self.tags, row, strict=True) if y)

    def has(self, clip_id: int) -> bool:
        return clip_id in self._row


def clip(clip_id: int, why: str, models: Sequence[Scores], focus: str | None = None) -> Clip:
    """Clip ``clip_id`` as each of ``models`` scores it (true tags from the first)."""
    return Clip(int(clip_id), why, models[0].true_tags(clip_id),
                tuple(m.prediction(clip_id, focus) for m in models))


def tag_clips(scores: Scores, tag: str, note: str = "") -> list[Clip]:
    """Three clips of ``tag``: the clip with the tag that the model scores highest, the one it
    misses worst (lowest score), and the clip without the tag that it scores highest. ``note``
    follows the tag in each clip's reason (its ROC-AUC, say). [] when the test set has no clip
    with the tag, or none without."""
    j = scores.column(tag)
    positive = scores.y_true[:, j] > 0
    if positive.all() or not positive.any():
        return []
    s = scores.y_score[:, j]
    pos, neg = np.flatnonzero(positive), np.flatnonzero(~positive)
    head = f"{tag}{note}"
    picks = [(pos[np.argmax(s[pos])], f"{head}: the tagged clip it scores highest"),
             (pos[np.argmin(s[pos])], f"{head}: the tagged clip it misses worst"),
             (neg[np.argmax(s[neg])], f"{head}: the untagged clip it scores highest")]
    return [clip(int(scores.clip_ids[i]), why, [scores], focus=tag) for i, why in picks]


def disagreements(a: Scores, b: Scores, tag: str, n: int) -> list[Clip]:
    """The ``n`` test clips that ``a`` ranks highest for ``tag`` relative to ``b``, then the
    ``n`` that ``b`` ranks highest relative to ``a``. Each model's scores are turned into ranks
    over the clips both scored (fractions in (0, 1]), since ROC-AUC compares ranks and two
    models' sigmoid outputs need not share a scale."""
    from scipy.stats import rankdata

    common = [int(c) for c in a.clip_ids if b.has(int(c))]
    sa = np.array([a.y_score[a._row[c], a.column(tag)] for c in common])
    sb = np.array([b.y_score[b._row[c], b.column(tag)] for c in common])
    gap = (rankdata(sa) - rankdata(sb)) / max(len(common), 1)
    order = np.argsort(-gap, kind="stable")
    out = []
    for picks, hears, over in ((order[:n], a, b), (order[::-1][:n], b, a)):
        for i in picks:
            why = (f"{tag}: {hears.model} ranks it {100 * abs(gap[i]):.0f} percentile points "
                   f"above {over.model}")
            out.append(clip(common[i], why, [a, b], focus=tag))
    return out


# --- files -------------------------------------------------------------------------------


def clip_file(clip_id: int, ext: str) -> str:
    """The file name of a clip's mp3 or spectrogram: ``clip-000128.mp3`` (one per clip)."""
    return f"clip-{int(clip_id):06d}.{ext}"


def log_mel(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """The log-mel spectrogram of ``audio`` (float [samples] in [-1, 1] at ``sample_rate``
    Hz) with torchaudio: dB [N_MELS, frames] (80 dB range below the peak) and each band's
    centre frequency in Hz [N_MELS]."""
    import torch
    import torchaudio

    hop = int(round(HOP_SECONDS * sample_rate))
    mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=N_FFT, hop_length=hop,
                                               n_mels=N_MELS)
    db = torchaudio.transforms.AmplitudeToDB("power", top_db=80.0)(
        mel(torch.from_numpy(np.asarray(audio, dtype=np.float32))))
    edges = torchaudio.functional.melscale_fbanks(N_FFT // 2 + 1, 0.0, sample_rate / 2, N_MELS,
                                                  sample_rate)
    freqs = np.linspace(0, sample_rate / 2, N_FFT // 2 + 1)
    centres = freqs[edges.numpy().argmax(axis=0)]
    return db.numpy(), centres


def write(listening: Listening) -> list[Path]:
    """Copy each clip's mp3 and draw its spectrogram into ``results/listen/``; return the
    mp3 paths. A clip's mp3 is copied only when missing or changed in size."""
    from mtlib.data.cache import INT16_SCALE, open_cache
    from mtlib.report import plots

    cache = open_cache(listening.dataset, listening.sample_rate)
    rows = {int(c): r for r, c in zip(cache.index["row"], cache.index["clip_id"], strict=True)}
    mp3s = dict(zip(cache.index["clip_id"], cache.index["mp3_path"], strict=True))
    root = Path(cache.meta["source_root"])
    out = paths.listen_dir()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for c in listening.clips:
        source, target = root / mp3s[c.clip_id], out / clip_file(c.clip_id, "mp3")
        if not target.is_file() or target.stat().st_size != source.stat().st_size:
            with atomic_path(target, suffix=".mp3") as tmp:
                shutil.copyfile(source, tmp)
        audio = cache.audio[rows[c.clip_id]].astype(np.float32) / INT16_SCALE
        db, centres = log_mel(audio, cache.sample_rate)
        fig = plots.clip_spectrogram(db, len(audio) / cache.sample_rate, centres)
        _save_small_png(fig, out / clip_file(c.clip_id, "png"))
        written.append(target)
    return written


def _save_small_png(fig, path: Path) -> None:
    """Write ``fig`` at its own dpi as a PNG of at most :data:`PNG_COLOURS` colours (a third
    of the bytes of full colour, and the colour map needs no more), then close it."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    plt.close(fig)
    image = Image.open(buffer).convert("RGB").quantize(PNG_COLOURS)
    with atomic_path(path, suffix=".png") as tmp:
        image.save(tmp, format="PNG", optimize=True)


# --- display -----------------------------------------------------------------------------

_CARD = "display:flex;flex-wrap:wrap;gap:0.4em 1.2em;align-items:flex-start;margin:0.8em 0"


def _scores(p: Prediction) -> str:
    """One model's line: the score of the clip's focus tag first (it is why the clip is
    here), then its top tags."""
    top = " · ".join(f"{_html.escape(t)} {s:.2f}" for t, s in p.top)
    focus = "" if p.focus is None else (f"<strong>{_html.escape(p.focus[0])} "
                                        f"{p.focus[1]:.2f}</strong>; top: ")
    return f"<em>{_html.escape(p.model)}</em>: {focus}{top}"


def _true_tags(c: Clip) -> str:
    """The clip's true tags, its focus tag in bold, or "(no TAG)" when it lacks it."""
    focus = next((p.focus[0] for p in c.predictions if p.focus is not None), None)
    tags = [f"<strong>{_html.escape(t)}</strong>" if t == focus else _html.escape(t)
            for t in c.true_tags]
    lacks = "" if focus is None or focus in c.true_tags else f" (no {_html.escape(focus)})"
    return (", ".join(tags) or "none") + lacks


def html(listening: Listening, source: Callable[[int, str], str]) -> str:
    """The group as HTML: its title, each clip's reason, an ``<audio controls>`` player, its
    true tags, each model's top tags with scores, its spectrogram; the licence line, if any.
    ``source(clip_id, ext)``: the URL of the clip's ``mp3`` or ``png``."""
    cards = []
    for c in listening.clips:
        true = _true_tags(c)
        lines = "".join(f"<br>{_scores(p)}" for p in c.predictions)
        cards.append(
            f'<div class="mtlib-clip" style="{_CARD}">'
            f'<div class="mtlib-clip-text" style="flex:0 1 34em">'
            f"<strong>{_html.escape(c.why)}</strong> (clip {c.clip_id})<br>"
            f'<audio controls preload="metadata" src="{source(c.clip_id, "mp3")}"></audio><br>'
            f"true tags: {true}{lines}</div>"
            f'<img class="mtlib-clip-spectrogram" src="{source(c.clip_id, "png")}" '
            f'alt="log-mel spectrogram of clip {c.clip_id}" style="max-width:340px"></div>')
    note = ("" if not listening.attribution else
            f'<p class="mtlib-attribution"><small>{_html.escape(listening.attribution)}'
            "</small></p>")
    return (f'<div class="mtlib-listening"><p><strong>Listen: '
            f"{_html.escape(listening.title)}</strong></p>{''.join(cards)}{note}</div>")


def _data_uri(clip_id: int, ext: str) -> str:
    kind = {"mp3": "audio/mpeg", "png": "image/png"}[ext]
    data = (paths.listen_dir() / clip_file(clip_id, ext)).read_bytes()
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def text(listening: Listening) -> str:
    """The group as plain text (a viewer without HTML): one line per clip."""
    lines = [f"Listen: {listening.title}"]
    lines += [f"- clip {c.clip_id}: {c.why}; true tags: {', '.join(c.true_tags) or 'none'}"
              for c in listening.clips]
    return "\n".join(lines)


def show(listening: Listening) -> None:
    """Display the group in the notebook: players with each clip's mp3 embedded (written by
    :func:`write` first), and the group as metadata for the site."""
    from IPython.display import display

    display({"text/html": html(listening, _data_uri), "text/plain": text(listening)},
            raw=True, metadata={METADATA_KEY: listening.to_dict()})
