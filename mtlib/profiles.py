"""Report profiles: one YAML file per profile in ``configs/``, checked by a frozen dataclass.

A profile says which dataset the report runs on and how much training it does. The YAML is
grouped in sections; flattening joins section and key with ``_`` (``shallow: {epochs: 30}``
becomes the field ``shallow_epochs``). The flat names are the papermill parameters of the
notebooks, so a notebook's parameters cell reads like the profile it runs with.

``smoke``: a tiny stand-in corpus, one epoch, tiny grids (the test suite).
``quick``: the stand-in corpus with settings shrunk to fit a 2-core CPU (``make reproduce``).
``full``: real MagnaTagATune with the report's settings (needs a GPU).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mtlib import paths
from mtlib.config import INPUT_NORMS, SPLITS
from mtlib.errors import MtlibError

SOURCES = ("standin", "mtat")
# Overrides the data root of a profile whose data.source is "mtat".
MTAT_ROOT_ENV = "MTLIB_MTAT_ROOT"
# Top-level keys that belong to no section.
TOP_LEVEL = ("description", "executor")
SECTIONS = ("data", "shallow", "search", "table1", "table2", "samplecnn")


class ProfileError(MtlibError):
    """A profile file is missing, or one of its values is unknown or out of range."""


@dataclass(frozen=True)
class Profile:
    """All settings of one report run. Units: Hz for sample rates, clips for sizes."""

    name: str  # file stem in configs/: smoke | quick | full
    description: str
    executor: str  # where trial grids run, see mtlib.executors.run_grid
    # --- data ---------------------------------------------------------------------
    data_source: str  # "standin" (generated corpus) or "mtat" (real audio at data_root)
    data_name: str  # dataset name: RunConfig.dataset and the prepared-cache folder
    data_clips: int | None  # stand-in clip count (None for mtat)
    data_seed: int  # stand-in generator seed
    data_root: str | None  # mtat: the folder holding annotations_final.csv and 0..f
    data_split: str  # "dieleman" (folders 0-b/c/d-f) or "standard" (Lee/Won lists)
    data_require_tag: bool  # keep only clips with at least one positive tag
    # --- the shallow (Dieleman) CNN: Table I, Figures 3-4, Table II ----------------
    shallow_sample_rate: int  # Hz
    shallow_epochs: int  # report: 30
    shallow_long_epochs: int  # Table II last row; report: 40
    shallow_trials: int  # seeds per configuration; report: 5
    shallow_max_train_clips: int | None  # train subset (None = whole train split)
    shallow_batch_clips: int  # clips per SGD step
    # --- Section V: coordinate-wise hyper-parameter search ------------------------
    search_epochs: int
    search_trials: int
    search_max_train_clips: int | None
    search_input_norms: tuple[str, ...]
    search_filters: tuple[int, ...]
    search_lrs: tuple[float, ...]  # coarse grid
    search_lr_fine_points: int  # fine grid size, from the coarse best to its better neighbour
    search_momenta: tuple[float, ...]
    # --- Table I ------------------------------------------------------------------
    table1_pairs: tuple[tuple[int, int], ...]  # (filter length, stride) in samples
    table1_logmel: bool  # also train the log-mel front end (Dieleman's spectrogram column)
    # --- Table II -----------------------------------------------------------------
    table2_group_counts: tuple[int, ...]  # group norm group counts
    table2_dropouts: tuple[float, ...]  # dropout grid (the report keeps p = 0.2)
    # --- Section VIII-B: SampleCNN ------------------------------------------------
    samplecnn_sample_rate: int  # Hz
    samplecnn_epochs: int  # all stages but the last
    samplecnn_long_epochs: int  # last stage; report: 30
    samplecnn_trials: int
    samplecnn_max_train_clips: int | None
    samplecnn_batch_clips: int
    samplecnn_momenta: tuple[float, ...]

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # YAML and papermill give lists; keep it hashable
            object.__setattr__(self, f.name, _freeze(getattr(self, f.name)))
        _check_types(self)
        _check_values(self)

    # --- views --------------------------------------------------------------------
    def to_flat(self) -> dict[str, Any]:
        """Plain (JSON/papermill) values: tuples become lists; includes ``name``."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def parameters(self) -> dict[str, Any]:
        """Papermill parameters: the flat profile, with the name passed as ``profile``."""
        flat = self.to_flat()
        flat["profile"] = flat.pop("name")
        return flat

    def replace(self, **changes: Any) -> Profile:
        unknown = sorted(set(changes) - set(field_names()))
        if unknown:
            raise ProfileError(
                f"unknown profile field(s) {unknown}; valid: {', '.join(field_names())}"
            )
        return dataclasses.replace(self, **{k: _freeze(v) for k, v in changes.items()})


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Profile)]


def available() -> list[str]:
    """Profile names, from the YAML files in ``configs/``."""
    return sorted(p.stem for p in paths.configs_dir().glob("*.yaml"))


def profile_path(name: str) -> Path:
    return paths.configs_dir() / f"{name}.yaml"


def load_profile(name_or_path: str | os.PathLike, data_root: str | None = None) -> Profile:
    """Read and check a profile by name (``configs/<name>.yaml``) or by YAML path.

    The data root of an ``mtat`` profile comes from, in order: ``data_root`` (the CLI flag),
    the ``MTLIB_MTAT_ROOT`` environment variable, the YAML's ``data.root``.
    """
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = profile_path(str(name_or_path))
        if not path.is_file():
            raise ProfileError(
                f"{path}: no such profile {str(name_or_path)!r}; valid: {', '.join(available())}"
            )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ProfileError(f"{path}: cannot read the profile YAML ({err})") from err
    try:
        flat = flatten(raw)
        flat["name"] = path.stem
        if flat.get("data_source") == "mtat":
            flat["data_root"] = data_root or os.environ.get(MTAT_ROOT_ENV) or flat["data_root"]
        return Profile(**{k: _freeze(v) for k, v in flat.items()})
    except ProfileError as err:
        raise ProfileError(f"{path}: {err}") from None


def flatten(raw: Any) -> dict[str, Any]:
    """``{section: {key: value}}`` -> ``{section_key: value}``; unknown keys raise."""
    if not isinstance(raw, dict):
        raise ProfileError("expected a mapping of sections at the top level")
    valid = field_names()
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if key in TOP_LEVEL:
            flat[key] = value
        elif key in SECTIONS:
            if not isinstance(value, dict):
                raise ProfileError(f"section {key!r}: expected a mapping of keys to values")
            for sub, v in value.items():
                flat[f"{key}_{sub}"] = v
        else:
            raise ProfileError(
                f"unknown key {key!r}; valid top-level keys: {', '.join(TOP_LEVEL)}, "
                f"sections: {', '.join(SECTIONS)}"
            )
    unknown = sorted(set(flat) - set(valid))
    if unknown:
        raise ProfileError(
            f"unknown key(s) {[_dotted(k) for k in unknown]}; valid: "
            f"{', '.join(_dotted(k) for k in valid if k != 'name')}"
        )
    missing = [k for k in valid if k not in flat and k != "name"]
    if missing:
        raise ProfileError(f"missing key(s) {[_dotted(k) for k in missing]}")
    return flat


def resolve(profile: str, namespace: dict[str, Any] | None = None) -> Profile:
    """The profile a notebook runs with: ``configs/<profile>.yaml`` updated by its parameters.

    ``namespace`` is the notebook's ``globals()``: every name in it that is a profile field
    (the parameters cell declares them; papermill injects the profile's values after it)
    replaces the YAML value. A ``data_root`` of None keeps the YAML/environment value.
    """
    base = load_profile(profile)
    namespace = namespace or {}
    changes = {
        k: namespace[k] for k in field_names() if k in namespace and k != "name"
    }
    if changes.get("data_root", "") is None:
        del changes["data_root"]
    return base.replace(**changes)


def differences(profile: Profile, reference: Profile, fields: list[str]) -> list[tuple]:
    """``(field, ours, reference)`` for each of ``fields`` whose values differ."""
    unknown = sorted(set(fields) - set(field_names()))
    if unknown:
        raise ProfileError(f"unknown profile field(s) {unknown}; valid: {', '.join(field_names())}")
    return [
        (f, _plain(getattr(profile, f)), _plain(getattr(reference, f)))
        for f in fields
        if getattr(profile, f) != getattr(reference, f)
    ]


# --- checks -------------------------------------------------------------------------


def _dotted(flat_key: str) -> str:
    for section in SECTIONS:
        if flat_key.startswith(section + "_"):
            return f"{section}.{flat_key[len(section) + 1:]}"
    return flat_key


def _freeze(value: Any) -> Any:
    # YAML and papermill give lists; the frozen dataclass keeps hashable tuples.
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, h) for h in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return len(value) == len(args) and all(
            _matches(v, h) for v, h in zip(value, args, strict=True))
    if hint is float:  # YAML writes 1 for 1.0
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    return str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")


def _check_types(p: Profile) -> None:
    hints = typing.get_type_hints(Profile)
    for f in dataclasses.fields(p):
        value = getattr(p, f.name)
        if not _matches(value, hints[f.name]):
            raise ProfileError(
                f"{_dotted(f.name)} = {_plain(value)!r}: expected {_type_name(hints[f.name])}"
            )


def _require(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise ProfileError(f"{_dotted(key)} = {_plain(value)!r}: expected {expected}")


def _check_values(p: Profile) -> None:
    _require(p.data_source in SOURCES, "data_source", f"one of {', '.join(SOURCES)}", p.data_source)
    _require(p.data_split in SPLITS, "data_split", f"one of {', '.join(SPLITS)}", p.data_split)
    _require(bool(p.data_name.strip()), "data_name", "a non-empty dataset name", p.data_name)
    if p.data_source == "standin":
        _require(
            p.data_clips is not None and p.data_clips >= 16,
            "data_clips", "at least 16 stand-in clips", p.data_clips,
        )
        _require(
            p.data_split == "dieleman", "data_split",
            "dieleman for a stand-in corpus (the standard lists name real MTAT files)",
            p.data_split,
        )
    positive = (
        "shallow_sample_rate", "shallow_epochs", "shallow_long_epochs", "shallow_trials",
        "shallow_batch_clips", "search_epochs", "search_trials", "samplecnn_sample_rate",
        "samplecnn_epochs", "samplecnn_long_epochs", "samplecnn_trials", "samplecnn_batch_clips",
    )
    for key in positive:
        _require(getattr(p, key) >= 1, key, "an integer >= 1", getattr(p, key))
    for key in ("shallow_max_train_clips", "search_max_train_clips", "samplecnn_max_train_clips"):
        value = getattr(p, key)
        _require(value is None or value >= 1, key, "null (all clips) or >= 1", value)
    _require(
        p.shallow_long_epochs >= p.shallow_epochs, "shallow_long_epochs",
        f">= shallow.epochs ({p.shallow_epochs})", p.shallow_long_epochs,
    )
    _require(
        p.samplecnn_long_epochs >= p.samplecnn_epochs, "samplecnn_long_epochs",
        f">= samplecnn.epochs ({p.samplecnn_epochs})", p.samplecnn_long_epochs,
    )
    grids = {
        "search_input_norms": (lambda v: v in INPUT_NORMS, f"values in {', '.join(INPUT_NORMS)}"),
        "search_filters": (lambda v: v >= 1, "filter counts >= 1"),
        "search_lrs": (lambda v: v > 0, "learning rates > 0"),
        "search_momenta": (lambda v: 0 <= v < 1, "momenta in [0, 1)"),
        "table1_pairs": (lambda v: v[0] >= v[1] >= 1, "[length, stride] with length >= stride"),
        "table2_group_counts": (lambda v: v >= 1, "group counts >= 1"),
        "table2_dropouts": (lambda v: 0 < v < 1, "dropout p in (0, 1)"),
        "samplecnn_momenta": (lambda v: 0 <= v < 1, "momenta in [0, 1)"),
    }
    for key, (ok, expected) in grids.items():
        values = getattr(p, key)
        _require(
            len(values) > 0 and len(set(values)) == len(values) and all(ok(v) for v in values),
            key, f"a non-empty list of distinct {expected}", values,
        )
    _require(
        p.search_lr_fine_points >= 2, "search_lr_fine_points", "an integer >= 2",
        p.search_lr_fine_points,
    )
    from mtlib.executors import EXECUTORS  # late: the executor list may grow with plugins

    _require(p.executor in EXECUTORS, "executor", f"one of {', '.join(EXECUTORS)}", p.executor)
