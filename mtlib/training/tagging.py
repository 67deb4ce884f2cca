"""``mtlib tag AUDIO_FILE``: the top tags of any audio file, from a trained model.

The model is a finished run of the run store: its ``config.json`` rebuilds the network
(:func:`mtlib.models.build_model`) and ``best.pt`` holds the weights of its best validation
epoch and the input normalisation training used (for dataset scope, the training statistics),
so tagging needs neither the training data nor its prepared cache. By default the run is the
best shallow model of the last ``mtlib report`` (named in
``results/artifacts/last_report.json``).

The file is decoded and resampled with :func:`mtlib.data.prepare.decode_clip`, exactly like
the training data, cut into consecutive 29.1 s clips (a partial last clip is kept, zero-padded,
when it holds at least half a clip of audio; a file shorter than one clip is padded), and each
clip is scored like a test clip; the printed scores are the mean over clips.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from mtlib import paths
from mtlib.errors import DataError, MtlibError

LAST_REPORT_ARTIFACT = "last_report.json"
MIN_SECONDS = 1.0  # shorter files carry too little audio to tag
INPUT_NORM_KEYS = ("kind", "scope", "shift", "scale")  # best.pt["input_norm"], mtlib.training.fit


def default_run_id() -> str:
    """The best shallow run named by the last report."""
    path = paths.artifacts_dir() / LAST_REPORT_ARTIFACT
    try:
        return json.loads(path.read_text(encoding="utf-8"))["best_shallow_run_id"]
    except FileNotFoundError:
        raise MtlibError(
            f"{path}: no report has named a model yet; run `mtlib report` first or pass "
            "--run RUN_ID"
        ) from None
    except (json.JSONDecodeError, KeyError) as err:
        raise MtlibError(f"{path}: expected JSON with best_shallow_run_id ({err})") from None


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


def load_model(result):
    """``(model in eval mode, tags, InputNorm)`` of a finished run, from its ``best.pt``."""
    from mtlib.data.prepare import clip_samples_for
    from mtlib.models import build_model
    from mtlib.training.rundir import BEST_CHECKPOINT, load_torch

    tags = list(result.metrics.get("tags") or result.predictions()[3])
    checkpoint = result.run_dir / BEST_CHECKPOINT
    if not checkpoint.is_file():
        raise MtlibError(f"{checkpoint}: the run has no best-epoch weights")
    payload = load_torch(checkpoint)
    norm = stored_input_norm(payload, checkpoint)
    model = build_model(result.config, len(tags), clip_samples_for(result.config.sample_rate))
    model.load_state_dict(payload["model"])
    return model.eval(), tags, norm


def stored_input_norm(payload: dict, checkpoint: Path):
    """The :class:`~mtlib.data.datasets.InputNorm` that training stored in ``payload``
    (read from ``checkpoint``); MtlibError if the payload has none."""
    from mtlib.data.datasets import InputNorm

    stored = payload.get("input_norm")
    if not isinstance(stored, dict) or any(k not in stored for k in INPUT_NORM_KEYS):
        raise MtlibError(
            f"{checkpoint}: no usable input_norm in the checkpoint; expected a dict with "
            f"{', '.join(INPUT_NORM_KEYS)} (written by mtlib.training.fit); retrain the run"
        )
    return InputNorm(str(stored["kind"]), str(stored["scope"]), float(stored["shift"]),
                     float(stored["scale"]))


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


def tag_file(audio_file: str | Path, run_id: str | None = None) -> dict:
    """Score ``audio_file`` with a run's model.

    Returns ``{"run_id", "config", "seconds", "n_clips", "scores": [(tag, probability), ...]}``
    with scores sorted from most to least likely.
    """
    import torch

    from mtlib.data.datasets import AudioSource, SegmentDataset, SubclipDataset
    from mtlib.training.fit import predict

    result = load_run(run_id or default_run_id())
    model, tags, norm = load_model(result)
    config = result.config
    clips, seconds = decode_clips(Path(audio_file), config.sample_rate)
    source = AudioSource(clips, "cpu")
    labels = np.zeros((len(clips), len(tags)), dtype=np.uint8)
    rows = np.arange(len(clips))
    if config.model == "dieleman":
        view = SubclipDataset(source, labels, rows, norm)
    else:
        view = SegmentDataset(source, labels, rows, norm, segments=config.segments)
    probs = predict(model, view, torch.device("cpu")).mean(0)
    order = np.argsort(-probs, kind="stable")
    return {"run_id": result.run_id, "config": config, "seconds": seconds,
            "n_clips": len(clips), "val_roc_auc": result.metrics.get("val_roc_auc"),
            "scores": [(tags[j], float(probs[j])) for j in order]}


def add_command(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tag", help="print the top tags of an audio file",
        description="Tag any audio file soundfile can read with a trained model of the run "
        "store (default: the best shallow model of the last `mtlib report`).",
    )
    p.add_argument("audio_file", type=Path, help="audio file (mp3, wav, flac, ogg, ...)")
    p.add_argument("--run", dest="run_id", help="run id in results/runs (default: the last "
                   "report's best shallow model)")
    p.add_argument("--top", type=int, default=10, help="how many tags to print (default 10)")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise MtlibError(f"--top must be >= 1, got {args.top}")
    out = tag_file(args.audio_file, args.run_id)
    cfg = out["config"]
    print(f"{args.audio_file} ({out['seconds']:.1f} s, {out['n_clips']} clip(s)); run "
          f"{out['run_id']} ({cfg.model}, {cfg.dataset}, validation ROC-AUC "
          f"{out['val_roc_auc']:.3f}):")
    for tag, p in out["scores"][: args.top]:
        print(f"  {p:.3f}  {tag}")
    return 0
