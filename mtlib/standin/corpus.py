"""``synth_mtat``: write a stand-in MagnaTagATune corpus in MTAT's own on-disk format.

Output folder::

    annotations_final.csv   tab-separated, every field double-quoted, "clip_id", the 188 MTAT
                            tag columns in the original order (tags outside the stand-in
                            vocabulary are all zero), "mp3_path"
    0/ .. f/                16 kHz mono mp3s of 465,984 samples (29.12 s), named like MTAT's
                            <artist>-<album>-<nn>-<title>-<start>-<end>.mp3; folders 0-b are
                            train, c valid, d-f test, and no score is in two splits
    standin_metadata.json   generator version, seed, clips, ``mtat_ids``, clips per split,
                            each clip's score, recipe, clean label vector (before label
                            dropping) and annotated tags
    .standin_plan.json      the plan's fingerprint, written first: guards a resumed run

``mtat_ids=True`` (CLI ``--mtat-ids``) gives the clips real MTAT clip ids and mp3 paths drawn
from the standard split lists (data/mtat/MTAT_split), in the lists' proportions, so the
``standard`` split resolves on the corpus as on real MTAT; labels and audio are made the same
way (see :mod:`mtlib.standin.plan`). The marker then says ``"mtat_ids": true``, and the
fingerprint differs, so the two kinds are never mistaken for each other.

Rendering runs in a process pool; each clip's audio depends only on ``(seed, clip index)``,
so the pool's order does not matter. A clip whose mp3 exists (written to a temp file and
renamed) is not rendered again, so an interrupted run resumes; the annotations and the
metadata are written last, atomically.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

import numpy as np

import mtlib
from mtlib.constants import PARTS
from mtlib.data import metadata
from mtlib.data.mtat import ANNOTATIONS_FILE, STANDIN_MARKER
from mtlib.errors import DataError
from mtlib.io import atomic_write_json, atomic_write_text
from mtlib.standin import recipes
from mtlib.standin.plan import (
    AUDIO_STREAM,
    GENERATOR_VERSION,
    ClipPlan,
    check_args,
    clip_rng,
    plan_corpus,
)
from mtlib.standin.vocab import VOCABULARY, target_marginals

SMOKE_CLIPS = 48  # tests and the smoke profile: seconds to generate, all splits present
QUICK_CLIPS = 1000  # the quick profile's corpus
METADATA_FILE = STANDIN_MARKER  # the data layer recognises a stand-in root by this file
PLAN_FILE = ".standin_plan.json"

_renderer = None  # one loaded SoundFont per worker process


def render_clip(clip: ClipPlan, seed: int) -> np.ndarray:
    """The final audio of one clip: float32 [CLIP_SAMPLES] at 16 kHz (before mp3 coding)."""
    global _renderer
    # Imported here, not at module level: the CLI imports this module for every command.
    from mtlib.standin.arrange import arrange
    from mtlib.standin.render import CLIP_SAMPLES, SAMPLE_RATE, Renderer, degrade
    from mtlib.standin.scores import load_notes

    if _renderer is None:
        _renderer = Renderer()
    rng = clip_rng(seed, clip.index, AUDIO_STREAM)
    midi = arrange(load_notes(clip.score), clip.recipe, CLIP_SAMPLES / SAMPLE_RATE, rng)
    return degrade(_renderer.render(midi, CLIP_SAMPLES), clip.recipe, rng)


def _render_task(out: str, clip: ClipPlan, seed: int) -> str:
    from mtlib.standin.render import write_mp3

    target = Path(out) / clip.mp3_path
    if not target.is_file():
        write_mp3(target, render_clip(clip, seed))
    return clip.mp3_path


def _parse_task(ref) -> str:
    from mtlib.standin.scores import load_notes

    load_notes(ref)
    return ref.score_id


def fingerprint(plans: list[ClipPlan], mtat_ids: bool = False) -> str:
    """SHA-256 of the generator version, every clip's plan and (if set) ``mtat_ids`` (hex)."""
    parts: list = [GENERATOR_VERSION, [p.to_dict() for p in plans]]
    if mtat_ids:  # appended only when set: a default corpus keeps its fingerprint
        parts.append({"mtat_ids": True})
    blob = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def annotations_text(plans: list[ClipPlan]) -> str:
    """annotations_final.csv content: MTAT's layout, every field double-quoted."""
    columns = ["clip_id", *metadata.TAGS188, "mp3_path"]
    lines = ["\t".join(f'"{c}"' for c in columns)]
    for p in plans:
        tags = set(p.tags)
        values = [str(p.clip_id), *("1" if t in tags else "0" for t in metadata.TAGS188),
                  p.mp3_path]
        lines.append("\t".join(f'"{v}"' for v in values))
    return "\n".join(lines) + "\n"


def _metadata(plans: list[ClipPlan], clips: int, seed: int, digest: str,
              mtat_ids: bool) -> dict:
    from mtlib.standin.render import CLIP_SAMPLES, RENDER_RATE, SAMPLE_RATE, soundfont_path
    from mtlib.standin.scores import music21_version

    return {
        "generator": "mtlib.standin",
        "generator_version": GENERATOR_VERSION,
        "mtlib_version": mtlib.__version__,
        "music21_version": music21_version(),
        "seed": int(seed),
        "clips": int(clips),
        "mtat_ids": bool(mtat_ids),
        "ids": ("real MTAT clip ids and mp3 paths of the standard split lists "
                "(data/mtat/MTAT_split)" if mtat_ids else "stand-in ids 1..n and own names"),
        "split_counts": {part: sum(p.split == part for p in plans) for part in PARTS},
        "fingerprint": digest,
        "sample_rate": SAMPLE_RATE,
        "clip_samples": CLIP_SAMPLES,
        "render": {"renderer": "tinysoundfont 0.3.7", "soundfont": soundfont_path().name,
                   "render_rate": RENDER_RATE, "mp3": "libsndfile/LAME, 16 kHz mono VBR"},
        "vocabulary": list(VOCABULARY),
        "drop_rate": recipes.DROP_RATE,
        "accompaniment_prob": recipes.ACCOMPANIMENT_PROB,
        "synonyms": [list(s) for s in recipes.SYNONYMS],
        "style_weights": recipes.STYLE_WEIGHTS,
        "target_marginals": target_marginals(),
        "clips_detail": [p.to_dict() for p in plans],
    }


def _check_out(out: Path, plan_info: dict) -> bool:
    """True when ``out`` already holds this exact, finished corpus; DataError on a conflict."""
    plan_file = out / PLAN_FILE
    if plan_file.is_file():
        try:
            old = json.loads(plan_file.read_text())
        except ValueError:
            old = {}
        if old.get("fingerprint") != plan_info["fingerprint"]:
            raise DataError(
                f"{out}: holds a different stand-in corpus ({old.get('clips')} clips, seed "
                f"{old.get('seed')}, generator {old.get('generator_version')}, "
                f"{_ids_kind(old.get('mtat_ids', False))}); asked for {plan_info['clips']} "
                f"clips, seed {plan_info['seed']}, generator "
                f"{plan_info['generator_version']}, {_ids_kind(plan_info['mtat_ids'])}: use "
                "another --out or delete the folder"
            )
    elif (out / ANNOTATIONS_FILE).exists():
        raise DataError(f"{out}: has {ANNOTATIONS_FILE} but was not written by synth-mtat "
                        f"(no {PLAN_FILE}); refusing to overwrite it")
    meta = out / METADATA_FILE
    if not (meta.is_file() and (out / ANNOTATIONS_FILE).is_file()):
        return False
    try:
        done = json.loads(meta.read_text()).get("fingerprint") == plan_info["fingerprint"]
    except ValueError:
        return False
    return done


def standin_settings(root: str | Path) -> dict | None:
    """The settings a finished stand-in corpus at ``root`` was written with, else None.

    ``{"generator_version": str, "clips": int, "seed": int, "mtat_ids": bool}`` read from the
    marker (``standin_metadata.json``; a marker written before ``mtat_ids`` existed means
    False), or None when the marker or annotations_final.csv is missing or unreadable. A
    cheap check (no planning): compare it with the wanted settings before calling
    :func:`synth_mtat`, which finishes or refuses a corpus that does not match.
    """
    root = Path(root)
    marker = root / METADATA_FILE
    if not (marker.is_file() and (root / ANNOTATIONS_FILE).is_file()):
        return None
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict):
        return None
    return {"generator_version": meta.get("generator_version"), "clips": meta.get("clips"),
            "seed": meta.get("seed"), "mtat_ids": meta.get("mtat_ids", False)}


def _ids_kind(mtat_ids: bool) -> str:
    return "MTAT ids" if mtat_ids else "stand-in ids"


def synth_mtat(
    out: str | Path,
    clips: int,
    seed: int,
    workers: int | None = None,
    progress: bool = True,
    *,
    mtat_ids: bool = False,
) -> Path:
    """Write (or finish) the stand-in corpus of ``clips`` clips for ``seed`` at ``out``.

    ``mtat_ids``: give the clips real MTAT clip ids and mp3 paths from the standard split
    lists (train/valid/test in the lists' proportions, at least 2 each; 6 to 21,105 clips),
    so ``split: standard`` works on the corpus; recorded as ``"mtat_ids"`` in the marker.

    ``workers``: processes (default: all cores; 1 renders in this process). Idempotent: a
    finished corpus with the same plan returns at once; an unfinished one resumes. Workers are
    spawned processes: a script calling this with ``workers > 1`` needs the usual
    ``if __name__ == "__main__":`` guard. Returns the corpus folder.
    """
    check_args(clips, seed)
    if not isinstance(mtat_ids, bool):
        raise DataError(f"mtat_ids must be True or False, got {mtat_ids!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise DataError(f"workers must be a positive integer or None, got {workers!r}")
    out = Path(out).resolve()
    plans = plan_corpus(clips, seed, mtat_ids=mtat_ids)
    digest = fingerprint(plans, mtat_ids)
    plan_info = {"generator_version": GENERATOR_VERSION, "seed": int(seed), "clips": int(clips),
                 "mtat_ids": mtat_ids, "fingerprint": digest}
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder; expected a corpus folder")
    if _check_out(out, plan_info) and all((out / p.mp3_path).is_file() for p in plans):
        return out
    atomic_write_json(out / PLAN_FILE, plan_info)
    for folder in "0123456789abcdef":
        (out / folder).mkdir(parents=True, exist_ok=True)

    todo = [p for p in plans if not (out / p.mp3_path).is_file()]
    refs = {p.score.score_id: p.score for p in todo}
    from mtlib.standin.scores import cache_path

    to_parse = [r for r in refs.values() if not cache_path(r).is_file()]
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    if n_workers == 1:
        _run_serial(out, to_parse, todo, seed, progress)
    else:
        _run_pool(out, to_parse, todo, seed, n_workers, progress)

    missing = [p.mp3_path for p in plans if not (out / p.mp3_path).is_file()]
    if missing:
        raise DataError(f"{out}: {len(missing)} clips were not written (first: {missing[0]})")
    atomic_write_text(out / ANNOTATIONS_FILE, annotations_text(plans))
    atomic_write_json(out / METADATA_FILE, _metadata(plans, clips, seed, digest, mtat_ids))
    return out


_PARSE, _RENDER = ("synth-mtat: parse scores", "score"), ("synth-mtat: render clips", "clip")


def _bar(total: int, what: tuple[str, str], progress: bool):
    from mtlib.progress import tqdm

    return tqdm(total=total, desc=what[0], unit=what[1], disable=not progress)


def _run_serial(out: Path, to_parse: list, todo: list[ClipPlan], seed: int,
                progress: bool) -> None:
    with _bar(len(to_parse), _PARSE, progress and bool(to_parse)) as bar:
        for ref in to_parse:
            _parse_task(ref)
            bar.update()
    with _bar(len(todo), _RENDER, progress) as bar:
        for clip in todo:
            _render_task(str(out), clip, seed)
            bar.update()


def _run_pool(out: Path, to_parse: list, todo: list[ClipPlan], seed: int, workers: int,
              progress: bool) -> None:
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for what, fn, items in (
            (_PARSE, _parse_task, [(r,) for r in to_parse]),
            (_RENDER, _render_task, [(str(out), c, seed) for c in todo]),
        ):
            if not items:
                continue
            with _bar(len(items), what, progress) as bar:
                pending = set()
                queue = iter(items)
                # Keep a bounded number of tasks in flight so an error stops the run early.
                for args in queue:
                    pending.add(pool.submit(fn, *args))
                    if len(pending) >= 4 * workers:
                        break
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        fut.result()
                        bar.update()
                        nxt = next(queue, None)
                        if nxt is not None:
                            pending.add(pool.submit(fn, *nxt))


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "synth-mtat",
        help="write a stand-in MagnaTagATune corpus rendered from real scores",
        description="Write a stand-in MagnaTagATune corpus (real scores rendered with a General "
        "MIDI SoundFont) in MTAT's own on-disk format.",
    )
    parser.add_argument("--out", required=True, type=Path, help="corpus folder to write")
    parser.add_argument("--clips", type=int, default=QUICK_CLIPS,
                        help=f"number of clips (default {QUICK_CLIPS})")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: all cores)")
    parser.add_argument("--mtat-ids", action="store_true",
                        help="use real MTAT clip ids and mp3 paths from the standard split "
                        "lists (train/valid/test in their proportions), so split 'standard' "
                        "works on the corpus")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    out = synth_mtat(args.out, args.clips, args.seed, workers=args.workers,
                     progress=not args.quiet, mtat_ids=args.mtat_ids)
    print(out)
    return 0
