"""The report's pipeline, declared once: what each notebook reads and what it writes.

Each notebook declares its ``inputs`` (the notebooks whose artifacts it reads) beside its
products (figures, tables, artifact, tagger bundle), with a caption each. Everything else is
derived from this one declaration: the run order (:func:`run_order`, inputs first), what
``mtlib report --only`` must run first (:func:`prerequisites`), the plan of training runs and
the site's chapter order. The writers refuse a slug that is not listed here
(:func:`check_slug`), and the tests check every notebook's outputs against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

SLUG = re.compile(r"^\d\d_[a-z0-9_]+$")


@dataclass(frozen=True)
class Output:
    """A figure or table: its ``caption``, and ``made_by``, the dotted name of the function
    that made it (a figure: the function that draws it; a table: the function that computes
    its numbers). The site links each caption to that function's source."""

    caption: str
    made_by: str


@dataclass(frozen=True)
class Products:
    """One notebook of the pipeline. ``inputs``: the notebooks whose artifacts it reads (and
    so must run before it); ``figures`` and ``tables``: ``{slug: Output}`` (each figure as
    PNG and PDF, each table as CSV and Markdown); ``artifact``: the slug of the JSON it hands
    to later notebooks (or None); ``bundle``: the caption of the tagger bundle it writes to
    ``results/bundles/<notebook>-<profile>/`` (or None)."""

    figures: dict[str, Output]
    tables: dict[str, Output]
    artifact: str | None = None
    inputs: tuple[str, ...] = ()
    bundle: str | None = None


_SEARCH_STAGES = {
    "input_norm": "input normalisation", "filters": "filters of the strided convolution",
    "lr": "learning rate, coarse grid", "lr_fine": "learning rate, fine grid",
    "momentum": "momentum",
}
_PLOTS = "mtlib.report.plots."
_SECTIONS = "mtlib.report.sections."

PRODUCTS: dict[str, Products] = {
    "01_tag_distribution": Products(
        figures={"01_tag_distribution": Output(
            "Figure 1: positives per tag in train, valid, test", _PLOTS + "tag_distribution")},
        tables={"01_tag_distribution": Output(
                    "Positives per tag and split", _SECTIONS + "tag_distribution.run"),
                "01_realism_card": Output(
                    "The stand-in's realism card: per tag, presence of its sound with and "
                    "without the tag, baseline ROC-AUC, frequency against MTAT",
                    _SECTIONS + "tag_distribution.realism")},
    ),
    "02_hyperparameter_search": Products(
        figures={f"02_hyperparameter_search_{s}": Output(f"Section V, stage {i}: {name}",
                                                         _PLOTS + "search_stage")
                 for i, (s, name) in enumerate(_SEARCH_STAGES.items(), 1)},
        tables={"02_hyperparameter_search": Output(
                    "Section V: the kept values beside the report's",
                    _SECTIONS + "hyperparameter_search.run"),
                **{f"02_hyperparameter_search_{s}": Output(
                    f"Section V, stage {i}: {name}", _SECTIONS + "hyperparameter_search.run")
                   for i, (s, name) in enumerate(_SEARCH_STAGES.items(), 1)}},
        artifact="02_hyperparameter_search",
    ),
    "03_length_stride_table": Products(
        figures={"03_length_stride_table": Output(
            "Table I as a figure: test ROC-AUC per (filter length, stride)",
            _PLOTS + "table1_figure")},
        tables={"03_length_stride_table": Output(
            "Table I: test ROC-AUC per (filter length, stride)",
            _SECTIONS + "length_stride_table.run")},
        artifact="03_length_stride_table",
        inputs=("02_hyperparameter_search",),
    ),
    "04_training_curves": Products(
        figures={"04_training_curves": Output(
            "Figure 3: train and validation ROC-AUC per epoch", _PLOTS + "training_curves")},
        tables={"04_training_curves": Output(
            "Figure 3's curves: mean and std over trials", _SECTIONS + "training_curves.curves")},
        artifact="04_training_curves",
        inputs=("03_length_stride_table",),
    ),
    "05_per_tag_analysis": Products(
        figures={"05_per_tag_analysis": Output(
            "Figure 4: test ROC-AUC per tag against training clips", _PLOTS + "per_tag_figure")},
        tables={"05_per_tag_analysis": Output(
                    "Figure 4's values per tag", _SECTIONS + "per_tag_analysis.per_tag_table"),
                "05_per_tag_analysis_clips": Output(
                    "The best and worst test clips", _SECTIONS + "per_tag_analysis.clip_table"),
                "05_per_tag_analysis_section7": Output(
                    "The three clips Section VII names", _SECTIONS + "per_tag_analysis.run")},
        artifact="05_per_tag_analysis",
        inputs=("03_length_stride_table",),
    ),
    "06_normalisation_dropout": Products(
        figures={"06_normalisation_dropout": Output("Table II as a figure",
                                                    _PLOTS + "variant_bars")},
        tables={"06_normalisation_dropout": Output(
            "Table II: normalisation, dropout, longer training",
            _SECTIONS + "normalisation_dropout.run")},
        artifact="06_normalisation_dropout",
        inputs=("02_hyperparameter_search", "03_length_stride_table"),
        bundle="The final shallow CNN of Table II (best validation trial), for `mtlib tag`",
    ),
    "07_samplecnn": Products(
        figures={"07_samplecnn": Output(
                     "Section VIII-B: validation ROC-AUC per SampleCNN step",
                     _PLOTS + "variant_bars"),
                 "07_samplecnn_per_tag": Output(
                     "SampleCNN against the shallow CNN, per tag",
                     _PLOTS + "per_tag_comparison")},
        tables={"07_samplecnn": Output("Section VIII-B: SampleCNN steps",
                                       _SECTIONS + "samplecnn.run"),
                "07_samplecnn_per_tag": Output("Per-tag test ROC-AUC of both models",
                                               _SECTIONS + "samplecnn.compare")},
        artifact="07_samplecnn",
        inputs=("06_normalisation_dropout",),
    ),
    "09_future_work": Products(
        figures={"09_future_work": Output(
                     "Section IX: test ROC-AUC of every future-work arm",
                     _PLOTS + "variant_bars"),
                 "09_future_work_frontends": Output(
                     "Section IX: per-tag test ROC-AUC of the log-mel front end against raw "
                     "audio, and of the harmonic one against raw audio of its size",
                     _PLOTS + "per_tag_pairs"),
                 "09_future_work_embedding": Output(
                     "Section IX: per-tag test ROC-AUC with the label embedding against "
                     "without", _PLOTS + "per_tag_pairs")},
        tables={"09_future_work": Output(
                    "Section IX: every arm's scores, parameters and cost",
                    _SECTIONS + "future_work.run"),
                "09_future_work_per_tag": Output(
                    "Per-tag test ROC-AUC of every future-work arm",
                    _SECTIONS + "future_work.run"),
                "09_future_work_choices": Output(
                    "What the papers leave open, and our choices",
                    _SECTIONS + "future_work.choices")},
        artifact="09_future_work",
        inputs=("06_normalisation_dropout", "07_samplecnn"),
    ),
    "10_seed_noise": Products(
        figures={"10_seed_noise": Output(
            "Seed noise: test ROC-AUC of each seed of one reference configuration per model "
            "family", _PLOTS + "seed_strip")},
        tables={"10_seed_noise": Output(
                    "Seed noise: each family's spread of test ROC-AUC over seeds",
                    _SECTIONS + "seed_noise.run"),
                "10_seed_noise_runs": Output("Seed noise: every reference run",
                                             _SECTIONS + "seed_noise.run")},
        artifact="10_seed_noise",
        inputs=("03_length_stride_table", "07_samplecnn"),
    ),
    "08_summary": Products(
        figures={},
        tables={"08_summary_claims": Output(
                    "The report's claims, each with its verdict here",
                    "mtlib.report.verdicts.claims_table"),
                "08_summary": Output("Every published number beside ours",
                                     _SECTIONS + "summary.run"),
                "08_summary_deviations": Output(
                    "Where this profile departs from the report, and why",
                    "mtlib.paper.ledger.deviations"),
                "08_summary_readings": Output(
                    "Settings the report leaves open, and our reading",
                    "mtlib.paper.ledger.readings")},
        inputs=("02_hyperparameter_search", "03_length_stride_table", "04_training_curves",
                "05_per_tag_analysis", "06_normalisation_dropout", "07_samplecnn",
                "09_future_work", "10_seed_noise"),
    ),
}

def run_order(notebooks: Iterable[str] | None = None,
              pipeline: dict[str, Products] | None = None) -> list[str]:
    """``notebooks`` (default: every declared one) with each after its inputs, ties by
    number. A notebook that is not declared runs after the declared ones. ``pipeline``:
    the declaration (default :data:`PRODUCTS`)."""
    pipeline = PRODUCTS if pipeline is None else pipeline
    todo = sorted(pipeline if notebooks is None else notebooks)
    declared = [nb for nb in todo if nb in pipeline]
    done: list[str] = []
    while declared:
        ready = [nb for nb in declared if all(i in done or i not in declared
                                              for i in pipeline[nb].inputs)]
        if not ready:
            raise ValueError(f"the inputs of {', '.join(declared)} form a cycle")
        done.append(ready[0])
        declared.remove(ready[0])
    return done + [nb for nb in todo if nb not in pipeline]


def prerequisites(notebook: str) -> list[str]:
    """Every notebook whose artifact ``notebook`` needs, directly or through another, in
    run order."""
    found: set[str] = set()
    stack = list(PRODUCTS[notebook].inputs) if notebook in PRODUCTS else []
    while stack:
        nb = stack.pop()
        if nb not in found:
            found.add(nb)
            stack += PRODUCTS[nb].inputs
    return run_order(found)


# Notebook 08 shows these figures again, in this order.
KEY_FIGURES = ("01_tag_distribution", "03_length_stride_table", "04_training_curves",
               "05_per_tag_analysis", "06_normalisation_dropout", "07_samplecnn_per_tag",
               "09_future_work")

# Notebooks whose artifact holds ``findings``: measured values under published keys.
WITH_FINDINGS = tuple(nb for nb, p in PRODUCTS.items() if p.artifact)


def notebook_of(slug: str) -> str:
    """The notebook that writes output ``slug`` (a figure or table)."""
    for notebook, p in PRODUCTS.items():
        if slug in p.figures or slug in p.tables:
            return notebook
    raise KeyError(slug)


def output(slug: str, kind: str = "figure") -> Output:
    """Figure or table ``slug`` (a figure and a table may share a slug)."""
    p = PRODUCTS[notebook_of(slug)]
    return (p.figures if kind == "figure" else p.tables)[slug]


def caption(slug: str, kind: str = "figure") -> str:
    """The caption of figure or table ``slug``."""
    return output(slug, kind).caption


def maker(slug: str, kind: str = "figure") -> str:
    """The dotted name of the function that made figure or table ``slug``."""
    return output(slug, kind).made_by


def makers() -> dict[tuple[str, str], str]:
    """Every registered figure and table: ``{(kind, slug): dotted name of its maker}``."""
    return {(kind, slug): o.made_by for p in PRODUCTS.values()
            for kind, outputs in (("figure", p.figures), ("table", p.tables))
            for slug, o in outputs.items()}


def check_slug(slug: str, kind: str) -> None:
    """ValueError unless ``slug`` is a registered ``kind`` ("figure" or "table")."""
    if not SLUG.match(slug):
        raise ValueError(f"bad output slug {slug!r}: expected 'NN_lowercase_words' (e.g. 03_table)")
    registered = {s for p in PRODUCTS.values() for s in (p.figures if kind == "figure"
                                                            else p.tables)}
    if slug not in registered:
        raise ValueError(f"{kind} {slug!r} is not listed in mtlib.report.products.PRODUCTS")
