"""Report profiles: one YAML file per profile in ``configs/``, checked by a pydantic model.

A profile says which dataset the report runs on and how much training it does. The YAML is
grouped in sections; flattening joins section and key with ``_`` (``shallow: {epochs: 30}``
becomes the field ``shallow_epochs``); ``profile.shallow.epochs`` reads it by section. A
notebook's parameters cell assigns flat names, its defaults for a run on its own, so it reads
like the profile; ``mtlib report`` passes a notebook the whole resolved profile as the one
parameter ``profile`` (:func:`resolve`). :func:`run_config` maps a profile to the RunConfig
of each kind of run.

``full`` holds every key. The other profiles ``extends: full`` and hold only the keys they
change, each beside its reason (``shallow: {epochs: {value: 15, why: "CPU budget"}}``); a
changed key without a reason, a key full does not have, or a value full already holds is an
error naming the file and the key. A profile's ``deviations`` (the reasons the ledger reads,
keyed by its settings, :mod:`mtlib.paper.ledger`) are those of the profile it extends,
replaced by the reason beside each changed key for the settings that key moves, and kept
where the profile departs from the report.

``smoke``: a tiny stand-in corpus, one epoch, tiny grids (the test suite).
``quick``: the stand-in corpus with settings shrunk to fit a 2-core CPU (``make reproduce``).
``rehearsal``: full's code paths on a tiny stand-in under real MTAT clip ids.
``full``: real MagnaTagATune with the report's settings (needs a GPU).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args

import yaml
from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from mtlib import paths
from mtlib.config import (
    INPUT_NORMS,
    ExecutorName,
    FrozenModel,
    InputNorm,
    Invalid,
    LayerNorm,
    Loss,
    Real,
    RunConfig,
    Split,
    TrainSegments,
    distinct,
    plain,
)
from mtlib.errors import MtlibError

Source = Literal["standin", "mtat"]
SearchStart = Literal["random", "fixed"]
# The kinds of run a profile configures, see run_config.
Family = Literal["shallow", "search", "samplecnn", "future_shallow", "future_samplecnn"]
SOURCES: tuple[str, ...] = get_args(Source)
# Overrides the data root of a profile whose data.source is "mtat".
MTAT_ROOT_ENV = "MTLIB_MTAT_ROOT"
# Top-level keys that belong to no section.
TOP_LEVEL = ("description", "executor", "deviations")
# The top-level key of a profile that holds only what it changes from another.
EXTENDS = "extends"
SECTIONS = ("data", "shallow", "search", "recipe", "table1", "table2", "samplecnn", "future",
            "noise")


class ProfileError(MtlibError):
    """A profile file is missing, or one of its values is unknown or out of range."""


_T = TypeVar("_T")
# A grid of values to try: at least one, none twice.
Grid = Annotated[tuple[_T, ...], Field(min_length=1), AfterValidator(distinct)]
Count = Annotated[int, Field(ge=1)]
Momentum = Annotated[Real, Field(ge=0, lt=1)]


def _length_ge_stride(pair: tuple[int, int]) -> tuple[int, int]:
    if not pair[0] >= pair[1] >= 1:
        raise ValueError("length < stride")
    return pair


def _pairs(value: Any) -> Any:
    """A ``{key: reason}`` mapping (YAML) as sorted ``(key, reason)`` pairs."""
    return tuple(sorted(value.items())) if isinstance(value, dict) else value


def _grid(items: str) -> Any:
    return Field(description=f"a non-empty list of distinct {items}")


class Section:
    """A read-only view of one section of a profile: ``profile.shallow.epochs`` is the field
    ``profile.shallow_epochs``. Iterating gives ``(key, value)`` pairs, as for the profile."""

    __slots__ = ("_name", "_values")

    def __init__(self, name: str, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_values", values)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"profile section {self._name!r} has no key {key!r}; valid: "
                                 f"{', '.join(self._values)}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"profile section {self._name!r} is read-only; use "
                             f"Profile.replace({self._name}_{key}=...)")

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self._values.items())

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Section) and (self._name, self._values)
                == (other._name, other._values))

    def __hash__(self) -> int:
        return hash((self._name, tuple(self._values.items())))

    def __repr__(self) -> str:
        return f"Section({self._name!r}, {self._values!r})"

    def to_dict(self) -> dict[str, Any]:
        """``{key: value}`` with plain (JSON) values, as the YAML section reads."""
        return {k: plain(v) for k, v in self._values.items()}


class Profile(FrozenModel):
    """All settings of one report run. Units: Hz for sample rates, clips for sizes."""

    error_class: ClassVar[type[Exception]] = ProfileError
    noun: ClassVar[str] = "profile field"

    name: str  # file stem in configs/: smoke | quick | full
    description: str
    executor: ExecutorName  # where trial grids run, see mtlib.training.executors.run_grid
    # Why this profile departs from the report, per setting of mtlib.paper.ledger.SETTINGS: in
    # full's YAML a mapping {ledger key: reason}; in a profile extending it, gathered from the
    # reasons beside its keys (see load_profile). Kept as sorted (key, reason) pairs so the
    # profile stays hashable. A departure without a reason here fails the tests.
    deviations: Annotated[tuple[tuple[str, str], ...], BeforeValidator(_pairs)] = ()
    # --- data ---------------------------------------------------------------------
    data_source: Source  # "standin" (generated corpus) or "mtat" (real audio at data_root)
    # dataset name: RunConfig.dataset and the prepared-cache folder
    data_name: str = Field(pattern=r"\S", description="a non-empty dataset name")
    data_clips: int | None  # stand-in clip count (None for mtat)
    data_seed: int  # stand-in generator seed
    data_root: str | None  # mtat: the folder holding annotations_final.csv and 0..f
    # stand-in: clips take real MTAT clip ids and mp3 paths, so the standard split works
    data_mtat_ids: bool
    data_split: Split  # "dieleman" (folders 0-b/c/d-f) or "standard" (Lee/Won lists)
    data_require_tag: bool  # keep only clips with at least one positive tag
    # --- the shallow (Dieleman) CNN: Table I, Figures 3-4, Table II ----------------
    shallow_sample_rate: int = Field(ge=1)  # Hz
    shallow_epochs: int = Field(ge=1)  # report: 30
    shallow_long_epochs: int = Field(ge=1)  # Table II last row; report: 40
    shallow_trials: int = Field(ge=1)  # seeds per configuration; report: 5
    shallow_max_train_clips: int | None = Field(ge=1)  # train subset (None = whole train split)
    shallow_batch_clips: int = Field(ge=1)  # clips per SGD step
    shallow_loss: Loss  # clip: BCE of the mean subclip prediction (the report); unit
    shallow_output_prior: bool  # output biases start at the tags' log-odds (our addition)
    # --- Section V: coordinate-wise hyper-parameter search ------------------------
    search_epochs: int = Field(ge=1)
    search_trials: int = Field(ge=1)
    search_max_train_clips: int | None = Field(ge=1)
    # random: the starting values are drawn from each stage's grid (the report); fixed:
    # SEARCH_START of mtlib.report.sections.hyperparameter_search
    search_start: SearchStart
    search_seed: int  # draws the random starting values
    # starting values pinned whatever ``search.start`` draws (null: not pinned)
    search_start_lr: Real | None = Field(gt=0)
    search_start_momentum: Momentum | None
    # the filter count kept after the filter stage (the report: 32, whatever scores best);
    # None keeps the best on validation
    search_keep_filters: int | None = Field(ge=1)
    search_input_norms: Grid[InputNorm] = _grid(f"values in {', '.join(INPUT_NORMS)}")
    search_filters: Grid[Count] = _grid("filter counts >= 1")
    search_lrs: Grid[Annotated[Real, Field(gt=0)]] = _grid("learning rates > 0")  # coarse grid
    # fine grid size, from the coarse best to its better neighbour
    search_lr_fine_points: int = Field(ge=2)
    search_momenta: Grid[Momentum] = _grid("momenta in [0, 1)")
    # --- Table I ------------------------------------------------------------------
    # (filter length, stride) in samples
    table1_pairs: Grid[Annotated[tuple[int, int], AfterValidator(_length_ge_stride)]] = _grid(
        "[length, stride] with length >= stride >= 1")
    table1_logmel: bool  # also train the log-mel front end (Dieleman's spectrogram column)
    # also train the report's best pair with the output prior switched (its effect)
    table1_prior_arm: bool
    # --- Table II -----------------------------------------------------------------
    table2_group_counts: Grid[Count] = _grid("group counts >= 1")  # group norm group counts
    # dropout grid (the report keeps p = 0.2)
    table2_dropouts: Grid[Annotated[Real, Field(gt=0, lt=1)]] = _grid("dropout p in (0, 1)")
    # --- Section VIII-B: SampleCNN ------------------------------------------------
    samplecnn_sample_rate: int = Field(ge=1)  # Hz
    samplecnn_epochs: int = Field(ge=1)  # all stages but the last
    samplecnn_long_epochs: int = Field(ge=1)  # last stage; report: 30
    samplecnn_trials: int = Field(ge=1)
    samplecnn_max_train_clips: int | None = Field(ge=1)
    samplecnn_batch_clips: int = Field(ge=1)
    samplecnn_momenta: Grid[Momentum] = _grid("momenta in [0, 1)")
    samplecnn_norms: Grid[LayerNorm] = _grid("normalisations: none, batch, layer, group")
    # segments per clip: 0 = non-overlapping 59,049-sample segments, N = N evenly spaced
    samplecnn_segments: int = Field(ge=0)
    samplecnn_train_segments: TrainSegments  # all: every segment each epoch; crop: one
    samplecnn_loss: Loss
    samplecnn_output_prior: bool
    samplecnn_amp: bool  # bf16 autocast (RunConfig.amp), on CPU and CUDA
    # also train Lee et al.'s own recipe as a reference arm (16 kHz, batch 23, segments)
    samplecnn_lee_reference: bool
    # --- Section IX: the future work (notebook 09) --------------------------------
    future_trials: int = Field(ge=1)  # seeds per arm
    # epochs of the shallow arms (None: shallow.epochs, so the raw arm is Table II's step)
    future_epochs: int | None = Field(ge=1)
    # first-layer length and stride of the front-end comparison (the raw arm's L = S and the
    # spectra's hop); None: the best Table I pair, so the raw arm is Table II's dropout step
    future_stride: int | None = Field(ge=1)
    future_embedding_weight: Real = Field(gt=0)  # weight of the label-embedding loss
    # --- the recipe Tables I-IX train with (notebook 02 finds one, the report found one) --
    recipe_from_search: bool  # True: the search's choice; False: the values below
    recipe_input_norm: InputNorm
    recipe_filters: int = Field(ge=1)
    recipe_lr: Real = Field(gt=0)
    recipe_momentum: Momentum
    # --- seed noise (notebook 10): seeds of one reference configuration per family ----
    noise_shallow_seeds: int = Field(ge=2)  # Table I's 256/256 pair
    noise_samplecnn_seeds: int = Field(ge=2)  # SampleCNN's one-step recreation

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Profile:
        if self.data_source == "standin":
            if self.data_clips is None or self.data_clips < 16:
                raise Invalid("data_clips", self.data_clips, "at least 16 stand-in clips")
            if self.data_split == "standard" and not self.data_mtat_ids:
                raise Invalid("data_split", self.data_split, "dieleman for a stand-in corpus "
                              "without data.mtat_ids (the standard lists name real MTAT files)")
        for section in ("shallow", "samplecnn"):
            epochs = getattr(self, f"{section}_epochs")
            long_epochs = getattr(self, f"{section}_long_epochs")
            if long_epochs < epochs:
                raise Invalid(f"{section}_long_epochs", long_epochs,
                              f">= {section}.epochs ({epochs})")
        return self

    def reason(self, key: str) -> str:
        """The declared reason for departing from the report's setting ``key`` ("" if none)."""
        return dict(self.deviations).get(key, "")

    @classmethod
    def key(cls, name: str) -> str:
        """The dotted YAML key: ``shallow_epochs`` -> ``shallow.epochs``."""
        return _dotted(name)

    # --- sections: profile.shallow.epochs reads profile.shallow_epochs -----------------
    def section(self, name: str) -> Section:
        """The fields of section ``name`` (``data``, ``shallow``, ...) without its prefix."""
        if name not in SECTIONS:
            raise ProfileError(f"unknown profile section {name!r}; valid: {', '.join(SECTIONS)}")
        prefix = name + "_"
        return Section(name, {f[len(prefix):]: v for f, v in self if f.startswith(prefix)})

    def sections(self) -> dict[str, Section]:
        """Every section, in the YAML's order."""
        return {name: self.section(name) for name in SECTIONS}

    @property
    def data(self) -> Section:
        return self.section("data")

    @property
    def shallow(self) -> Section:
        return self.section("shallow")

    @property
    def search(self) -> Section:
        return self.section("search")

    @property
    def table1(self) -> Section:
        return self.section("table1")

    @property
    def table2(self) -> Section:
        return self.section("table2")

    @property
    def samplecnn(self) -> Section:
        return self.section("samplecnn")

    @property
    def future(self) -> Section:
        return self.section("future")

    @property
    def recipe(self) -> Section:
        return self.section("recipe")

    @property
    def noise(self) -> Section:
        return self.section("noise")

    # --- views --------------------------------------------------------------------
    def to_flat(self) -> dict[str, Any]:
        """Plain (JSON/papermill) values: tuples become lists; includes ``name``."""
        return {name: plain(value) for name, value in self}

    def parameters(self) -> dict[str, Any]:
        """The flat profile with the name as ``profile`` (``mtlib report`` passes notebooks
        the whole resolved profile as ``profile`` instead, see :func:`resolve`)."""
        flat = self.to_flat()
        flat["profile"] = flat.pop("name")
        return flat


def field_names() -> list[str]:
    return list(Profile.model_fields)


def available() -> list[str]:
    """Profile names, from the YAML files in ``configs/``."""
    return sorted(p.stem for p in paths.configs_dir().glob("*.yaml"))


def profile_path(name: str) -> Path:
    return paths.configs_dir() / f"{name}.yaml"


def load_profile(name_or_path: str | os.PathLike, data_root: str | None = None) -> Profile:
    """Read and check a profile by name (``configs/<name>.yaml``) or by YAML path.

    A profile file either holds every key (``full``) or ``extends`` another profile and holds
    only the keys it changes, each as ``{value: ..., why: ...}`` (see :func:`overrides`).
    The data root of an ``mtat`` profile comes from, in order: ``data_root`` (the CLI flag),
    the ``MTLIB_MTAT_ROOT`` environment variable, the YAML's ``data.root``.
    """
    return _load(_find(name_or_path), data_root, chain=())


def _data_root(flat: dict[str, Any], data_root: str | None, chain: tuple[Path, ...]) -> None:
    """Set the data root of an mtat profile (not of a parent read for a profile extending it)."""
    if flat.get("data_source") == "mtat" and not chain:
        flat["data_root"] = data_root or os.environ.get(MTAT_ROOT_ENV) or flat["data_root"]


def _find(name_or_path: str | os.PathLike) -> Path:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = profile_path(str(name_or_path))
        if not path.is_file():
            raise ProfileError(
                f"{path}: no such profile {str(name_or_path)!r}; valid: {', '.join(available())}"
            )
    return path


def _load(path: Path, data_root: str | None, chain: tuple[Path, ...]) -> Profile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ProfileError(f"{path}: cannot read the profile YAML ({err})") from err
    if isinstance(raw, dict) and EXTENDS in raw:
        return _extend(path, raw, data_root, chain)
    try:
        try:
            flat = flatten(raw)
        except ProfileError as err:
            if isinstance(raw, dict) and str(err).startswith("missing key"):
                raise ProfileError(f"{err} (a profile that states only what it changes "
                                   f"starts with '{EXTENDS}: full')") from None
            raise
        flat["name"] = path.stem
        _data_root(flat, data_root, chain)
        return Profile(**flat)
    except ProfileError as err:
        raise ProfileError(f"{path}: {err}") from None


def _extend(path: Path, raw: dict[str, Any], data_root: str | None,
            chain: tuple[Path, ...]) -> Profile:
    """The profile ``raw`` (a file holding ``extends:``) over its parent."""
    from mtlib.paper import ledger  # the ledger reads profiles: import it when one extends

    parent_name = raw[EXTENDS]
    if not isinstance(parent_name, str) or not parent_name:
        raise ProfileError(f"{path}: {EXTENDS} = {parent_name!r}: expected a profile name")
    parent_path = (path.parent / parent_name if Path(parent_name).suffix in (".yaml", ".yml")
                   else profile_path(parent_name))
    if not parent_path.is_file():
        raise ProfileError(f"{path}: {EXTENDS} = {parent_name!r}: no such profile; valid: "
                           f"{', '.join(available())}")
    if parent_path.resolve() in chain + (path.resolve(),):
        raise ProfileError(f"{path}: {EXTENDS} = {parent_name!r} extends itself")
    parent = _load(parent_path, None, chain + (path.resolve(),))
    try:
        values, whys = overrides(raw)
        flat = {**parent.to_flat(), **values, "name": path.stem,
                "description": raw["description"], "deviations": ()}
        _data_root(flat, data_root, chain)
        child = Profile(**flat)
        same = [k for k in values if _same_value(getattr(child, k), getattr(parent, k))]
        if same:
            raise ProfileError(f"{_dotted(same[0])} = {plain(getattr(child, same[0]))!r} is "
                               f"already the value in profile {parent_name!r}; drop the key")
    except ProfileError as err:
        raise ProfileError(f"{path}: {err}") from None
    # The reasons the ledger reads (keyed by its settings): the parent's, replaced by the reason
    # beside each changed key for the settings that key moves; kept where the child departs
    # from the report.
    own: dict[str, list[str]] = {}
    for name, why in whys.items():
        for setting in ledger.settings_of(name, getattr(child, name), parent):
            own.setdefault(setting.key, []).append(why)
    reasons = {**dict(parent.deviations),
               **{k: " ".join(dict.fromkeys(v)) for k, v in own.items()}}
    departs = set(ledger.deviations(child.replace(deviations=reasons))["key"])
    return child.replace(deviations={k: v for k, v in reasons.items() if k in departs})


def overrides(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The flat values and reasons of a profile that extends another: ``{section: {key:
    {value: v, why: reason}}}`` -> ``({section_key: v}, {section_key: reason})``.

    Every changed key carries its reason; ``description`` is the profile's own (required) and
    ``executor`` is a key like the others. Unknown keys and keys without a reason raise.
    """
    allowed = (EXTENDS, "description", "executor")
    for key in raw:
        if key not in allowed and key not in SECTIONS:
            raise ProfileError(
                f"unknown key {key!r}; valid top-level keys: {', '.join(allowed)}, "
                f"sections: {', '.join(SECTIONS)}"
            )
    if not isinstance(raw.get("description"), str):
        raise ProfileError("description: expected the profile's own one-line description")
    entries: dict[str, Any] = {}
    if "executor" in raw:
        entries["executor"] = raw["executor"]
    for section in SECTIONS:
        if section not in raw:
            continue
        if not isinstance(raw[section], dict):
            raise ProfileError(f"section {section!r}: expected a mapping of keys to values")
        entries.update({f"{section}_{sub}": v for sub, v in raw[section].items()})
    valid = [k for k in field_names() if k not in ("name", "description", "deviations")]
    unknown = sorted(set(entries) - set(valid))
    if unknown:
        raise ProfileError(f"unknown key(s) {[_dotted(k) for k in unknown]}; valid: "
                           f"{', '.join(_dotted(k) for k in valid)}")
    values, whys = {}, {}
    for name, entry in entries.items():
        if (not isinstance(entry, dict) or set(entry) != {"value", "why"}
                or not isinstance(entry["why"], str) or not entry["why"].strip()):
            raise ProfileError(f"{_dotted(name)}: a changed key holds its value and the reason "
                               f"for the change, as {{value: ..., why: ...}}; got {entry!r}")
        values[name], whys[name] = entry["value"], entry["why"]
    return values, whys


def _same_value(a: Any, b: Any) -> bool:
    # JSON text: 1 and 1.0 differ (the run id hashes them differently).
    return json.dumps(plain(a)) == json.dumps(plain(b))


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


def resolve(profile: str | Mapping[str, Any],
            namespace: dict[str, Any] | None = None) -> Profile:
    """The profile a notebook runs with; its first code cell calls
    ``profiles.resolve(profile, globals())``.

    ``profile`` is the notebook parameter of that name, in one of two forms:

    - a mapping, the resolved profile (:meth:`Profile.to_flat`): the one thing ``mtlib
      report`` passes a notebook (papermill injects it). It holds everything, the CLI's
      ``--executor`` and ``--data-root`` included; the values the notebook's parameters cell
      assigns are its defaults for a run on its own and are not applied.
    - a profile name, when the notebook runs on its own: ``configs/<profile>.yaml`` (see
      :func:`load_profile`) with every profile field that ``namespace`` (the notebook's
      ``globals()``) assigns in place of the YAML's value, so the parameters cell can be
      edited by hand. A ``data_root`` of None keeps the YAML/environment value.

    Either way, the names ``namespace`` assigns that are profile fields, and ``profile``
    itself (the name), are then set to what the notebook runs with, so its cells read the
    resolved values (``executor``).
    """
    namespace = {} if namespace is None else namespace
    if isinstance(profile, Mapping):
        resolved = Profile(**profile)
    else:
        changes = {k: namespace[k] for k in field_names() if k in namespace and k != "name"}
        if changes.get("data_root", "") is None:
            del changes["data_root"]
        resolved = load_profile(profile).replace(**changes)
    flat = resolved.to_flat()
    for name in field_names():
        if name in namespace and name != "name":
            namespace[name] = flat[name]
    if "profile" in namespace:
        namespace["profile"] = resolved.name
    return resolved


def run_fields(profile: Profile, family: Family) -> dict[str, Any]:
    """The RunConfig fields that ``profile`` sets for a run of ``family``: the one mapping
    from profile fields to RunConfig fields.

    ``shallow``: the Dieleman CNN of Tables I and II; ``search``: the same CNN on the search's
    budget (Section V); ``samplecnn``: SampleCNN (Section VIII-B); ``future_shallow`` and
    ``future_samplecnn``: notebook 09's arms, on the run of Table II's last row or
    SampleCNN's last step.
    """
    data = {"dataset": profile.data.name, "split": profile.data.split,
            "require_tag": profile.data.require_tag}
    shallow, search, deep = profile.shallow, profile.search, profile.samplecnn
    if family in ("shallow", "search"):
        budget = shallow if family == "shallow" else search
        return {**data, "model": "dieleman", "sample_rate": shallow.sample_rate,
                "batch_clips": shallow.batch_clips, "epochs": budget.epochs,
                "max_train_clips": budget.max_train_clips, "loss": shallow.loss,
                "output_prior": shallow.output_prior}
    if family == "samplecnn":
        return {**data, "model": "samplecnn", "sample_rate": deep.sample_rate,
                "batch_clips": deep.batch_clips, "epochs": deep.epochs,
                "max_train_clips": deep.max_train_clips, "segments": deep.segments,
                "train_segments": deep.train_segments, "loss": deep.loss,
                "output_prior": deep.output_prior, "amp": deep.amp}
    if family == "future_shallow":  # Table II's dropout step, or future.epochs / future.stride
        stride = profile.future.stride
        return {"epochs": profile.future.epochs or shallow.epochs,
                **({"length": stride, "stride": stride} if stride else {})}
    if family == "future_samplecnn":  # SampleCNN's momentum step
        return {"epochs": deep.epochs}
    raise ProfileError(f"unknown run family {family!r}; valid: {', '.join(get_args(Family))}")


def run_config(profile: Profile, family: Family, base: RunConfig | None = None,
               **changes: Any) -> RunConfig:
    """A RunConfig for a run of ``family`` (:func:`run_fields`) with ``changes`` on top:
    built from RunConfig's defaults, or from ``base`` (an earlier run's configuration)."""
    fields = {**run_fields(profile, family), **changes}
    return base.replace(**fields) if base is not None else RunConfig(**fields)


def differences(profile: Profile, reference: Profile, fields: list[str]) -> list[tuple]:
    """``(field, ours, reference)`` for each of ``fields`` whose values differ."""
    unknown = sorted(set(fields) - set(field_names()))
    if unknown:
        raise ProfileError(f"unknown profile field(s) {unknown}; valid: {', '.join(field_names())}")
    return [
        (f, plain(getattr(profile, f)), plain(getattr(reference, f)))
        for f in fields
        if getattr(profile, f) != getattr(reference, f)
    ]


def _dotted(flat_key: str) -> str:
    for section in SECTIONS:
        if flat_key.startswith(section + "_"):
            return f"{section}.{flat_key[len(section) + 1:]}"
    return flat_key
