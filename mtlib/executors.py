"""Where trial grids run. Every grid in the notebooks goes through :func:`run_grid`."""

from __future__ import annotations

from typing import Sequence

from mtlib.config import RunConfig
from mtlib.runs import RunResult, RunStore

EXECUTORS = ("local",)


def run_grid(
    configs: Sequence[RunConfig],
    executor: str = "local",
    store: RunStore | None = None,
    progress: bool = True,
) -> list[RunResult]:
    """Train (or reuse) every config; results come back in the order of ``configs``."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    store = store or RunStore()
    return [store.get_or_run(cfg, progress=progress) for cfg in configs]
