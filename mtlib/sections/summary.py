"""Notebook 08: every published number beside ours, and the report's comparisons checked on
this profile's results. Nothing here trains: it reads the artifacts of notebooks 02-07."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mtlib import ledger
from mtlib.artifacts import artifact_path, read_artifact
from mtlib.outputs import Outputs
from mtlib.products import KEY_FIGURES, WITH_FINDINGS
from mtlib.profiles import Profile
from mtlib.published import BY_KEY, PUBLISHED, Published, format_value
from mtlib.sections.grids import value
from mtlib.tables import mean_std

SLUG = "08_summary"
TRENDS_SLUG = "08_summary_trends"
DEVIATIONS_SLUG = "08_summary_deviations"
READINGS_SLUG = "08_summary_readings"


@dataclass(frozen=True)
class Trend:
    """A comparison the report makes: it holds when value(a) > value(b). ``ours_a`` /
    ``ours_b`` name our keys where our chain kept another variant than the report's (dropout
    is added to whichever normalisation won on validation here, group norm in the report)."""

    claim: str
    a: str
    b: str
    ours_a: str | None = None
    ours_b: str | None = None


TRENDS: tuple[Trend, ...] = (
    Trend("min-max input scaling beats no normalisation", "search.input_norm.minmax",
          "search.input_norm.none"),
    Trend("min-max input scaling beats standardisation", "search.input_norm.minmax",
          "search.input_norm.standardise"),
    Trend("length = stride = 256 beats 1024", "table1.raw.256-256", "table1.raw.1024-1024"),
    Trend("layer norm beats batch norm", "table2.layer", "table2.batch"),
    Trend("group norm beats layer norm", "table2.group", "table2.layer"),
    Trend("dropout improves the kept normalisation", "table2.dropout", "table2.group",
          "table2.dropout", "table2.kept"),
    Trend("longer training improves it further", "table2.long", "table2.dropout"),
    Trend("SampleCNN beats the best shallow CNN (test)", "samplecnn.long.test", "table2.long"),
)


@dataclass
class Summary:
    """``published``: one row per published number (numeric: published, ours_mean, ours_std,
    ours_n; text values such as a tag name in published_label / ours_label). ``trends``: one
    row per :data:`TRENDS` entry (report_difference, ours_difference, report_holds,
    ours_holds; NaN where not measured)."""

    profile: str
    published: pd.DataFrame
    trends: pd.DataFrame
    standin: bool  # measured on the stand-in corpus, not on MTAT
    deviations: pd.DataFrame  # mtlib.ledger.deviations: setting, report, profile, why
    readings: pd.DataFrame  # mtlib.ledger.readings: what the report leaves open

    @property
    def n_measured(self) -> int:
        return int(self.published["measured"].sum())

    @property
    def checked(self) -> pd.DataFrame:
        return self.trends[self.trends["ours_holds"].notna()]

    @property
    def n_agree(self) -> int:
        c = self.checked
        return int((c["ours_holds"] == c["report_holds"]).sum())


def collect_findings(profile: str) -> dict[str, dict]:
    """Merge the ``findings`` of every notebook artifact of ``profile`` that exists."""
    out: dict[str, dict] = {}
    for slug in WITH_FINDINGS:
        if artifact_path(slug, profile).is_file():
            out.update(read_artifact(slug, profile).get("findings", {}))
    return out


def _as_auc(entry: Published) -> float:
    return entry.value / 100.0 if entry.unit == "%" else entry.value


def _published_rows(findings: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for p in PUBLISHED:
        f = findings.get(p.key) or {}
        text = isinstance(p.value, str)
        ours = f.get("mean", f.get("value"))
        rows.append({
            "key": p.key, "section": p.section, "quantity": p.quantity, "set": p.split,
            "unit": p.unit,
            "published": np.nan if text else float(p.value),
            "published_label": p.value if text else "",
            "ours_mean": ours if isinstance(ours, int | float) else np.nan,
            "ours_std": f.get("std") if f.get("std") is not None else np.nan,
            "ours_n": f.get("n", np.nan),
            "ours_label": ours if isinstance(ours, str) else "",
            "measured": bool(f),
            "note": f.get("note", "not measured by this profile"),
            "source": p.source,
        })
    return pd.DataFrame(rows)


def _trend_rows(findings: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for t in TRENDS:
        report = _as_auc(BY_KEY[t.a]) - _as_auc(BY_KEY[t.b])
        oa, ob = value(findings.get(t.ours_a or t.a)), value(findings.get(t.ours_b or t.b))
        ours = np.nan if oa is None or ob is None else oa - ob
        rows.append({"claim": t.claim, "report_difference": report,
                     "report_holds": report > 0, "ours_difference": ours,
                     "ours_holds": None if np.isnan(ours) else bool(ours > 0)})
    return pd.DataFrame(rows)


def run(profile: Profile) -> Summary:
    findings = collect_findings(profile.name)
    return Summary(profile.name, _published_rows(findings), _trend_rows(findings),
                   profile.data_source == "standin", ledger.deviations(profile),
                   ledger.readings())


def _ours_text(entry: Published, f: dict | None) -> str:
    """Our value in the published entry's unit (``—`` when not measured)."""
    if not f:
        return "—"
    if "mean" in f:
        percent = entry.unit == "%"
        digits = 2 if percent else max(entry.digits, 3)
        return mean_std(f["mean"], f["std"] if f["std"] is not None else float("nan"), digits,
                        percent)
    return format_value(f["value"], entry.unit,
                        max(entry.digits, 1) if entry.unit == "% gain" else entry.digits)


def display_published(s: Summary) -> pd.DataFrame:
    findings = collect_findings(s.profile)
    return pd.DataFrame([{
        "section": p.section, "quantity": p.quantity, "set": p.split, "published": p.shown(),
        f"ours ({s.profile})": _ours_text(p, findings.get(p.key)),
        "note": (findings.get(p.key) or {}).get("note", "not measured by this profile"),
        "source": p.source,
    } for p in PUBLISHED])


def display_trends(s: Summary) -> pd.DataFrame:
    t = s.trends

    def yes_no(v: Any) -> str:
        return "not measured" if v is None or v is np.nan else ("yes" if v else "no")

    return pd.DataFrame({
        "claim": t["claim"], "report": [yes_no(v) for v in t["report_holds"]],
        "ours": [yes_no(v) for v in t["ours_holds"]],
        "ours: difference": ["" if pd.isna(d) else f"{d:+.4f}" for d in t["ours_difference"]],
    })


def save(profile: Profile, s: Summary) -> Outputs:
    out = Outputs()
    out.table(SLUG, s.published, display_published(s))
    out.table(TRENDS_SLUG, s.trends, display_trends(s))
    out.table(DEVIATIONS_SLUG, s.deviations, s.deviations.drop(columns="key").rename(columns={
        "report": "the report", "profile": f"this profile ({s.profile})"}))
    out.table(READINGS_SLUG, s.readings, s.readings.drop(columns="key"))
    return out


def key_figures() -> list[tuple[str, Any]]:
    """``(slug, png path)`` of the figures notebook 08 shows again, those that exist."""
    from mtlib import paths

    return [(slug, paths.figure_path(slug, "png")) for slug in KEY_FIGURES
            if paths.figure_path(slug, "png").is_file()]
