"""``mtlib tag AUDIO_FILE``: the top tags of any audio file, from a tagger bundle.

A :class:`~mtlib.training.bundle.TaggerBundle` holds the sample rate, labels, input
normalisation and weights of one trained model, so tagging needs neither the training data
nor its prepared cache. By default the bundle is the newest under ``results/bundles/`` (the
report's notebook 06 writes its final shallow CNN there); ``--bundle DIR`` names one, and
``--run RUN_ID`` builds one from any finished run of the run store.

The file is decoded and resampled with :func:`mtlib.data.prepare.decode_clip`, exactly like
the training data, cut into consecutive 29.1 s clips (a partial last clip is kept, zero-padded,
when it holds at least half a clip of audio; a file shorter than one clip is padded), and each
clip is scored like a test clip; the printed scores are the mean over clips.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from mtlib import paths
from mtlib.errors import DataError, MtlibError
from mtlib.training.bundle import TaggerBundle, bundle_from_run, load_bundle, newest_bundle

MIN_SECONDS = 1.0  # shorter files carry too little audio to tag


def load_run(run_id: str):
    """The finished run ``run_id``; MtlibError listing some finished runs if it is not one."""
    from mtlib.training.runs import RunStore

    store = RunStore()
    result = store.load(run_id)
    if result is None:
        finished = [r.name for r in sorted(store.root.glob("*")) if store.is_finished(r.name)]
        shown = ", ".join(finished[:10]) + (" ..." if len(finished) > 10 else "")
        raise MtlibError(
            f"{store.run_dir(run_id)}: no finished run {run_id!r}; finished runs: "
            f"{shown or 'none'}"
        )
    return result


def choose_bundle(run_id: str | None = None, bundle: str | Path | None = None) -> TaggerBundle:
    """The bundle to tag with: built from run ``run_id``, read from folder ``bundle``, or
    else the newest under ``results/bundles/``."""
    if run_id:
        return bundle_from_run(load_run(run_id))
    if bundle:
        return load_bundle(bundle)
    newest = newest_bundle(paths.bundles_dir())
    if newest is None:
        raise MtlibError(
            f"{paths.bundles_dir()}: no tagger bundle yet; run `mtlib report` (notebook 06 "
            "writes one) or pass --run RUN_ID"
        )
    return load_bundle(newest)


def decode_clips(audio_file: Path, sample_rate: int) -> tuple[np.ndarray, float]:
    """The file as int16 clips ``[n_clips, clip_samples]`` at ``sample_rate`` Hz (see the module
    docstring for the last clip) and its duration in seconds."""
    import soundfile as sf

    from mtlib.data.prepare import clip_samples_for, decode_clip

    audio_file = Path(audio_file)
    if not audio_file.is_file():
        raise DataError(f"{audio_file}: no such audio file")
    try:
        seconds = sf.info(str(audio_file)).duration
    except Exception as err:  # noqa: BLE001 - libsndfile raises several types for bad files
        raise DataError(f"{audio_file}: not an audio file soundfile can read ({err})") from None
    if seconds < MIN_SECONDS:
        raise DataError(f"{audio_file}: {seconds:.2f} s of audio, expected >= {MIN_SECONDS} s")
    clip = clip_samples_for(sample_rate)
    # A partial last clip counts when it holds at least half a clip of audio.
    n_clips = max(1, math.floor(seconds * sample_rate / clip + 0.5))
    whole = decode_clip(audio_file, sample_rate, n_clips * clip, min_seconds=MIN_SECONDS)
    return whole.reshape(n_clips, clip), float(seconds)


def tag_file(audio_file: str | Path, run_id: str | None = None,
             bundle: str | Path | TaggerBundle | None = None) -> dict:
    """Score ``audio_file`` with a bundle (see :func:`choose_bundle`).

    Returns ``{"run_id", "config", "seconds", "n_clips", "val_roc_auc", "scores": [(tag,
    probability), ...]}`` with scores sorted from most to least likely.
    """
    import torch

    from mtlib.data.datasets import AudioSource, SegmentDataset, SubclipDataset
    from mtlib.training.fit import predict

    chosen = bundle if isinstance(bundle, TaggerBundle) else choose_bundle(run_id, bundle)
    model, tags, norm = chosen.get_model(), list(chosen.labels), chosen.normalisation()
    config = chosen.config
    clips, seconds = decode_clips(Path(audio_file), chosen.sample_rate)
    source = AudioSource(clips, "cpu")
    labels = np.zeros((len(clips), len(tags)), dtype=np.uint8)
    rows = np.arange(len(clips))
    if config.model == "dieleman":
        view = SubclipDataset(source, labels, rows, norm)
    else:
        view = SegmentDataset(source, labels, rows, norm, segments=config.segments)
    probs = predict(model, view, torch.device("cpu")).mean(0)
    order = np.argsort(-probs, kind="stable")
    return {"run_id": chosen.run_id, "config": config, "seconds": seconds,
            "n_clips": len(clips), "val_roc_auc": chosen.val_roc_auc,
            "scores": [(tags[j], float(probs[j])) for j in order]}


def add_command(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tag", help="print the top tags of an audio file",
        description="Tag any audio file soundfile can read with a tagger bundle (default: "
        "the newest in results/bundles/, which `mtlib report` writes) or a run of the store.",
    )
    p.add_argument("audio_file", type=Path, help="audio file (mp3, wav, flac, ogg, ...)")
    p.add_argument("--bundle", type=Path, help="a bundle folder (default: the newest in "
                   "results/bundles/)")
    p.add_argument("--run", dest="run_id", help="tag with this finished run of results/runs")
    p.add_argument("--top", type=int, default=10, help="how many tags to print (default 10)")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise MtlibError(f"--top must be >= 1, got {args.top}")
    out = tag_file(args.audio_file, args.run_id, args.bundle)
    cfg = out["config"]
    print(f"{args.audio_file} ({out['seconds']:.1f} s, {out['n_clips']} clip(s)); run "
          f"{out['run_id']} ({cfg.model}, {cfg.dataset}, validation ROC-AUC "
          f"{out['val_roc_auc']:.3f}):")
    for tag, p in out["scores"][: args.top]:
        print(f"  {p:.3f}  {tag}")
    return 0
