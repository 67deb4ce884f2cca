"""mtlib.progress: bars, log lines and warnings go to the log file in a report run."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest

from mtlib import paths, progress
from mtlib.report import runner as report


@pytest.fixture
def log_file(tmp_path, monkeypatch):
    """A report run's log: the variable set, and warnings routing undone after the test."""
    path = tmp_path / "logs" / "07_samplecnn.log"  # the folder does not exist yet
    monkeypatch.setenv(progress.LOG_ENV, str(path))
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    return path


def test_report_run_writes_bars_logs_and_warnings_to_the_log_only(log_file, capfd):
    for _ in progress.tqdm(range(50), desc="eval", mininterval=0.0):
        pass
    progress.log("epoch 1: loss 0.5")
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the "once per location" registry must not hide it
        progress.route_warnings()
        warnings.warn("ill-defined precision", UserWarning, stacklevel=1)

    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    lines = log_file.read_text(encoding="utf-8").splitlines()
    bars = [ln for ln in lines if "eval:" in ln]
    assert bars and "100%" in bars[-1] and "50/50" in bars[-1]
    assert not any("\r" in ln or "\x1b" in ln for ln in lines)  # one line per refresh
    assert any(ln.endswith(" epoch 1: loss 0.5") for ln in lines)
    assert any("UserWarning: ill-defined precision" in ln for ln in lines)


def test_log_bars_refresh_at_most_every_few_seconds(log_file):
    bar = progress.tqdm(total=3, mininterval=0.1)
    assert bar.mininterval >= progress.LOG_MININTERVAL
    bar.close()


def test_announce_goes_to_stdout_and_the_log(log_file, capfd):
    progress.announce("trained 4 runs, reused 2 (31 s)")
    out, err = capfd.readouterr()
    assert out == "trained 4 runs, reused 2 (31 s)\n" and err == ""
    assert log_file.read_text(encoding="utf-8").endswith(" trained 4 runs, reused 2 (31 s)\n")


def test_logged_messages_are_the_lines_without_their_stamps(log_file, capfd):
    assert progress.logged_messages(log_file) == set()  # no log yet
    progress.log("epoch 1: loss 0.5\nsecond line")
    progress.announce("Table I: 2 run(s), 0 reused from the run store, 2 trained (local), 3 s")
    assert progress.logged_messages(log_file) == {
        "epoch 1: loss 0.5", "second line",
        "Table I: 2 run(s), 0 reused from the run store, 2 trained (local), 3 s"}
    # What announce printed is exactly what the log holds, line for line.
    printed = capfd.readouterr().out.splitlines()
    assert set(printed) <= progress.logged_messages(log_file)


def test_interactive_log_and_announce_print_to_stdout(monkeypatch, capsys):
    monkeypatch.delenv(progress.LOG_ENV, raising=False)
    progress.log("resuming run abc")
    progress.announce("done")
    assert capsys.readouterr().out == "resuming run abc\ndone\n"


def test_routed_warnings_fall_back_once_the_variable_is_gone(log_file, monkeypatch):
    with pytest.warns(UserWarning, match="shown as usual"):  # pytest's display, not the log
        progress.route_warnings()
        progress.route_warnings()  # idempotent: one layer, not two
        monkeypatch.delenv(progress.LOG_ENV)
        warnings.warn("shown as usual", UserWarning, stacklevel=1)
    assert not log_file.exists()


def test_importing_under_the_variable_routes_warnings(tmp_path):
    """A report kernel: importing mtlib.progress is enough to keep warnings off stderr."""
    log = tmp_path / "kernel.log"
    code = ("import warnings, mtlib.progress\n"
            "warnings.warn('from the kernel')\n")
    env = {**os.environ, progress.LOG_ENV: str(log)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True)
    assert (done.stdout, done.stderr) == ("", "")
    assert "UserWarning: from the kernel" in log.read_text(encoding="utf-8")


def test_log_path():
    assert paths.log_path("07_samplecnn") == paths.results_dir() / "logs" / "07_samplecnn.log"


def test_execute_gives_each_kernel_a_fresh_log(tmp_path, monkeypatch):
    """report.execute: truncates results/logs/<slug>.log and names it to the kernel."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    monkeypatch.delenv(progress.LOG_ENV, raising=False)
    notebook = tmp_path / "07_samplecnn.ipynb"
    notebook.write_text("{}", encoding="utf-8")
    log = paths.log_path("07_samplecnn")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("a previous run\n", encoding="utf-8")

    def kernel(source, out, fail=False, **kwargs):  # stands in for papermill and the kernel
        progress.log("epoch 1")
        open(out, "w").close()
        if fail:
            raise PapermillExecutionError(0, 3, "ValueError", "bad", [])

    monkeypatch.setattr(papermill, "execute_notebook", kernel)
    report.execute(notebook, {}, progress=False)
    text = log.read_text(encoding="utf-8")
    assert "a previous run" not in text and text.endswith(" epoch 1\n")
    assert progress.LOG_ENV not in os.environ  # set for the kernel only

    monkeypatch.setattr(papermill, "execute_notebook",
                        lambda *a, **k: kernel(*a, fail=True, **k))
    with pytest.raises(report.NotebookFailed, match=f"log: {log}"):
        report.execute(notebook, {}, progress=False)
