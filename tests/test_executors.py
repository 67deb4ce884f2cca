"""Trial executors: the Ray executor gives exactly the local executor's results, skips finished
trials, and survives a worker killed mid-trial (retry + resume from the checkpoint).

One local Ray instance (2 CPUs, 1 logical GPU) is shared by the module's Ray tests and shut
down at the end.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from helpers_mtat import write_mtat_fixture

from mtlib.config import RunConfig
from mtlib.errors import MtlibError
from mtlib.training import executors
from mtlib.training.executors import ExecutorSettings, run_grid
from mtlib.training.runs import RunStore

DATASET = "executors-fixture"
SAMPLE_RATE = 12000
# A Table-I-like grid: first-layer (length, stride) pairs of the Dieleman CNN, 1 trial each
# (one per Ray worker). 2 epochs, so a worker can be killed after the first one's checkpoint.
BASE = RunConfig(dataset=DATASET, epochs=2, batch_clips=8, train_eval_clips=8, seed=3)
GRID = [BASE.replace(length=n, stride=n) for n in (1024, 256)]
# Equal runs must agree in everything that does not measure time.
TIMING_KEYS = {"train_seconds"}


@pytest.fixture(scope="module")
def module_dirs(tmp_path_factory):
    """conftest's results/cache locations, also for the module-scoped fixtures below (which
    are set up before conftest's per-test environment)."""
    base = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MTLIB_RESULTS_DIR", str(base / "results"))
        mp.setenv("MTLIB_CACHE_DIR", str(base / "cache"))
        yield base


@pytest.fixture(scope="module")
def prepared(module_dirs):
    """A tiny prepared cache (32 mp3 clips of 12 s + 4 bad files)."""
    from mtlib.data.prepare import prepare_mtat

    cache = module_dirs / "cache"
    root = write_mtat_fixture(cache / "corpora" / DATASET, n_clips_per_folder=2, seconds=12.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fixture's annotations are not the published csv
        return prepare_mtat(root, SAMPLE_RATE, dataset=DATASET, workers=1, progress=False,
                            out=cache / "prepared" / f"{DATASET}-{SAMPLE_RATE}",
                            clip_seconds=12.0)


@pytest.fixture(scope="module")
def local_results(prepared, tmp_path_factory):
    """The grid trained in this process: the reference for every Ray run.

    With the torch thread count of a 1-CPU Ray trial: float sums split over a different
    number of threads may differ in the last bit, and the comparison below is exact.
    """
    store = RunStore(tmp_path_factory.mktemp("runs-local"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return run_grid(GRID, executor="local", store=store, progress=False)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray instance for the whole module: 2 CPUs (2 concurrent 1-CPU trials) and
    one logical GPU, so GPU shares are scheduled as on a GPU machine."""
    pytest.importorskip("ray")
    ray, started = executors._connect(ExecutorSettings(num_cpus=2, num_gpus=1))
    assert started and ray.cluster_resources()["CPU"] == 2 and ray.cluster_resources()["GPU"] == 1
    yield ray
    ray.shutdown()


def _assert_same_run(a, b):
    assert a.run_id == b.run_id and a.config == b.config
    ma = {k: v for k, v in a.metrics.items() if k not in TIMING_KEYS}
    mb = {k: v for k, v in b.metrics.items() if k not in TIMING_KEYS}
    assert ma == mb  # exact: test/val ROC-AUC, PR-AUC, per-tag metrics, best epoch, ...
    cols = [c for c in a.history.columns if c != "seconds"]
    pd.testing.assert_frame_equal(a.history[cols], b.history[cols], check_exact=True)
    for x, y in zip(a.predictions(), b.predictions(), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# --- no Ray needed -------------------------------------------------------------------------


def test_local_worker_pool_gives_the_in_process_results(prepared, local_results, tmp_path,
                                                       monkeypatch):
    monkeypatch.setenv(executors.LOCAL_WORKERS_ENV, "2")  # two 1-thread worker processes
    monkeypatch.setattr(executors.os, "cpu_count", lambda: 2)
    store = RunStore(tmp_path / "runs")
    try:
        pooled = run_grid(GRID + GRID[:1], executor="local", store=store, progress=False)
    finally:
        executors._close_pool()
    assert [r.run_id for r in pooled] == [c.run_id for c in GRID + GRID[:1]]
    for a, b in zip(pooled, local_results, strict=False):
        _assert_same_run(a, b)
    # A trial that fails in a worker stops the grid with its run id and cause.
    bad = [BASE.replace(dataset="no-such-dataset", seed=s) for s in (3, 4)]
    ids = "|".join(c.run_id for c in bad)  # whichever worker fails first
    with pytest.raises(MtlibError, match=f"run ({ids}) .*failed in a local worker: DataError"):
        run_grid(bad, executor="local", store=store, progress=False)
    executors._close_pool()
    monkeypatch.setenv(executors.LOCAL_WORKERS_ENV, "none")
    with pytest.raises(MtlibError, match="MTLIB_LOCAL_WORKERS='none': expected an integer"):
        executors.local_workers()


def test_importing_executors_does_not_import_ray():
    code = "import sys, mtlib.training.executors; assert 'ray' not in sys.modules, 'ray imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_executor_and_settings_are_errors_listing_valid_values():
    with pytest.raises(MtlibError, match="unknown executor 'dask'; valid: local, ray"):
        run_grid(GRID, executor="dask")
    with pytest.raises(MtlibError, match=r"unknown executor setting\(s\) \['gpus'\]; valid:"):
        run_grid(GRID, executor="ray", settings={"gpus": 1})
    with pytest.raises(MtlibError, match="gpus_per_trial = 1.5: expected null, a fraction"):
        ExecutorSettings(gpus_per_trial=1.5)
    with pytest.raises(MtlibError, match="gpus_per_trial = -0.5: expected null, a fraction"):
        ExecutorSettings(gpus_per_trial=-0.5)
    with pytest.raises(MtlibError, match="cpus_per_trial = 0: expected a number > 0"):
        ExecutorSettings(cpus_per_trial=0)
    with pytest.raises(MtlibError, match="max_retries = -1: expected an integer >= 0"):
        ExecutorSettings.from_dict({"max_retries": -1})
    with pytest.raises(MtlibError, match="max_retries = '2': expected an integer >= 0"):
        ExecutorSettings.from_dict({"max_retries": "2"})  # strict: no silent str -> int
    # Whole numbers of GPUs and ints stay as given (messages print cpus_per_trial=3, not 3.0).
    s = ExecutorSettings.from_dict({"gpus_per_trial": 2, "cpus_per_trial": 3})
    assert (s.gpus_per_trial, s.cpus_per_trial) == (2, 3) and type(s.cpus_per_trial) is int


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("MTLIB_RAY_CPUS_PER_TRIAL", "4")
    monkeypatch.setenv("MTLIB_RAY_GPUS_PER_TRIAL", "0.25")
    s = ExecutorSettings.from_env()
    assert (s.cpus_per_trial, s.gpus_per_trial, s.max_retries) == (4.0, 0.25, 2)
    monkeypatch.setenv("MTLIB_RAY_MAX_RETRIES", "two")
    with pytest.raises(MtlibError, match="MTLIB_RAY_MAX_RETRIES='two': expected an integer"):
        ExecutorSettings.from_env()


def test_worker_environment_relocates_trees_and_confines_gpus(monkeypatch):
    monkeypatch.setenv("MTLIB_RESULTS_DIR", "/shared/results")
    monkeypatch.setenv("MTLIB_EXECUTOR", "ray")
    settings = ExecutorSettings(runtime_env={"pip": ["x"], "env_vars": {"OMP_PROC_BIND": "1"}})
    cpu = executors._runtime_env(settings, gpus=0)
    assert cpu["pip"] == ["x"] and cpu["env_vars"]["OMP_PROC_BIND"] == "1"
    assert cpu["env_vars"]["MTLIB_RESULTS_DIR"] == "/shared/results"
    assert cpu["env_vars"]["CUDA_VISIBLE_DEVICES"] == ""  # CPU trials never see a GPU
    assert "MTLIB_EXECUTOR" not in cpu["env_vars"]
    assert executors.GPU_SHARE_ENV not in cpu["env_vars"]
    gpu = executors._runtime_env(settings, gpus=0.25)
    assert "CUDA_VISIBLE_DEVICES" not in gpu["env_vars"]  # Ray sets it to the assigned GPU
    assert gpu["env_vars"][executors.GPU_SHARE_ENV] == "0.25"


def test_local_grid_trains_duplicates_once_and_keeps_input_order(local_results):
    store = RunStore(local_results[0].run_dir.parent)
    order = [GRID[1], GRID[0], GRID[1]]
    again = run_grid(order, store=store, progress=False)  # all finished: nothing retrains
    assert [r.run_id for r in again] == [c.run_id for c in order]
    assert again[0].metrics == local_results[1].metrics
    assert len({r.metrics["test_roc_auc"] for r in local_results}) > 1  # distinct configs


# --- Ray -----------------------------------------------------------------------------------


def test_ray_grid_matches_local_and_skips_finished_trials(
    ray_session, local_results, tmp_path, monkeypatch
):
    store = RunStore(tmp_path / "runs-ray")
    settings = ExecutorSettings(cpus_per_trial=1, gpus_per_trial=0)
    results = run_grid(GRID, executor="ray", store=store, progress=False, settings=settings)
    assert [r.run_id for r in results] == [c.run_id for c in GRID]
    for ray_run, local_run in zip(results, local_results, strict=True):
        assert ray_run.run_dir.parent == store.root  # written to the store that was passed
        _assert_same_run(ray_run, local_run)

    # A rerun must not contact Ray at all: every trial is finished in the store.
    def no_ray(_settings):
        raise AssertionError("a finished grid was submitted to Ray again")

    monkeypatch.setattr(executors, "_connect", no_ray)
    again = run_grid(GRID[::-1], executor="ray", store=store, progress=False, settings=settings)
    assert [r.metrics for r in again] == [r.metrics for r in results[::-1]]


@pytest.mark.slow  # two fresh worker processes (the killed one and its retry)
def test_ray_worker_killed_mid_trial_is_retried_and_resumes(
    ray_session, local_results, tmp_path, monkeypatch
):
    markers = tmp_path / "markers"
    monkeypatch.setenv(executors.KILL_HOOK_ENV, str(markers))
    store = RunStore(tmp_path / "runs-killed")
    cfg = GRID[0]
    [result] = run_grid([cfg], executor="ray", store=store, progress=False,
                        settings=ExecutorSettings(max_retries=1, gpus_per_trial=0))

    # The first attempt died right after epoch 1's checkpoint ...
    assert (markers / f"{cfg.run_id}.first-attempt").is_file()
    at_kill = pd.read_csv(markers / f"{cfg.run_id}.history-at-kill.csv")
    assert list(at_kill["epoch"]) == [1]
    # ... and the retry resumed from it: epoch 1 was not trained again (same row, same
    # measured seconds), and the result equals an uninterrupted run exactly.
    assert list(result.history["epoch"]) == [1, 2]
    pd.testing.assert_frame_equal(result.history.iloc[:1], at_kill, check_exact=True)
    _assert_same_run(result, local_results[0])
    assert store.status(cfg)["status"] == "finished"


def test_ray_trial_errors_name_the_run_and_the_cause(ray_session, tmp_path):
    missing = BASE.replace(dataset="no-such-dataset")
    with pytest.raises(MtlibError, match=rf"1 of 1 trial\(s\) failed on Ray; first: run "
                       rf"{missing.run_id} \(dieleman\): DataError: .*no-such-dataset"):
        run_grid([missing], executor="ray", store=RunStore(tmp_path), progress=False,
                 settings=ExecutorSettings(gpus_per_trial=0))  # the warm CPU workers
    assert RunStore(tmp_path).status(missing)["status"] == "failed"


@pytest.mark.slow  # a fresh worker process
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_ray_gpu_trial_fails_loudly_where_torch_sees_no_gpu(ray_session, prepared, tmp_path):
    # Default settings on a cluster with a (here: logical) GPU: a Dieleman trial asks for a
    # quarter of it and must train on CUDA, never silently on the CPU.
    with pytest.raises(MtlibError, match=r"failed on Ray.*'cuda'.*CUDA is not available"):
        run_grid(GRID[:1], executor="ray", store=RunStore(tmp_path), progress=False)


def test_ray_refuses_trials_larger_than_the_cluster(ray_session, prepared, tmp_path):
    with pytest.raises(MtlibError, match="gpus_per_trial=2 but the Ray cluster has 1 GPUs"):
        run_grid(GRID[:1], executor="ray", store=RunStore(tmp_path), progress=False,
                 settings=ExecutorSettings(gpus_per_trial=2))
    with pytest.raises(MtlibError, match="cpus_per_trial=3 exceeds the Ray cluster's 2 CPUs"):
        run_grid(GRID[:1], executor="ray", store=RunStore(tmp_path), progress=False,
                 settings=ExecutorSettings(cpus_per_trial=3))
    assert not any(tmp_path.iterdir())  # nothing was started
