"""The report's figures: each builds from a tiny frame and saves as PNG + PDF in one style."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import seaborn as sns
from matplotlib.colors import to_hex

from mtlib import plots

TAGS = ["guitar", "classical", "female vocal", "no vocals", "hard rock"]


def _per_tag() -> pd.DataFrame:
    return pd.DataFrame({"tag": TAGS, "n_train_pos": [400, 300, 80, 60, 20],
                         "roc_auc": [0.91, 0.95, 0.88, np.nan, 0.8],
                         "roc_auc_std": [0.01, 0.0, np.nan, np.nan, 0.02]})


def _variants() -> pd.DataFrame:
    return pd.DataFrame({"variant": ["batch norm", "group norm, G = 8 + dropout 0.5"],
                         "test_roc_auc_mean": [0.88, 0.89],
                         "test_roc_auc_std": [0.002, np.nan]})


FIGURES = {
    "01_tag_distribution": lambda: plots.tag_distribution(
        pd.DataFrame({"tag": TAGS, "train": [400, 300, 80, 60, 0], "valid": [40, 30, 8, 6, 1],
                      "test": [120, 90, 24, 18, 2]}), title="Positives per tag"),
    "05_per_tag_analysis": lambda: plots.per_tag_figure(_per_tag(), highlight="female vocal"),
    "06_normalisation_dropout": lambda: plots.variant_bars(
        _variants(), "test_roc_auc", {"batch norm": 0.885}, "test ROC-AUC"),
    "07_samplecnn_per_tag": lambda: plots.per_tag_comparison(
        pd.DataFrame({"tag": TAGS, "roc_auc_shallow": [0.9, 0.95, 0.85, 0.7, 0.8],
                      "roc_auc_samplecnn": [0.92, 0.94, 0.88, 0.75, 0.79]}), highlight="guitar"),
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
