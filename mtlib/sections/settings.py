"""What a profile changes relative to the report's settings (profile ``full``)."""

from __future__ import annotations

from typing import Sequence

from mtlib.profiles import Profile, differences, load_profile


def settings_note(profile: Profile, fields: Sequence[str]) -> str:
    """Markdown: the profile's data, and which of ``fields`` it sets differently from
    ``full``, each beside the report's value."""
    changed = differences(profile, load_profile("full"), list(fields))
    if profile.data_source == "standin":
        head = (f"Profile **{profile.name}** trains on the stand-in corpus "
                f"`{profile.data_name}` ({profile.data_clips} generated clips), not on MTAT.")
    else:
        head = f"Profile **{profile.name}** trains on MagnaTagATune at `{profile.data_root}`."
    if not changed:
        return head + " These settings match the report's (profile `full`)."
    lines = [f"- `{f}`: {_text(ours)} here, {_text(ref)} in the report"
             for f, ours, ref in changed]
    return head + " It shrinks these settings relative to the report (profile `full`):\n" + (
        "\n".join(lines))


def _text(value: object) -> str:
    """A profile value as the note prints it (None: the field is not set)."""
    return "unset" if value is None else str(value)
