"""The report runner: notebook order, parameters, and one clear message when a notebook fails."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mtlib import cli, paths
from mtlib.errors import MtlibError
from mtlib.report import runner as report
from mtlib.report import site
from mtlib.report.profiles import load_profile


def write_notebook(path, *sources, parameters="profile = 'quick'\nshallow_epochs = 99"):
    cells = [new_markdown_cell(f"# {path.stem}")]
    params = new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    cells.append(params)
    cells += [new_code_cell(s) for s in sources]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))


@pytest.fixture
def fake_notebooks(tmp_path, monkeypatch):
    """Three notebooks: one that works, one that fails in its second code cell, one after."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_works.ipynb",
                   "import json, os\n"
                   "from mtlib import paths\n"
                   "from mtlib.report import plots, profiles\n"
                   "P = profiles.resolve(profile, globals())\n"
                   "import matplotlib.pyplot as plt\n"
                   "fig, ax = plt.subplots(); ax.plot([0, 1])\n"
                   "plots.save_figure(fig, '01_tag_distribution')\n"
                   "paths.artifacts_dir().mkdir(parents=True, exist_ok=True)\n"
                   "(paths.artifacts_dir() / 'seen.json').write_text("
                   "json.dumps({'profile': profile, 'epochs': shallow_epochs}))")
    write_notebook(folder / "02_breaks.ipynb", "x = 1",
                   "raise ValueError('the stand-in corpus has no valid clips\\nsecond line')")
    write_notebook(folder / "03_after.ipynb", "print('never runs')")
    monkeypatch.setenv("MTLIB_NOTEBOOKS_DIR", str(folder))
    # A results tree of its own: the session's tree holds the smoke report's notebooks.
    monkeypatch.setenv("MTLIB_RESULTS_DIR", str(tmp_path / "results"))
    return folder


def no_dataset(profile, progress=True):
    """The runner's dataset step is tested with the notebooks; here it must cost nothing."""
    return "none"


NO_DATASET = report.Steps(ensure_dataset=no_dataset)


def test_failing_notebook_stops_the_run_with_one_line(fake_notebooks):
    with pytest.raises(report.NotebookFailed) as failed:
        report.run_report("smoke", progress=False, steps=NO_DATASET)
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("notebook 02_breaks failed in cell In[4]: "
                              "ValueError: the stand-in corpus has no valid clips ...")
    assert "02_breaks.failed.ipynb" in message

    executed = paths.executed_dir()
    # What finished before the failure is kept, rendered and timed.
    assert (executed / "01_works.ipynb").is_file()
    assert (paths.report_dir() / "01_works.html").is_file()
    assert paths.figure_path("01_tag_distribution", "pdf").is_file()
    # The failing notebook's partial output is kept under its own name, never as a result.
    assert (executed / "02_breaks.failed.ipynb").is_file()
    assert not (executed / "02_breaks.ipynb").exists()
    assert not (executed / "03_after.ipynb").exists()
    assert not list(executed.glob(".*"))

    timings = json.loads((paths.report_dir() / "timings.json").read_text())
    assert timings["profile"] == "smoke"
    assert timings["notebooks"]["01_works"]["status"] == "finished"
    assert timings["notebooks"]["02_breaks"]["status"] == "failed"
    assert "03_after" not in timings["notebooks"]
    # The site shows what finished and names the notebook that did not.
    index = (paths.report_dir() / "index.html").read_text()
    assert 'href="01_works.html"' in index and "03_after.html" not in index
    assert "Did not finish in the last run: 02_breaks" in index

    # The profile reaches the notebook as one parameter; resolve() sets the names the
    # parameters cell assigns to the profile's values, overriding the cell's defaults.
    seen = json.loads((paths.artifacts_dir() / "seen.json").read_text())
    assert seen == {"profile": "smoke", "epochs": load_profile("smoke").shallow_epochs}


def test_only_reruns_the_named_notebook(fake_notebooks):
    result = report.run_report("smoke", only=["1"], progress=False, steps=NO_DATASET)
    assert list(result.seconds) == ["01_works"]
    assert (paths.executed_dir() / "01_works.ipynb").is_file()


def test_select_and_parameters(fake_notebooks):
    found = report.notebooks()
    assert [p.stem for p in report.select(found, ["03", "01_works"])] == ["01_works", "03_after"]
    with pytest.raises(MtlibError, match="no notebook '09'; valid: 01_works, 02_breaks, 03_after"):
        report.select(found, ["09"])
    params = report.parameters_for(found[0], load_profile("smoke"))
    assert params == {"profile": load_profile("smoke").to_flat()}


def test_the_summary_runs_after_every_other_notebook():
    names = ["09_future_work", "08_summary", "01_tag_distribution", "07_samplecnn"]
    order = report.run_order([paths.notebooks_dir() / f"{n}.ipynb" for n in names])
    assert [p.stem for p in order] == ["01_tag_distribution", "07_samplecnn", "09_future_work",
                                       "08_summary"]


def test_unknown_executor_is_rejected_before_running(fake_notebooks, capsys):
    assert cli.main(["report", "--profile", "smoke", "--executor", "slurm"]) == 2
    assert "unknown executor 'slurm'; valid: local, ray" in capsys.readouterr().err
    assert not paths.executed_dir().exists()


def _fake_execute(fail: str):
    """``report.execute`` without a kernel: notebook ``fail`` fails, the others succeed and
    leave an (empty) executed copy."""

    def execute(notebook, params, kernel=report.KERNEL, progress=True):
        if notebook.stem == fail:
            raise report.NotebookFailed(f"notebook {notebook.stem} failed in cell In[4]")
        report.executed_path(notebook).parent.mkdir(parents=True, exist_ok=True)
        report.executed_path(notebook).write_text("{}")
        return 1.0

    return execute


def _site_fails(*args, **kwargs):
    raise site.SiteError("Sphinx failed (status 1)")


def test_a_site_failure_does_not_mask_the_notebook_failure(fake_notebooks, capsys):
    steps = report.Steps(no_dataset, _fake_execute("02_breaks"), _site_fails)
    with pytest.raises(report.NotebookFailed, match="notebook 02_breaks failed") as failed:
        report.run_report("smoke", progress=False, steps=steps)
    # The site was attempted (01 finished); its error is told, not raised.
    note = "the report site was not rebuilt after the failure: SiteError: Sphinx failed"
    assert any(note in n for n in failed.value.__notes__)
    assert note in capsys.readouterr().err
    assert json.loads((paths.report_dir() / "timings.json").read_text())["notebooks"][
        "02_breaks"]["status"] == "failed"


def test_a_site_failure_after_a_clean_run_is_the_error(fake_notebooks):
    steps = report.Steps(no_dataset, _fake_execute(""), _site_fails)
    with pytest.raises(site.SiteError, match="Sphinx failed"):
        report.run_report("smoke", progress=False, steps=steps)


def test_the_run_order_follows_the_declared_inputs():
    from mtlib.report.products import PRODUCTS, prerequisites, run_order

    order = run_order()
    assert order[-1] == "08_summary" and set(order) == set(PRODUCTS)
    for notebook, declared in PRODUCTS.items():
        assert all(order.index(i) < order.index(notebook) for i in declared.inputs)
    assert prerequisites("09_future_work") == ["02_hyperparameter_search",
                                               "03_length_stride_table",
                                               "06_normalisation_dropout", "07_samplecnn"]
    assert prerequisites("01_tag_distribution") == []


def test_a_cycle_in_the_declared_inputs_is_an_error():
    from mtlib.report import products

    looped = dict(products.PRODUCTS)
    looped["02_hyperparameter_search"] = products.Products(
        {}, {}, "02_hyperparameter_search", inputs=("03_length_stride_table",))
    with pytest.raises(ValueError, match="form a cycle"):
        products.run_order(pipeline=looped)


def test_only_adds_the_prerequisites_whose_artifacts_are_missing():
    from mtlib.report.artifacts import write_artifact

    found = report.notebooks()  # the report's own notebooks
    stems = [p.stem for p in report.select(found, ["07"], "nothing-run-yet")]
    assert stems == ["02_hyperparameter_search", "03_length_stride_table",
                     "06_normalisation_dropout", "07_samplecnn"]
    write_artifact("02_hyperparameter_search", "nothing-run-yet", {})
    stems = [p.stem for p in report.select(found, ["07"], "nothing-run-yet")]
    assert stems == ["03_length_stride_table", "06_normalisation_dropout", "07_samplecnn"]
    assert [p.stem for p in report.select(found, ["07"])] == ["07_samplecnn"]
