"""A section's outputs: written to ``results/`` when added, shown in order in the notebook.

Each figure's and table's caption is displayed with :data:`PRODUCT_KEY` metadata (its slug and
kind), from which the site links the caption to the source of the function that made it
(:func:`mtlib.report.products.maker`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mtlib.report import listening as listen
from mtlib.report import plots
from mtlib.report.products import PRODUCTS, caption, maker
from mtlib.report.tables import save_table

PRODUCT_KEY = "mtlib_product"  # a caption display's metadata: {"slug": ..., "kind": ...}


def show_caption(slug: str, kind: str = "figure") -> None:
    """Display the caption of figure or table ``slug``, naming the function that made it."""
    from IPython.display import Markdown, display

    display(Markdown(f"**{caption(slug, kind)}** (`{slug}`; made by `{maker(slug, kind)}`)"),
            metadata={PRODUCT_KEY: {"slug": slug, "kind": kind}})


class Outputs:
    """The figures and tables one notebook writes (slugs of :data:`mtlib.report.products.PRODUCTS`).

    ``figure`` and ``table`` write at once (PNG + PDF, CSV + Markdown); :meth:`show` displays
    them in the order they were added, each under its caption. ``listening`` writes a group
    of clips to listen to (:mod:`mtlib.report.listening`), shown in the same order.
    """

    def __init__(self) -> None:
        # (kind, slug or listening key, figure, display table or listening group)
        self.items: list[tuple[str, str, Any]] = []

    def figure(self, slug: str, fig) -> None:
        plots.save_figure(fig, slug)
        self.items.append(("figure", slug, fig))

    def table(self, slug: str, data: pd.DataFrame, display: pd.DataFrame | None = None) -> None:
        """``data``: the numeric table (CSV); ``display``: its formatted view (Markdown and
        the notebook), default ``data``."""
        save_table(data, slug, display)
        self.items.append(("table", slug, data if display is None else display))

    def listening(self, key: str, group: listen.Listening) -> None:
        """Write the clips of ``group`` (mp3 and spectrogram, :func:`listening.write`) and
        show it under ``key`` (a name for :meth:`show`)."""
        listen.write(group)
        self.items.append(("listening", key, group))

    def bundle(self, notebook: str, profile: str, result) -> None:
        """Write the tagger bundle of finished run ``result`` (see
        :mod:`mtlib.training.bundle`) as notebook ``notebook``'s registered bundle."""
        from mtlib import paths
        from mtlib.training.bundle import bundle_from_run, save_bundle

        text = PRODUCTS[notebook].bundle
        if text is None:
            raise ValueError(f"notebook {notebook!r} declares no bundle in "
                             "mtlib.report.products.PRODUCTS")
        folder = save_bundle(bundle_from_run(result), paths.bundle_dir(notebook, profile))
        self.items.append(("bundle", notebook, f"{text}: `{folder}` (run {result.run_id}; "
                                               f"`mtlib tag AUDIO_FILE --bundle {folder}`)"))

    def show(self, *slugs: str) -> None:
        """Display the outputs named by ``slugs`` (default: all), each under its caption."""
        from IPython.display import Markdown, display

        for kind, slug, obj in self.items:
            if slugs and slug not in slugs:
                continue
            if kind == "bundle":
                display(Markdown(f"**Tagger bundle.** {obj}"))
                continue
            if kind == "listening":
                listen.show(obj)
                continue
            show_caption(slug, kind)
            if kind == "figure":
                plots.show(obj)
            else:
                display(styled(obj) if isinstance(obj, pd.DataFrame) else obj)


DISPLAY_DECIMALS = 3  # float columns shown unformatted: AUCs in 0-1 need no more


def styled(table: pd.DataFrame):
    """The table without its row index, text columns left-aligned, numbers right-aligned,
    float columns to :data:`DISPLAY_DECIMALS` places and missing values blank."""
    table = table.reset_index(drop=True)  # a Styler needs unique row labels
    text = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    floats = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
    return (table.style.hide(axis="index")
            .format(precision=DISPLAY_DECIMALS, na_rep="", subset=floats)
            .set_properties(subset=text, **{"text-align": "left"})
            .set_table_styles([{"selector": "th", "props": "text-align: left;"}]))
