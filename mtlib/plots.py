"""Figure style and the writers of every figure and table the report produces.

Figures go to ``results/figures/<slug>.{png,pdf}`` and tables to
``results/tables/<slug>.{csv,md}``, where ``slug`` starts with the number of the notebook
that makes them (``03_length_stride_table``). Writes are atomic. Outside a Jupyter kernel
matplotlib uses the non-interactive ``Agg`` backend; inside one, figures also show inline.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # scripts, tests, the CLI: never open a window
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from mtlib import paths  # noqa: E402
from mtlib.io import atomic_path, atomic_write_text  # noqa: E402

SLUG = re.compile(r"^\d\d_[a-z0-9_]+$")
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


def apply_style() -> None:
    """The paper style for every figure made after this call."""
    matplotlib.rcParams.update(STYLE)


apply_style()


def _check_slug(slug: str) -> None:
    if not SLUG.match(slug):
        raise ValueError(f"bad output slug {slug!r}: expected 'NN_lowercase_words' (e.g. 03_table)")


def save_figure(fig: plt.Figure, slug: str) -> list[Path]:
    """Write ``fig`` as PNG and PDF under ``results/figures``; returns both paths.

    The PDF carries no creation date, so an unchanged figure rewrites identical bytes.
    """
    _check_slug(slug)
    written = []
    for ext, metadata in (("png", {"Software": None}), ("pdf", {"CreationDate": None})):
        path = paths.figure_path(slug, ext)
        with atomic_path(path, suffix=f".{ext}") as tmp:
            fig.savefig(tmp, format=ext, metadata=metadata)
        written.append(path)
    return written


def save_table(df: pd.DataFrame, slug: str, index: bool = False) -> list[Path]:
    """Write ``df`` as CSV and as a Markdown table under ``results/tables``."""
    _check_slug(slug)
    csv_path = paths.table_path(slug, "csv")
    md_path = paths.table_path(slug, "md")
    atomic_write_text(csv_path, df.to_csv(index=index))
    atomic_write_text(md_path, to_markdown(df, index=index) + "\n")
    return [csv_path, md_path]


def to_markdown(df: pd.DataFrame, index: bool = False, float_digits: int = 4) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned, floats to ``float_digits``."""
    frame = df.reset_index() if index else df
    header = [str(c) for c in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "" if pd.isna(value) else f"{value:.{float_digits}f}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    rows = [[cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        padded = [c.rjust(w) if num else c.ljust(w)
                  for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * (w - 1) + ":" if num else "-" * w for w, num in zip(widths, numeric, strict=True)]
    return "\n".join([line(header), "| " + " | ".join(rule) + " |"] + [line(r) for r in rows])


def show(fig: plt.Figure) -> None:
    """Show ``fig`` in the notebook at this point (not at the end of the cell), then free it."""
    if "ipykernel" in sys.modules:
        from IPython.display import display

        display(fig)
    plt.close(fig)


# --- the report's figures ----------------------------------------------------------------


def tag_distribution(counts: pd.DataFrame, title: str = "") -> plt.Figure:
    """Figure 1: positives per tag in train, valid and test (one panel each, same tag order).

    ``counts``: columns tag, train, valid, test; bars follow its row order.
    """
    parts = ["train", "valid", "test"]
    fig, axes = plt.subplots(3, 1, figsize=(10, 6), sharex=True)
    x = range(len(counts))
    for ax, part, colour in zip(axes, parts, PALETTE[:3], strict=True):
        ax.bar(x, counts[part], color=colour, width=0.8)
        ax.set_ylabel(f"{part}\nclips")
        ax.grid(axis="x", visible=False)
    axes[-1].set_xticks(list(x), counts["tag"], rotation=90)
    axes[-1].set_xlim(-0.7, len(counts) - 0.3)
    if title:
        axes[0].set_title(title)
    fig.align_ylabels(axes)
    return fig


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


def table1_figure(table: pd.DataFrame, published: dict[str, float]) -> plt.Figure:
    """Table I as a figure: test ROC-AUC per (length, stride), ours (mean ± std) beside the
    published values. ``published`` maps ``"raw L-S"`` / ``"logmel L-S"`` / ``"Dieleman raw
    L-S"`` labels to AUCs in 0-1."""
    raw = table[table["frontend"] == "raw"]
    pairs = [f"{r.length}-{r.stride}" for r in raw.itertuples()]
    x = list(range(len(pairs)))
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.errorbar(x, raw["test_roc_auc_mean"], yerr=raw["test_roc_auc_std"].fillna(0),
                marker="o", capsize=3, label="ours (raw)", color=PALETTE[0])
    for name, colour, marker in (("report", PALETTE[1], "s"), ("Dieleman raw", PALETTE[2], "^"),
                                 ("Dieleman spectrogram", PALETTE[4], "v")):
        pts = [(i, published[f"{name} {p}"]) for i, p in enumerate(pairs)
               if f"{name} {p}" in published]
        if pts:
            ax.scatter(*zip(*pts, strict=True), marker=marker, color=colour, label=name, zorder=3)
    logmel = table[table["frontend"] == "logmel"]
    pts = [(pairs.index(f"{r.length}-{r.stride}"), r.test_roc_auc_mean)
           for r in logmel.itertuples() if f"{r.length}-{r.stride}" in pairs]
    if pts:
        ax.scatter(*zip(*pts, strict=True), marker="D", color=PALETTE[3], label="ours (log-mel)",
                   zorder=3)
    ax.set_xticks(x, [p.replace("-", "/") for p in pairs])
    ax.set_xlabel("filter length / stride (samples)")
    ax.set_ylabel("test ROC-AUC")
    ax.legend(loc="best", ncols=2)
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
    """Figure 4: training positives per tag (bars, left axis) and test ROC-AUC (points, right
    axis), tags in the table's order. ``per_tag``: tag, n_train_pos, roc_auc[, roc_auc_std]."""
    fig, ax = plt.subplots(figsize=(10, 3.8))
    x = list(range(len(per_tag)))
    ax.bar(x, per_tag["n_train_pos"], color="0.8", width=0.8, label="training clips")
    ax.set_ylabel("training clips with the tag")
    ax.set_xticks(x, per_tag["tag"], rotation=90)
    ax.set_xlim(-0.7, len(per_tag) - 0.3)
    ax.grid(axis="x", visible=False)
    ax2 = ax.twinx()
    yerr = per_tag["roc_auc_std"].fillna(0) if "roc_auc_std" in per_tag else None
    ax2.errorbar(x, per_tag["roc_auc"], yerr=yerr, fmt="o", markersize=4, capsize=2,
                 color=PALETTE[0], label="test ROC-AUC")
    ax2.set_ylabel("test ROC-AUC")
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    if highlight is not None and highlight in set(per_tag["tag"]):
        i = list(per_tag["tag"]).index(highlight)
        ax2.scatter([i], [per_tag["roc_auc"].iloc[i]], s=120, facecolors="none",
                    edgecolors=PALETTE[3], linewidths=1.5, zorder=3, label=highlight)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax2.legend(handles, [h.get_label() for h in handles], loc="upper right")
    return fig


def variant_bars(frame: pd.DataFrame, metric: str, published: dict[str, float],
                 xlabel: str) -> plt.Figure:
    """Horizontal bars of ``metric`` (mean ± std over trials) per ``variant``, the published
    value (0-1 AUC, keyed by variant) marked beside each bar it exists for."""
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * len(frame) + 1.0))
    y = list(range(len(frame)))[::-1]
    ax.barh(y, frame[f"{metric}_mean"], xerr=frame[f"{metric}_std"].fillna(0), capsize=3,
            color=PALETTE[0], height=0.6, label="ours")
    pts = [(published[v], yy) for v, yy in zip(frame["variant"], y, strict=True) if v in published]
    if pts:
        ax.scatter(*zip(*pts, strict=True), marker="s", color=PALETTE[1], zorder=3, label="report")
    ax.set_yticks(y, frame["variant"])
    lo = min(list(frame[f"{metric}_mean"]) + [p for p, _ in pts])
    hi = max(list(frame[f"{metric}_mean"] + frame[f"{metric}_std"].fillna(0)) +
             [p for p, _ in pts])
    ax.set_xlim(max(0.0, lo - 0.05), min(1.0, hi + 0.02))
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False)
    return fig


def per_tag_comparison(compare: pd.DataFrame, highlight: str | None = None) -> plt.Figure:
    """Per-tag test ROC-AUC of SampleCNN against the shallow CNN (one point per tag)."""
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.scatter(compare["roc_auc_shallow"], compare["roc_auc_samplecnn"], s=14,
               color=PALETTE[0])
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
