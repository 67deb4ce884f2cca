"""Every filesystem location mtlib uses, resolved from this file, never from the CWD.

Environment variables relocate the generated trees and the inputs (the tests point them at
temporary folders):

- ``MTLIB_RESULTS_DIR``: figures, tables, executed notebooks, the report and the run store
  (default ``<repo>/results``).
- ``MTLIB_CACHE_DIR``: generated corpora and prepared audio caches (default ``<repo>/cache``).
- ``MTLIB_NOTEBOOKS_DIR``: the notebooks ``mtlib report`` runs (default ``<repo>/notebooks``).
- ``MTLIB_MTAT_METADATA``: the MTAT metadata (default the shipped ``<repo>/data/mtat``).

All helpers are functions, so a changed environment variable takes effect at once;
:func:`environ` changes some for the length of a ``with`` block.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Mapping

REPO_ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the ``with`` block, then restore each one as it was
    (a variable that was unset is unset again)."""
    old = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def repo_root() -> Path:
    return REPO_ROOT


def data_dir() -> Path:
    """Shipped, committed data (``<repo>/data``)."""
    return REPO_ROOT / "data"


def shipped_mtat_dir() -> Path:
    """Real MTAT metadata shipped with the repository: split lists, tag order, label matrices."""
    return Path(os.environ.get("MTLIB_MTAT_METADATA", data_dir() / "mtat")).resolve()


def configs_dir() -> Path:
    return REPO_ROOT / "configs"


def notebooks_dir() -> Path:
    return Path(os.environ.get("MTLIB_NOTEBOOKS_DIR", REPO_ROOT / "notebooks")).resolve()


def docs_dir() -> Path:
    """The documentation pages (``<repo>/docs/*.md``), which the report site renders beside
    the notebook chapters."""
    return REPO_ROOT / "docs"


def results_dir() -> Path:
    return Path(os.environ.get("MTLIB_RESULTS_DIR", REPO_ROOT / "results")).resolve()


def cache_dir() -> Path:
    return Path(os.environ.get("MTLIB_CACHE_DIR", REPO_ROOT / "cache")).resolve()


def runs_dir() -> Path:
    """The run store: one folder per training config hash."""
    return results_dir() / "runs"


def figures_dir() -> Path:
    return results_dir() / "figures"


def tables_dir() -> Path:
    return results_dir() / "tables"


def executed_dir() -> Path:
    return results_dir() / "executed"


def report_dir() -> Path:
    return results_dir() / "report"


def bench_dir() -> Path:
    return results_dir() / "bench"


def artifacts_dir() -> Path:
    """Small machine-readable outputs shared between notebooks (e.g. the chosen config)."""
    return results_dir() / "artifacts"


def bundles_dir() -> Path:
    """Tagger bundles: everything ``mtlib tag`` needs to score new audio with a model."""
    return results_dir() / "bundles"


def bundle_dir(slug: str, profile: str) -> Path:
    """``results/bundles/<notebook slug>-<profile>/``: the bundle a notebook writes."""
    return bundles_dir() / f"{slug}-{profile}"


def corpus_dir(name: str) -> Path:
    """A dataset in MTAT's on-disk format (annotations_final.csv + mp3 folders 0-f)."""
    return cache_dir() / "corpora" / name


def prepared_dir(dataset: str, sample_rate: int) -> Path:
    """The decoded, resampled cache of one dataset at one sample rate."""
    return cache_dir() / "prepared" / f"{dataset}-{int(sample_rate)}"


def figure_path(slug: str, ext: str = "png") -> Path:
    """``results/figures/NN_slug.ext``; ``slug`` includes the notebook number."""
    return figures_dir() / f"{slug}.{ext}"


def table_path(slug: str, ext: str = "csv") -> Path:
    return tables_dir() / f"{slug}.{ext}"


def listen_dir() -> Path:
    """The clips the chapters name: each one's mp3 and log-mel spectrogram
    (:mod:`mtlib.report.listening`)."""
    return results_dir() / "listen"


def logs_dir() -> Path:
    """Logs of a report run: progress bars, training logs and warnings of each notebook."""
    return results_dir() / "logs"


def log_path(slug: str) -> Path:
    """``results/logs/NN_slug.log``: what notebook ``slug`` logged in the last report run."""
    return logs_dir() / f"{slug}.log"
