"""The training configuration: one frozen pydantic model whose hash names its run folder.

A :class:`RunConfig` holds everything that changes a trained model's numbers (data, model,
optimiser, seed). Operational knobs that do not change the numbers (progress bars, the
device) are arguments of :func:`mtlib.training.fit.fit`, not fields here, so they never change a
run's identity.

``norm`` and ``dropout`` default to ``None``, meaning "the model's own default"
(:data:`MODEL_DEFAULTS`: the shallow Dieleman CNN has neither, SampleCNN uses batch norm and
dropout 0.5 as in Lee et al. 2017). Keeping ``None`` in the config (rather than filling it
in) means ``cfg.replace(model="samplecnn")`` picks up SampleCNN's defaults; read the
resolved values through :attr:`RunConfig.model_norm` and :attr:`RunConfig.model_dropout`.

The run id hashes every field except the *late* ones (:data:`LATE_FIELDS`, fields added after
run folders existed) where they leave a run as it was before them: at their legacy value, or
on a config they do not apply to. Every finished run keeps its folder, and a ``config.json``
written without a late field loads at its legacy value (:meth:`RunConfig.from_dict`).

:class:`FrozenModel`, the base of :class:`RunConfig`,
:class:`mtlib.report.profiles.Profile` and :class:`mtlib.training.executors.ExecutorSettings`,
validates strictly (no ``"5"`` for 5, no ``True`` for 1) and turns pydantic's
``ValidationError`` into a one-line error naming the key, the bad value and what is valid.
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo

from mtlib.errors import MtlibError

ModelName = Literal["dieleman", "samplecnn"]
InputNorm = Literal["none", "standardise", "minmax"]
InputNormScope = Literal["clip", "dataset"]
LayerNorm = Literal["none", "batch", "layer", "group"]
Frontend = Literal["raw", "logmel", "harmonic"]
HarmonicF0 = Literal["fixed", "learnt"]
SpectralDC = Literal["remove", "keep"]
Split = Literal["standard", "dieleman"]
Loss = Literal["unit", "clip"]
TrainSegments = Literal["crop", "all"]
# where trial grids run, see mtlib.training.executors.run_grid
ExecutorName = Literal["local", "ray"]

MODELS: tuple[str, ...] = get_args(ModelName)
INPUT_NORMS: tuple[str, ...] = get_args(InputNorm)
INPUT_NORM_SCOPES: tuple[str, ...] = get_args(InputNormScope)
LAYER_NORMS: tuple[str, ...] = get_args(LayerNorm)
FRONTENDS: tuple[str, ...] = get_args(Frontend)
SPLITS: tuple[str, ...] = get_args(Split)
LOSSES: tuple[str, ...] = get_args(Loss)
EXECUTORS: tuple[str, ...] = get_args(ExecutorName)

# What norm=None / dropout=None mean for each model.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "dieleman": {"norm": "none", "dropout": 0.0},
    "samplecnn": {"norm": "batch", "dropout": 0.5},
}

# A float field that keeps an int as given. The run id hashes the JSON, where lr=1 reads "1"
# and lr=1.0 reads "1.0"; converting ints to floats would rename the run folders of configs
# that were valid before the move to pydantic.
Real = int | float


class ConfigError(MtlibError, ValueError):
    """A configuration value is unknown or out of range; the message lists valid values."""


class Invalid(ValueError):
    """Raised by a cross-field rule: field ``key`` holds ``value`` but should be ``expected``."""

    def __init__(self, key: str, value: Any, expected: str) -> None:
        super().__init__(key, value, expected)
        self.key, self.value, self.expected = key, value, expected


def distinct(values: tuple) -> tuple:
    """Field validator: no value twice (the message comes from the field's description)."""
    if len(set(values)) != len(values):
        raise ValueError("duplicate values")
    return values


_M = TypeVar("_M", bound="FrozenModel")


class FrozenModel(BaseModel):
    """Immutable, hashable, strictly typed; a bad value raises ``error_class`` (one line)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    error_class: ClassVar[type[Exception]] = ConfigError
    noun: ClassVar[str] = "field"  # "unknown <noun>(s) [...]"

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise self.error_class(self._message(err, data)) from None

    @classmethod
    def key(cls, name: str) -> str:
        """How messages name field ``name``."""
        return name

    def replace(self: _M, **changes: Any) -> _M:
        """A copy with ``changes``, validated again (``model_copy`` would not validate)."""
        return type(self)(**{**dict(self), **changes})

    @model_validator(mode="before")
    @classmethod
    def _lists_to_tuples(cls, data: Any) -> Any:
        # YAML, JSON and papermill give lists; tuples keep the model hashable (and strict
        # validation accepts no list for a tuple field).
        if not isinstance(data, dict):
            return data
        tuples = {n for n, f in cls.model_fields.items() if get_origin(f.annotation) is tuple}
        return {k: _freeze(v) if k in tuples else v for k, v in data.items()}

    @classmethod
    def _message(cls, err: ValidationError, data: dict[str, Any]) -> str:
        errors = err.errors()
        unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
        if unknown:
            return f"unknown {cls.noun}(s) {unknown}; valid: {', '.join(cls.model_fields)}"
        missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing"]
        if missing:
            return f"missing {cls.noun}(s) {missing}"
        first = errors[0]
        if not first["loc"]:  # a cross-field rule (model validator)
            cause = first.get("ctx", {}).get("error")
            if isinstance(cause, Invalid):
                return f"{cls.key(cause.key)} = {plain(cause.value)!r}: expected {cause.expected}"
            return str(cause or first["msg"])
        name = str(first["loc"][0])
        value, info = plain(data.get(name)), cls.model_fields[name]
        choices = _choices(info.annotation)
        if choices:
            return f"unknown {cls.key(name)} {value!r}; valid: {', '.join(map(str, choices))}"
        return f"{cls.key(name)} = {value!r}: expected {_expected(info)}"


class RunConfig(FrozenModel):
    """One training run. Units: sample_rate in Hz, lengths in samples, lr per step."""

    noun: ClassVar[str] = "RunConfig field"

    # --- data -------------------------------------------------------------------------
    dataset: str = "standin-quick"  # name of a prepared cache, see mtlib.paths.prepared_dir
    sample_rate: int = Field(12000, ge=1)  # Hz; 12 kHz for the shallow CNN, 16 kHz for SampleCNN
    split: Split = "dieleman"  # "standard" (Lee/Won lists) or "dieleman" (folders 0-b/c/d-f)
    require_tag: bool = False  # keep only clips with >= 1 positive tag (valid/test of "standard")
    input_norm: InputNorm = "minmax"
    input_norm_scope: InputNormScope = "clip"  # clip: per-clip stats; dataset: train-split stats
    max_train_clips: int | None = Field(None, ge=1)  # fixed random train subset (None = all)
    train_eval_clips: int = Field(200, ge=0)  # fixed train subset scored for train ROC-AUC
    # --- model ------------------------------------------------------------------------
    model: ModelName = "dieleman"
    filters: int = Field(32, ge=1)  # F, filters of the strided first conv (Dieleman)
    length: int = Field(256, ge=1)  # L, first-conv filter length in samples (Dieleman)
    stride: int = Field(256, ge=1)  # S, first-conv stride in samples (Dieleman)
    frontend: Frontend = "raw"  # Dieleman only; see mtlib.models.frontends
    n_mels: int = Field(128, ge=1)  # mel bands of the logmel frontend (capped so none is empty)
    n_fft: int | None = Field(None, ge=2)  # STFT window of logmel / harmonic (None = length)
    # Late fields (LATE_FIELDS: their legacy values keep older run ids). logmel / harmonic:
    # "remove" each subclip's mean before the STFT, or "keep" min-max's offset of ~0.5.
    spectral_dc: SpectralDC = "remove"
    # harmonic: fundamentals "fixed" on the quarter-tone grid with only Q learnt (Won et al.'s
    # released models), or "learnt" (one per fundamental, shared by its harmonics).
    harmonic_f0: HarmonicF0 = "fixed"
    norm: LayerNorm | None = None  # None = model default
    groups: int = Field(8, ge=1)  # group count for norm="group" (per layer: gcd(groups, channels))
    dropout: Real | None = Field(None, ge=0, lt=1)  # None = model default (see MODEL_DEFAULTS)
    # Output biases start at the log-odds of each tag's training frequency (init_output_prior):
    # without it the un-normalised shallow CNN spends its first epochs learning the tag
    # frequencies through the biases and stalls at that solution (see docs/methods.md).
    output_prior: bool = True
    # SampleCNN: the segments a clip is cut into. 0: its non-overlapping 59,049-sample
    # segments (Lee et al.); N >= 2: N evenly spaced, overlapping segments (the report's ten
    # subclips per clip at 12 kHz, Sec. VIII-B).
    segments: int = Field(0, ge=0)
    # SampleCNN training: every segment of every clip each epoch ("all"), or one random crop
    # per clip per epoch ("crop").
    train_segments: TrainSegments = "all"
    # --- loss and optimiser -----------------------------------------------------------
    # "clip": BCE of the clip prediction, the mean of its subclips' (segments') sigmoid
    # outputs (the report, Sec. IV); "unit": BCE of every subclip's own output.
    loss: Loss = "clip"
    lr: Real = Field(0.01, gt=0)
    momentum: Real = Field(0.9, ge=0, lt=1)
    nesterov: bool = False
    batch_clips: int = Field(10, ge=1)  # clips per step (10 clips = 100 Dieleman subclips)
    epochs: int = Field(30, ge=1)
    plateau: bool = False  # ReduceLROnPlateau on validation ROC-AUC: lr /= 5 ...
    plateau_epochs: int = Field(3, ge=1)  # ... once this many epochs brought no improvement
    amp: bool = False  # bf16 autocast (CUDA and CPU)
    # Label-embedding regularisation (mtlib.models.tag_embedding): the weight of its cosine
    # loss beside the BCE (0 = off) and the dimension of the tag space.
    tag_embedding: Real = Field(0, ge=0)
    tag_embedding_dim: int = Field(16, ge=1)
    seed: int = 0
    # Restrict to these tags (empty = all in cache).
    tags: Annotated[tuple[str, ...], AfterValidator(distinct)] = Field(
        (), description="a list of distinct tag names")

    @model_validator(mode="after")
    def _cross_field_rules(self) -> RunConfig:
        if self.model != "dieleman" and self.frontend != "raw":
            raise Invalid("frontend", self.frontend, f"'raw' for model {self.model!r} (frontend "
                          f"{self.frontend!r} exists only for model 'dieleman')")
        if self.segments == 1:
            raise Invalid("segments", self.segments, "0 (non-overlapping segments) or >= 2")
        if self.nesterov and self.momentum == 0:
            raise Invalid("nesterov", self.nesterov, "False with momentum 0 (Nesterov momentum "
                          "needs momentum > 0)")
        return self

    # --- resolved model options -------------------------------------------------------
    @property
    def model_norm(self) -> str:
        """``norm`` with ``None`` replaced by the model's default."""
        return self.norm if self.norm is not None else MODEL_DEFAULTS[self.model]["norm"]

    @property
    def model_dropout(self) -> float:
        """``dropout`` with ``None`` replaced by the model's default."""
        if self.dropout is not None:
            return float(self.dropout)
        return float(MODEL_DEFAULTS[self.model]["dropout"])

    # --- identity ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every field, in declaration order, values as given (tags as a list): what
        ``config.json`` stores."""
        return {**dict(self), "tags": list(self.tags)}

    def identity(self) -> dict[str, Any]:
        """What decides the run, and so its id: :meth:`to_dict` without the late fields
        (:data:`LATE_FIELDS`) that leave this run as it was before they existed (at their
        legacy value, or where they change nothing), and with settings that cannot act in
        this run at their "off" value, so two configs that train the same weights share one
        run. A plateau scheduler cuts the lr only after ``plateau_epochs`` epochs without
        improvement, so it never acts in a run of ``plateau_epochs`` epochs or fewer (the
        quick profile's one-epoch SampleCNN steps compare "scheduler" with "no scheduler")."""
        d = {k: v for k, v in self.to_dict().items()
             if k not in LATE_FIELDS or LATE_FIELDS[k].changes(self)}
        if d["plateau"] and d["epochs"] <= d["plateau_epochs"]:
            d["plateau"] = False
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """The config of ``d``; a late field ``d`` lacks takes its legacy value (a
        ``config.json`` written before the field existed describes a legacy run)."""
        return cls(**{**{k: f.legacy for k, f in LATE_FIELDS.items()}, **d})

    @property
    def run_id(self) -> str:
        """12 hex digits of the SHA-256 of :meth:`identity`'s canonical JSON; names the run
        folder."""
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class LateField:
    """A :class:`RunConfig` field added after run folders existed. ``legacy``: its value for
    the behaviour runs had before it; ``applies``: the configs it can change at all (a
    harmonic option means nothing to a raw-audio run)."""

    name: str
    legacy: Any
    applies: Callable[[RunConfig], bool]

    def changes(self, config: RunConfig) -> bool:
        """Whether ``config``'s value of this field makes its run differ from a legacy run."""
        return self.applies(config) and getattr(config, self.name) != self.legacy


def _spectral(config: RunConfig) -> bool:
    return config.frontend in ("logmel", "harmonic")


def _harmonic(config: RunConfig) -> bool:
    return config.frontend == "harmonic"


# A new field would otherwise rename every run folder (its value enters the hash). A late
# field enters the run id only where it changes the run, so a config at every legacy value
# keeps the id it had before; its default may differ from the legacy value (new behaviour,
# new id).
LATE_FIELDS: dict[str, LateField] = {f.name: f for f in (
    LateField("spectral_dc", "keep", _spectral),
    LateField("harmonic_f0", "learnt", _harmonic),
)}


# --- messages -------------------------------------------------------------------------


def _expected(info: FieldInfo) -> str:
    """What a valid value of a field is, in words: its description, else type and bounds."""
    if info.description:
        return info.description
    hints = get_args(info.annotation) if _is_union(info.annotation) else (info.annotation,)
    kinds = [h for h in hints if h is not type(None)]
    kind = "a number" if set(kinds) == {int, float} else " or ".join(
        _KINDS.get(h, str(h)) for h in kinds)
    text = f"{kind} {_bounds(info.metadata)}".rstrip()
    return f"null or {text}" if type(None) in hints else text


_KINDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _bounds(metadata: list) -> str:
    """``>= 1``, ``in [0, 1)``, ... from a field's ``Field(ge=, gt=, le=, lt=)``."""
    found = {op: getattr(m, op) for m in metadata for op in ("ge", "gt", "le", "lt")
             if hasattr(m, op)}
    low = ("[", ">=", found["ge"]) if "ge" in found else ("(", ">", found.get("gt"))
    high = ("]", "<=", found["le"]) if "le" in found else (")", "<", found.get("lt"))
    if low[2] is not None and high[2] is not None:
        return f"in {low[0]}{low[2]}, {high[2]}{high[0]}"
    side = low if low[2] is not None else high
    return f"{side[1]} {side[2]}" if side[2] is not None else ""


def _choices(hint: Any) -> tuple:
    """The values of a ``Literal`` (or optional ``Literal``) annotation, else ()."""
    if get_origin(hint) is Literal:
        return get_args(hint)
    if _is_union(hint):
        return tuple(c for h in get_args(hint) for c in _choices(h))
    return ()


def _is_union(hint: Any) -> bool:
    return get_origin(hint) in (typing.Union, types.UnionType)


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def plain(value: Any) -> Any:
    """Tuples as lists, as YAML, JSON and papermill write them."""
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value
