"""The report's settings: every profile departs from them only with a declared reason, and the
full profile's planned runs carry the report's values."""

from __future__ import annotations

import pytest

from mtlib import paths
from mtlib.errors import MtlibError
from mtlib.paper import ledger
from mtlib.paper.claims import RAW_WIDE
from mtlib.report.plan import _record, record
from mtlib.report.profiles import available, load_profile


@pytest.mark.parametrize("name", available())
def test_every_departure_of_every_profile_is_declared(name):
    ledger.check(load_profile(name))


def test_an_undeclared_or_stale_reason_fails():
    full = load_profile("full")
    with pytest.raises(MtlibError, match="without a reason: shallow.epochs"):
        ledger.check(full.replace(shallow_epochs=20))
    with pytest.raises(MtlibError, match="does not change: shallow.epochs"):
        ledger.check(full.replace(deviations={**dict(full.deviations),
                                              "shallow.epochs": "no reason"}))


def test_full_departs_only_where_it_adds_an_arm_or_cannot_follow():
    table = ledger.deviations(load_profile("full")).set_index("key")
    assert set(table.index) == {"data.clips", "data.vocabulary", "table1.selection",
                                "table2.selection", "table1.logmel", "table1.prior_arm",
                                "samplecnn.lee_reference"}
    assert table.loc["data.clips", "report"] == "21,355 clips, 72.23 / 7.20 / 20.56 %"
    # The vocabulary compares lists, not counts: none of Sec. VII's six tags is ours.
    assert table.loc["data.vocabulary", "report"].startswith("foreign, no singer")
    assert table.loc["data.vocabulary", "profile"] == "none"
    assert all(table["why"].str.len() > 40)


def test_the_full_plan_carries_the_reports_settings():
    full = load_profile("full")
    configs = record(full)[0].configs()
    shallow = [c for c in configs if c.model == "dieleman"]
    deep = [c for c in configs if c.model == "samplecnn"]
    # Every shallow run: the report's loss, batch and sample rate; no prior but in its arm.
    assert {(c.loss, c.batch_clips, c.sample_rate) for c in shallow} == {("clip", 10, 12000)}
    prior = [c for c in shallow if c.output_prior]
    assert {(c.length, c.stride) for c in prior} == {(256, 256)} and len(prior) == 5
    assert {c.epochs for c in shallow} == {30, 40}
    # The search keeps 32 filters; every later shallow run has them.
    assert {c.filters for c in shallow if c.epochs == 40} == {32}
    # SampleCNN: the report's recreation, except the Lee et al. reference arm.
    report_arms = [c for c in deep if c.sample_rate == 12000]
    assert {(c.batch_clips, c.segments, c.train_segments, c.loss, c.plateau_epochs)
            for c in report_arms} == {(10, 10, "all", "clip", 3)}
    assert {c.norm for c in report_arms} == {"group", "batch", "none"}
    assert {c.momentum for c in report_arms} == set(ledger.MOMENTA)
    assert {c.epochs for c in report_arms} == {20, 30}
    lee = [c for c in deep if c.sample_rate != 12000]
    assert {(c.sample_rate, c.batch_clips, c.segments, c.loss) for c in lee} == {
        (22050, 23, 0, "unit")}


def test_readings_say_why():
    readings = ledger.readings().set_index("key")
    assert "garbled" in readings.loc["samplecnn.segments", "why"]
    assert all(readings["why"].str.len() > 10)


def test_ledger_knows_which_settings_a_profile_field_moves():
    full = load_profile("full")
    assert [s.key for s in ledger.settings_of("shallow_epochs", 15, full)] == ["shallow.epochs"]
    assert [s.key for s in ledger.settings_of("search_start_lr", 0.1, full)] == ["search.start"]
    assert ledger.settings_of("data_name", "standin-quick-2", full) == []
    assert ledger.report_states("shallow_epochs", 15, full)
    assert not ledger.report_states("table1_logmel", False, full)  # full adds the column
    assert not ledger.report_states("samplecnn_trials", 1, full)  # the report is silent


def test_the_readings_match_the_code():
    """What the ledger says the code does, it does: dropout before both dense layers, and
    group norm on the 100-unit dense layer with gcd(G, 100) groups."""
    from torch import nn

    from mtlib.config import RunConfig
    from mtlib.models import build_model

    model = build_model(RunConfig(norm="group", groups=8, dropout=0.2), 5, 12_000)
    layers = [m for m in model.modules() if isinstance(m, nn.Dropout | nn.Linear)]
    kinds = [type(m).__name__ for m in layers]
    assert kinds == ["Dropout", "Linear", "Dropout", "Linear"]
    dense_norms = [m for m in model.modules()
                   if isinstance(m, nn.GroupNorm) and m.num_channels == 100]
    assert [m.num_groups for m in dense_norms] == [4]
    readings = ledger.readings().set_index("key")
    assert readings.loc["table2.dense_groups", "our reading"] == "gcd(G, 100) groups"
    # What the report states is no reading of ours.
    assert "shallow.batch_clips" not in readings.index
    assert "search.lr_fine_points" not in readings.index


def test_full_trains_every_table_from_table1_on_with_the_reports_recipe():
    rec, spans, named = _record(load_profile("full"))
    first = spans["03_length_stride_table"][0]
    later = [c for _, grid in rec.grids[first:] for c in grid if c.model == "dieleman"]
    # notebook 09's matched-capacity arm widens the filters, and only it
    wide = set(named[RAW_WIDE])
    assert {c.run_id for c in later if c.filters != 32} == wide
    assert later and {(c.input_norm, c.filters, c.lr, c.momentum) for c in later
                      if c.run_id not in wide} == {("minmax", 32, 0.0075, 0.95)}
    # quick declares that it follows its own search instead
    assert ledger.deviations(load_profile("quick")).set_index("key").loc[
        "recipe.lr", "profile"] == "the search's choice"


def test_a_changed_recipe_in_full_is_an_undeclared_departure(tmp_path):
    text = (paths.configs_dir() / "full.yaml").read_text()
    assert "  lr: 0.0075\n" in text
    changed = tmp_path / "full.yaml"
    changed.write_text(text.replace("  lr: 0.0075\n", "  lr: 0.01\n"))
    with pytest.raises(MtlibError, match="departs from the report without a reason: recipe.lr"):
        ledger.check(load_profile(str(changed)))
