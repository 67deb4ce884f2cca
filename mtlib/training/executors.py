"""Where trial grids run. Every grid in the notebooks goes through :func:`run_grid`.

Two executors train the same :class:`~mtlib.config.RunConfig` s into the same run store:

- ``"local"`` (default): on this machine. Without CUDA, the trials of a grid are trained
  by a pool of worker processes, one per CPU core with one torch thread each
  (``MTLIB_LOCAL_WORKERS`` overrides the count): small CPU models make better use of a core
  each than of threads shared in one process (the shallow CNN trains 1.3x faster on two
  cores as two one-thread runs). A grid with one trial left, a run on CUDA, or
  ``MTLIB_LOCAL_WORKERS=1`` trains in this process, one trial after another. The thread
  count changes floating-point summation order, so a run's numbers can differ in the last
  digits between worker counts.
- ``"ray"``: one Ray core task per trial, on a running cluster (``address=`` or the
  ``RAY_ADDRESS`` environment variable) or on a local Ray instance started on demand. Each task
  asks for ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs (fractions let several small
  models share one GPU). A worker that dies is retried (``max_retries``) and the run store
  resumes the trial from its last checkpoint (``last.pt``). The run store must be on a
  filesystem that the driver and every worker node see at the same path.

Finished trials are never resubmitted, so rerunning a grid only trains what is missing.
Results always come back in the order of ``configs``. Ray is imported only when the ``"ray"``
executor is used.

Without code changes (e.g. under ``mtlib report --executor ray``) the Ray executor reads
``RAY_ADDRESS`` (cluster to join), ``MTLIB_RAY_CPUS_PER_TRIAL``, ``MTLIB_RAY_GPUS_PER_TRIAL``
and ``MTLIB_RAY_MAX_RETRIES``; every ``MTLIB_*`` variable of the driver is passed on to the
workers. Example::

    run_grid(configs, executor="ray", settings={"address": "auto", "gpus_per_trial": 0.25})
"""

from __future__ import annotations

import atexit
import os
import signal
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, ClassVar, Protocol, Sequence

from pydantic import Field, field_validator

from mtlib.config import EXECUTORS, ConfigError, FrozenModel, Real, RunConfig
from mtlib.data.datasets import GPU_SHARE_ENV
from mtlib.errors import MtlibError
from mtlib.progress import announce, log_file, tqdm
from mtlib.training.rundir import RunResult
from mtlib.training.runs import RunStore

# GPU share a trial asks for when gpus_per_trial is left at None on a cluster with GPUs:
# the shallow Dieleman CNN needs a small fraction of a modern GPU, SampleCNN most of one.
DEFAULT_GPU_SHARE = {"dieleman": 0.25, "samplecnn": 1.0}

# Environment variables forwarded from the driver to every Ray worker (besides the store root,
# which is passed explicitly): the MTLIB_* family relocates results/cache trees on workers too.
_FORWARDED_ENV_PREFIX = "MTLIB_"

# A GPU trial's environment holds GPU_SHARE_ENV, the fraction of its GPU it holds (e.g.
# "0.25"), by which mtlib.data.datasets.gpu_fits sizes the GPU-resident cache.

# Test hook: when set to a folder, a Ray worker's first attempt at a trial exits abruptly
# (os._exit, like an OOM kill) right after the trial's first epoch checkpoint. A marker file
# in that folder records the first attempt, so the retry runs normally.
KILL_HOOK_ENV = "MTLIB_TEST_KILL_AFTER_CHECKPOINT"


class ExecutorSettings(FrozenModel):
    """Options of the ``"ray"`` executor (the local executor needs none).

    - ``address``: Ray cluster to join ("auto", "ray://head:10001", "10.0.0.1:6379");
      None uses ``RAY_ADDRESS`` if set, otherwise starts a local Ray instance.
    - ``num_cpus``: CPUs of a local Ray instance (None: all of this machine's).
    - ``num_gpus``: GPUs of a local Ray instance (None: all visible ones).
    - ``cpus_per_trial``: CPUs each trial reserves; also its torch thread count.
    - ``gpus_per_trial``: GPUs each trial reserves, fractional allowed (0.25 = four per
      GPU). None: 0 on a cluster without GPUs, else ``DEFAULT_GPU_SHARE[model]``.
    - ``max_retries``: how often a trial whose worker died is restarted (it resumes from its
      checkpoint). Exceptions raised by training are not retried.
    - ``runtime_env``: extra Ray runtime environment (e.g. ``{"pip": [...]}``); its
      ``env_vars`` are merged with the forwarded ``MTLIB_*`` variables.
    """

    noun: ClassVar[str] = "executor setting"

    address: str | None = None
    num_cpus: int | None = Field(None, ge=0)
    num_gpus: int | None = Field(None, ge=0)
    cpus_per_trial: Real = Field(1.0, gt=0)
    gpus_per_trial: Real | None = Field(
        None, ge=0, description="null, a fraction in [0, 1] or a whole number")
    max_retries: int = Field(2, ge=0)
    runtime_env: dict[str, Any] | None = Field(
        None, description="null or a mapping (a Ray runtime environment)")

    @field_validator("gpus_per_trial")
    @classmethod
    def _fraction_or_whole(cls, gpus: float | None) -> float | None:
        if gpus is not None and gpus > 1 and gpus != int(gpus):
            raise ValueError("neither a fraction nor a whole number")
        return gpus

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExecutorSettings:
        """Build from a plain mapping (e.g. a profile's YAML); unknown keys are an error."""
        return cls(**dict(d))

    @classmethod
    def from_env(cls) -> ExecutorSettings:
        """Defaults, overridden by ``MTLIB_RAY_CPUS_PER_TRIAL``, ``MTLIB_RAY_GPUS_PER_TRIAL``
        and ``MTLIB_RAY_MAX_RETRIES`` (the cluster address comes from ``RAY_ADDRESS``), so a
        report run can be pointed at a cluster without code changes."""
        changes: dict[str, Any] = {}
        for name, field_name, kind, expected in (
            ("MTLIB_RAY_CPUS_PER_TRIAL", "cpus_per_trial", float, "a number"),
            ("MTLIB_RAY_GPUS_PER_TRIAL", "gpus_per_trial", float, "a number"),
            ("MTLIB_RAY_MAX_RETRIES", "max_retries", int, "an integer"),
        ):
            value = os.environ.get(name)
            if value:
                try:
                    changes[field_name] = kind(value)
                except ValueError:
                    raise ConfigError(
                        f"environment variable {name}={value!r}: expected {expected}"
                    ) from None
        return cls(**changes)


class Executor(Protocol):
    """Anything that turns a grid of configs into results, in the order given."""

    def run(self, configs: list[RunConfig], label: str, progress: bool) -> list[RunResult]: ...


class RecordingExecutor:
    """Trains nothing: records every grid it is given and answers each config with a
    placeholder result whose validation and test ROC-AUC are ``score(config)`` (default 0.5,
    so every choice falls to the first value of its grid).

    ``mtlib report --plan``, the end-to-end benchmark and the tests drive the real section
    code with it: ``grids`` then holds ``(label, configs)`` for every grid the report asks for.
    """

    def __init__(self, score: Callable[[RunConfig], float] | None = None) -> None:
        self.score = score or (lambda config: 0.5)
        self.grids: list[tuple[str, list[RunConfig]]] = []

    def run(self, configs: list[RunConfig], label: str = "", progress: bool = False
            ) -> list[RunResult]:
        self.grids.append((label, list(configs)))
        return [self._placeholder(c) for c in configs]

    def configs(self) -> list[RunConfig]:
        """Every distinct config recorded, in first-seen order (what the run store trains)."""
        return list({c.run_id: c for _, grid in self.grids for c in grid}.values())

    def _placeholder(self, config: RunConfig) -> RunResult:
        import pandas as pd

        from mtlib.training.rundir import HISTORY_COLUMNS

        score = float(self.score(config))
        history = pd.DataFrame(
            [{"epoch": e, "train_loss": 0.0, "train_roc_auc": score, "val_roc_auc": score,
              "val_pr_auc": score, "lr": config.lr, "seconds": 0.0}
             for e in range(1, config.epochs + 1)], columns=HISTORY_COLUMNS)
        metrics = {"val_roc_auc": score, "test_roc_auc": score, "test_pr_auc": score,
                   "best_epoch": config.epochs, "epochs_run": config.epochs,
                   "train_seconds": 0.0, "per_tag": {}}
        return RunResult(config.run_id, config, None, metrics, history)


def run_grid(
    configs: Sequence[RunConfig],
    executor: str | Executor | None = None,
    store: RunStore | None = None,
    progress: bool = True,
    settings: ExecutorSettings | Mapping[str, Any] | None = None,
    label: str = "grid",
) -> list[RunResult]:
    """Train (or reuse) every config; results come back in the order of ``configs``.

    ``executor``: "local", "ray", or an :class:`Executor` object (e.g.
    :class:`RecordingExecutor`); None reads ``MTLIB_EXECUTOR`` (default "local").
    ``store``: the run store (default ``RunStore()`` at ``paths.runs_dir()``).
    ``settings``: :class:`ExecutorSettings` (or a mapping of its fields) for "ray"; None:
    :meth:`ExecutorSettings.from_env`.
    Configs with the same run id are trained once. A named executor announces one line per
    grid: ``label``, how many runs were reused from the store and trained, and the time.
    """
    configs = list(configs)
    if not isinstance(executor, str | None):
        return executor.run(configs, label, progress)
    executor = executor or os.environ.get("MTLIB_EXECUTOR", "local")
    if executor not in EXECUTORS:
        raise MtlibError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    if isinstance(settings, Mapping):
        settings = ExecutorSettings.from_dict(settings)
    store = store or RunStore()
    unique = {c.run_id: c for c in configs}
    reused = sum(store.is_finished(c) for c in unique.values())
    start = time.perf_counter()
    if executor == "ray":
        results = _run_grid_ray(configs, store, progress,
                                settings or ExecutorSettings.from_env())
    else:
        results = _run_grid_local(configs, store, progress)
    announce(f"{label}: {len(unique)} run(s), {reused} reused from the run store, "
             f"{len(unique) - reused} trained ({executor}), {time.perf_counter() - start:.0f} s")
    return results


# --- local ------------------------------------------------------------------------------
LOCAL_WORKERS_ENV = "MTLIB_LOCAL_WORKERS"


def local_workers() -> int:
    """Trials the local executor trains at once: ``MTLIB_LOCAL_WORKERS``, else 1 when CUDA is
    available (the trials share one GPU better in sequence) and one per CPU core otherwise."""
    value = os.environ.get(LOCAL_WORKERS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(f"environment variable {LOCAL_WORKERS_ENV}={value!r}: expected "
                              "an integer >= 1")
        return int(value)
    import torch

    return 1 if torch.cuda.is_available() else max(1, os.cpu_count() or 1)


def _run_grid_local(configs: list[RunConfig], store: RunStore, progress: bool) -> list[RunResult]:
    unique = list({cfg.run_id: cfg for cfg in configs}.values())
    todo = [cfg for cfg in unique if not store.is_finished(cfg)]
    workers = min(local_workers(), len(todo))
    if workers > 1:
        _train_in_pool(todo, store, workers, progress)
    by_id: dict[str, RunResult] = {}
    bar = tqdm(total=len(configs), desc="trials", unit="trial",
               disable=not progress or workers > 1)
    with bar:
        for cfg in configs:
            if cfg.run_id not in by_id:
                by_id[cfg.run_id] = store.get_or_run(cfg, progress=progress)
            bar.update(1)
    return [by_id[cfg.run_id] for cfg in configs]


# One pool per process, kept between grids (a notebook runs many), so the workers import
# torch once: (workers, pool).
_POOL: tuple[int, ProcessPoolExecutor] | None = None


def _pool(workers: int) -> ProcessPoolExecutor:
    global _POOL
    if _POOL is not None and _POOL[0] != workers:
        _close_pool()
    if _POOL is None:
        import multiprocessing

        threads = max(1, (os.cpu_count() or 1) // workers)
        _POOL = (workers, ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(threads,)))
    return _POOL[1]


@atexit.register
def _close_pool() -> None:
    global _POOL
    if _POOL is not None:
        _POOL[1].shutdown(cancel_futures=True)
        _POOL = None


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    # An interrupt (Ctrl-C, or a kernel's shutdown signalling its process group) ends a worker
    # at once and quietly: a trial resumes from its last epoch checkpoint, and an idle worker
    # would otherwise print a KeyboardInterrupt traceback from its queue.
    signal.signal(signal.SIGINT, _exit_on_interrupt)


def _exit_on_interrupt(signum: int, frame: Any) -> None:
    os._exit(128 + signum)


def _local_trial(config: dict[str, Any], store_root: str, progress: bool) -> str:
    """Body of one pooled trial: train ``config`` into the store at ``store_root``."""
    cfg = RunConfig.from_dict(config)
    RunStore(Path(store_root)).get_or_run(cfg, progress=progress, device="cpu")
    return cfg.run_id


def _train_in_pool(todo: list[RunConfig], store: RunStore, workers: int,
                   progress: bool) -> None:
    """Train ``todo`` on ``workers`` processes; the first failure cancels what has not
    started and is raised once the running trials end (each keeps its checkpoints)."""
    pool = _pool(workers)
    # Workers write epoch lines only where they cannot garble a terminal: to the report's log.
    worker_progress = progress and log_file() is not None
    futures = {pool.submit(_local_trial, cfg.to_dict(), str(Path(store.root).resolve()),
                           worker_progress): cfg for cfg in todo}
    bar = tqdm(total=len(todo), desc=f"trials ({workers} workers)", unit="trial",
               disable=not progress)
    with bar:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            bar.update(len(done))
            failed = [f for f in done if f.exception() is not None]
            if failed:
                for f in pending:
                    f.cancel()
                wait(pending)
                cfg, err = futures[failed[0]], failed[0].exception()
                if isinstance(err, BrokenProcessPool):
                    _close_pool()
                raise MtlibError(f"run {cfg.run_id} ({cfg.model}) failed in a local worker: "
                                 f"{type(err).__name__}: {err}") from err


# --- ray --------------------------------------------------------------------------------


def _run_grid_ray(
    configs: list[RunConfig], store: RunStore, progress: bool, settings: ExecutorSettings
) -> list[RunResult]:
    unique = list({cfg.run_id: cfg for cfg in configs}.values())
    todo = [cfg for cfg in unique if not store.is_finished(cfg)]
    root = Path(store.root).resolve()

    if todo:
        ray, connected_here = _connect(settings)
        failures: list[tuple[RunConfig, BaseException]] = []
        try:
            _wait_for_trials(ray, settings, root, todo, len(unique), progress, failures)
        finally:
            if connected_here:
                # Leave no Ray processes behind (a notebook kernel being shut down would not
                # wait for them); the next grid connects again in a few seconds.
                ray.shutdown()
        if failures:
            cfg, err = failures[0]
            raise MtlibError(
                f"{len(failures)} of {len(todo)} trial(s) failed on Ray; first: run "
                f"{cfg.run_id} ({cfg.model}): {type(err).__name__}: {err}"
            ) from err

    results: dict[str, RunResult] = {}
    for cfg in unique:
        result = store.load(cfg.run_id)
        if result is None:
            raise MtlibError(
                f"trial {cfg.run_id} finished on a Ray worker but {root / cfg.run_id} is not "
                "visible here; the run store must be on a filesystem shared by all nodes"
            )
        results[cfg.run_id] = result
    return [results[cfg.run_id] for cfg in configs]


def _wait_for_trials(ray, settings: ExecutorSettings, root: Path, todo: list[RunConfig],
                     total: int, progress: bool, failures: list) -> None:
    """Submit ``todo`` and wait for all of it, counting trials done of ``total`` as they
    finish; a trial's error is appended to ``failures`` as ``(config, exception)``."""
    submit = _trial_submitter(ray, settings, root, todo)
    refs = {submit(cfg): cfg for cfg in todo}
    bar = tqdm(total=total, initial=total - len(todo), desc="trials (ray)", unit="trial",
               disable=not progress)
    try:
        with bar:
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    try:
                        ray.get(ref)
                    except ray.exceptions.RayError as err:
                        failures.append((refs[ref], _cause(err)))
                    bar.update(1)
    except KeyboardInterrupt:
        # Stop the cluster's work too; finished and partial trials resume on a rerun.
        for ref in refs:
            ray.cancel(ref, force=True)
        raise


def _connect(settings: ExecutorSettings):
    """Import ray and join (or start) a cluster. Returns ``(ray, connected_here)``: a Ray
    session that this process already has is reused (and ``connected_here`` is False)."""
    try:
        import ray
    except ImportError as err:  # pragma: no cover - ray is a declared dependency
        raise MtlibError("executor 'ray' needs the ray package (pip install ray)") from err
    if ray.is_initialized():
        return ray, False
    address = settings.address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address)  # the cluster's own settings (dashboard, resources) apply
    else:
        ray.init(
            address="local",
            num_cpus=settings.num_cpus,
            num_gpus=settings.num_gpus,
            include_dashboard=False,
        )
    return ray, True


def _trial_submitter(ray, settings: ExecutorSettings, root: Path, configs: list[RunConfig]):
    """Return ``submit(config) -> ObjectRef``, after checking every trial's resource request
    against the cluster (so a grid is rejected before any of its trials starts)."""
    resources = ray.cluster_resources()
    cluster_cpus = resources.get("CPU", 0.0)
    cluster_gpus = resources.get("GPU", 0.0)
    if settings.cpus_per_trial > cluster_cpus:
        raise MtlibError(
            f"cpus_per_trial={settings.cpus_per_trial} exceeds the Ray cluster's "
            f"{cluster_cpus:g} CPUs"
        )

    def gpus_for(cfg: RunConfig) -> float:
        if settings.gpus_per_trial is not None:
            return settings.gpus_per_trial
        return DEFAULT_GPU_SHARE.get(cfg.model, 1.0) if cluster_gpus > 0 else 0.0

    for cfg in configs:
        if gpus_for(cfg) > cluster_gpus:
            raise MtlibError(
                f"gpus_per_trial={gpus_for(cfg):g} but the Ray cluster has {cluster_gpus:g} "
                "GPUs; set gpus_per_trial=0 to train on CPUs"
            )
    cpu_remote = ray.remote(_ray_trial)
    # A GPU trial gets a fresh worker process: a reused one would keep the CUDA context (and
    # cached memory) of the GPU its previous trial was given, whatever Ray assigns next.
    gpu_remote = ray.remote(max_calls=1)(_ray_trial)

    def submit(cfg: RunConfig):
        gpus = gpus_for(cfg)
        remote = gpu_remote if gpus > 0 else cpu_remote
        return remote.options(
            num_cpus=settings.cpus_per_trial,
            num_gpus=gpus,
            max_retries=settings.max_retries,
            retry_exceptions=False,
            runtime_env=_runtime_env(settings, gpus),
            name=f"mtlib-trial-{cfg.run_id}",
        ).remote(cfg, str(root), settings.cpus_per_trial, "cuda" if gpus > 0 else "cpu")

    return submit


def _runtime_env(settings: ExecutorSettings, gpus: float) -> dict[str, Any]:
    env = dict(settings.runtime_env or {})
    env_vars = {k: v for k, v in os.environ.items() if k.startswith(_FORWARDED_ENV_PREFIX)}
    env_vars.pop("MTLIB_EXECUTOR", None)  # a worker never starts a nested grid
    if gpus > 0:
        env_vars[GPU_SHARE_ENV] = f"{gpus:g}"
    else:
        # A CPU trial must not grab a GPU that Ray has not assigned to it.
        env_vars.pop(GPU_SHARE_ENV, None)
        env_vars["CUDA_VISIBLE_DEVICES"] = ""
    env_vars.update(env.get("env_vars", {}))
    env["env_vars"] = env_vars
    return env


def _ray_trial(config: RunConfig, store_root: str, cpus_per_trial: float, device: str) -> str:
    """Body of one Ray task: train ``config`` into the store at ``store_root``; return its id.

    ``device`` is "cuda" for a trial holding a GPU share (Ray has set CUDA_VISIBLE_DEVICES to
    its GPU), so a node whose torch cannot see that GPU fails loudly instead of training on
    its CPUs; "cpu" otherwise.
    """
    import torch

    torch.set_num_threads(max(1, round(cpus_per_trial)))
    store = RunStore(Path(store_root))
    hook = _kill_hook(store.run_dir(config))
    store.get_or_run(config, progress=False, device=device, on_epoch_end=hook)
    return config.run_id


def _cause(err: BaseException) -> BaseException:
    """The exception raised inside the task, if Ray wrapped one."""
    cause = getattr(err, "cause", None)
    return cause if isinstance(cause, BaseException) else err


def _kill_hook(run_dir: Path):
    """See ``KILL_HOOK_ENV``: an epoch-end hook for the first attempt only, else None."""
    marker_dir = os.environ.get(KILL_HOOK_ENV)
    if not marker_dir:
        return None
    marker_dir = Path(marker_dir)
    marker_dir.mkdir(parents=True, exist_ok=True)
    try:
        with open(marker_dir / f"{run_dir.name}.first-attempt", "x") as f:  # exclusive create
            f.write(f"{os.getpid()}\n")
    except FileExistsError:
        return None  # a retry: train normally

    def die_after_checkpoint(epoch: int, row: dict[str, Any]) -> None:
        # fit calls this after the epoch's last.pt is written. Keep the history as it was at
        # the moment of death, so a test can check that the retry resumed instead of redoing.
        history = run_dir / "history.csv"
        (marker_dir / f"{run_dir.name}.history-at-kill.csv").write_bytes(history.read_bytes())
        os._exit(1)

    return die_after_checkpoint
