"""The rehearsal: `mtlib report --profile rehearsal` runs every notebook through the full
profile's code paths (standard split, every grid, both SampleCNN recipes, every sample rate)
on a tiny stand-in written under real MTAT clip ids."""

from __future__ import annotations

import json

import pandas as pd
from smoke_env import session_dirs

from mtlib import cli, paths
from mtlib.data import metadata
from mtlib.report.products import PRODUCTS
from mtlib.report.profiles import load_profile
from mtlib.training.runs import RunStore


def test_rehearsal_runs_the_full_profiles_paths_end_to_end(tmp_path_factory, capsys):
    base = tmp_path_factory.mktemp("rehearsal")
    with session_dirs(base):
        assert cli.main(["report", "--profile", "rehearsal", "--no-progress"]) == 0
        timings = json.loads((paths.report_dir() / "timings.json").read_text())
        assert timings["profile"] == "rehearsal"
        assert {k: v["status"] for k, v in timings["notebooks"].items()} == {
            slug: "finished" for slug in PRODUCTS}

        runs = RunStore().finished()
        assert runs and {r.config.split for r in runs} == {"standard"}
        # The forced divergence (lr 1e10) is a result: recorded, marked in its table.
        blown = [r for r in runs if r.diverged]
        assert blown and {r.config.lr for r in blown} == {1e10}
        lr_table = paths.table_path("02_hyperparameter_search_lr", "md").read_text()
        assert "diverged" in lr_table
        runs = [r for r in runs if not r.diverged]
        # Every run trained on clips of the standard lists.
        listed = {cid for part in ("train", "valid", "test")
                  for cid, _ in metadata.standard_split_clips()[part]}
        for r in runs[:3]:
            assert set(r.predictions()[0]) <= listed
        deep = [r.config for r in runs if r.config.model == "samplecnn"]
        assert {(c.sample_rate, c.segments) for c in deep} == {(12000, 10), (22050, 0)}
        assert {c.norm for c in deep if c.sample_rate == 12000} == {"group", "batch", "none"}
        full = load_profile("full")
        shallow = [r.config for r in runs if r.config.model == "dieleman"]
        assert {(c.loss, c.batch_clips) for c in shallow} == {
            (full.shallow_loss, full.shallow_batch_clips)}

        deviations = pd.read_csv(paths.table_path("08_summary_deviations", "csv"))
        assert "data.source" in set(deviations["key"]) and deviations["why"].notna().all()
