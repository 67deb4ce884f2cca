"""The published numbers: every number the report publishes is data with a source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mtlib.paper.numbers import (
    BY_KEY,
    PUBLISHED,
    REPORT,
    SPLITS,
    UNITS,
    format_value,
    get,
    shown,
)

# Every published number as its source writes it: the report's own numbers as the report
# prints them, and (marked "external") the cited papers' numbers the report does not print.
REPORT_NUMBERS = {
    # Section II: related work, as the report states it
    "related.samplecnn.auc": "0.90",
    "related.spectrogram.auc": "0.90",
    "related.harmoniccnn.auc": "0.91",
    "related.mulan.recordings": "44",
    "related.mulan.auc": "0.92",
    # Section III: the dataset
    "data.clips_total": "25,863",
    "data.tags_total": "188",
    "data.clips_used": "21,355",
    "data.split.train_percent": "72.23%",
    "data.split.validation_percent": "7.20%",
    "data.split.test_percent": "20.56%",
    "data.tags_used": "50",
    # Section IV: the shallow CNN and its input
    # Section V: the search (validation ROC-AUC, then its settings)
    "search.input_norm.none": "0.53",
    "search.input_norm.standardise": "0.71",
    "search.input_norm.minmax": "0.72",
    "search.filters.32": "0.81",
    "search.lr.0.0075": "0.81",
    "search.momentum.0.95": "0.82",
    "search.kept.filters": "32",
    "search.kept.lr": "0.0075",
    "search.kept.momentum": "0.95",
    # Table I and Section VI
    "table1.raw.1024-1024": "81.07%",
    "table1.raw.1024-512": "81.66%",
    "table1.raw.512-512": "81.62%",
    "table1.raw.512-256": "82.08%",
    "table1.raw.256-256": "82.44%",
    "table1.raw.256-128": "81.83%",
    "table1.raw.128-128": "81.69%",
    "table1.best.length_stride": "256",
    # external: Dieleman & Schrauwen 2014, Table 1 (not in the report)
    "dieleman.raw.1024-1024": "0.8366",
    "dieleman.raw.256-256": "0.8487",
    "dieleman.logmel.1024-1024": "0.8690",
    "dieleman.logmel.256-256": "0.8815",
    # Figure 3
    "figure3.best_epoch": "19",
    "figure3.epochs": "30",
    # Figure 4 and Section VII
    "figure4.most_frequent_tag": "guitar",
    "figure4.guitar_train_clips": "3500",
    "figure4.guitar_auc": "0.78",
    "section7.clip_auc.jackass_canyon": "0.59",
    "section7.clip_auc.secret_solution": "0.55",
    "section7.clip_auc.back_at_you": "1",
    # Table II and Section VIII-A
    "table2.batch": "81.69%",
    "table2.layer": "83.66%",
    "table2.group": "84.70%",
    "table2.dropout": "85.06%",
    "table2.long": "85.54%",
    "table2.groups.best": "8",
    "table2.groups.channels_per_group": "4",
    "table2.dropout_p": "0.2",
    "table2.long.gain": "0.5%",
    # Section VIII-B: SampleCNN
    "samplecnn.recreation": "0.86",
    "samplecnn.original_paper": "0.91",
    "samplecnn.benchmark_atose": "0.87",
    "samplecnn.group": "0.87",
    "samplecnn.no_scheduler_gain": "0.004",
    "samplecnn.momentum.0.95": "0.88",
    "samplecnn.long.validation": "0.89",
    "samplecnn.long.test": "0.90",
    "samplecnn.guitar_gain": "15%",
    "samplecnn.overall_gain": "5%",
    "samplecnn.first_kernel.samplecnn_ms": "0.25",
    "samplecnn.first_kernel.shallow_ms": "21",
    # external: Lee et al. 2017, 3^9 model (not in the report)
    "lee2017.test": "0.9055",
    # Section IX
    "conclusion.shallow": "0.82",
    "conclusion.extended": "0.86",
    "conclusion.samplecnn": "0.90",
    "conclusion.atose_gain": "2%",
}

# The numbers as they appear in the report's text (checked by hand against the report, each
# with its context: "25,863 29s long music clips", "almost 3500 samples", "an AUC of 0.59",
# "the AUC score of 1", "increased our AUC by 0.004", "increases by 15%", "0.25 ms", ...).
# Every in_report entry's printed form must be one of them.
IN_REPORT_TEXT = frozenset({
    # Sections II-IV: related work, dataset, architecture
    "2", "5", "0.90", "0.91", "44", "30", "0.92",
    "25,863", "29", "188", "12", "21,355", "72.23%", "7.20%", "20.56%", "50",
    "32", "8", "4", "2.9", "29.125", "10", "100",
    # Section V: search results and settings
    "0.53", "0.71", "0.72", "0.81", "0.82", "(10, 10, 1, 34950)",
    "0.1", "0.05", "0.01", "0.005", "0.001", "0.0075",
    "0.93", "0.94", "0.95", "0.96", "0.97", "0.98", "0.99",
    # Table I, Section VI, Figure 3
    "81.07%", "81.66%", "81.62%", "82.08%", "82.44%", "81.83%", "81.69%", "256", "19",
    # Figure 4, Section VII
    "guitar", "3500", "0.78", "0.59", "0.55", "1",
    # Table II, Section VIII-A
    "83.66%", "84.70%", "85.06%", "85.54%", "16", "0.2", "40", "0.5%",
    # Section VIII-B
    "0.9", "3", "23", "(B, 10, 1, 4)", "0.86", "0.87", "0.004", "0.88", "20", "0.89",
    "15%", "5%", "0.25", "21",
    # Section IX
    "2%",
})

EXTERNAL = {"dieleman.raw.1024-1024", "dieleman.raw.256-256", "dieleman.logmel.1024-1024",
            "dieleman.logmel.256-256", "lee2017.test"}

# The report's text lives outside the repository (absent in CI); where it is present, the
# hand-checked strings above are checked against it too.
REPORT_TEXT = Path("/work/shared/seed-report.txt")


@pytest.fixture(autouse=True)
def _own_results(tmp_path, monkeypatch):
    # Artifacts written here must not mix with the session's smoke report.
    monkeypatch.setenv("MTLIB_RESULTS_DIR", str(tmp_path / "results"))


def test_every_report_number_is_published_as_written():
    assert {p.key: p.shown() for p in PUBLISHED} == REPORT_NUMBERS


def test_in_report_entries_print_as_the_report_does():
    for p in PUBLISHED:
        if p.in_report:
            assert p.shown() in IN_REPORT_TEXT, (p.key, p.shown())
            assert p.source == REPORT, p.key
    assert {p.key for p in PUBLISHED if not p.in_report} == EXTERNAL


def test_external_entries_name_their_own_source():
    for key in EXTERNAL:
        p = get(key)
        assert not p.in_report and p.source != REPORT
        assert "as quoted in the report" not in p.source and "not printed in the report" in p.source
        assert not p.section.startswith(("Section", "Table", "Figure")), p.section
    assert "Dieleman & Schrauwen" in get("dieleman.raw.256-256").source
    assert "ICASSP 2014, Table 1" in get("dieleman.logmel.256-256").source
    assert "Lee" in get("lee2017.test").source and "3^9" in get("lee2017.test").source
    # The report's own (rounded) statements of Lee et al.'s result are in_report entries.
    assert get("samplecnn.original_paper").in_report and get("related.samplecnn.auc").in_report
    assert shown("samplecnn.original_paper", "related.samplecnn.auc") == "0.91, 0.90"


@pytest.mark.skipif(not REPORT_TEXT.is_file(), reason="the report's text is not available")
def test_hand_checked_strings_occur_in_the_report():
    text = REPORT_TEXT.read_text(encoding="utf-8")
    for s in IN_REPORT_TEXT:
        # the whole number: not part of a longer one ("0.9" must not match inside "0.90")
        assert re.search(rf"(?<![\d.,]){re.escape(s)}(?![\d]|[.,]\d)", text), s


def test_entries_are_complete_and_unique():
    assert len(BY_KEY) == len(PUBLISHED)
    for p in PUBLISHED:
        assert p.source and p.section and p.quantity
        assert p.unit in UNITS and p.split in SPLITS, p.key
        assert isinstance(p.in_report, bool)
    with pytest.raises(KeyError, match=r"unknown published key 'table9.x'; valid: "):
        get("table9.x")


def test_splits_and_sections():
    assert get("samplecnn.recreation").split == "test"
    assert "test" in get("samplecnn.recreation").quantity
    assert get("figure4.guitar_train_clips").split == "train"
    assert get("data.clips_total").split == "dataset"
    assert get("search.kept.lr").split == "none"
    assert all(p.split == "test" for p in PUBLISHED if p.key.startswith("section7.clip_auc."))
    assert get("table2.groups.best").section == "Section VIII-A"
    assert get("conclusion.samplecnn").section == "Section IX"


def test_format_value():
    assert format_value(0.82444, "%", 2) == "0.82%"  # a % value is already in percent
    assert format_value(82.444, "%", 2) == "82.44%"
    assert format_value(-0.0123, "AUC gain", 3) == "-0.012"
    assert format_value(0.004, "AUC gain", 3) == "+0.004"  # a measured change shows its sign
    assert format_value(0.004, "AUC gain", 3, signed=False) == "0.004"  # as the report writes
    assert format_value(7.25, "% gain", 1) == "+7.2%"
    assert format_value(15, "% gain", 0, signed=False) == "15%"
    assert format_value(19.0, "epoch", 0) == "19"
    assert format_value(25863, "clips", 0) == "25,863"
    assert format_value(3500, "clips", 0) == "3500"  # the report groups only from 10,000 up
    assert format_value(7.2, "% of clips", 2) == "7.20%"
    assert format_value(0.25, "ms", 2) == "0.25"
    assert format_value(12, "kHz", 0) == "12"
    assert format_value(1.0, "AUC", 0) == "1"
    assert format_value("(B, 10, 1, 4)", "shape", 0) == "(B, 10, 1, 4)"
    with pytest.raises(ValueError, match="unknown unit"):
        format_value(1.0, "dB", 1)
    with pytest.raises(ValueError, match="whole number"):
        format_value(2.5, "clips", 0)
