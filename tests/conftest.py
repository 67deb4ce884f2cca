"""Shared fixtures. Every test writes into temporary folders, never into the repository."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Point the results and cache trees at a per-session temporary folder."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("MTLIB_RESULTS_DIR", str(base / "results"))
    monkeypatch.setenv("MTLIB_CACHE_DIR", str(base / "cache"))
    # Trials in this process: tiny test runs would spend their time starting worker pools
    # (tests/test_executors.py exercises the pool).
    monkeypatch.setenv("MTLIB_LOCAL_WORKERS", "1")
