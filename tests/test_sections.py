"""The sections behind the notebooks, driven by a recording executor whose scores are a
function of the config: the grids, the stage order, what each step keeps, and what the
sections write (numeric CSVs, artifacts, findings)."""

from __future__ import annotations

import ast
import importlib
import pkgutil

import numpy as np
import pandas as pd
import pytest

import mtlib
from mtlib import paths
from mtlib.config import RunConfig
from mtlib.errors import MtlibError
from mtlib.paper.numbers import PUBLISHED
from mtlib.report.artifacts import read_artifact, write_artifact
from mtlib.report.plan import plan
from mtlib.report.profiles import load_profile
from mtlib.report.sections import (
    future_work,
    hyperparameter_search,
    length_stride_table,
    normalisation_dropout,
    per_tag_analysis,
    samplecnn,
    summary,
    training_curves,
)
from mtlib.report.sections.grids import aggregate, measurement
from mtlib.report.sections.settings import settings_note
from mtlib.training.executors import RecordingExecutor
from mtlib.training.rundir import RunResult
from mtlib.training.variants import Variant

CHOSEN = {"input_norm": "minmax", "filters": 32, "lr": 0.0075, "momentum": 0.95}


@pytest.fixture(autouse=True)
def _own_results(tmp_path, monkeypatch):
    # Artifacts written here must not mix with the session's smoke report.
    monkeypatch.setenv("MTLIB_RESULTS_DIR", str(tmp_path / "results"))


def scored(score):
    """A recorder whose validation ROC-AUC is ``score(config)`` plus 0.001 per seed."""
    return RecordingExecutor(lambda c: score(c) + 0.001 * c.seed)


def fake_result(cfg, val: float, test: float) -> RunResult:
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": [1.0, 0.9],
                            "train_roc_auc": [0.6, 0.7], "val_roc_auc": [val - 0.02, val],
                            "val_pr_auc": [0.2, 0.3], "lr": [cfg.lr, cfg.lr],
                            "seconds": [1.0, 1.0]})
    metrics = {"val_roc_auc": val, "test_roc_auc": test, "test_pr_auc": test / 2,
               "best_epoch": 2, "epochs_run": 2, "train_seconds": 2.0,
               "per_tag": {"guitar": {"roc_auc": test, "pr_auc": 0.4, "n_train_pos": 30},
                           "piano": {"roc_auc": test + 0.05, "pr_auc": 0.5, "n_train_pos": 40}}}
    return RunResult(cfg.run_id, cfg, None, metrics, history)


def test_lr_fine_grid_generalises_the_report():
    coarse = [0.1, 0.05, 0.01, 0.005, 0.001]
    grid = hyperparameter_search.lr_fine_grid
    # The report: best 0.01, its better neighbour 0.005 -> 0.005, 0.0075, 0.01.
    assert grid(coarse, [0.5, 0.6, 0.8, 0.78, 0.7], 3) == [0.005, 0.0075, 0.01]
    assert grid(coarse, [0.5, 0.79, 0.8, 0.78, 0.7], 3) == [0.01, 0.03, 0.05]
    # The best at the edge of the grid has one neighbour; 5 points.
    assert grid(coarse, [0.9, 0.8, 0.7, 0.6, 0.5], 5) == [0.05, 0.0625, 0.075, 0.0875, 0.1]
    # Unsorted grids and a tie between neighbours (the smaller rate wins).
    assert grid([0.01, 0.1, 0.001], [0.8, 0.7, 0.7], 3) == [0.001, 0.0055, 0.01]


def test_aggregate_gives_numbers_per_group():
    frame = pd.DataFrame({"run_id": list("abcd"), "value": [1, 1, 2, 2],
                          "val_roc_auc": [0.7, 0.8, 0.6, np.nan],
                          "test_roc_auc": [0.7, 0.9, 0.5, 0.5], "test_pr_auc": [0.1] * 4})
    agg = aggregate(frame, ["value"])
    assert list(agg["value"]) == [1, 2] and list(agg["trials"]) == [2, 2]
    assert agg["val_roc_auc_mean"].iloc[0] == pytest.approx(0.75)
    assert agg["test_roc_auc_std"].iloc[0] == pytest.approx(np.std([0.7, 0.9], ddof=1))
    assert agg["run_ids"].iloc[1] == "c d"


def test_variant_labels_are_derived_from_the_record():
    v = Variant(norm="group", groups=8)
    assert v.label == "group norm, G = 8"
    assert v.then(dropout=0.2, epochs=40).label == "group norm, G = 8 + dropout 0.2 + 40 epochs"
    assert Variant(norm="batch", plateau=False, momentum=0.95).label == (
        "batch norm + no scheduler + momentum 0.95")
    base = length_stride_table.shallow_config(load_profile("quick"), CHOSEN)
    cfg = v.then(dropout=0.2).apply(base)
    assert (cfg.norm, cfg.groups, cfg.dropout, cfg.lr) == ("group", 8, 0.2, 0.0075)
    assert Variant().apply(base) == base


def test_search_keeps_the_best_value_of_each_stage():
    # Validation AUC peaks at minmax, 64 filters, lr 0.0075, momentum 0.95.
    best = {"input_norm": "minmax", "filters": 64, "lr": 0.0075, "momentum": 0.95}
    rec = scored(lambda c: 0.9 - 0.1 * (c.input_norm != "minmax")
                 - 0.001 * abs(np.log2(c.filters / 64)) - 2 * abs(c.lr - 0.0075)
                 - 0.1 * abs(c.momentum - 0.95))
    profile = load_profile("full").replace(search_trials=2, search_keep_filters=None,
                                           search_start="fixed")
    search = hyperparameter_search.run(profile, rec)
    assert [s.stage.name for s in search.stages] == [
        "input_norm", "filters", "lr", "lr_fine", "momentum"]
    assert search.stage("input_norm").values == list(profile.search_input_norms)
    assert search.stage("lr_fine").values == [0.005, 0.0075, 0.01]
    assert search.chosen == best
    # Each stage starts from the previous stage's kept configuration; 2 seeds per value.
    grids = [configs for _, configs in rec.grids]
    assert all(c.input_norm == "minmax" for c in grids[1])
    assert all(c.filters == 64 and c.lr == 0.0075 for c in grids[4])
    assert [c.seed for c in grids[0]][:2] == [0, 1] and len(grids[0]) == 6
    assert grids[0][0].epochs == profile.search_epochs

    out = hyperparameter_search.save(profile, search)
    # full trains the later tables with the report's recipe; a profile may follow its search.
    assert hyperparameter_search.chosen_config(profile) == {
        "input_norm": "minmax", "filters": 32, "lr": 0.0075, "momentum": 0.95}
    assert hyperparameter_search.chosen_config(profile.replace(recipe_from_search=True)) == best
    findings = read_artifact("02_hyperparameter_search", "full")["findings"]
    assert {"search.input_norm.none", "search.lr.0.0075", "search.lr.0.1",
            "search.momentum.0.95", "search.filters.32"} <= set(findings)
    assert findings["search.lr.0.0075"]["n"] == 2
    assert list(search.stage("input_norm").display()["kept"]) == ["", "", "yes"]
    comparison = search.comparison.set_index("stage")
    assert comparison.loc["filters", "kept"] == "64"
    assert comparison.loc["filters", "same_choice"] == False  # noqa: E712
    assert comparison.loc["momentum", "same_choice"] == True  # noqa: E712
    assert (search.same_choices, search.compared) == (3, 4)
    assert comparison.loc["input_norm", "report_val_roc_auc"] == pytest.approx(0.72)
    assert [slug for _, slug, _ in out.items][:2] == ["02_hyperparameter_search_input_norm"] * 2


def test_search_starts_at_random_and_keeps_the_reports_32_filters():
    rec = scored(lambda c: 0.8 - 0.001 * abs(np.log2(c.filters / 64)))
    profile = load_profile("full")  # search.start random, search.keep_filters 32
    search = hyperparameter_search.run(profile, rec)
    filters = search.stage("filters")
    assert filters.best == 32 and filters.best_on_validation == 64
    assert list(filters.table["kept"]) == [v == 32 for v in filters.values]
    assert search.chosen["filters"] == 32
    # The start is drawn from each stage's grid, the same for the same seed.
    start = hyperparameter_search.start_values(profile)
    assert start["input_norm"] in profile.search_input_norms
    assert start["lr"] in profile.search_lrs and start["momentum"] in profile.search_momenta
    assert start == hyperparameter_search.start_values(profile)
    assert rec.grids[0][1][0].lr == start["lr"]
    others = {str(hyperparameter_search.start_values(profile.replace(search_seed=k)))
              for k in range(8)}
    assert len(others) > 1
    # Pinned values replace the draw; the other fields keep it.
    pinned = hyperparameter_search.start_values(profile.replace(search_start_lr=0.1,
                                                                search_start_momentum=0.97))
    assert pinned == {**start, "lr": 0.1, "momentum": 0.97}
    with pytest.raises(MtlibError, match="not in its grid"):
        hyperparameter_search.run(profile.replace(search_keep_filters=33), rec)


def test_missing_artifact_names_the_notebook_to_run():
    with pytest.raises(MtlibError, match="run notebook 02_hyperparameter_search with profile "
                                         "'smoke'.*--only 02"):
        hyperparameter_search.chosen_config(load_profile("smoke"))


def test_table1_grid_and_artifact():
    rec = scored(lambda c: 0.8 - abs(c.stride - 512) / 10000 + 0.01 * (c.frontend == "logmel"))
    profile = load_profile("quick").replace(shallow_trials=3, table1_logmel=True)
    t1 = length_stride_table.run(profile, CHOSEN, rec)
    configs = rec.configs()
    raw = [c for c in configs if c.frontend == "raw" and c.output_prior]
    assert len(raw) == 7 * 3 and {c.seed for c in raw} == {0, 1, 2}
    # The prior arm: the report's best pair without quick's output prior, same seeds.
    arm = [c for c in configs if not c.output_prior]
    assert {(c.length, c.stride) for c in arm} == {(256, 256)} and len(arm) == 3
    assert {(c.length, c.stride) for c in configs if c.frontend == "logmel"} == {
        (1024, 1024), (256, 256)}
    assert all(c.lr == 0.0075 and c.epochs == profile.shallow_epochs for c in configs)
    length_stride_table.save(profile, t1)
    art = read_artifact("03_length_stride_table", "quick")
    assert art["best_pair"] == [1024, 512]
    assert art["findings"]["table1.raw.256-256"]["n"] == 3
    assert "dieleman.logmel.256-256" in art["findings"]
    shown = length_stride_table.table_view(t1)
    assert list(shown["ROC-AUC % (report)"])[:2] == ["81.07%", "81.66%"]
    assert shown["log-mel (ours)"].iloc[0] != "" and shown["log-mel (ours)"].iloc[1] == ""
    assert len(shown) == 7 and len(t1.prior_arm) == 1
    effect = t1.prior_effect()
    assert (effect["length"], effect["stride"]) == (256, 256)
    # The CSV holds numbers: the report's column is an AUC in 0-1.
    csv = pd.read_csv(paths.table_path("03_length_stride_table", "csv"))
    assert csv["report_test_roc_auc"].iloc[0] == pytest.approx(0.8107)
    assert csv["test_roc_auc_mean"].dtype == float


def test_table2_steps_keep_the_best_variant():
    rec = scored(lambda c: {"batch": 0.80, "layer": 0.82, "group": 0.83}[c.norm]
                 + 0.002 * (c.groups == 4) + (c.dropout or 0) / 10)
    profile = load_profile("quick").replace(table2_group_counts=(2, 4, 8, 16))
    base = length_stride_table.shallow_config(profile, CHOSEN)
    t2 = normalisation_dropout.run(profile, base, rec)
    assert t2.kept_norm == Variant(norm="group", groups=4) == t2.best_group
    assert t2.best_dropout == max(profile.table2_dropouts)
    assert t2.final_config.epochs == profile.shallow_long_epochs
    assert (t2.final_config.norm, t2.final_config.groups) == ("group", 4)
    assert len(rec.grids) == 3
    findings = normalisation_dropout.findings(t2)
    assert set(findings) == {"table2.batch", "table2.layer", "table2.group", "table2.dropout",
                             "table2.long", "table2.kept"}
    assert findings["table2.kept"] == findings["table2.group"]
    assert findings["table2.group"]["note"] == "group norm, G = 4"
    frame = t2.frame.set_index("variant")
    assert frame.loc["batch norm", "report_test_roc_auc"] == pytest.approx(0.8169)
    assert np.isnan(frame.loc["group norm, G = 2", "report_test_roc_auc"])
    assert list(t2.test_by_norm()) == ["group norm", "layer norm", "batch norm"]
    normalisation_dropout.save(profile, t2)
    assert normalisation_dropout.best_group_count(profile) == 4
    assert not paths.bundle_dir(normalisation_dropout.SLUG, "quick").exists()  # no weights


def test_samplecnn_steps():
    rec = scored(lambda c: 0.7 + 0.01 * (c.norm == "group") + 0.1 * c.momentum)
    profile = load_profile("quick").replace(samplecnn_momenta=(0.9, 0.95, 0.99),
                                            samplecnn_norms=("group", "batch", "none"),
                                            samplecnn_lee_reference=True)
    study = samplecnn.run(profile, group_count=8, executor=rec)
    first = rec.grids[0][1][0]
    assert (first.model, first.norm, first.nesterov, first.plateau, first.lr) == (
        "samplecnn", "batch", True, True, 0.01)
    assert first.sample_rate == profile.samplecnn_sample_rate and first.train_eval_clips == 0
    assert first == samplecnn.samplecnn_base(profile)
    assert first.amp is profile.samplecnn_amp is True  # quick trains SampleCNN in bf16
    assert study.best_momentum == 0.99
    assert study.kept_norm == Variant(norm="group", groups=8, plateau=True)
    assert [a.norm for a in study.norm_arms] == ["group", "batch", "none"]
    assert list(study.steps["step"]) == ["recreation", "normalisation", "no scheduler",
                                         "momentum", "epochs", "Lee et al.'s recipe"]
    assert study.final_results[0].config.epochs == profile.samplecnn_long_epochs
    assert study.final_results[0].config.plateau is False
    steps = study.steps.set_index("step")
    assert steps.loc["no scheduler", "report_val_roc_auc"] == pytest.approx(0.874)
    # The report scores its recreation on test (0.86), not on validation.
    assert steps.loc["recreation", "report_test_roc_auc"] == pytest.approx(0.86)
    assert np.isnan(steps.loc["recreation", "report_val_roc_auc"])
    # The batch-norm arm is the recreation itself: trained once.
    configs = rec.configs()
    assert len(configs) == len({c.run_id for _, g in rec.grids for c in g})
    lee = [c for c in configs if c.sample_rate == samplecnn.LEE_RECIPE["sample_rate"]]
    assert len(lee) == profile.samplecnn_trials and lee[0].batch_clips == 23
    assert (lee[0].segments, lee[0].train_segments, lee[0].loss) == (0, "all", "unit")
    shallow = [fake_result(first.replace(model="dieleman", seed=s), 0.8, 0.7) for s in range(2)]
    ours = [fake_result(r.config, 0.8, 0.77) for r in study.final_results]
    study.final_results = ours
    comparison = samplecnn.compare(study, shallow)
    assert comparison.guitar_gain == pytest.approx(10.0)
    assert (comparison.wins, comparison.n_tags) == (2, 2)
    findings = samplecnn.findings(study, comparison)
    assert findings["samplecnn.no_scheduler_gain"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert findings["samplecnn.recreation"]["note"] == "batch norm + plateau scheduler"
    assert findings["lee2017.test"]["mean"] == pytest.approx(study.lee_test)
    assert "samplecnn.momentum.0.99" in findings
    assert findings["samplecnn.guitar_gain"]["value"] == pytest.approx(10.0)


def test_per_tag_and_curves():
    cfg = length_stride_table.shallow_config(load_profile("quick"), CHOSEN)
    runs = [fake_result(cfg.replace(seed=s), 0.8, 0.7 + s / 100) for s in range(2)]
    per_tag = per_tag_analysis.per_tag_table(runs)
    assert list(per_tag["tag"]) == ["piano", "guitar"]  # most training positives first
    assert per_tag["roc_auc"].iloc[1] == pytest.approx(0.705)
    curve = training_curves.curves(runs)
    assert training_curves.peak_epoch(curve) == 2


def write_findings(profile, findings_by_slug):
    for slug, findings in findings_by_slug.items():
        write_artifact(slug, profile, {"findings": findings})


def test_summary_sets_every_published_number_beside_ours():
    smoke = load_profile("smoke")
    write_findings("smoke", {
        "03_length_stride_table": {
            "table1.raw.256-256": measurement(0.8244, 0.0012, 5),
            "dieleman.raw.256-256": measurement(0.8244, 0.0012, 5),
        },
        "04_training_curves": {"figure3.best_epoch": {"value": 7, "note": "peak"}},
        "05_per_tag_analysis": {"figure4.most_frequent_tag": {"value": "piano", "note": ""}},
        "07_samplecnn": {"samplecnn.no_scheduler_gain": {"value": -0.0021, "note": ""},
                         "samplecnn.guitar_gain": {"value": 3.14, "note": ""}},
    })
    s = summary.run(smoke)
    keys = [p.key for p in PUBLISHED]
    shown = summary.display_published(s)
    ours = dict(zip(keys, shown["ours (smoke)"], strict=True))
    assert ours["table1.raw.256-256"] == "82.44 ± 0.12"
    assert ours["dieleman.raw.256-256"] == "0.8244 ± 0.0012"
    assert ours["figure3.best_epoch"] == "7"
    assert ours["figure4.most_frequent_tag"] == "piano"
    assert ours["samplecnn.no_scheduler_gain"] == "-0.002"
    assert ours["samplecnn.guitar_gain"] == "+3.1%"
    assert ours["table2.long"] == "—"
    table = s.published.set_index("key")
    assert table.loc["table1.raw.256-256", "published"] == pytest.approx(82.44)
    assert table.loc["table1.raw.256-256", "ours_mean"] == pytest.approx(0.8244)
    assert table.loc["figure4.most_frequent_tag", "ours_label"] == "piano"
    assert table.loc["table2.long", "note"] == "not measured by this profile"
    assert s.n_measured == 6


def test_summary_judges_the_claims_on_the_sections_arms():
    # Claims read the arms' run ids from the artifacts; here no run is in the store, so every
    # claim is "not measured", never a verdict made up from nothing.
    smoke = load_profile("smoke")
    write_artifact("06_normalisation_dropout", "smoke", {"findings": {}, "arms": {
        "table2.layer": ["nothere1"], "table2.batch": ["nothere2"]}})
    s = summary.run(smoke)
    assert set(s.claims["verdict"]) == {"not measured"}
    assert s.verdicts["not measured"] == (s.claims["group"] == "report").sum()
    shown = summary.display_claims(s).set_index("claim")
    assert shown.loc["layer norm beats batch norm", "report"] == "+0.020 (test)"
    # The report's Section V numbers are validation AUCs, and say so.
    assert shown.loc["some input normalisation is needed: min-max beats none",
                     "report"] == "+0.190 (validation)"
    assert "Section IX" not in set(shown["section"]) and "IX" not in set(shown["section"])


def test_settings_note_lists_what_quick_shrinks():
    note = settings_note(load_profile("quick"), ["shallow_epochs", "table1_pairs"])
    assert "`shallow_epochs`" in note and "30 in the report" in note
    assert "table1_pairs" not in note
    assert "match profile `full`" in settings_note(load_profile("full"), ["shallow_epochs"])
    pinned = settings_note(load_profile("quick"), ["search_start_lr"])
    assert "`search_start_lr`: 0.1 here, unset in the report" in pinned


def test_settings_note_says_the_report_only_where_the_report_states_the_value():
    quick = load_profile("quick")
    note = settings_note(quick, ["table1_logmel", "samplecnn_trials", "samplecnn_amp",
                                 "samplecnn_lee_reference", "data_name"]).splitlines()
    # full's own arms: the report has no log-mel column and no Lee et al. arm.
    assert "- `table1_logmel`: False here, True in profile `full` (not the report's: " \
           "notebook 08 says why)" in note
    assert any(line.startswith("- `samplecnn_lee_reference`: False here, True in profile "
                               "`full` (not the report's") for line in note)
    # The report does not state its trials or precision: full's values are our readings.
    assert "- `samplecnn_trials`: 1 here, 3 in profile `full` (our reading: the report is " \
           "silent or ambiguous)" in note
    assert any(line.startswith("- `samplecnn_amp`: True here, False in profile `full` (our "
                               "reading") for line in note)
    # A name no ledger setting reads is full's alone.
    assert "- `data_name`: standin-quick-2 here, mtat in profile `full`" in note
    assert not [line for line in note if "in the report" in line]



def test_plan_of_the_full_profile_counts_every_run_once():
    table = plan(load_profile("full"))
    assert list(table["notebook"].unique()) == [
        "02_hyperparameter_search", "03_length_stride_table", "06_normalisation_dropout",
        "07_samplecnn", "09_future_work"]
    # 5 search stages, Table I, 3 Table II steps, 5 SampleCNN steps and Lee et al.'s recipe in
    # 3 grids (two pairs of independent steps train together, and the recipe, which needs
    # nothing of the chain, with the first pair), and notebook 09's grid (one row per model).
    assert len(table) == 14
    # Notebook 09: log-mel, widened raw audio, harmonic and label embedding x 5 trials on the
    # shallow CNN (its raw arm is Table II's dropout step); SampleCNN's base gains trials 3 and
    # 4, and the label embedding trains 5.
    future = table[table["notebook"] == "09_future_work"].set_index("model")["runs"]
    assert future["dieleman"] == 4 * 5 and future["samplecnn"] == 2 + 5
    by_model = table.groupby("model")["runs"].sum()
    # Table I: 7 raw + 2 log-mel pairs + the prior arm, x 5 trials, less the 256/256 trial 0
    # the search ran.
    assert table.loc[table["grid"] == "Table I", "runs"].item() == 10 * 5 - 1
    # Recreation, 3 norms (batch = the recreation), no scheduler, 10 momenta (0.90 = no
    # scheduler), more epochs, Lee et al.: 3 trials each.
    assert by_model["samplecnn"] == (1 + 2 + 1 + 9 + 1 + 1) * 3 + 2 + 5
    # The last step of each chain continues the step before it: Table II's 40-epoch runs
    # train 10 epochs each, SampleCNN's 30-epoch runs 10 (5 and 3 trials).
    long = table.set_index(["notebook", "grid"])["total_epochs"]
    assert long[("06_normalisation_dropout", "epochs (1 variant(s))")] == 5 * 10
    assert long[("07_samplecnn", "epochs (1 variant(s))")] == 3 * 10
    whole = (table["runs"] * table["epochs"].astype(int)).sum()
    assert table["total_epochs"].sum() == whole - 5 * 30 - 3 * 20


def test_save_table_keeps_numbers_and_refuses_text_numbers():
    from mtlib.report.tables import save_table

    df = pd.DataFrame({"pair": ["256/256", "1024/1024"], "auc": [0.82441, 0.8]})
    csv, md = save_table(df, "03_length_stride_table")
    assert pd.read_csv(csv).equals(df)
    assert md.read_text().splitlines()[:3] == [
        "| pair      |    auc |", "| --------- | -----: |", "| 256/256   | 0.8244 |"]
    with pytest.raises(ValueError, match="formatted numbers"):
        save_table(df.assign(auc=["82.4 ± 0.3", "80.0 ± 0.1"]), "03_length_stride_table")
    with pytest.raises(ValueError, match="not listed in mtlib.report.products"):
        save_table(df, "03_demo")
    with pytest.raises(ValueError, match="bad output slug"):
        save_table(df, "Demo table")


def _imports(module_name: str, modules: set[str]) -> set[str]:
    """mtlib modules that ``module_name`` imports, at module level or inside functions
    (``from mtlib.data import cache`` imports the module mtlib.data.cache)."""
    spec = importlib.util.find_spec(module_name)
    tree = ast.parse(open(spec.origin, encoding="utf-8").read())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mtlib"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("mtlib"))
    return out


def test_mtlib_has_no_import_cycle():
    modules = {m.name for m in pkgutil.walk_packages(mtlib.__path__, "mtlib.")}
    graph = {m: {i for i in _imports(m, modules) if i in modules and i != m} for m in modules}
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = stack[stack.index(n):] + [n] if n in stack else [m, n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n, stack + [n])
        state[m] = 2

    for m in sorted(modules):
        if m not in state:
            visit(m, [m])


def test_shown_tables_left_align_text_and_accept_repeated_row_labels():
    from mtlib.report.outputs import styled

    table = pd.DataFrame({"clip": ["best", "worst"], "clip_auc": [0.9, 0.4]}, index=[3, 3])
    html = styled(table).to_html()
    assert "best" in html and "worst" in html and "text-align: left" in html


def test_future_work_compares_the_harmonic_arm_with_raw_audio_of_its_size():
    # a base read from an older artifact: its late fields take their legacy values
    stored = RunConfig(length=1024, stride=1024, norm="group", dropout=0.2).to_dict()
    for name in ("spectral_dc", "harmonic_f0"):
        del stored[name]
    shallow = RunConfig.from_dict(stored)
    arms = {a.key: a for a in future_work.arms(load_profile("quick"), shallow,
                                               RunConfig(model="samplecnn"))}
    harmonic, wide = arms["future.shallow.harmonic"], arms["future.shallow.raw_wide"]
    assert harmonic.base_key == wide.key and wide.base_key == "future.shallow.raw"
    # today's settings whatever the base: DC removed, Won et al.'s fixed fundamentals
    assert (harmonic.config.spectral_dc, harmonic.config.harmonic_f0) == ("remove", "fixed")
    assert arms["future.shallow.logmel"].config.spectral_dc == "remove"
    assert wide.config == shallow.replace(filters=wide.config.filters)
    counts = {k: future_work.parameters(arms[k].config) for k in arms if "shallow" in k}
    per_filter = (future_work.parameters(shallow.replace(filters=2))
                  - future_work.parameters(shallow.replace(filters=1)))
    assert abs(counts[wide.key] - counts[harmonic.key]) <= per_filter / 2
    assert counts[harmonic.key] > 3 * counts["future.shallow.raw"]
    assert f"F = {wide.config.filters}" in wide.label
