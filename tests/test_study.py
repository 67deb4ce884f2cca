"""Chains of steps (mtlib.report.study): what each step keeps, which steps share a grid, and
the arms a chain names."""

from __future__ import annotations

import pytest

from mtlib.config import RunConfig
from mtlib.paper.arms import Arm
from mtlib.report.study import Chain, Option, Step, run_chain, variant_options
from mtlib.training.executors import RecordingExecutor
from mtlib.training.variants import Variant

BASE = RunConfig(dataset="x", epochs=2)


def lr_step(name: str, lrs, **kw) -> Step:
    def options(kept):
        return [Option(Arm("search", "lr", f"{lr:g}"), kept.config.replace(lr=lr), f"{lr:g}", lr)
                for lr in lrs]
    return Step(name, options, **kw)


def test_each_step_starts_from_the_config_the_step_before_kept():
    rec = RecordingExecutor(lambda c: 1 - abs(c.lr - 0.01) - abs(c.momentum - 0.95))
    momenta = Step("momentum", lambda k: [
        Option(Arm("search", "momentum", f"{m:g}"), k.config.replace(momentum=m), f"{m:g}", m)
        for m in (0.9, 0.95)])
    result = run_chain(Chain((lr_step("lr", (0.1, 0.01)), momenta)), BASE, 2, rec)
    assert (result.config.lr, result.config.momentum, result.config.seed) == (0.01, 0.95, 0)
    assert [label for label, _ in rec.grids] == ["lr (2 variant(s))",
                                                 "momentum (2 variant(s))"]
    assert {c.lr for c in rec.grids[1][1]} == {0.01}  # built on the kept lr
    assert [c.seed for c in rec.grids[0][1]] == [0, 1, 0, 1]
    assert result.step("lr").kept == 1 and list(result.step("lr").table["variant"]) == [
        "0.1", "0.01"]
    arms = result.arms()
    assert arms[Arm("search", "lr", "0.1")] == [c.run_id for c in rec.grids[0][1][:2]]
    assert set(result.arm_keys()) == {"search.lr.0.1", "search.lr.0.01", "search.momentum.0.9",
                                      "search.momentum.0.95"}


def test_independent_steps_share_one_grid_and_kept_arms_are_named():
    rec = RecordingExecutor(lambda c: 0.5 + 0.1 * (c.norm == "group") + (c.dropout or 0)
                            + 0.01 * (c.groups == 4))
    groups = variant_options(lambda k: [Variant(norm="group", groups=g) for g in (2, 4)],
                             lambda v: Arm("table2", "group", str(v.groups)))
    chain = Chain((
        Step("recreation", variant_options(lambda k: [Variant(norm="batch")],
                                           lambda v: Arm("samplecnn", "recreation")), keep=None),
        Step("normalisation", groups, kept_arm=Arm("table2", "kept"), joins_previous=True,
             picks=((Arm("table2", "group"), lambda o: o.value.groups == 2),)),
        Step("dropout", variant_options(
            lambda k: [k.option.value.then(dropout=p) for p in (0.1, 0.2)],
            lambda v: Arm("table2", "dropout", f"{v.dropout:g}")),
            kept_arm=Arm("table2", "dropout")),
        Step("reference", lambda k: [Option(Arm("samplecnn", "lee"), BASE.replace(lr=0.5),
                                            "reference")], keep=None, independent=True),
    ))
    result = run_chain(chain, BASE, 1, rec)
    # The recreation, the normalisations and the independent reference train as one grid.
    assert [label for label, _ in rec.grids] == [
        "recreation, normalisation and reference (4 variant(s))", "dropout (2 variant(s))"]
    assert [s.step.name for s in result.steps] == ["recreation", "normalisation", "dropout",
                                                   "reference"]
    assert result.step("normalisation").kept_option.value == Variant(norm="group", groups=4)
    assert result.config == BASE.replace(norm="group", groups=4, dropout=0.2)
    names = result.arm_keys()
    assert names["table2.kept"] == names["table2.group.4"]
    assert names["table2.group"] == names["table2.group.2"]  # the pick among G = 2 only
    assert names["table2.dropout"] == names["table2.dropout.0.2"]
    assert result.step("dropout").table["variant"].tolist() == [
        "group norm, G = 4 + dropout 0.1", "group norm, G = 4 + dropout 0.2"]


def test_a_keep_rule_that_raises_stops_the_chain():
    def keep(table, options):
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        run_chain(Chain((lr_step("lr", (0.1,), keep=keep),)), BASE, 1, RecordingExecutor())
