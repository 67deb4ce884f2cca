"""The report's figures: each builds from a tiny frame and saves as PNG + PDF in one style."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import seaborn as sns
from matplotlib.colors import to_hex, to_rgba

from mtlib.report import plots

TAGS = ["guitar", "classical", "female vocal", "no vocals", "hard rock"]


def _per_tag() -> pd.DataFrame:
    return pd.DataFrame({"tag": TAGS, "n_train_pos": [400, 300, 80, 60, 20],
                         "roc_auc": [0.91, 0.95, 0.88, np.nan, 0.8],
                         "roc_auc_std": [0.01, 0.0, np.nan, np.nan, 0.02]})


def _variants() -> pd.DataFrame:
    return pd.DataFrame({"variant": ["batch norm", "group norm, G = 8 + dropout 0.5"],
                         "test_roc_auc_mean": [0.88, 0.89],
                         "test_roc_auc_std": [0.002, np.nan],
                         "report_test_roc_auc": [0.885, np.nan]})


def _samplecnn_steps() -> pd.DataFrame:
    """Two steps that keep the same variant, as SampleCNN's recreation and normalisation."""
    return pd.DataFrame({"step": ["recreation", "normalisation", "epochs"],
                         "variant": ["batch norm", "batch norm", "batch norm + 6 epochs"],
                         "val_roc_auc_mean": [0.70, 0.72, 0.85],
                         "val_roc_auc_std": [np.nan, 0.01, np.nan],
                         "report_val_roc_auc": [np.nan, 0.87, 0.89]})


def _table1() -> pd.DataFrame:
    pairs = [(1024, 1024), (256, 256)]
    return pd.DataFrame({"frontend": ["raw", "raw", "logmel"],
                         "length": [p[0] for p in pairs] + [256],
                         "stride": [p[1] for p in pairs] + [256],
                         "test_roc_auc_mean": [0.74, 0.77, 0.80],
                         "test_roc_auc_std": [0.01, np.nan, np.nan],
                         "report_test_roc_auc": [0.8107, 0.8244, np.nan],
                         "dieleman_test_roc_auc": [0.8366, 0.8487, 0.8815]})


def _curves() -> pd.DataFrame:
    epochs = np.arange(1, 6)
    return pd.DataFrame({"epoch": epochs, "train_roc_auc_mean": 0.6 + 0.05 * epochs,
                         "train_roc_auc_std": 0.01, "val_roc_auc_mean": 0.6 + 0.03 * epochs,
                         "val_roc_auc_std": np.nan})


FIGURES = {
    "01_tag_distribution": lambda: plots.tag_distribution(
        pd.DataFrame({"tag": TAGS, "train": [400, 300, 80, 60, 0], "valid": [40, 30, 8, 6, 1],
                      "test": [120, 90, 24, 18, 2]}), title="Positives per tag"),
    "02_hyperparameter_search_lr": lambda: plots.search_stage(
        pd.DataFrame({"value": [0.1, 0.05, 0.0075], "val_roc_auc_mean": [0.7, 0.8, 0.75],
                      "val_roc_auc_std": [np.nan, 0.01, 0.02]}), "learning rate", 0.05),
    "03_length_stride_table": lambda: plots.table1_figure(_table1()),
    "04_training_curves": lambda: plots.training_curves(_curves(), best_epoch=4),
    "05_per_tag_analysis": lambda: plots.per_tag_figure(_per_tag(), highlight="female vocal"),
    "06_normalisation_dropout": lambda: plots.variant_bars(
        _variants(), "test_roc_auc", "test ROC-AUC", reference="report_test_roc_auc"),
    "07_samplecnn": lambda: plots.variant_bars(
        _samplecnn_steps(), "val_roc_auc", "validation ROC-AUC", reference="report_val_roc_auc"),
    "07_samplecnn_per_tag": lambda: plots.per_tag_comparison(
        pd.DataFrame({"tag": TAGS, "roc_auc_shallow": [0.9, 0.95, 0.85, 0.7, 0.8],
                      "roc_auc_samplecnn": [0.92, 0.94, 0.88, 0.75, 0.79]}), highlight="guitar"),
    "09_future_work_frontends": lambda: plots.per_tag_pairs(
        pd.DataFrame({"tag": TAGS, "raw": [0.9, 0.95, 0.85, 0.7, 1.0],
                      "mel": [0.92, 0.94, 0.88, 0.75, 0.79], "harm": [0.8, 0.9, 0.9, 0.8, 0.8]}),
        [("raw", "mel", "raw audio", "log-mel spectrogram"),
         ("raw", "harm", "raw audio", "harmonic filters (Won et al.)")], highlight="guitar"),
}


@pytest.mark.parametrize("slug", sorted(FIGURES))
def test_figure_builds_and_saves(slug):
    fig = FIGURES[slug]()
    png, pdf = plots.save_figure(fig, slug)
    plt.close(fig)
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    assert pdf.stat().st_size > 1000 and pdf.read_bytes()[:5] == b"%PDF-"


def test_per_tag_figures_list_every_tag_horizontally_in_row_order():
    for fig in (FIGURES["01_tag_distribution"](), FIGURES["05_per_tag_analysis"]()):
        ax = fig.axes[0]
        labels = ax.get_yticklabels()
        assert [t.get_text() for t in labels] == TAGS  # first row at the top
        assert all(t.get_rotation() == 0 for t in labels)
        assert ax.yaxis_inverted()
        plt.close(fig)


def test_one_seaborn_theme_with_the_okabe_ito_palette():
    plots.apply_style()
    colours = [to_hex(c) for c in matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert colours == [c.lower() for c in plots.PALETTE]
    assert sns.color_palette().as_hex() == colours
    # seaborn's whitegrid theme is in force, with STYLE's sizes on top of it
    assert matplotlib.rcParams["axes.edgecolor"] == sns.axes_style("whitegrid")["axes.edgecolor"]
    assert matplotlib.rcParams["xtick.labelsize"] == plots.STYLE["xtick.labelsize"]
    assert matplotlib.rcParams["pdf.fonttype"] == 42


def _grey(colour) -> bool:
    r, g, b, *_ = to_rgba(colour)
    return r == g == b


def _drawn_colours(fig) -> set[str]:
    """Colours of the data marks (lines, bars, markers, bands), alpha left out."""
    colours = []
    for ax in fig.axes:
        colours += [line.get_color() for line in ax.lines]
        colours += [patch.get_facecolor() for patch in ax.patches]
        for collection in ax.collections:
            colours += list(collection.get_facecolors()) + list(collection.get_edgecolors())
    return {to_hex(c) for c in colours if to_rgba(c)[3] > 0}


def _y_named(ax) -> bool:
    return bool(ax.get_ylabel() or any(t.get_text() for t in ax.get_yticklabels()))


@pytest.mark.parametrize("slug", sorted(FIGURES))
def test_every_figure_uses_the_palette_and_labels_its_axes(slug):
    fig = FIGURES[slug]()
    palette = {c.lower() for c in plots.PALETTE}
    drawn = _drawn_colours(fig)
    assert drawn, "nothing drawn"
    assert {c for c in drawn if not _grey(c)} <= palette, drawn
    # The figure names its x quantity; every panel's y axis is named (a label, or categories
    # as tick labels) by itself or by the panel it shares the axis with.
    assert any(ax.get_xlabel() for ax in fig.axes)
    for ax in fig.axes:
        assert any(_y_named(other) for other in fig.axes
                   if other is ax or ax.get_shared_y_axes().joined(ax, other)), ax
    for ax in fig.axes:
        for text in (ax.xaxis.label, ax.yaxis.label, *ax.get_yticklabels()):
            assert text.get_fontsize() >= 8  # legible at page width and in the PDF
    plt.close(fig)


def test_bars_keep_one_row_per_step_when_steps_share_a_variant():
    steps = _samplecnn_steps()
    fig = plots.variant_bars(steps, "val_roc_auc", "validation ROC-AUC",
                             reference="report_val_roc_auc")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "recreation: batch norm", "normalisation: batch norm", "batch norm + 6 epochs"]
    assert [round(p.get_width(), 2) for p in ax.patches] == [0.70, 0.72, 0.85]
    # The report's values sit on their own rows: normalisation and epochs, not recreation.
    (marks,) = [c for c in ax.collections if c.get_label() == "report"]
    assert marks.get_offsets().tolist() == [[0.87, 1.0], [0.89, 2.0]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ours", "report"]
    # An error bar only where there is a spread over trials (normalisation's).
    (bars,) = [c for c in ax.collections if c.get_label() != "report"]
    assert len(bars.get_segments()) == 1
    plt.close(fig)

