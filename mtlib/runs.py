"""The run store: one folder per training config, reused, resumed or retried on demand.

``<root>/<run_id>/`` (root = :func:`mtlib.paths.runs_dir` by default) holds:

- ``config.json``      the :class:`~mtlib.config.RunConfig`
- ``status.json``      ``{"status": "running"|"failed"|"finished", "error", "epoch", ...}``
- ``history.csv``      epoch, train_loss, train_roc_auc, val_roc_auc, val_pr_auc, lr, seconds
- ``last.pt``          checkpoint after every epoch: model, optimiser, scheduler, RNG states,
                       history, best-so-far weights (what a resume needs)
- ``best.pt``          weights of the best validation epoch
- ``predictions.npz``  test set: clip_id [n], y_true [n, T], y_score [n, T], tags [T]
- ``metrics.json``     test_roc_auc, test_pr_auc, val_roc_auc, best_epoch, per_tag, ...

Every file is written atomically (temp file + rename). ``metrics.json`` and then
``status.json`` = finished are written last, so a crash never leaves a run that looks
finished. :meth:`RunStore.get_or_run` holds an exclusive ``fcntl.flock`` on
``<run_id>/.lock`` while it trains, so two processes never train the same run at once (the
second waits, then reuses the result); different runs proceed in parallel.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from mtlib import paths
from mtlib.config import RunConfig
from mtlib.errors import MtlibError
from mtlib.io import atomic_path, atomic_write_json, atomic_write_text

HISTORY_COLUMNS = [
    "epoch", "train_loss", "train_roc_auc", "val_roc_auc", "val_pr_auc", "lr", "seconds",
]
STATUSES = ("running", "failed", "finished")
CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.npz"
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
LOCK_FILE = ".lock"


@dataclass
class RunResult:
    """A finished run (or a run trained without a folder, ``run_dir=None``).

    ``metrics``: test_roc_auc, test_pr_auc, val_roc_auc (best epoch), best_epoch, per_tag
    {tag: {roc_auc, pr_auc, n_train_pos}}, excluded_tags, seed, device, versions,
    train_seconds, epochs_run, and a few more (see :func:`mtlib.train.fit`).
    ``history``: one row per epoch, columns :data:`HISTORY_COLUMNS`.
    """

    run_id: str
    config: RunConfig
    run_dir: Path | None
    metrics: dict[str, Any]
    history: pd.DataFrame
    _predictions: tuple | None = field(default=None, repr=False)

    def predictions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """Test set ``(clip_ids [n], y_true uint8 [n, T], y_score float32 [n, T], tags)``."""
        if self._predictions is None:
            if self.run_dir is None:
                raise MtlibError(f"run {self.run_id} has no stored predictions")
            self._predictions = read_predictions(self.run_dir / PREDICTIONS_FILE)
        return self._predictions


# --- files of one run -------------------------------------------------------------------
def write_status(run_dir: Path, status: str, **extra: Any) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; valid: {', '.join(STATUSES)}")
    atomic_write_json(
        run_dir / STATUS_FILE,
        {
            "status": status,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            **extra,
        },
    )


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


def write_json(path: Path, obj: Any) -> None:
    atomic_write_json(path, obj)


def save_torch(path: Path, obj: Any) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path: Path) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def versions() -> dict[str, str]:
    import numpy
    import sklearn
    import torch

    import mtlib

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "sklearn": sklearn.__version__,
        "mtlib": mtlib.__version__,
    }


@contextlib.contextmanager
def run_lock(run_dir: Path, wait_message: Callable[[], None] | None = None) -> Iterator[None]:
    """Exclusive ``flock`` on ``run_dir/.lock`` (released on exit or when the process dies)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOCK_FILE, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if wait_message is not None:
                wait_message()
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


# --- the store --------------------------------------------------------------------------
class RunStore:
    """Runs under ``root`` (default :func:`mtlib.paths.runs_dir`), one folder per run id."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else paths.runs_dir()

    def run_dir(self, config_or_id: RunConfig | str) -> Path:
        run_id = config_or_id.run_id if isinstance(config_or_id, RunConfig) else config_or_id
        return self.root / run_id

    def status(self, config_or_id: RunConfig | str) -> dict[str, Any] | None:
        """The run's ``status.json`` (None when it never started)."""
        return read_status(self.run_dir(config_or_id))

    def is_finished(self, config_or_id: RunConfig | str) -> bool:
        run_dir = self.run_dir(config_or_id)
        status = read_status(run_dir)
        return (
            status is not None
            and status.get("status") == "finished"
            and (run_dir / METRICS_FILE).is_file()
        )

    def load(self, run_id: str) -> RunResult | None:
        """The finished run ``run_id``, or None if it is not finished."""
        if not self.is_finished(run_id):
            return None
        run_dir = self.run_dir(run_id)
        config = RunConfig.from_dict(json.loads((run_dir / CONFIG_FILE).read_text("utf-8")))
        if config.run_id != run_id:
            raise MtlibError(
                f"{run_dir / CONFIG_FILE}: config hashes to {config.run_id}, not the folder name "
                f"{run_id} (written by another mtlib version?)"
            )
        metrics = json.loads((run_dir / METRICS_FILE).read_text("utf-8"))
        history = read_history(run_dir / HISTORY_FILE)
        return RunResult(run_id, config, run_dir, metrics, history)

    def finished(self) -> list[RunResult]:
        """Every finished run in the store, sorted by run id.

        Folders whose config no longer hashes to their name (written by an mtlib version with
        other RunConfig fields) are skipped.
        """
        if not self.root.is_dir():
            return []
        results = []
        for run_id in sorted(p.name for p in self.root.iterdir() if p.is_dir()):
            try:
                result = self.load(run_id)
            except (MtlibError, TypeError, ValueError):
                continue
            if result is not None:
                results.append(result)
        return results

    def get_or_run(
        self,
        config: RunConfig,
        progress: bool = True,
        device: str | None = None,
        on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None,
    ) -> RunResult:
        """The result of ``config``: stored if finished, else trained now.

        A run that was interrupted (killed, or an exception: status running/failed) resumes
        from its ``last.pt``; a failed run is simply retried. While training, the run's lock
        is held; a concurrent caller for the same run waits and then reuses the result.
        ``device`` and ``on_epoch_end`` are passed to :func:`mtlib.train.fit`.
        """
        from mtlib.train import fit  # late: train imports this module

        result = self.load(config.run_id)
        if result is not None:
            return result
        run_dir = self.run_dir(config)

        def waiting() -> None:
            if progress:
                print(f"run {config.run_id}: another process is training it; waiting", flush=True)

        with run_lock(run_dir, waiting):
            result = self.load(config.run_id)  # finished while we waited
            if result is not None:
                return result
            return fit(
                config, run_dir=run_dir, progress=progress, device=device,
                on_epoch_end=on_epoch_end,
            )


def results_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """One row per run: run_id, every config field, and the headline metrics."""
    rows = []
    for r in results:
        row: dict[str, Any] = {"run_id": r.run_id}
        cfg = r.config.to_dict()
        cfg["tags"] = ",".join(cfg["tags"])
        row.update(cfg)
        row["model_norm"] = r.config.model_norm
        row["model_dropout"] = r.config.model_dropout
        for key in ("test_roc_auc", "test_pr_auc", "val_roc_auc", "best_epoch", "train_seconds"):
            row[key] = r.metrics.get(key)
        rows.append(row)
    return pd.DataFrame(rows)
