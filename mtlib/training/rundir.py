"""The run folder: its file layout, how each file is written and read, and :class:`RunResult`.

``<run_id>/`` holds:

- ``config.json``: the :class:`~mtlib.config.RunConfig`
- ``status.json``: ``{"status": "running"|"failed"|"finished"|"diverged", "error", "epoch",
  ...}``
- ``history.csv``: :data:`HISTORY_COLUMNS`, one row per epoch
- ``last.pt``: checkpoint after every epoch: model, optimiser, scheduler, RNG states,
  history, best-so-far weights (what a resume needs)
- ``best.pt``: weights of the best validation epoch, with what scoring new audio needs
  (tags, clip_samples, input_norm)
- ``predictions.npz``: test set: clip_id [n], y_true [n, T], y_score [n, T], tags [T]
- ``metrics.json``: test_roc_auc, test_pr_auc, val_roc_auc, best_epoch, per_tag, ...

Every file is written atomically (temp file + rename). :class:`RunFolder` writes
``metrics.json`` and then ``status.json`` = finished last, so a crash never leaves a run that
looks finished. Reading a finished run back checks that every file the report reads parses
(config, metrics, history, predictions); a run damaged after it finished (a disk error, a
hand edit) raises :class:`DamagedRun`, and the run store sets it aside and trains it again.

This module sits at the bottom of the package: the training loop returns a
:class:`RunResult` without knowing any of these files, and the run store
(:mod:`mtlib.training.runs`) decides what is written where.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from mtlib.config import RunConfig
from mtlib.errors import MtlibError
from mtlib.io import atomic_path, atomic_write_json, atomic_write_text

HISTORY_COLUMNS = [
    "epoch", "train_loss", "train_roc_auc", "val_roc_auc", "val_pr_auc", "lr", "seconds",
]
STATUSES = ("running", "failed", "finished", "diverged")
DONE = ("finished", "diverged")  # final: a diverged run is a result, never retried
CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.npz"
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
LOCK_FILE = ".lock"


class DamagedRun(MtlibError):
    """A finished run whose files no longer parse; the message names the file and the fault."""


@dataclass
class RunResult:
    """A finished run (or a run trained without a folder, ``run_dir=None``).

    ``metrics``: test_roc_auc, test_pr_auc, val_roc_auc (best epoch), best_epoch, per_tag
    {tag: {roc_auc, pr_auc, n_train_pos, n_test_pos}}, excluded_tags, seed, device, versions,
    train_seconds, epochs_run, and a few more (see :func:`mtlib.training.fit.fit`).
    ``history``: one row per epoch, columns :data:`HISTORY_COLUMNS`.
    """

    run_id: str
    config: RunConfig
    run_dir: Path | None
    metrics: dict[str, Any]
    history: pd.DataFrame
    _predictions: tuple | None = field(default=None, repr=False)

    @property
    def diverged(self) -> bool:
        """Training diverged (``metrics``: diverged_epoch, last_finite_loss): no predictions."""
        return bool(self.metrics.get("diverged"))

    def predictions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """Test set ``(clip_ids [n], y_true uint8 [n, T], y_score float32 [n, T], tags)``."""
        if self.diverged:
            raise MtlibError(f"run {self.run_id} diverged in epoch "
                             f"{self.metrics.get('diverged_epoch')}: it has no predictions")
        if self._predictions is None:
            if self.run_dir is None:
                raise MtlibError(f"run {self.run_id} has no stored predictions")
            self._predictions = read_predictions(self.run_dir / PREDICTIONS_FILE)
        return self._predictions


# --- single files -----------------------------------------------------------------------
def write_status(run_dir: Path, status: str, **extra: Any) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; valid: {', '.join(STATUSES)}")
    atomic_write_json(run_dir / STATUS_FILE, {
        "status": status, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": socket.gethostname(), "pid": os.getpid(), **extra,
    })


def read_status(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_history(run_dir: Path, history: Sequence[dict[str, Any]]) -> None:
    frame = pd.DataFrame(list(history), columns=HISTORY_COLUMNS)
    atomic_write_text(run_dir / HISTORY_FILE, frame.to_csv(index=False))


def read_history(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise MtlibError(f"{path}: run history is missing") from None
    if list(frame.columns) != HISTORY_COLUMNS:
        raise MtlibError(f"{path}: expected columns {HISTORY_COLUMNS}, found {list(frame.columns)}")
    return frame


def write_predictions(
    path: Path, clip_ids: np.ndarray, y_true: np.ndarray, y_score: np.ndarray, tags: Sequence[str]
) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
            np.savez(
                f,
                clip_id=np.asarray(clip_ids, dtype=np.int64),
                y_true=np.asarray(y_true, dtype=np.uint8),
                y_score=np.asarray(y_score, dtype=np.float32),
                tags=np.asarray(list(tags), dtype=str),
            )


def read_predictions(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return z["clip_id"], z["y_true"], z["y_score"], [str(t) for t in z["tags"]]
    except FileNotFoundError:
        raise MtlibError(f"{path}: run predictions are missing") from None


def save_torch(path: Path, obj: Any) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path: Path) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def _read_checkpoint(path: Path) -> dict[str, Any] | None:
    """A checkpoint, or None when it is missing or unreadable (which means "start over")."""
    if not path.is_file():
        return None
    try:
        return load_torch(path)
    except Exception:  # noqa: BLE001 - an unreadable checkpoint is no checkpoint
        return None


def versions() -> dict[str, str]:
    """Versions of what changes a run's numbers, recorded in its metrics."""
    import numpy
    import sklearn
    import torch

    import mtlib

    return {
        "python": sys.version.split()[0], "torch": torch.__version__,
        "numpy": numpy.__version__, "sklearn": sklearn.__version__, "mtlib": mtlib.__version__,
    }


# --- a run folder as the training loop's sink ---------------------------------------------
EpochHook = Callable[[int, dict[str, Any]], None]


class RunFolder:
    """Writes one run into ``run_dir``: the sink that :func:`mtlib.training.fit.fit` reports to.

    ``on_epoch_end(epoch, history_row)`` is called after each epoch's checkpoint is written
    (tests and the Ray executor use it to simulate a crash at that point). ``extends``: the
    folder of a finished run whose config differs from this one only in fewer epochs; without
    a checkpoint of its own, the run continues from that run's ``last.pt``.
    """

    def __init__(self, run_dir: Path, on_epoch_end: EpochHook | None = None,
                 extends: Path | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.on_epoch_end = on_epoch_end
        self.extends = Path(extends) if extends is not None else None

    def started(self, config: RunConfig) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.run_dir / CONFIG_FILE, config.to_dict())
        write_status(self.run_dir, "running", epoch=0)

    def resume_point(self, config: RunConfig) -> dict[str, Any] | None:
        """``last.pt`` if it belongs to ``config`` and can be read; else the last checkpoint
        of the run this one ``extends``, relabelled as this run's; else None (start over)."""
        ckpt = _read_checkpoint(self.run_dir / LAST_CHECKPOINT)
        if ckpt is not None and ckpt.get("run_id") == config.run_id:
            return ckpt
        if self.extends is None:
            return None
        base = _read_checkpoint(self.extends / LAST_CHECKPOINT)
        if (base is None or base.get("run_id") != self.extends.name
                or base.get("epoch", 0) >= config.epochs):
            return None
        return {**base, "run_id": config.run_id, "extends": self.extends.name}

    def epoch_end(self, row: dict[str, Any], history: list[dict[str, Any]],
                  checkpoint: dict[str, Any], best: dict[str, Any] | None) -> None:
        """Persist one finished epoch; ``best`` is the best-epoch payload when it improved."""
        # last.pt (written after best.pt) is what a resume trusts; finished() rewrites best.pt
        # from it, so a crash between the two cannot leave mismatched best weights.
        if best is not None:
            save_torch(self.run_dir / BEST_CHECKPOINT, best)
        write_history(self.run_dir, history)
        save_torch(self.run_dir / LAST_CHECKPOINT, checkpoint)
        write_status(self.run_dir, "running", epoch=row["epoch"])
        if self.on_epoch_end is not None:
            self.on_epoch_end(row["epoch"], row)

    def finished(self, result: RunResult, best: dict[str, Any]) -> RunResult:
        save_torch(self.run_dir / BEST_CHECKPOINT, best)
        write_predictions(self.run_dir / PREDICTIONS_FILE, *result.predictions())
        atomic_write_json(self.run_dir / METRICS_FILE, result.metrics)
        write_status(self.run_dir, "finished", epoch=result.metrics["epochs_run"])  # last
        result.run_dir = self.run_dir
        return result

    def failed(self, error: BaseException) -> None:
        write_status(self.run_dir, "failed", error=f"{type(error).__name__}: {error}")

    def diverged(self, config: RunConfig, epoch: int, last_finite_loss: float,
                 error: str) -> None:
        """Record that training diverged in ``epoch``: a result, not a failure to retry
        (the same config and seed diverge again). The metrics say so; the run has no test
        predictions and no best weights."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.run_dir / CONFIG_FILE, config.to_dict())
        if not (self.run_dir / HISTORY_FILE).is_file():
            write_history(self.run_dir, [])
        atomic_write_json(self.run_dir / METRICS_FILE, {
            "diverged": True, "diverged_epoch": int(epoch),
            "last_finite_loss": float(last_finite_loss), "error": error,
            "val_roc_auc": float("nan"), "test_roc_auc": float("nan"), "best_epoch": 0,
            "epochs_run": max(int(epoch) - 1, 0), "per_tag": {}, "seed": config.seed,
            "versions": versions()})
        write_status(self.run_dir, "diverged", epoch=int(epoch), error=error)  # last

    # --- reading back ---------------------------------------------------------------------
    def is_finished(self) -> bool:
        status = read_status(self.run_dir)
        return (status is not None and status.get("status") in DONE
                and (self.run_dir / METRICS_FILE).is_file())

    def is_diverged(self) -> bool:
        status = read_status(self.run_dir)
        return status is not None and status.get("status") == "diverged"

    def load(self) -> RunResult | None:
        """The finished run in this folder, or None if it is not finished. Raises
        :class:`DamagedRun` when a file of a finished run does not parse, or its config hashes
        to another run id (edited, or written by an mtlib version with other fields)."""
        if not self.is_finished():
            return None
        path = self.run_dir / CONFIG_FILE
        config = _parsed(path, lambda: RunConfig.from_dict(json.loads(path.read_text("utf-8"))))
        if config.run_id != self.run_dir.name:
            raise DamagedRun(
                f"{path}: config hashes to {config.run_id}, not the folder name "
                f"{self.run_dir.name} (edited, or written by another mtlib version)"
            )
        metrics = _parsed(self.run_dir / METRICS_FILE, lambda: _read_metrics(
            self.run_dir / METRICS_FILE))
        if metrics.get("diverged"):
            history = _parsed(self.run_dir / HISTORY_FILE, lambda: read_history(
                self.run_dir / HISTORY_FILE))
            return RunResult(config.run_id, config, self.run_dir, metrics, history)
        history = _parsed(self.run_dir / HISTORY_FILE, lambda: _read_finished_history(
            self.run_dir / HISTORY_FILE))
        predictions = _parsed(self.run_dir / PREDICTIONS_FILE, lambda: _checked_predictions(
            self.run_dir / PREDICTIONS_FILE))
        return RunResult(config.run_id, config, self.run_dir, metrics, history, predictions)


REQUIRED_METRICS = ("test_roc_auc", "val_roc_auc", "best_epoch", "epochs_run")


def _parsed(path: Path, read: Callable[[], Any]) -> Any:
    """``read()``, with any failure to parse ``path`` raised as :class:`DamagedRun`."""
    try:
        return read()
    except DamagedRun:
        raise
    except Exception as err:  # noqa: BLE001 - json, pandas, numpy and pydantic all differ
        first = (str(err).strip().splitlines() or [""])[0]
        raise DamagedRun(f"{path}: damaged ({type(err).__name__}: {first})") from None


def _read_metrics(path: Path) -> dict[str, Any]:
    metrics = json.loads(path.read_text("utf-8"))
    missing = [k for k in REQUIRED_METRICS if not isinstance(metrics, dict) or k not in metrics]
    if missing:
        raise DamagedRun(f"{path}: damaged (no {', '.join(missing)})")
    return metrics


def _read_finished_history(path: Path) -> pd.DataFrame:
    frame = read_history(path)
    if frame.empty:
        raise DamagedRun(f"{path}: damaged (no epoch rows)")
    return frame


def _checked_predictions(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    clip_ids, y_true, y_score, tags = read_predictions(path)
    n, t = len(clip_ids), len(tags)
    if y_true.shape != (n, t) or y_score.shape != (n, t):
        raise DamagedRun(f"{path}: damaged (shapes {y_true.shape} and {y_score.shape} for "
                         f"{n} clips and {t} tags)")
    return clip_ids, y_true, y_score, tags
