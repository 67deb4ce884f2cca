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


@pytest.fixture(autouse=True)
def _cpu_only(monkeypatch):
    """Train on the CPU on any machine: the tests check the CPU contract (deterministic
    kernels, a resumed run equal to an uninterrupted one, bit for bit). On CUDA, cuDNN
    autotuning makes runs reproducible only up to floating-point reordering
    (mtlib.training.fit), and the GPU path is measured by benchmarks/bench_training.py and
    bench_gpu_busy.py instead."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
