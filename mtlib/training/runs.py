"""The run store: one folder per training config, reused, resumed or retried on demand.

``<root>/<run_id>/`` (root = :func:`mtlib.paths.runs_dir` by default) is laid out and written
by :class:`mtlib.training.rundir.RunFolder`. :meth:`RunStore.get_or_run` holds an exclusive
``fcntl.flock`` on ``<run_id>/.lock`` while it trains, so two processes never train the same
run at once (the second waits, then reuses the result); different runs proceed in parallel.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from mtlib import paths
from mtlib.config import RunConfig
from mtlib.errors import MtlibError
from mtlib.progress import announce, log
from mtlib.training.fit import TrainingDiverged, fit
from mtlib.training.rundir import (
    LOCK_FILE,
    DamagedRun,
    EpochHook,
    RunFolder,
    RunResult,
    read_status,
)

DAMAGED_SUFFIX = ".damaged"  # a set-aside run folder: <run_id>.damaged-<time>-<pid>


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


class RunStore:
    """Runs under ``root`` (default :func:`mtlib.paths.runs_dir`), one folder per run id.
    ``train``: what trains a run that is not finished (default :func:`mtlib.training.fit.fit`;
    same signature)."""

    def __init__(self, root: str | os.PathLike | None = None,
                 train: Callable[..., RunResult] | None = None) -> None:
        self.root = Path(root) if root is not None else paths.runs_dir()
        self.train = train or fit

    def run_dir(self, config_or_id: RunConfig | str) -> Path:
        run_id = config_or_id.run_id if isinstance(config_or_id, RunConfig) else config_or_id
        return self.root / run_id

    def status(self, config_or_id: RunConfig | str) -> dict[str, Any] | None:
        """The run's ``status.json`` (None when it never started)."""
        return read_status(self.run_dir(config_or_id))

    def is_finished(self, config_or_id: RunConfig | str) -> bool:
        return RunFolder(self.run_dir(config_or_id)).is_finished()

    def load(self, run_id: str) -> RunResult | None:
        """The finished run ``run_id``, or None if it is not finished. A finished run whose
        files no longer parse is set aside (:meth:`set_aside`) with a one-line warning, and
        is then not finished: the next :meth:`get_or_run` trains it again."""
        try:
            return RunFolder(self.run_dir(run_id)).load()
        except DamagedRun as err:
            aside = self.set_aside(run_id)
            if aside is not None:
                announce(f"warning: run {run_id} is damaged ({err}); moved to {aside} for "
                         "inspection, and it will train again")
            return None

    def set_aside(self, run_id: str) -> Path | None:
        """Move run folder ``run_id`` to ``<run_id>.damaged-<time>`` beside it, which is no
        run id, so nothing reads it as a run and nothing is lost. None if another process
        moved it first."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.root / f"{run_id}{DAMAGED_SUFFIX}-{stamp}-{os.getpid()}"
        try:
            os.replace(self.run_dir(run_id), aside)
        except FileNotFoundError:
            return None
        return aside

    def require(self, run_ids: list[str], made_by: str) -> list[RunResult]:
        """Finished runs by id; MtlibError naming what trains them (``made_by``) if one is
        missing."""
        out = []
        for run_id in run_ids:
            result = self.load(run_id)
            if result is None:
                raise MtlibError(f"run {run_id} is not in the run store {self.root}; "
                                 f"{made_by} trains it")
            out.append(result)
        return out

    def finished(self) -> list[RunResult]:
        """Every finished run in the store, sorted by run id.

        Folders that do not load (damaged, or a config that no longer hashes to their name:
        written by an mtlib version with other RunConfig fields) are skipped and left as
        they are.
        """
        if not self.root.is_dir():
            return []
        results = []
        for run_id in sorted(p.name for p in self.root.iterdir() if p.is_dir()):
            try:
                result = RunFolder(self.run_dir(run_id)).load()
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
        on_epoch_end: EpochHook | None = None,
    ) -> RunResult:
        """The result of ``config``: stored if finished, else trained now.

        A run that was interrupted (killed, or an exception: status running/failed) resumes
        from its ``last.pt``; a failed run is simply retried. A run whose loss diverges is a
        result: recorded with status "diverged" (its epoch and last finite loss in the
        metrics, no predictions) and returned, never retried. A new run that is a finished run
        with more epochs continues from it (:meth:`shorter_run`). While training, the run's lock
        is held; a concurrent caller for the same run waits and then reuses the result.
        ``device`` is passed to :func:`mtlib.training.fit.fit`; ``on_epoch_end`` to the
        :class:`~mtlib.training.rundir.RunFolder`.
        """
        result = self.load(config.run_id)
        if result is not None:
            return result
        run_dir = self.run_dir(config)

        def waiting() -> None:
            if progress:
                log(f"run {config.run_id}: another process is training it; waiting")

        with run_lock(run_dir, waiting):
            result = self.load(config.run_id)  # finished while we waited
            if result is not None:
                return result
            extends = self.shorter_run(config)
            if extends is not None and progress:
                log(f"run {config.run_id}: continues the finished shorter run {extends.name} "
                    "from its last epoch")
            folder = RunFolder(run_dir, on_epoch_end, extends)
            try:
                return self.train(config, sink=folder, progress=progress, device=device)
            except TrainingDiverged as err:
                # The same config and seed diverge again: record it as this run's result.
                folder.diverged(config, err.epoch, err.last_finite_loss, str(err))
                if progress:
                    log(f"run {config.run_id}: diverged in epoch {err.epoch}; recorded as a "
                        "result (no predictions)")
                return folder.load()

    def shorter_run(self, config: RunConfig) -> Path | None:
        """The folder of the finished run that is ``config`` with the most epochs fewer than
        ``config.epochs``, or None. Training never depends on the epoch count but where it
        stops, so ``config`` can continue from that run's last checkpoint."""
        for epochs in range(config.epochs - 1, 0, -1):
            shorter = config.replace(epochs=epochs)
            if self.is_finished(shorter) and not RunFolder(self.run_dir(shorter)).is_diverged():
                return self.run_dir(shorter)
        return None
