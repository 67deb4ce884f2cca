"""A tagger bundle: the one object a user loads to tag new audio with a trained model.

Like torchaudio's pipeline bundles, a :class:`TaggerBundle` carries the sample rate, the tag
labels, the input normalisation and the weights, and :meth:`TaggerBundle.get_model` returns
the network ready for inference; nothing else needs to know how the model was trained. On
disk a bundle is a folder:

- ``bundle.json``: sample rate (Hz), clip length (samples), labels, input normalisation,
  the :class:`~mtlib.config.RunConfig` that rebuilds the network, the run it came from and
  its validation ROC-AUC;
- ``weights.pt``: the state dict of the run's best validation epoch.

The folder is written beside itself and renamed into place, so a crash never leaves a bundle
that looks complete. :func:`bundle_from_run` builds one in memory from any finished run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtlib.config import RunConfig
from mtlib.errors import MtlibError

BUNDLE_FILE = "bundle.json"
WEIGHTS_FILE = "weights.pt"
FORMAT = 1
INPUT_NORM_KEYS = ("kind", "scope", "shift", "scale")  # how training scaled the audio


@dataclass(frozen=True)
class TaggerBundle:
    """What tagging needs. ``input_norm``: ``{"kind", "scope", "shift", "scale"}`` (dataset
    scope: the training statistics in float units); ``clip_samples``: one clip of
    ``sample_rate`` Hz audio, the unit the model scores. ``weights`` are loaded lazily from
    ``path`` when None."""

    sample_rate: int
    clip_samples: int
    labels: tuple[str, ...]
    input_norm: dict[str, Any]
    config: RunConfig
    run_id: str
    val_roc_auc: float | None = None
    path: Path | None = None
    weights: dict[str, Any] | None = field(default=None, repr=False)

    def get_model(self):
        """The network with the bundle's weights, in eval mode (on the CPU)."""
        from mtlib.models import build_model

        model = build_model(self.config, len(self.labels), self.clip_samples)
        model.load_state_dict(self._weights())
        return model.eval()

    def normalisation(self):
        """The input normalisation as :class:`~mtlib.data.datasets.InputNorm`."""
        from mtlib.data.datasets import InputNorm

        n = self.input_norm
        return InputNorm(str(n["kind"]), str(n["scope"]), float(n["shift"]), float(n["scale"]))

    def _weights(self) -> dict[str, Any]:
        if self.weights is not None:
            return self.weights
        from mtlib.training.rundir import load_torch

        path = Path(self.path or ".") / WEIGHTS_FILE
        try:
            return load_torch(path)
        except FileNotFoundError:
            raise MtlibError(f"{path}: missing; the bundle is incomplete, rerun the "
                             "notebook that writes it") from None
        except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise MtlibError(f"{path}: expected a torch state dict ({first})") from None

    def manifest(self) -> dict[str, Any]:
        return {"format": FORMAT, "sample_rate": self.sample_rate,
                "clip_samples": self.clip_samples, "labels": list(self.labels),
                "input_norm": dict(self.input_norm), "config": self.config.to_dict(),
                "run_id": self.run_id, "val_roc_auc": self.val_roc_auc,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def check_input_norm(stored: Any, where: Path | str) -> dict[str, Any]:
    """``stored`` if it is a usable input normalisation; MtlibError naming ``where``."""
    if not isinstance(stored, dict) or any(k not in stored for k in INPUT_NORM_KEYS):
        raise MtlibError(
            f"{where}: no usable input_norm; expected a dict with "
            f"{', '.join(INPUT_NORM_KEYS)} (written by mtlib.training.fit); retrain the run"
        )
    return {k: stored[k] for k in INPUT_NORM_KEYS}


def bundle_from_run(result) -> TaggerBundle:
    """The bundle of a finished :class:`~mtlib.training.rundir.RunResult` (weights of its
    best validation epoch), in memory."""
    from mtlib.data.prepare import clip_samples_for
    from mtlib.training.rundir import BEST_CHECKPOINT, load_torch

    checkpoint = result.run_dir / BEST_CHECKPOINT
    if not checkpoint.is_file():
        raise MtlibError(f"{checkpoint}: the run has no best-epoch weights")
    payload = load_torch(checkpoint)
    labels = tuple(result.metrics.get("tags") or result.predictions()[3])
    return TaggerBundle(
        sample_rate=result.config.sample_rate,
        clip_samples=clip_samples_for(result.config.sample_rate), labels=labels,
        input_norm=check_input_norm(payload.get("input_norm"), checkpoint),
        config=result.config, run_id=result.run_id,
        val_roc_auc=result.metrics.get("val_roc_auc"), weights=payload["model"])


def save_bundle(bundle: TaggerBundle, folder: Path) -> Path:
    """Write ``bundle`` to ``folder`` (replacing an older one) and return the folder."""
    from mtlib.training.rundir import save_torch

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.writing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    save_torch(staging / WEIGHTS_FILE, bundle._weights())
    # The manifest goes last: a folder without it is never read as a bundle.
    (staging / BUNDLE_FILE).write_text(json.dumps(bundle.manifest(), indent=1),
                                       encoding="utf-8")
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def load_bundle(folder: Path | str) -> TaggerBundle:
    """The bundle in ``folder``; MtlibError naming the file and what was expected."""
    folder = Path(folder)
    manifest = folder / BUNDLE_FILE
    try:
        raw = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MtlibError(f"{manifest}: no tagger bundle here") from None
    except json.JSONDecodeError as err:
        raise MtlibError(f"{manifest}: expected a JSON bundle manifest ({err})") from None
    missing = [k for k in ("sample_rate", "clip_samples", "labels", "input_norm", "config",
                           "run_id") if k not in raw]
    if raw.get("format") != FORMAT or missing:
        raise MtlibError(f"{manifest}: expected a format-{FORMAT} bundle manifest"
                         + (f"; missing {', '.join(missing)}" if missing else ""))
    return TaggerBundle(
        sample_rate=int(raw["sample_rate"]), clip_samples=int(raw["clip_samples"]),
        labels=tuple(raw["labels"]), input_norm=check_input_norm(raw["input_norm"], manifest),
        config=RunConfig.from_dict(raw["config"]), run_id=str(raw["run_id"]),
        val_roc_auc=raw.get("val_roc_auc"), path=folder)


def newest_bundle(root: Path) -> Path | None:
    """The most recently written bundle folder under ``root`` (None: none)."""
    found = [p.parent for p in Path(root).glob(f"*/{BUNDLE_FILE}")]
    return max(found, key=lambda p: (p / BUNDLE_FILE).stat().st_mtime, default=None)
