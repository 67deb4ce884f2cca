"""Experiment logic of the notebooks, with training replaced by a scoring function of the
config (the grids, the stage order and what each stage keeps are what is tested here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtlib import experiments as ex
from mtlib import plots
from mtlib.errors import MtlibError
from mtlib.experiments import common
from mtlib.profiles import load_profile
from mtlib.runs import RunResult


@pytest.fixture(autouse=True)
def _own_results(tmp_path, monkeypatch):
    # Artifacts written here must not mix with the session's smoke report.
    monkeypatch.setenv("MTLIB_RESULTS_DIR", str(tmp_path / "results"))

def fake_result(cfg, val: float, test: float | None = None) -> RunResult:
    test = val - 0.01 if test is None else test
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": [1.0, 0.9],
                            "train_roc_auc": [0.6, 0.7], "val_roc_auc": [val - 0.02, val],
                            "val_pr_auc": [0.2, 0.3], "lr": [cfg.lr, cfg.lr],
                            "seconds": [1.0, 1.0]})
    metrics = {"val_roc_auc": val, "test_roc_auc": test, "test_pr_auc": test / 2,
               "best_epoch": 2, "epochs_run": 2, "train_seconds": 2.0,
               "per_tag": {"guitar": {"roc_auc": test, "pr_auc": 0.4, "n_train_pos": 30},
                           "piano": {"roc_auc": test + 0.05, "pr_auc": 0.5, "n_train_pos": 40}}}
    return RunResult(cfg.run_id, cfg, None, metrics, history)


@pytest.fixture
def trained(monkeypatch):
    """Replace training by ``score(config) -> validation AUC``; records every config."""
    calls = []

    def install(score):
        def run(configs, executor="local", progress=True):
            calls.append(list(configs))
            return [fake_result(c, score(c) + 0.001 * c.seed) for c in configs]

        monkeypatch.setattr(common, "run", run)
        return calls

    return install


def test_lr_fine_grid_generalises_the_report():
    coarse = [0.1, 0.05, 0.01, 0.005, 0.001]
    # The report: best 0.01, its better neighbour 0.005 -> 0.005, 0.0075, 0.01.
    assert ex.lr_fine_grid(coarse, [0.5, 0.6, 0.8, 0.78, 0.7], 3) == [0.005, 0.0075, 0.01]
    assert ex.lr_fine_grid(coarse, [0.5, 0.79, 0.8, 0.78, 0.7], 3) == [0.01, 0.03, 0.05]
    # The best at the edge of the grid has one neighbour; 5 points.
    assert ex.lr_fine_grid(coarse, [0.9, 0.8, 0.7, 0.6, 0.5], 5) == [0.05, 0.0625, 0.075,
                                                                    0.0875, 0.1]
    # Unsorted grids and a tie between neighbours (the smaller rate wins).
    assert ex.lr_fine_grid([0.01, 0.1, 0.001], [0.8, 0.7, 0.7], 3) == [0.001, 0.0055, 0.01]


def test_aggregate_and_mean_std():
    frame = pd.DataFrame({"run_id": list("abcd"), "value": [1, 1, 2, 2],
                          "val_roc_auc": [0.7, 0.8, 0.6, np.nan],
                          "test_roc_auc": [0.7, 0.9, 0.5, 0.5], "test_pr_auc": [0.1] * 4})
    agg = ex.aggregate(frame, ["value"])
    assert list(agg["value"]) == [1, 2] and list(agg["trials"]) == [2, 2]
    assert agg["val_roc_auc_mean"].iloc[0] == pytest.approx(0.75)
    assert agg["test_roc_auc_std"].iloc[0] == pytest.approx(np.std([0.7, 0.9], ddof=1))
    assert agg["run_ids"].iloc[1] == ["c", "d"]
    assert ex.mean_std(0.82444, 0.0031) == "0.824 ± 0.003"
    assert ex.mean_std(0.82444, 0.0031, 2, percent=True) == "82.44 ± 0.31"
    assert ex.mean_std(0.82444, float("nan")) == "0.824"
    assert ex.mean_std(float("nan"), 0.1) == "—"


def test_coordinate_search_keeps_the_best_value_of_each_stage(trained):
    # Validation AUC peaks at minmax, 64 filters, lr 0.0075, momentum 0.95.
    best = {"input_norm": "minmax", "filters": 64, "lr": 0.0075, "momentum": 0.95}

    def score(c):
        return (0.9 - 0.1 * (c.input_norm != "minmax") - 0.001 * abs(np.log2(c.filters / 64))
                - 2 * abs(c.lr - 0.0075) - 0.1 * abs(c.momentum - 0.95))

    calls = trained(score)
    profile = load_profile("quick").replace(search_trials=2)
    stages = list(ex.coordinate_search(profile))
    assert [s.name for s in stages] == ["input_norm", "filters", "lr", "lr_fine", "momentum"]
    assert stages[0].values == list(profile.search_input_norms)
    assert stages[3].values == [0.005, 0.0075, 0.01]
    assert {s.field: s.best for s in stages if s.name != "lr"} == best
    # Each stage starts from the previous stage's kept configuration; 2 seeds per value.
    assert all(c.input_norm == "minmax" for c in calls[1])
    assert all(c.filters == 64 and c.lr == 0.0075 for c in calls[4])
    assert [c.seed for c in calls[0]][:2] == [0, 1] and len(calls[0]) == 6
    assert calls[0][0].epochs == profile.search_epochs
    assert calls[0][0].max_train_clips == profile.search_max_train_clips

    ex.write_search(profile, stages)
    assert ex.chosen_config(profile) == best
    findings = ex.read_artifact("02_hyperparameter_search", "quick")["findings"]
    assert {"search.input_norm.none", "search.lr.0.0075", "search.lr.0.1",
            "search.momentum.0.95", "search.filters.32"} <= set(findings)
    assert findings["search.lr.0.0075"]["n"] == 2
    shown = stages[0].display_table()
    assert list(shown["kept"]) == ["", "", "yes"]
    comparison = ex.search_comparison(stages).set_index("stage")
    assert comparison.loc["filters", "kept (ours)"] == "64"
    assert comparison.loc["filters", "same choice"] == "no"
    assert comparison.loc["momentum", "same choice"] == "yes"
    assert comparison.loc["learning rate (coarse)", "kept (report)"] == "—"
    assert comparison.loc["input normalisation", "validation ROC-AUC (report)"] == "0.72"


def test_missing_artifact_names_the_notebook_to_run():
    with pytest.raises(MtlibError, match="run notebook 02_hyperparameter_search with profile "
                                         "'smoke'.*--only 02"):
        ex.chosen_config(load_profile("smoke"))


def test_table1_grid_and_artifact(trained):
    trained(lambda c: 0.8 - abs(c.stride - 512) / 10000 + 0.01 * (c.frontend == "logmel"))
    profile = load_profile("quick").replace(shallow_trials=3, table1_logmel=True)
    chosen = {"input_norm": "minmax", "filters": 32, "lr": 0.0075, "momentum": 0.95}
    configs = ex.table1_configs(profile, chosen)
    raw = [c for c in configs if c.frontend == "raw"]
    assert len(raw) == 7 * 3 and {c.seed for c in raw} == {0, 1, 2}
    assert {(c.length, c.stride) for c in configs if c.frontend == "logmel"} == {
        (1024, 1024), (256, 256)}
    assert all(c.lr == 0.0075 and c.epochs == profile.shallow_epochs for c in configs)
    table = ex.table1(common.run(configs))
    ex.write_table1(profile, table)
    art = ex.read_artifact("03_length_stride_table", "quick")
    assert art["best_pair"] == [1024, 512] or art["best_pair"] == [512, 512]
    assert art["findings"]["table1.raw.256-256"]["n"] == 3
    assert "dieleman.logmel.256-256" in art["findings"]
    shown = ex.table1_display(table)
    assert list(shown["ROC-AUC % (report)"])[:2] == ["81.07%", "81.66%"]
    assert shown["log-mel (ours)"].iloc[0] != "" and shown["log-mel (ours)"].iloc[1] == ""


def test_table2_steps_keep_the_best_variant(trained):
    def score(c):
        return {"batch": 0.80, "layer": 0.82, "group": 0.83}[c.norm] + 0.002 * (
            c.groups == 4) + (c.dropout or 0) / 10

    calls = trained(score)
    profile = load_profile("quick").replace(table2_group_counts=(2, 4, 8, 16))
    base = ex.shallow_config(profile, {"input_norm": "minmax", "filters": 32, "lr": 0.01,
                                       "momentum": 0.9})
    t2 = ex.run_table2(profile, base)
    assert t2.best_norm == "group norm, G = 4" and ex.best_group_label(t2) == t2.best_norm
    assert t2.best_dropout == max(profile.table2_dropouts)
    assert t2.final_config.epochs == profile.shallow_long_epochs
    assert t2.final_config.norm == "group" and t2.final_config.groups == 4
    assert len(calls) == 3
    findings = ex.table2_findings(t2)
    assert set(findings) == {"table2.batch", "table2.layer", "table2.group", "table2.dropout",
                             "table2.long", "table2.kept"}
    assert findings["table2.kept"] == findings["table2.group"]
    assert findings["table2.group"]["note"] == "group norm, G = 4"
    published = ex.table2_published(t2)
    assert published["batch norm"] == pytest.approx(0.8169)
    assert "group norm, G = 2" not in published
    ex.write_table2(profile, t2)
    assert ex.best_shallow_run_id("quick") in {r.run_id for r in t2.final_results}


def test_samplecnn_steps(trained):
    calls = trained(lambda c: 0.7 + 0.01 * (c.norm == "group") + 0.1 * c.momentum)
    profile = load_profile("quick").replace(samplecnn_momenta=(0.9, 0.95, 0.99))
    study = ex.run_samplecnn(profile, group_count=8)
    first = calls[0][0]
    assert (first.model, first.norm, first.nesterov, first.plateau, first.lr) == (
        "samplecnn", "batch", True, True, 0.01)
    assert first.sample_rate == profile.samplecnn_sample_rate and first.train_eval_clips == 0
    assert study.best_momentum == 0.99
    assert len(study.steps) == 5
    assert study.final_results[0].config.epochs == profile.samplecnn_long_epochs
    assert study.final_results[0].config.plateau is False
    findings = ex.samplecnn_findings(study, guitar_gain=12.5)
    assert findings["samplecnn.no_scheduler_gain"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert findings["lee2017.test"] == findings["samplecnn.long.test"]
    assert "samplecnn.momentum.0.99" in findings
    published = ex.samplecnn_published(study)
    assert list(published.values())[2] == pytest.approx(0.874)


def test_per_tag_tables():
    profile = load_profile("quick")
    cfg = ex.shallow_config(profile, {"input_norm": "minmax", "filters": 32, "lr": 0.01,
                                      "momentum": 0.9})
    runs = [fake_result(cfg.replace(seed=s), 0.8, 0.7 + s / 100) for s in range(2)]
    per_tag = ex.per_tag_table(runs)
    assert list(per_tag["tag"]) == ["piano", "guitar"]  # most training positives first
    assert per_tag["roc_auc"].iloc[1] == pytest.approx(0.705)
    assert ex.per_tag_findings(per_tag)["figure4.most_frequent_tag"]["value"] == "piano"
    curve = ex.curves(runs)
    assert ex.peak_epoch(curve) == 2
    compare = ex.compare_per_tag(per_tag, per_tag.assign(roc_auc=per_tag["roc_auc"] * 1.1))
    assert compare["gain_%"].to_numpy() == pytest.approx([10.0, 10.0])


def test_settings_note_lists_what_quick_shrinks():
    note = ex.settings_note(load_profile("quick"), ["shallow_epochs", "table1_pairs"])
    assert "`shallow_epochs`" in note and "30 in the report" in note
    assert "table1_pairs" not in note
    note = ex.settings_note(load_profile("full"), ["shallow_epochs"])
    assert "match the report" in note


def test_save_table_and_figure(tmp_path):
    df = pd.DataFrame({"pair": ["256/256", "1024/1024"], "auc": [0.82441, 0.8]})
    csv, md = plots.save_table(df, "03_demo")
    assert pd.read_csv(csv).equals(df)
    assert md.read_text().splitlines()[:3] == [
        "| pair      |    auc |", "| --------- | -----: |", "| 256/256   | 0.8244 |"]
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    png, pdf = plots.save_figure(fig, "03_demo")
    first = pdf.read_bytes()
    plots.save_figure(fig, "03_demo")
    assert png.read_bytes()[:4] == b"\x89PNG" and pdf.read_bytes() == first
    assert not list(png.parent.glob(".*tmp"))  # no temporary files left behind
    with pytest.raises(ValueError, match="bad output slug"):
        plots.save_table(df, "Demo table")
