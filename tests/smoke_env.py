"""The smoke profile's dataset, built once per test session and shared by the test modules.

Session-scoped fixtures run before the function-scoped ``_isolated_dirs`` of conftest.py, so
this sets the same MTLIB_RESULTS_DIR / MTLIB_CACHE_DIR itself while it works. The dataset is
cached on disk: a second module asking for it finds it ready.
"""

from __future__ import annotations

from pathlib import Path

from mtlib import paths


def session_dirs(base: Path):
    """The generated trees of this test session (the folders conftest.py uses)."""
    return paths.environ({"MTLIB_RESULTS_DIR": str(base / "results"),
                          "MTLIB_CACHE_DIR": str(base / "cache")})


def smoke_dataset(base: Path) -> str:
    """Generate and prepare the smoke profile's stand-in corpus (once); return its name."""
    from mtlib.report.profile_data import ensure_dataset
    from mtlib.report.profiles import load_profile

    with session_dirs(base):
        return ensure_dataset(load_profile("smoke"), progress=False)
