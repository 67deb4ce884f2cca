"""Figure style, the report's figures, and their writer.

Figures go to ``results/figures/<slug>.{png,pdf}``, where ``slug`` is listed in
:data:`mtlib.report.products.PRODUCTS` and starts with the number of the notebook that makes it
(``03_length_stride_table``). Writes are atomic; tables are written by :mod:`mtlib.report.tables`.
Outside a Jupyter kernel matplotlib uses the non-interactive ``Agg`` backend; inside one,
figures also show inline.

Every figure shares one style (:func:`apply_style`, applied on import): seaborn's theme with
the Okabe-Ito :data:`PALETTE` and the :data:`STYLE` rc. Per-tag figures put the tags on the
y axis, so the 50 tag names read horizontally at 8 pt.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # scripts, tests, the CLI: never open a window
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from mtlib import paths  # noqa: E402
from mtlib.constants import PARTS  # noqa: E402
from mtlib.io import atomic_path  # noqa: E402
from mtlib.report.products import check_slug  # noqa: E402

# Colour-blind-safe categorical palette (Okabe & Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")

STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.5,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "pdf.fonttype": 42,  # embed TrueType: text stays selectable in the PDF
}


TAG_ROW_INCHES = 0.17  # height per tag in the per-tag figures: fits an 8 pt label


def apply_style() -> None:
    """The paper style for every figure made after this call: seaborn's ``whitegrid`` theme
    with :data:`PALETTE` as the colour cycle, :data:`STYLE` overriding its sizes."""
    sns.set_theme(context="paper", style="whitegrid", palette=list(PALETTE), rc=STYLE)


apply_style()


def save_figure(fig: plt.Figure, slug: str) -> list[Path]:
    """Write ``fig`` as PNG and PDF under ``results/figures``; returns both paths.

    The PDF carries no creation date, so an unchanged figure rewrites identical bytes.
    """
    check_slug(slug, "figure")
    written = []
    for ext, metadata in (("png", {"Software": None}), ("pdf", {"CreationDate": None})):
        path = paths.figure_path(slug, ext)
        with atomic_path(path, suffix=f".{ext}") as tmp:
            fig.savefig(tmp, format=ext, metadata=metadata)
        written.append(path)
    return written


def show(fig: plt.Figure) -> None:
    """Show ``fig`` in the notebook at this point (not at the end of the cell), then free it."""
    if "ipykernel" in sys.modules:
        from IPython.display import display

        display(fig)
    plt.close(fig)


# --- the report's figures ----------------------------------------------------------------


def _tags_height(n_tags: int) -> float:
    """Figure height (inches) for ``n_tags`` rows of horizontal bars plus axis labels."""
    return max(2.4, TAG_ROW_INCHES * n_tags + 1.0)


def tag_distribution(counts: pd.DataFrame, title: str = "") -> plt.Figure:
    """Figure 1: positives per tag in train, valid and test (one panel each, same tag order).

    ``counts``: columns tag, train, valid, test; bars follow its row order, top to bottom.
    Each panel has its own x scale (train has ~10x the clips of valid).
    """
    long = counts.melt(id_vars="tag", value_vars=list(PARTS), var_name="part",
                       value_name="clips")
    height = _tags_height(len(counts))
    grid = sns.catplot(
        data=long, kind="bar", x="clips", y="tag", col="part", hue="part",
        order=list(counts["tag"]), col_order=list(PARTS), hue_order=list(PARTS),
        palette=dict(zip(PARTS, PALETTE, strict=False)), dodge=False, legend=False,
        errorbar=None, width=0.75, saturation=1.0, sharex=False, height=height,
        aspect=2.2 / height,
    )
    grid.set_titles("{col_name}")
    grid.set_axis_labels("", "")
    grid.axes.flat[len(PARTS) // 2].set_xlabel("clips with the tag")
    for ax in grid.axes.flat:
        ax.grid(axis="y", visible=False)  # a line per bar would only add clutter
    if title:
        grid.figure.suptitle(title)
        grid.tight_layout()
    return grid.figure


def search_stage(table: pd.DataFrame, label: str, best: object) -> plt.Figure:
    """One Section V stage: mean validation ROC-AUC (error bar: std over trials) per value,
    the kept value highlighted. ``table``: value, val_roc_auc_mean, val_roc_auc_std."""
    fig, ax = plt.subplots(figsize=(4.2, 2.8))
    labels = [f"{v:g}" if isinstance(v, float) else str(v) for v in table["value"]]
    x = list(range(len(labels)))
    ax.errorbar(x, table["val_roc_auc_mean"], yerr=table["val_roc_auc_std"].fillna(0),
                marker="o", capsize=3, color=PALETTE[0])
    kept = [i for i, v in enumerate(table["value"]) if v == best]
    ax.scatter(kept, table["val_roc_auc_mean"].iloc[kept], s=120, facecolors="none",
               edgecolors=PALETTE[3], linewidths=1.5, zorder=3, label="kept")
    ax.set_xticks(x, labels)
    ax.set_xlabel(label)
    ax.set_ylabel("validation ROC-AUC")
    ax.legend(loc="best")
    return fig


def table1_figure(table: pd.DataFrame) -> plt.Figure:
    """Table I as a figure: test ROC-AUC per (length, stride), ours (mean ± std) beside the
    published values. ``table``: frontend, length, stride, test_roc_auc_{mean,std},
    report_test_roc_auc and dieleman_test_roc_auc (AUC in 0-1, NaN where unpublished)."""
    raw = table[table["frontend"] == "raw"]
    logmel = table[table["frontend"] == "logmel"]
    pairs = [(r.length, r.stride) for r in raw.itertuples()]
    x = list(range(len(pairs)))
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.errorbar(x, raw["test_roc_auc_mean"], yerr=raw["test_roc_auc_std"].fillna(0),
                marker="o", capsize=3, label="ours (raw)", color=PALETTE[0])
    series = (("the report", raw, "report_test_roc_auc", PALETTE[1], "s"),
              ("Dieleman & Schrauwen 2014, raw", raw, "dieleman_test_roc_auc", PALETTE[2], "^"),
              ("Dieleman & Schrauwen 2014, spectrogram", logmel, "dieleman_test_roc_auc",
               PALETTE[4], "v"),
              ("ours (log-mel)", logmel, "test_roc_auc_mean", PALETTE[3], "D"))
    for name, rows, column, colour, marker in series:
        pts = [(pairs.index((r.length, r.stride)), getattr(r, column))
               for r in rows.itertuples()
               if (r.length, r.stride) in pairs and pd.notna(getattr(r, column))]
        if pts:
            ax.scatter(*zip(*pts, strict=True), marker=marker, color=colour, label=name, zorder=3)
    ax.set_xticks(x, [f"{length}/{stride}" for length, stride in pairs])
    ax.set_xlabel("filter length / stride (samples)")
    ax.set_ylabel("test ROC-AUC")
    # Below the axes: inside, the legend would hide the published points.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2, frameon=False)
    return fig


def training_curves(curves: pd.DataFrame, best_epoch: int, title: str = "") -> plt.Figure:
    """Figure 3: train and validation ROC-AUC per epoch (mean, band: ± std over trials), the
    best validation epoch marked. ``curves``: epoch, {train,val}_roc_auc_{mean,std}."""
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    for key, name, colour in (("train_roc_auc", "train", PALETTE[0]),
                              ("val_roc_auc", "validation", PALETTE[1])):
        mean, std = curves[f"{key}_mean"], curves[f"{key}_std"].fillna(0)
        ax.plot(curves["epoch"], mean, marker=".", label=name, color=colour)
        ax.fill_between(curves["epoch"], mean - std, mean + std, color=colour, alpha=0.2,
                        linewidth=0)
    ax.axvline(best_epoch, color="0.3", linestyle="--", linewidth=1)
    ax.annotate(f"best epoch {best_epoch}", (best_epoch, ax.get_ylim()[1]),
                xytext=(4, -12), textcoords="offset points", fontsize=8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("ROC-AUC")
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right")
    return fig


def per_tag_figure(per_tag: pd.DataFrame, highlight: str | None = None) -> plt.Figure:
    """Figure 4: training positives per tag (bars, left panel) beside its test ROC-AUC (points,
    error bar: std over trials, right panel), tags in the table's order from the top; the
    ``highlight`` tag is ringed and its name set in bold.
    ``per_tag``: tag, n_train_pos, roc_auc[, roc_auc_std]."""
    tags = list(per_tag["tag"])
    fig, (ax_n, ax_auc) = plt.subplots(1, 2, sharey=True, figsize=(6.4, _tags_height(len(tags))))
    sns.barplot(data=per_tag, x="n_train_pos", y="tag", order=tags, color="0.75",
                errorbar=None, width=0.75, saturation=1.0, ax=ax_n)
    ax_n.set(xlabel="training clips with the tag", ylabel="")
    rows = np.arange(len(tags))
    xerr = per_tag["roc_auc_std"].fillna(0) if "roc_auc_std" in per_tag else None
    ax_auc.errorbar(per_tag["roc_auc"], rows, xerr=xerr, fmt="o", markersize=4, capsize=2,
                    color=PALETTE[0])
    ax_auc.set_xlabel("test ROC-AUC")
    ax_n.set_ylim(len(tags) - 0.5, -0.5)  # the error bars widened the shared limits
    ax_n.grid(axis="y", visible=False)  # the right panel keeps faint row guides
    if highlight is not None and highlight in tags:
        i = tags.index(highlight)
        ax_auc.scatter([per_tag["roc_auc"].iloc[i]], [i], s=110, facecolors="none",
                       edgecolors=PALETTE[3], linewidths=1.5, zorder=3)
        ax_n.get_yticklabels()[i].set_fontweight("bold")
    return fig


def bar_labels(frame: pd.DataFrame) -> list[str]:
    """One label per row: its ``variant``, prefixed by its ``step`` where the variant repeats
    (SampleCNN's recreation and normalisation steps can keep the same variant)."""
    variants = list(frame["variant"])
    if "step" not in frame:
        return variants
    return [f"{step}: {v}" if variants.count(v) > 1 else v
            for step, v in zip(frame["step"], variants, strict=True)]


def variant_bars(frame: pd.DataFrame, metric: str, xlabel: str,
                 reference: str | None = None) -> plt.Figure:
    """Horizontal bars of ``metric`` (mean, error bar: std over trials), one per row of
    ``frame`` from the top, labelled by :func:`bar_labels`; the report's value (column
    ``reference``, AUC in 0-1, NaN where unpublished) marked on the bar's row.
    ``frame``: variant[, step], ``{metric}_mean``, ``{metric}_std``[, ``reference``]."""
    mean, std = frame[f"{metric}_mean"], frame[f"{metric}_std"]
    rows = np.arange(len(frame))
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * len(frame) + 1.0))
    # Positions, not seaborn categories: a repeated label would merge two bars into one.
    handles = [ax.barh(rows, mean, height=0.6, color=PALETTE[0], label="ours")]
    spread = std.notna().to_numpy()  # one trial has no spread: no error bar
    if spread.any():
        ax.errorbar(mean[spread], rows[spread], xerr=std[spread], fmt="none", ecolor="0.2",
                    elinewidth=1, capsize=3)
    published = frame[reference] if reference else pd.Series(np.nan, index=frame.index)
    known = published.notna().to_numpy()
    if known.any():
        handles.append(ax.scatter(published[known], rows[known], marker="s", color=PALETTE[1],
                                  zorder=3, label="report"))
    ax.set_yticks(rows, bar_labels(frame))
    ax.set_ylim(len(frame) - 0.5, -0.5)  # first row at the top
    lo = pd.concat([mean, published]).min()
    hi = pd.concat([mean + std.fillna(0), published]).max()
    ax.set_xlim(max(0.0, lo - 0.05), min(1.0, hi + 0.02))
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2,
              frameon=False)
    return fig


def per_tag_comparison(compare: pd.DataFrame, highlight: str | None = None) -> plt.Figure:
    """Per-tag test ROC-AUC of SampleCNN against the shallow CNN (one point per tag)."""
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    sns.scatterplot(data=compare, x="roc_auc_shallow", y="roc_auc_samplecnn", s=18,
                    color=PALETTE[0], ax=ax)
    lo = float(min(compare[["roc_auc_shallow", "roc_auc_samplecnn"]].min().min(), 0.5))
    ax.plot([lo, 1], [lo, 1], color="0.5", linewidth=1, linestyle="--")
    if highlight is not None and highlight in set(compare["tag"]):
        r = compare[compare["tag"] == highlight].iloc[0]
        ax.scatter([r["roc_auc_shallow"]], [r["roc_auc_samplecnn"]], s=60, color=PALETTE[3],
                   zorder=3)
        ax.annotate(highlight, (r["roc_auc_shallow"], r["roc_auc_samplecnn"]),
                    xytext=(5, -10), textcoords="offset points")
    ax.set_xlabel("shallow CNN: test ROC-AUC per tag")
    ax.set_ylabel("SampleCNN: test ROC-AUC per tag")
    ax.set_aspect("equal", adjustable="box")
    return fig


def per_tag_pairs(per_tag: pd.DataFrame, pairs: list[tuple[str, str, str, str]],
                  highlight: str | None = None) -> plt.Figure:
    """One panel per ``(base column, arm column, base label, arm label)``: each tag's test
    ROC-AUC under the arm (y) against its base (x); above the dashed diagonal the arm does
    better on that tag. ``highlight`` is marked and named."""
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.9 * len(pairs), 4.3), squeeze=False,
                             layout="constrained")
    values = per_tag[[c for p in pairs for c in p[:2]]].to_numpy(dtype=float)
    lo, hi = float(min(np.nanmin(values), 0.5)) - 0.03, 1.03
    for ax, (base, arm, base_label, arm_label) in zip(axes[0], pairs, strict=True):
        ax.scatter(per_tag[base], per_tag[arm], s=14, color=PALETTE[0], clip_on=False)
        ax.plot([lo, hi], [lo, hi], color="0.5", linewidth=1, linestyle="--")
        if highlight is not None and highlight in set(per_tag["tag"]):
            r = per_tag[per_tag["tag"] == highlight].iloc[0]
            ax.scatter([r[base]], [r[arm]], s=50, color=PALETTE[3], zorder=3, clip_on=False)
            ax.annotate(highlight, (r[base], r[arm]), xytext=(-6, 6), ha="right",
                        textcoords="offset points", color=PALETTE[3])
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal", adjustable="box")
        ax.set_title("\n".join(textwrap.wrap(arm_label, 40)))
        ax.set_xlabel("\n".join(textwrap.wrap(f"{base_label}: test ROC-AUC per tag", 40)))
        ax.set_ylabel("this arm: test ROC-AUC per tag")
    return fig


def seed_strip(runs: pd.DataFrame) -> plt.Figure:
    """Notebook 10: each seed's test ROC-AUC, one row per model family, the family's mean
    marked. ``runs``: family, reference, seed, test_roc_auc."""
    families = list(dict.fromkeys(runs["reference"]))
    fig, ax = plt.subplots(figsize=(6.4, 0.6 * max(len(families), 1) + 1.2))
    for row, (_, group) in enumerate(runs.groupby("reference", sort=False)):
        ax.scatter(group["test_roc_auc"], np.full(len(group), row), color=PALETTE[0],
                   alpha=0.8, label="one seed" if row == 0 else None, zorder=3)
        ax.scatter([group["test_roc_auc"].mean()], [row], marker="|", s=400,
                   color=PALETTE[1], label="mean" if row == 0 else None, zorder=2)
    ax.set_yticks(range(len(families)),
                  [textwrap.fill(f, 28) for f in families] if families else [])
    ax.set_ylim(len(families) - 0.5, -0.5)
    ax.set_xlabel("test ROC-AUC")
    ax.set_ylabel("reference configuration")
    ax.grid(axis="y", visible=False)
    if families:
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False)
    return fig


SPECTROGRAM_INCHES = (3.4, 1.5)  # small: it sits beside an audio player
SPECTROGRAM_DPI = 100  # 340 x 150 px before the tight crop: a few kB of PNG


def clip_spectrogram(db: np.ndarray, seconds: float, band_hz: np.ndarray) -> plt.Figure:
    """A clip's log-mel spectrogram, small, to sit beside its player. ``db``: float
    [n_mels, frames] in dB (lowest band first); ``seconds``: the clip's length; ``band_hz``:
    [n_mels] each band's centre frequency, which labels the y axis in kHz."""
    fig, ax = plt.subplots(figsize=SPECTROGRAM_INCHES, dpi=SPECTROGRAM_DPI)
    ax.imshow(db, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
              extent=(0.0, seconds, 0, len(band_hz)))
    ticks = np.linspace(0, len(band_hz) - 1, 4).round().astype(int)
    ax.set_yticks([i + 0.5 for i in ticks], [f"{band_hz[i] / 1000:.1f}" for i in ticks])
    ax.set(xlabel="s", ylabel="kHz (mel)")
    ax.grid(False)
    return fig
