"""Small JSON results that one notebook hands to later ones (the chosen configuration, the
best Table I pair, the final models, what was measured for each published number).

``results/artifacts/<notebook slug>-<profile>.json``; which notebook writes which artifact is
in :data:`mtlib.report.products.PRODUCTS`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mtlib
from mtlib import paths
from mtlib.errors import MtlibError
from mtlib.io import atomic_write_json


def artifact_path(slug: str, profile: str) -> Path:
    return paths.artifacts_dir() / f"{slug}-{profile}.json"


def write_artifact(slug: str, profile: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus the profile and mtlib version) as ``<slug>-<profile>.json``."""
    path = artifact_path(slug, profile)
    atomic_write_json(path, {"notebook": slug, "profile": profile,
                             "mtlib_version": mtlib.__version__, **payload})
    return path


def read_artifact(slug: str, profile: str) -> dict[str, Any]:
    """The artifact a notebook wrote; MtlibError naming the notebook to run first."""
    path = artifact_path(slug, profile)
    if not path.is_file():
        raise MtlibError(
            f"{path}: missing; run notebook {slug} with profile {profile!r} first "
            f"(`mtlib report --profile {profile} --only {slug[:2]}`)"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise MtlibError(f"{path}: expected a JSON artifact ({err})") from err
