"""The published numbers: every number the report publishes is data with a source."""

from __future__ import annotations

import pytest

from mtlib.published import BY_KEY, PUBLISHED, UNITS, format_value, get

# Every number of the report, as written in the report (the issue that defines this project).
REPORT_NUMBERS = {
    "search.input_norm.none": "0.53",
    "search.input_norm.standardise": "0.71",
    "search.input_norm.minmax": "0.72",
    "search.filters.32": "0.81",
    "search.lr.0.0075": "0.81",
    "search.momentum.0.95": "0.82",
    "table1.raw.1024-1024": "81.07%",
    "table1.raw.1024-512": "81.66%",
    "table1.raw.512-512": "81.62%",
    "table1.raw.512-256": "82.08%",
    "table1.raw.256-256": "82.44%",
    "table1.raw.256-128": "81.83%",
    "table1.raw.128-128": "81.69%",
    "dieleman.raw.1024-1024": "0.8366",
    "dieleman.raw.256-256": "0.8487",
    "dieleman.logmel.1024-1024": "0.8690",
    "dieleman.logmel.256-256": "0.8815",
    "table2.batch": "81.69%",
    "table2.layer": "83.66%",
    "table2.group": "84.70%",
    "table2.dropout": "85.06%",
    "table2.long": "85.54%",
    "figure3.best_epoch": "19",
    "figure3.epochs": "30",
    "figure4.most_frequent_tag": "guitar",
    "figure4.guitar_auc": "0.78",
    "samplecnn.recreation": "0.86",
    "samplecnn.group": "0.87",
    "samplecnn.no_scheduler_gain": "+0.004",
    "samplecnn.momentum.0.95": "0.88",
    "samplecnn.long.validation": "0.89",
    "samplecnn.long.test": "0.90",
    "samplecnn.guitar_gain": "+15%",
    "lee2017.test": "0.9055",
}



@pytest.fixture(autouse=True)
def _own_results(tmp_path, monkeypatch):
    # Artifacts written here must not mix with the session's smoke report.
    monkeypatch.setenv("MTLIB_RESULTS_DIR", str(tmp_path / "results"))

def test_every_report_number_is_published_as_written():
    assert {p.key: p.shown() for p in PUBLISHED} == REPORT_NUMBERS


def test_entries_are_complete_and_unique():
    assert len(BY_KEY) == len(PUBLISHED)
    for p in PUBLISHED:
        assert p.source and p.section and p.quantity
        assert p.unit in UNITS and p.split in ("validation", "test")
    assert "Dieleman" in get("dieleman.raw.256-256").source
    assert "Lee" in get("lee2017.test").source
    with pytest.raises(KeyError, match="valid: search.input_norm.none"):
        get("table9.x")


def test_format_value():
    assert format_value(0.82444, "%", 2) == "0.82%"  # a % value is already in percent
    assert format_value(82.444, "%", 2) == "82.44%"
    assert format_value(-0.0123, "AUC gain", 3) == "-0.012"
    assert format_value(7.25, "% gain", 1) == "+7.2%"
    assert format_value(19.0, "epoch", 0) == "19"
    with pytest.raises(ValueError, match="unknown unit"):
        format_value(1.0, "dB", 1)
