"""Run store: files, reuse, resume equals uninterrupted, failures, locking; the training loop
writes nothing itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from helpers_train import one_torch_thread, write_learnable_cache

from mtlib import config
from mtlib.config import RunConfig
from mtlib.errors import MtlibError
from mtlib.io import current_umask
from mtlib.report.sections.grids import runs_frame
from mtlib.training.fit import fit
from mtlib.training.rundir import HISTORY_COLUMNS, load_torch, read_status
from mtlib.training.runs import RunStore, run_lock

# dropout + plateau + momentum exercise every piece of state a resume must restore
CFG = RunConfig(dataset="runs", epochs=4, lr=0.1, batch_clips=8, norm="batch", dropout=0.3,
                plateau=True, train_eval_clips=16)
FILES = {"config.json", "status.json", "history.csv", "metrics.json", "predictions.npz",
         "best.pt", "last.pt"}


_one_thread = pytest.fixture(autouse=True)(one_torch_thread)


class Crash(Exception):
    pass


@pytest.fixture(autouse=True)
def cache():
    return write_learnable_cache("runs", 12000, clip_samples=25_600, clips_per_folder=6)


def _crash_after(epoch_to_crash: int, seen: list[int]):
    def hook(epoch, row):
        seen.append(epoch)
        if epoch == epoch_to_crash:
            raise Crash(f"simulated kill after epoch {epoch}")

    return hook


def test_finished_run_has_all_files_and_is_reused(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    result = store.get_or_run(CFG, progress=False)
    run_dir = tmp_path / "runs" / CFG.run_id
    assert result.run_dir == run_dir and FILES <= {p.name for p in run_dir.iterdir()}
    assert read_status(run_dir)["status"] == "finished" and store.is_finished(CFG)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ("test_roc_auc", "test_pr_auc", "val_roc_auc", "best_epoch", "per_tag",
                "excluded_tags", "seed", "device", "versions", "train_seconds", "epochs_run"):
        assert key in metrics
    assert set(metrics["per_tag"]["low"]) >= {"roc_auc", "pr_auc", "n_train_pos"}
    assert metrics["clip_samples"] == 25_600 and metrics["input_norm"]["kind"] == "minmax"
    best = load_torch(run_dir / "best.pt")
    assert best["epoch"] == metrics["best_epoch"] and best["tags"] == metrics["tags"]
    assert set(best["model"]) == set(load_torch(run_dir / "last.pt")["model"])
    assert set(metrics["versions"]) >= {"python", "torch", "mtlib"}
    assert list(pd.read_csv(run_dir / "history.csv").columns) == HISTORY_COLUMNS
    assert RunConfig.from_dict(json.loads((run_dir / "config.json").read_text())) == CFG
    # Every file gets the mode the umask gives (0644 under 022), so others can read the store.
    expected = 0o666 & ~current_umask()
    assert {p.name: p.stat().st_mode & 0o777 for p in run_dir.iterdir()} == {
        p.name: expected for p in run_dir.iterdir()}

    # a finished config is returned from disk without training
    def no_training(*args, **kwargs):
        raise AssertionError("a finished run must not be trained again")

    again = RunStore(tmp_path / "runs", train=no_training).get_or_run(CFG, progress=False)
    assert again.metrics == result.metrics
    assert again.history.equals(result.history)
    ids, y_true, y_score, tags = again.predictions()
    np.testing.assert_array_equal(y_score, result.predictions()[2])
    assert tags == ["low", "mid", "high", "top"] and len(ids) == len(y_true) == 18


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    whole = RunStore(tmp_path / "a").get_or_run(CFG, progress=False)

    store = RunStore(tmp_path / "b")
    seen: list[int] = []
    with pytest.raises(Crash):
        store.get_or_run(CFG, progress=False, on_epoch_end=_crash_after(2, seen))
    assert seen == [1, 2] and not store.is_finished(CFG) and store.load(CFG.run_id) is None
    status = store.status(CFG)
    assert status["status"] == "failed" and "simulated kill" in status["error"]
    assert not (store.run_dir(CFG) / "metrics.json").exists()

    resumed_epochs: list[int] = []
    resumed = store.get_or_run(CFG, progress=False, on_epoch_end=_crash_after(-1, resumed_epochs))
    assert resumed_epochs == [3, 4]  # epochs 1-2 came from last.pt
    cols = [c for c in HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(resumed.history[cols], whole.history[cols])
    np.testing.assert_array_equal(resumed.predictions()[2], whole.predictions()[2])
    for key in ("test_roc_auc", "test_pr_auc", "val_roc_auc", "best_epoch", "per_tag"):
        assert resumed.metrics[key] == whole.metrics[key]


def test_a_longer_run_continues_a_shorter_one_to_the_from_scratch_result(tmp_path):
    scratch = RunStore(tmp_path / "a").get_or_run(CFG, progress=False)

    store = RunStore(tmp_path / "b")
    short = store.get_or_run(CFG.replace(epochs=2), progress=False)
    assert store.shorter_run(CFG) == store.run_dir(short.run_id)
    trained: list[int] = []
    longer = store.get_or_run(CFG, progress=False, on_epoch_end=_crash_after(-1, trained))
    assert trained == [3, 4] and longer.metrics["extends"] == short.run_id
    assert scratch.metrics["extends"] is None
    cols = [c for c in HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(longer.history[cols], scratch.history[cols])
    np.testing.assert_array_equal(longer.predictions()[2], scratch.predictions()[2])
    for key in ("test_roc_auc", "val_roc_auc", "best_epoch", "per_tag"):
        assert longer.metrics[key] == scratch.metrics[key]
    # The shorter run is untouched, and nothing continues a run with other settings.
    assert store.load(short.run_id).metrics == short.metrics
    assert store.shorter_run(CFG.replace(lr=0.05)) is None


def test_a_scheduler_that_cannot_act_shares_the_run_without_one(tmp_path):
    # A plateau scheduler cuts the lr only after plateau_epochs epochs without improvement:
    # a run of that many epochs or fewer is the run without it.
    cfg = CFG.replace(plateau_epochs=1, lr=0.3, epochs=5)
    short, short_off = cfg.replace(epochs=1), cfg.replace(epochs=1, plateau=False)
    assert short.run_id == short_off.run_id
    assert cfg.run_id != cfg.replace(plateau=False).run_id
    assert CFG.replace(epochs=3).run_id == CFG.replace(epochs=3, plateau=False).run_id
    assert CFG.run_id != CFG.replace(plateau=False).run_id

    # The longer scheduled run continues the shorter one trained without a scheduler (its
    # checkpoint holds no scheduler state) and ends as the from-scratch run.
    scratch = RunStore(tmp_path / "a").get_or_run(cfg, progress=False)
    assert scratch.history["lr"].nunique() > 1  # the scheduler acted
    store = RunStore(tmp_path / "b")
    store.get_or_run(short_off, progress=False)
    assert store.load(short.run_id) is not None  # the scheduled one-epoch run is not retrained
    longer = store.get_or_run(cfg, progress=False)
    assert longer.metrics["extends"] == short.run_id
    cols = [c for c in HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(longer.history[cols], scratch.history[cols])
    np.testing.assert_array_equal(longer.predictions()[2], scratch.predictions()[2])


def test_a_diverging_run_is_a_result_not_a_failure(tmp_path):
    store = RunStore(tmp_path / "runs")
    diverging = CFG.replace(lr=1e10, norm="none", dropout=0.0, epochs=2)
    result = store.get_or_run(diverging, progress=False)
    assert result.diverged and result.metrics["diverged_epoch"] == 1
    assert np.isnan(result.metrics["val_roc_auc"]) and np.isnan(result.metrics["test_roc_auc"])
    assert "lower the learning rate" in result.metrics["error"]
    status = store.status(diverging)
    assert status["status"] == "diverged" and status["error"].startswith("run ")
    with pytest.raises(MtlibError, match="diverged in epoch 1: it has no predictions"):
        result.predictions()
    # Final: asked again, it is read back, never retrained, and nothing continues from it.
    def no_training(*args, **kwargs):
        raise AssertionError("a diverged run must not be trained again")

    again = RunStore(tmp_path / "runs", train=no_training).get_or_run(diverging, progress=False)
    assert again.diverged and again.metrics == result.metrics
    assert store.shorter_run(diverging.replace(epochs=3)) is None
    # other runs in the same store are unaffected
    ok = store.get_or_run(CFG.replace(epochs=1), progress=False)
    assert np.isfinite(ok.metrics["test_roc_auc"])
    assert sorted(r.run_id for r in store.finished()) == sorted([ok.run_id, diverging.run_id])


def test_failed_runs_do_not_poison_the_store(tmp_path):
    store = RunStore(tmp_path / "runs")
    # an injected failure after epoch 1 is retried (resuming from last.pt) and then succeeds
    flaky = CFG.replace(epochs=2, seed=7)
    with pytest.raises(Crash):
        store.get_or_run(flaky, progress=False, on_epoch_end=_crash_after(1, []))
    assert store.get_or_run(flaky, progress=False).metrics["epochs_run"] == 2


def test_crash_while_finishing_never_looks_finished(tmp_path):
    store = RunStore(tmp_path / "runs")
    cfg = CFG.replace(epochs=1)
    # metrics.json cannot be written: a folder holds its name (as a full disk would refuse it).
    (store.run_dir(cfg) / "metrics.json").mkdir(parents=True)
    with pytest.raises(OSError):
        store.get_or_run(cfg, progress=False)
    assert not store.is_finished(cfg) and store.status(cfg)["status"] == "failed"
    (store.run_dir(cfg) / "metrics.json").rmdir()
    assert store.get_or_run(cfg, progress=False).metrics["epochs_run"] == 1


def _spawn(code: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_run_lock_excludes_other_processes(tmp_path):
    run_dir = tmp_path / "locked"
    holder = _spawn(f"""
        import time
        from pathlib import Path
        from mtlib.training.runs import run_lock
        with run_lock(Path({str(run_dir)!r})):
            print("held", flush=True)
            time.sleep(1.5)
    """)
    assert holder.stdout.readline().strip() == "held"
    start = time.monotonic()
    with run_lock(run_dir):
        waited = time.monotonic() - start
    holder.wait(timeout=30)
    assert waited > 0.5


def test_two_processes_train_the_same_run_once(tmp_path):
    root = tmp_path / "shared"
    log = tmp_path / "epochs.log"
    code = f"""
        import os
        from mtlib.config import RunConfig
        from mtlib.training.runs import RunStore
        cfg = RunConfig.from_dict({CFG.replace(epochs=2).to_dict()!r})
        def hook(epoch, row):
            with open({str(log)!r}, "a") as f:
                f.write(f"{{os.getpid()}} {{epoch}}\\n")
        r = RunStore({str(root)!r}).get_or_run(cfg, progress=False, on_epoch_end=hook)
        print(repr(r.metrics["test_roc_auc"]))
    """
    procs = [_spawn(code) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    assert outs[0][0] == outs[1][0]
    lines = log.read_text().split()
    assert len(lines) == 4 and len(set(lines[0::2])) == 1  # 2 epochs, one process


def test_runs_frame(tmp_path):
    store = RunStore(tmp_path / "runs")
    results = [store.get_or_run(CFG.replace(epochs=1, seed=s), progress=False) for s in (0, 1)]
    frame = runs_frame(results)
    assert list(frame["run_id"]) == [r.run_id for r in results]
    assert list(frame["seed"]) == [0, 1]
    for col in ("model", "length", "lr", "test_roc_auc", "test_pr_auc", "val_roc_auc",
                "best_epoch", "train_seconds"):
        assert col in frame.columns
    assert frame["test_roc_auc"].tolist() == [r.metrics["test_roc_auc"] for r in results]


SHORT = CFG.replace(epochs=2)


class Recorder:
    """A sink that keeps what fit reports, in memory."""

    def __init__(self):
        self.calls = []

    def started(self, config):
        self.calls.append("started")

    def resume_point(self, config):
        return None

    def epoch_end(self, row, history, checkpoint, best):
        self.calls.append(("epoch", row["epoch"], len(history), best is not None))
        assert checkpoint["epoch"] == row["epoch"] and checkpoint["run_id"] == SHORT.run_id

    def finished(self, result, best):
        self.calls.append(("finished", best["epoch"]))
        return result

    def failed(self, error):
        self.calls.append("failed")


def test_fit_reports_to_its_sink_and_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sink = Recorder()
    result = fit(SHORT, sink=sink, progress=False)
    assert sink.calls[0] == "started" and sink.calls[-1] == ("finished",
                                                             result.metrics["best_epoch"])
    assert [c[1:3] for c in sink.calls[1:3]] == [(1, 1), (2, 2)]
    assert sink.calls[1][3] is True  # the first epoch always improves on nothing
    assert result.run_dir is None and list(tmp_path.iterdir()) == []
    assert not (tmp_path / "results").exists()


DAMAGE = {
    "truncated metrics.json": ("metrics.json", lambda p: p.write_text(p.read_text()[:40])),
    "garbage predictions.npz": ("predictions.npz", lambda p: p.write_bytes(b"\x93NUMPY garbage")),
    "empty history.csv": ("history.csv", lambda p: p.write_text("")),
    "edited config.json": ("config.json", lambda p: p.write_text(
        p.read_text().replace('"lr": 0.1', '"lr": 0.2'))),
}


@pytest.mark.parametrize("fault", list(DAMAGE))
def test_a_damaged_run_is_set_aside_and_trained_again(tmp_path, fault, capsys):
    store = RunStore(tmp_path / "runs")
    cfg = CFG.replace(epochs=1)
    first = store.get_or_run(cfg, progress=False)
    name, damage = DAMAGE[fault]
    damage(store.run_dir(cfg) / name)
    capsys.readouterr()

    assert store.load(cfg.run_id) is None  # never read as a finished run
    warning = capsys.readouterr().out.strip().splitlines()
    assert len(warning) == 1 and f"run {cfg.run_id} is damaged" in warning[0]
    assert name in warning[0] and "will train again" in warning[0]
    aside = [p for p in store.root.iterdir() if p.name.startswith(f"{cfg.run_id}.damaged-")]
    assert len(aside) == 1 and (aside[0] / name).is_file()  # kept for inspection
    assert str(aside[0]) in warning[0]

    again = store.get_or_run(cfg, progress=False)
    assert again.metrics["test_roc_auc"] == first.metrics["test_roc_auc"]
    assert store.load(cfg.run_id).metrics == again.metrics
    assert [r.run_id for r in store.finished()] == [cfg.run_id]  # the set-aside copy is not


def test_a_run_written_before_the_late_fields_loads_under_its_folder_name(tmp_path):
    store = RunStore(tmp_path / "runs")
    legacy = CFG.replace(epochs=1, frontend="logmel", n_fft=512, length=512, stride=512,
                         spectral_dc="keep")
    store.get_or_run(legacy, progress=False)
    path = store.run_dir(legacy) / "config.json"
    stored = json.loads(path.read_text())
    for name in config.LATE_FIELDS:  # as an mtlib without the late fields wrote it
        del stored[name]
    path.write_text(json.dumps(stored))

    loaded = store.load(legacy.run_id)
    assert loaded is not None and loaded.config == legacy.replace(harmonic_f0="learnt")
    assert loaded.config.run_id == legacy.run_id == path.parent.name
    # today's default (DC removed) is another run
    assert not store.is_finished(legacy.replace(spectral_dc="remove"))
