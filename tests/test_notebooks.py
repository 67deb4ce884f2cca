"""The notebooks: committed without outputs, parameters that match the profiles, and the whole
report executed under the smoke profile with papermill (once per test session)."""

from __future__ import annotations

import ast
import json
import re

import nbformat
import pandas as pd
import papermill
import pytest
from smoke_env import session_dirs, smoke_dataset

from mtlib import paths
from mtlib.paper.numbers import PUBLISHED
from mtlib.report.products import PRODUCTS
from mtlib.report.profiles import field_names, load_profile
from mtlib.report.runner import notebooks
from mtlib.training.bundle import load_bundle

NOTEBOOKS = notebooks()
SLUGS = [nb.stem for nb in NOTEBOOKS]

# What each notebook must write: the products registry.
EXPECTED = {slug: (list(p.figures), list(p.tables)) for slug, p in PRODUCTS.items()}
FORMATTED = re.compile(r"^\s*[+-]?\d+(\.\d+)?\s*(±|%)")


def test_the_report_has_its_ten_notebooks_summary_last():
    assert set(SLUGS) == set(EXPECTED) and len(SLUGS) == 10
    assert SLUGS[-1] == "08_summary"  # it reads every other notebook's artifact


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=SLUGS)
def test_committed_notebook_is_clean_and_thin(nb_path):
    nb = nbformat.read(str(nb_path), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "outputs committed"
    title = nb.cells[0]
    assert title.cell_type == "markdown" and title.source.startswith(f"# {nb_path.stem[:2]} ")
    for heading in ("**Report:**", "**This notebook**", "**Inputs:**", "**Outputs:**"):
        assert heading in nb.cells[0].source
    assert nb.cells[1].metadata.get("tags") == ["parameters"]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    source = "\n".join(c.source for c in code)
    assert "class " not in source and "os.chdir" not in source and "../" not in source
    # The notebook reads its closing claims from data: the last cell shows Markdown.
    assert "Markdown(" in code[-1].source
    # Thin: one hop to the section module named after the notebook; short code cells.
    assert "from mtlib.report.sections import" in code[1].source
    assert all(len(c.source.splitlines()) <= 14 for c in code[2:]), "a code cell is long"
    assert prose_that_computes(code[1:]) == [], "a cell writes prose or computes a fact"


def prose_that_computes(cells) -> list[str]:
    """What the cells do beyond calling the section modules and showing the result: an
    f-string or string arithmetic, a Markdown text not made by a section (a call or a result's
    attribute), an
    aggregate (min, max, sum, sorted, round, len), a comparison or a conditional."""
    found = []
    for cell in cells:
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.JoinedStr):
                found.append(f"f-string: {ast.unparse(node)[:40]}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in ("min", "max", "sum", "sorted", "round", "len"):
                    found.append(f"aggregate: {ast.unparse(node)[:40]}")
                if node.func.id == "Markdown" and not all(
                        isinstance(arg, ast.Call | ast.Attribute) for arg in node.args):
                    found.append(f"Markdown of text: {ast.unparse(node)[:40]}")
            elif isinstance(node, ast.Compare | ast.IfExp | ast.If):
                found.append(f"decision: {ast.unparse(node)[:40]}")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
                found.append(f"text arithmetic: {ast.unparse(node)[:40]}")
    return found


def test_the_prose_check_sees_a_computing_cell():
    cell = nbformat.v4.new_code_cell(
        'display(Markdown(f"best {max(scores):.3f}" + (" up" if a > b else "")))')
    found = prose_that_computes([cell])
    assert any(f.startswith("f-string") for f in found)
    assert any(f.startswith("aggregate") for f in found)
    assert any(f.startswith("decision") for f in found)
    ok = nbformat.v4.new_code_cell("display(Markdown(summary.closing(s)))")
    assert prose_that_computes([ok]) == []


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=SLUGS)
def test_parameters_are_profile_fields_with_quick_defaults(nb_path):
    nb = nbformat.read(str(nb_path), as_version=4)
    tree = ast.parse(nb.cells[1].source)
    assigned = {t.id: ast.literal_eval(node.value) for node in tree.body
                for t in node.targets}  # only `name = literal` lines are allowed
    assert all(isinstance(node, ast.Assign) for node in tree.body)
    # papermill must see every assignment, or the profile's value would not be injected.
    assert set(papermill.inspect_notebook(str(nb_path))) == set(assigned)
    assert assigned["profile"] == "quick"
    quick = load_profile("quick").to_flat()
    for name, value in assigned.items():
        if name != "profile":
            assert name in field_names()
            assert value == quick[name], f"{name}: default differs from configs/quick.yaml"
    if nb_path.stem in ("02_hyperparameter_search", "03_length_stride_table",
                        "06_normalisation_dropout", "07_samplecnn"):
        assert "executor" in assigned  # trial grids must be able to run elsewhere


@pytest.fixture(scope="session")
def smoke_report(tmp_path_factory):
    """The whole report under the smoke profile, executed once with papermill."""
    from mtlib.report.runner import run_report

    base = tmp_path_factory.getbasetemp()
    smoke_dataset(base)
    with session_dirs(base):
        run_report("smoke", progress=False)
        return {p.parent.name: p.stat().st_mtime_ns
                for p in paths.runs_dir().glob("*/metrics.json")}


def test_every_notebook_ran_and_wrote_its_outputs(smoke_report):
    timings = json.loads((paths.report_dir() / "timings.json").read_text())
    assert timings["profile"] == "smoke"
    for slug, (figures, tables) in EXPECTED.items():
        assert timings["notebooks"][slug]["status"] == "finished"
        assert (paths.executed_dir() / f"{slug}.ipynb").is_file()
        assert (paths.report_dir() / f"{slug}.html").is_file()
        for fig in figures:
            assert paths.figure_path(fig, "png").stat().st_size > 0
            assert paths.figure_path(fig, "pdf").stat().st_size > 0
        for table in tables:
            data = pd.read_csv(paths.table_path(table, "csv"))
            assert len(data) > 0 and paths.table_path(table, "md").read_text().startswith("| ")
            for column in data.columns:  # numbers are stored as numbers, never as text
                if column.endswith(("_mean", "_std")) or column == "trials":
                    assert pd.api.types.is_numeric_dtype(data[column]), (table, column)
                text = data[column].astype(str)
                assert not text.str.match(FORMATTED).any(), (table, column)
        assert paths.log_path(slug).is_file()
    # The site's front page opens with the claims (tests/test_site.py checks the site).
    index = (paths.report_dir() / "index.html").read_text()
    assert "The report’s claims" in index and "not measured" in index
    chosen = json.loads((paths.artifacts_dir() / "02_hyperparameter_search-smoke.json").read_text())
    assert set(chosen["chosen"]) == {"input_norm", "filters", "lr", "momentum"}
    # Notebook 06's tagger bundle names a finished run of the store (tests/test_tagging.py
    # checks that it tags like that run).
    bundle = load_bundle(paths.bundle_dir("06_normalisation_dropout", "smoke"))
    assert bundle.config.run_id == bundle.run_id and (paths.runs_dir() / bundle.run_id).is_dir()


@pytest.mark.parametrize("slug", list(EXPECTED))
def test_executed_notebook_has_no_errors_and_reads_its_results(smoke_report, slug):
    nb = nbformat.read(str(paths.executed_dir() / f"{slug}.ipynb"), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    # One parameter: the resolved profile.
    code = [ln for ln in injected[0].source.splitlines() if ln and not ln.startswith("#")]
    assert len(injected) == 1 and len(code) == 1 and code[0].startswith("profile = {")
    assert '"name": "smoke"' in code[0]
    closing = nb.cells[-1].outputs
    assert any("text/markdown" in o.get("data", {}) for o in closing)


@pytest.mark.parametrize("slug", list(EXPECTED))
def test_notebooks_show_results_not_logs(smoke_report, slug):
    # Bars, epoch logs and warnings go to results/logs/<slug>.log; the notebook shows one
    # line per training grid.
    nb = nbformat.read(str(paths.executed_dir() / f"{slug}.ipynb"), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    streams = [o for o in outputs if o.output_type == "stream"]
    assert not [o for o in streams if o.name == "stderr"], [o.text[:200] for o in streams]
    text = "".join(o.text for o in streams)
    assert "it/s" not in text and " epoch " not in text
    if slug in ("02_hyperparameter_search", "03_length_stride_table",
                "06_normalisation_dropout", "07_samplecnn"):
        assert "reused from the run store" in text
    if slug == "03_length_stride_table":
        assert re.search(r"trials[^\n]*100%", paths.log_path(slug).read_text())
    # The site's chapter shows results only: no grid lines, no code, no parameters.
    chapter = (paths.report_dir() / f"{slug}.html").read_text(encoding="utf-8")
    article = chapter[chapter.index("<article"):chapter.index("</article>")]
    assert "reused from the run store" not in article
    assert "injected-parameters" not in article and "profiles.resolve(" not in article


def test_summary_contains_every_published_number(smoke_report):
    summary = pd.read_csv(paths.table_path("08_summary", "csv"))
    assert list(summary["key"]) == [p.key for p in PUBLISHED]
    assert list(summary["source"]) == [p.source for p in PUBLISHED]
    numeric = [p for p in PUBLISHED if not isinstance(p.value, str)]
    assert summary.set_index("key").loc[[p.key for p in numeric], "published"].tolist() == [
        p.value for p in numeric]
    shown = paths.table_path("08_summary", "md").read_text()
    assert all(p.shown() in shown for p in PUBLISHED)
    # The smoke report measures the results of every notebook (stand-in values, not the
    # report's); dataset facts and other works' numbers are published only.
    measured = summary.set_index("key")["measured"]
    assert measured[["search.input_norm.minmax", "table1.raw.256-256", "figure3.best_epoch",
                     "figure4.most_frequent_tag", "table2.long", "samplecnn.recreation",
                     "samplecnn.long.test", "lee2017.test", "conclusion.atose_gain"]].all()
    assert not measured[["data.clips_total", "related.mulan.auc"]].any()


def test_future_work_is_judged_and_costed(smoke_report):
    claims = pd.read_csv(paths.table_path("08_summary_claims", "csv"))
    future = claims[claims["section"] == "IX"]
    assert len(future) == 6 and "not measured" not in set(future["verdict"])
    table = pd.read_csv(paths.table_path("09_future_work", "csv")).set_index("key")
    assert (table["parameters"] > 0).all() and (table["ms_per_clip"] > 0).all()
    assert table.loc["future.shallow.harmonic", "parameters"] > table.loc[
        "future.shallow.raw", "parameters"]
    assert table["trials"].eq(1).all() and table["guitar_test_roc_auc"].notna().all()


def test_quick_settings_are_reported_in_the_output(smoke_report):
    nb = nbformat.read(str(paths.executed_dir() / "03_length_stride_table.ipynb"), as_version=4)
    text = json.dumps([c.outputs for c in nb.cells if c.cell_type == "code"])
    assert "sets these differently from profile `full`" in text
    assert "`shallow_epochs`: 1 here, 30 in the report" in text


def test_rerun_reuses_the_run_store(smoke_report, tmp_path_factory):
    from mtlib.report.runner import run_report

    def finished():
        return {p.parent.name: p.stat().st_mtime_ns
                for p in paths.runs_dir().glob("*/metrics.json")}

    with session_dirs(tmp_path_factory.getbasetemp()):
        before = finished()
        run_report("smoke", only=["03", "04"], progress=False)
        after = finished()
    assert set(smoke_report) <= set(before)
    assert after == before  # nothing retrained, nothing new


# Last in this file: it reruns the smoke report over a damaged store.
def test_a_damaged_store_leaves_a_complete_report_on_rerun(smoke_report, tmp_path_factory):
    """Each fault that once stopped every later report, put into the finished smoke store:
    the rerun sets the damaged runs aside, trains them again and completes."""
    from mtlib.report.runner import run_report
    from mtlib.training.runs import RunStore

    base = tmp_path_factory.getbasetemp()
    with session_dirs(base):
        store = RunStore()
        search = json.loads((paths.artifacts_dir() / "02_hyperparameter_search-smoke.json")
                            .read_text())["arms"]
        ids = list(dict.fromkeys(i for arm in sorted(search) for i in search[arm]
                                 if not store.load(i).diverged))[:4]
        assert len(set(ids)) == 4
        faults = {
            "metrics.json": lambda p: p.write_text(p.read_text()[:40]),
            "predictions.npz": lambda p: p.write_bytes(b"\x93NUMPY garbage"),
            "history.csv": lambda p: p.write_text(""),
            "config.json": lambda p: p.write_text(p.read_text().replace('"seed": 0',
                                                                        '"seed": 7')),
        }
        for run_id, (name, damage) in zip(ids, faults.items(), strict=True):
            damage(store.run_dir(run_id) / name)
        run_report("smoke", progress=False)
        timings = json.loads((paths.report_dir() / "timings.json").read_text())
        assert {t["status"] for t in timings["notebooks"].values()} == {"finished"}
        for run_id in ids:
            assert store.load(run_id) is not None  # trained again
            assert list(store.root.glob(f"{run_id}.damaged-*"))  # the damaged copy, kept
