"""Notebook 08: the report's claims judged on this profile's runs
(:mod:`mtlib.report.verdicts`), every
published number beside ours, and where the profile departs from the report. Nothing here
trains: it reads the artifacts of notebooks 02-07 and 09 and their runs (it runs last)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mtlib.paper import ledger
from mtlib.paper.numbers import PUBLISHED, Published, format_value
from mtlib.report import verdicts as claims
from mtlib.report.artifacts import artifact_path, read_artifact
from mtlib.report.outputs import Outputs, show_caption
from mtlib.report.products import KEY_FIGURES, WITH_FINDINGS
from mtlib.report.profiles import Profile
from mtlib.report.tables import effect_interval, mean_std

SLUG = "08_summary"
CLAIMS_SLUG = "08_summary_claims"
DEVIATIONS_SLUG = "08_summary_deviations"
READINGS_SLUG = "08_summary_readings"


@dataclass
class Summary:
    """``published``: one row per published number (numeric: published, ours_mean, ours_std,
    ours_n; text values such as a tag name in published_label / ours_label)."""

    profile: str
    published: pd.DataFrame
    standin: bool  # measured on the stand-in corpus, not on MTAT
    claims: pd.DataFrame  # mtlib.report.verdicts.claims_table: every claim with its verdict
    deviations: pd.DataFrame  # mtlib.paper.ledger.deviations: setting, report, profile, why
    readings: pd.DataFrame  # mtlib.paper.ledger.readings: what the report leaves open

    @property
    def verdicts(self) -> dict[str, int]:
        """How many of the report's claims got each verdict (not Section IX's expectations,
        nor the calibration rows)."""
        return claims.verdict_counts(self.claims, "report")

    @property
    def n_report_claims(self) -> int:
        return int((self.claims["group"] == "report").sum())

    @property
    def n_measured(self) -> int:
        return int(self.published["measured"].sum())


def collect_findings(profile: str) -> dict[str, dict]:
    """Merge the ``findings`` of every notebook artifact of ``profile`` that exists."""
    out: dict[str, dict] = {}
    for slug in WITH_FINDINGS:
        if artifact_path(slug, profile).is_file():
            out.update(read_artifact(slug, profile).get("findings", {}))
    return out


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


def run(profile: Profile) -> Summary:
    """Every published number beside ours (from the notebooks' artifacts), the claims judged,
    the deviations of ``profile`` and the settings the report leaves open."""
    findings = collect_findings(profile.name)
    return Summary(profile.name, _published_rows(findings), profile.data_source == "standin",
                   claims.claims_table(profile.name), ledger.deviations(profile),
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


def display_claims(s: Summary) -> pd.DataFrame:
    """The report's claims, then the calibration rows (Section IX's are notebook 09's)."""
    shown = s.claims[s.claims["group"] != "future"]
    return claims_view(shown)


def claims_view(c: pd.DataFrame) -> pd.DataFrame:
    """Rows of :func:`mtlib.report.verdicts.claims_table` as a reader sees them: the report's
    difference and its split, ours with its 95 % interval, which noise the interval holds,
    the verdict after Holm's adjustment beside the interval's own, and the smallest effect
    this run, and ``full`` on MTAT, could resolve."""

    def report(r) -> str:
        if pd.isna(r.report_difference):
            return ""
        inside = {True: ", inside ours", False: ", outside ours"}.get(
            None if pd.isna(r.report_in_interval) else bool(r.report_in_interval), "")
        return f"{r.report_difference:+.3f} ({r.report_split}{inside})"

    def noise(r) -> str:
        if pd.isna(r.sd_total):
            return ""
        parts = [f"{v:.3f}" for v in (r.sd_clips, r.sd_seed) if pd.notna(v)]
        return f"{r.sd_total:.3f}" + (f" ({', '.join(parts)})" if len(parts) == 2 else "")

    def power(r) -> str:
        if pd.isna(r.mde):
            return ""
        text = f"{r.mde:.3f} / {r.mde_full:.3f}"
        return text + (" (the report's is smaller)" if r.too_small_full else "")

    def verdict(r) -> str:
        if r.verdict == r.verdict_interval or r.verdict in ("not measured", "diverged"):
            return r.verdict
        return f"{r.verdict} (interval alone: {r.verdict_interval})"

    rows = list(c.itertuples())
    return pd.DataFrame({
        "section": c["section"], "claim": c["claim"],
        "report": [report(r) for r in rows],
        "ours (95 % interval)": [effect_interval(e, lo, hi) for e, lo, hi in zip(
            c["effect"], c["low"], c["high"], strict=True)],
        "verdict": [verdict(r) for r in rows],
        "s.d. (clips, seeds)": [noise(r) for r in rows],
        "what the interval holds": c["noise"],
        "resolvable here / on MTAT": [power(r) for r in rows],
        "note": c["note"],
    })


def save(profile: Profile, s: Summary) -> Outputs:
    out = Outputs()
    out.table(CLAIMS_SLUG, s.claims, display_claims(s))
    out.table(SLUG, s.published, display_published(s))
    out.table(DEVIATIONS_SLUG, s.deviations, s.deviations.drop(columns="key").rename(columns={
        "report": "the report", "profile": f"this profile ({s.profile})"}))
    out.table(READINGS_SLUG, s.readings, s.readings.drop(columns="key"))
    return out


def key_figures() -> list[tuple[str, Any]]:
    """``(slug, png path)`` of the figures notebook 08 shows again, those that exist."""
    from mtlib import paths

    return [(slug, paths.figure_path(slug, "png")) for slug in KEY_FIGURES
            if paths.figure_path(slug, "png").is_file()]


def show_key_figures() -> None:
    """Display the figures of :func:`key_figures`, each under its caption."""
    from IPython.display import Image, display

    for slug, png in key_figures():
        show_caption(slug)
        display(Image(filename=str(png), width=640))


def headline(s: Summary) -> str:
    """The verdict counts of the report's claims, how many could be chance, and the
    calibration rows, as Markdown."""
    counts = ", ".join(f"{n} {v}" for v, n in s.verdicts.items())
    calibration = s.claims[s.claims["group"] == "calibration"]
    checks = "; ".join(f"{r.claim}: **{r.verdict_interval}**"
                       for r in calibration.itertuples())
    return (f"**The report's claims:** {counts} (of {s.n_report_claims}; Section IX's "
            "expectations are judged in notebook 09). Each 95 % interval holds the test "
            "clips' sampling noise and the seeds' (see each row's “what the interval holds” and "
            "`mtlib.report.verdicts`); verdicts are adjusted for multiplicity by Holm's "
            f"method. {claims.chance_line(s.claims)}"
            + (f"\n\n**Calibration** (two seeds of one configuration; each must read "
               f"inconclusive): {checks}." if checks else ""))


def closing(s: Summary) -> str:
    """The notebook's closing paragraph (Markdown), read off ``s``."""
    verdicts = "; ".join(f"{r.claim}: **{r.verdict}**" for r in s.claims.itertuples()
                         if r.group == "report")
    data = ("Absolute values are not comparable: this profile trains on the synthetic "
            "stand-in corpus, not on MagnaTagATune." if s.standin
            else "Both columns are measured on MagnaTagATune.")
    return (f"This profile measured {s.n_measured} of the {len(s.published)} published "
            f"numbers. Claim by claim: {verdicts}. {data}")
