"""Notebook 08: every published number beside ours, the report's comparisons, the best
shallow model for ``mtlib tag``, and the training workload of a profile."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mtlib.errors import MtlibError
from mtlib.experiments.common import artifact_path, best_run, mean_std, read_artifact
from mtlib.experiments.search import SEARCH_START
from mtlib.experiments.table1 import logmel_pairs
from mtlib.profiles import Profile


def best_shallow_run_id(profile: str) -> str:
    """The best shallow run of a profile: Table II's final model if notebook 06 ran, else the
    best Table I configuration's best trial."""
    t2 = artifact_path("06_normalisation_dropout", profile)
    if t2.is_file():
        return read_artifact("06_normalisation_dropout", profile)["best_run_id"]
    art = read_artifact("03_length_stride_table", profile)
    from mtlib.runs import RunStore

    store = RunStore()
    results = [r for r in (store.load(i) for i in art["best_run_ids"]) if r is not None]
    if not results:
        raise MtlibError(f"none of the runs {art['best_run_ids']} is in the run store")
    return best_run(results).run_id


SLUGS_WITH_FINDINGS = ("02_hyperparameter_search", "03_length_stride_table",
                       "04_training_curves", "05_per_tag_analysis", "06_normalisation_dropout",
                       "07_samplecnn")


def collect_findings(profile: str) -> dict[str, dict]:
    """Merge the ``findings`` of every notebook artifact of ``profile`` that exists."""
    out: dict[str, dict] = {}
    for slug in SLUGS_WITH_FINDINGS:
        if artifact_path(slug, profile).is_file():
            out.update(read_artifact(slug, profile).get("findings", {}))
    return out


def format_finding(entry: Any, finding: dict | None) -> str:
    """Our value for a published entry, in the entry's unit (``—`` when not measured)."""
    from mtlib.published import format_value

    if not finding:
        return "—"
    if "mean" in finding:
        percent = entry.unit == "%"
        digits = entry.digits if not percent else 2
        return mean_std(finding["mean"], finding["std"] if finding["std"] is not None
                        else float("nan"), max(digits, 3) if not percent else digits, percent)
    return format_value(finding["value"], entry.unit, max(entry.digits, 1)
                        if entry.unit in ("% gain",) else entry.digits)


def summary_table(profile: str) -> pd.DataFrame:
    """Every published number beside ours for ``profile``, with its source."""
    from mtlib.published import PUBLISHED

    findings = collect_findings(profile)
    return pd.DataFrame([{
        "section": p.section, "quantity": p.quantity, "set": p.split,
        "published": p.shown(), f"ours ({profile})": format_finding(p, findings.get(p.key)),
        "note": (findings.get(p.key) or {}).get("note", "not measured by this profile"),
        "source": p.source,
    } for p in PUBLISHED])


def _value(findings: dict, key: str) -> float | None:
    f = findings.get(key)
    if not f:
        return None
    return f.get("mean", f.get("value"))


# (claim, key a, key b): the claim holds when value(a) > value(b).
# (claim, key a, key b[, our key a, our key b]): the claim holds when value(a) > value(b).
# Our keys differ where our chain kept another variant than the report's (e.g. dropout is
# added to whichever normalisation won on validation here, group norm in the report).
TRENDS: tuple[tuple[str, ...], ...] = (
    ("min-max input scaling beats no normalisation", "search.input_norm.minmax",
     "search.input_norm.none"),
    ("min-max input scaling beats standardisation", "search.input_norm.minmax",
     "search.input_norm.standardise"),
    ("length = stride = 256 beats 1024", "table1.raw.256-256", "table1.raw.1024-1024"),
    ("layer norm beats batch norm", "table2.layer", "table2.batch"),
    ("group norm beats layer norm", "table2.group", "table2.layer"),
    ("dropout improves the kept normalisation", "table2.dropout", "table2.group",
     "table2.dropout", "table2.kept"),
    ("longer training improves it further", "table2.long", "table2.dropout"),
    ("SampleCNN beats the best shallow CNN (test)", "samplecnn.long.test", "table2.long"),
)


def _as_auc(entry: Any) -> float:
    return entry.value / 100.0 if entry.unit == "%" else entry.value


def trend_table(profile: str) -> pd.DataFrame:
    """For each comparison the report makes, whether it holds in the report and in ours."""
    from mtlib.published import BY_KEY

    findings = collect_findings(profile)
    rows = []
    for claim, a, b, *ours_keys in TRENDS:
        pa, pb = _as_auc(BY_KEY[a]), _as_auc(BY_KEY[b])
        oa_key, ob_key = ours_keys or (a, b)
        oa, ob = _value(findings, oa_key), _value(findings, ob_key)
        ours = "not measured" if oa is None or ob is None else ("yes" if oa > ob else "no")
        rows.append({"claim": claim, "report": "yes" if pa > pb else "no", "ours": ours,
                     "ours: difference": "" if ours == "not measured" else f"{oa - ob:+.4f}"})
    return pd.DataFrame(rows)


def workload(profile: Profile) -> pd.DataFrame:
    """Training runs and epochs each notebook asks for: one row per (notebook, model, first
    layer) with ``runs``, ``epochs`` per run, ``train_clips`` (None: whole train split) and
    ``total_epochs``. Search and later steps may reuse runs, so counts are upper bounds.

    Multiply ``total_epochs`` by a measured time per epoch of that model and layer (see the
    training benchmark) to estimate a profile's training time.
    """
    p = profile
    rows = []

    def add(notebook, model, layer, runs, epochs, clips):
        rows.append({"notebook": notebook, "model": model, "first layer": layer,
                     "runs": runs, "epochs": epochs, "train_clips": clips,
                     "total_epochs": runs * epochs})

    start = f"raw {SEARCH_START['length']}/{SEARCH_START['stride']}"
    grid = (len(p.search_input_norms) + len(p.search_filters) + len(p.search_lrs)
            + p.search_lr_fine_points + len(p.search_momenta))
    add("02", "dieleman", start, grid * p.search_trials, p.search_epochs,
        p.search_max_train_clips)
    for length, stride in p.table1_pairs:
        add("03", "dieleman", f"raw {length}/{stride}", p.shallow_trials, p.shallow_epochs,
            p.shallow_max_train_clips)
    for length, stride in logmel_pairs(p):
        add("03", "dieleman", f"logmel {length}/{stride}", p.shallow_trials, p.shallow_epochs,
            p.shallow_max_train_clips)
    variants = 2 + len(p.table2_group_counts) + len(p.table2_dropouts)
    add("06", "dieleman", "best Table I pair", variants * p.shallow_trials, p.shallow_epochs,
        p.shallow_max_train_clips)
    add("06", "dieleman", "best Table I pair", p.shallow_trials, p.shallow_long_epochs,
        p.shallow_max_train_clips)
    add("07", "samplecnn", f"{p.samplecnn_sample_rate} Hz",
        (3 + len(p.samplecnn_momenta)) * p.samplecnn_trials, p.samplecnn_epochs,
        p.samplecnn_max_train_clips)
    add("07", "samplecnn", f"{p.samplecnn_sample_rate} Hz", p.samplecnn_trials,
        p.samplecnn_long_epochs, p.samplecnn_max_train_clips)
    return pd.DataFrame(rows)
