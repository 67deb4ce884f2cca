"""Locations and the temporary environment helper."""

from __future__ import annotations

import os

import pytest

from mtlib import paths


def test_environ_sets_for_the_block_and_restores_set_and_unset_variables(monkeypatch):
    monkeypatch.setenv("MTLIB_TEST_SET", "before")
    monkeypatch.delenv("MTLIB_TEST_UNSET", raising=False)
    with pytest.raises(RuntimeError):
        with paths.environ({"MTLIB_TEST_SET": "inside", "MTLIB_TEST_UNSET": "inside"}):
            assert os.environ["MTLIB_TEST_SET"] == os.environ["MTLIB_TEST_UNSET"] == "inside"
            raise RuntimeError  # restored on the way out of an exception too
    assert os.environ["MTLIB_TEST_SET"] == "before"
    assert "MTLIB_TEST_UNSET" not in os.environ


def test_generated_trees_follow_the_environment(tmp_path):
    with paths.environ({"MTLIB_RESULTS_DIR": str(tmp_path / "r")}):
        assert paths.report_dir().is_relative_to(tmp_path / "r")
