"""Tables: numeric CSV for programs, formatted Markdown for readers.

Every table goes to ``results/tables/<slug>.csv`` (one column per quantity, numbers as
numbers: ``pd.read_csv`` gives floats back) and ``results/tables/<slug>.md`` (the formatted
view: ``82.44 ± 0.31``, ``81.07%``). ``slug`` starts with the number of the notebook that
makes it and is listed in :data:`mtlib.report.products.PRODUCTS`. Writes are atomic.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from mtlib import paths
from mtlib.io import atomic_write_text
from mtlib.report.products import check_slug

# A number formatted for reading ("82.4 ± 0.3", "81.07%") has no place in a CSV.
_FORMATTED_NUMBER = re.compile(r"^\s*[+-]?\d+(\.\d+)?\s*(±|%)")


def save_table(data: pd.DataFrame, slug: str, display: pd.DataFrame | None = None) -> list[Path]:
    """Write ``data`` as CSV and ``display`` (default: ``data``) as Markdown; both paths.

    Raises ValueError when a text column of ``data`` holds formatted numbers.
    """
    check_slug(slug, "table")
    for column in data.columns:
        if not pd.api.types.is_numeric_dtype(data[column]):
            bad = data[column].map(lambda v: isinstance(v, str)
                                   and _FORMATTED_NUMBER.match(v) is not None)
            if bad.any():
                raise ValueError(f"table {slug}: column {column!r} holds formatted numbers "
                                 f"({data[column][bad].iloc[0]!r}); keep them numeric")
    csv_path, md_path = paths.table_path(slug, "csv"), paths.table_path(slug, "md")
    atomic_write_text(csv_path, data.to_csv(index=False))
    atomic_write_text(md_path, to_markdown(data if display is None else display) + "\n")
    return [csv_path, md_path]


def to_markdown(df: pd.DataFrame, float_digits: int = 4) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned, floats to ``float_digits``."""
    header = [str(c) for c in df.columns]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "" if pd.isna(value) else f"{value:.{float_digits}f}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    rows = [[cell(v) for v in row] for row in df.itertuples(index=False, name=None)]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        padded = [c.rjust(w) if num else c.ljust(w)
                  for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * (w - 1) + ":" if num else "-" * w for w, num in zip(widths, numeric, strict=True)]
    return "\n".join([line(header), "| " + " | ".join(rule) + " |"] + [line(r) for r in rows])


def mean_std(mean: float, std: float, digits: int = 3, percent: bool = False) -> str:
    """``0.812 ± 0.004`` (or ``81.2 ± 0.4`` with ``percent``); no ``±`` part for one trial."""
    if pd.isna(mean):
        return "—"
    scale = 100.0 if percent else 1.0
    text = f"{mean * scale:.{digits}f}"
    return text if pd.isna(std) else f"{text} ± {std * scale:.{digits}f}"


def mean_std_column(table: pd.DataFrame, metric: str, digits: int = 3,
                    percent: bool = False) -> list[str]:
    """:func:`mean_std` of ``<metric>_mean`` and ``<metric>_std`` for every row; a row whose
    trials diverged (column ``diverged``, see :func:`~mtlib.report.sections.grids.aggregate`)
    says so: "diverged", or "(1 of 5 diverged)" after the others' mean."""
    out = []
    diverged = table["diverged"] if "diverged" in table else pd.Series(0, index=table.index)
    trials = table["trials"] if "trials" in table else pd.Series(1, index=table.index)
    for m, s, d, n in zip(table[f"{metric}_mean"], table[f"{metric}_std"], diverged, trials,
                          strict=True):
        text = mean_std(m, s, digits, percent)
        if d and d >= n:
            text = "diverged"
        elif d:
            text += f" ({int(d)} of {int(n)} diverged)"
        out.append(text)
    return out


NBSP = "\u00a0"  # a space a browser does not break a line at


def effect_interval(effect: float, low: float, high: float) -> str:
    """``+0.034 [+0.013, +0.056]``: an effect and its interval, kept on one line (its spaces
    do not break); the effect alone without bounds, "" without an effect."""
    if pd.isna(effect):
        return ""
    text = f"{effect:+.3f}"
    if pd.notna(low) and pd.notna(high):
        text += f" [{low:+.3f}, {high:+.3f}]"
    return text.replace(" ", NBSP)


def value_key(value: Any) -> str:
    """A grid value as text: ``0.0075``, ``32``, ``minmax``."""
    return f"{value:g}" if isinstance(value, float) else str(value)
