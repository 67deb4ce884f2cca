"""What a profile changes relative to profile ``full``, and whether ``full``'s value is the
report's (the ledger, :mod:`mtlib.paper.ledger`, knows which settings the report states)."""

from __future__ import annotations

from typing import Any, Sequence

from mtlib.paper.ledger import report_states, settings_of
from mtlib.report.profiles import Profile, differences, load_profile


def settings_note(profile: Profile, fields: Sequence[str]) -> str:
    """Markdown: the profile's data, and which of ``fields`` it sets differently from
    ``full``, each beside ``full``'s value and where that value comes from."""
    full = load_profile("full")
    changed = differences(profile, full, list(fields))
    if profile.data_source == "standin":
        head = (f"Profile **{profile.name}** trains on the stand-in corpus "
                f"`{profile.data_name}` ({profile.data_clips} generated clips), not on MTAT.")
    else:
        head = f"Profile **{profile.name}** trains on MagnaTagATune at `{profile.data_root}`."
    if not changed:
        return head + " These settings match profile `full`."
    lines = [f"- `{f}`: {_text(ours)} here, {_text(ref)} {_source(f, ours, full)}"
             for f, ours, ref in changed]
    return head + " It sets these differently from profile `full`:\n" + "\n".join(lines)


def _source(field: str, ours: Any, full: Profile) -> str:
    """Where ``full``'s value of ``field`` comes from: the report where the report states it;
    otherwise profile ``full``, with why it is not the report's."""
    if report_states(field, ours, full):
        return "in the report"
    moved = settings_of(field, ours, full)
    if any(full.reason(s.key) for s in moved):
        return "in profile `full` (not the report's: notebook 08 says why)"
    if any(s.reading for s in moved):
        return "in profile `full` (our reading: the report is silent or ambiguous)"
    return "in profile `full`"


def _text(value: object) -> str:
    """A profile value as the note prints it (None: the field is not set)."""
    return "unset" if value is None else str(value)
