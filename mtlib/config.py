"""The training configuration: one frozen dataclass whose hash names its run folder.

A :class:`RunConfig` holds everything that changes a trained model's numbers (data, model,
optimiser, seed). Operational knobs that do not change the numbers (progress bars, the
device) are arguments of :func:`mtlib.train.fit`, not fields here, so they never change a
run's identity.

``norm`` and ``dropout`` default to ``None``, meaning "the model's own default"
(:data:`MODEL_DEFAULTS`: the shallow Dieleman CNN has neither, SampleCNN uses batch norm and
dropout 0.5 as in Lee et al. 2017). Keeping ``None`` in the config (rather than filling it
in) means ``cfg.replace(model="samplecnn")`` picks up SampleCNN's defaults; read the
resolved values through :attr:`RunConfig.model_norm` and :attr:`RunConfig.model_dropout`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from mtlib.errors import MtlibError

MODELS = ("dieleman", "samplecnn")
INPUT_NORMS = ("none", "standardise", "minmax")
INPUT_NORM_SCOPES = ("clip", "dataset")
LAYER_NORMS = ("none", "batch", "layer", "group")
FRONTENDS = ("raw", "logmel")
SPLITS = ("standard", "dieleman")

# What norm=None / dropout=None mean for each model.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "dieleman": {"norm": "none", "dropout": 0.0},
    "samplecnn": {"norm": "batch", "dropout": 0.5},
}


class ConfigError(MtlibError, ValueError):
    """A configuration value is unknown or out of range; the message lists valid values."""


def _check_choice(name: str, value: Any, valid: tuple) -> None:
    if value not in valid:
        raise ConfigError(f"unknown {name} {value!r}; valid: {', '.join(map(str, valid))}")


def _check_min(name: str, value: Any, minimum: float) -> None:
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class RunConfig:
    """One training run. Units: sample_rate in Hz, lengths in samples, lr per step."""

    # --- data -------------------------------------------------------------------------
    dataset: str = "standin-quick"  # name of a prepared cache, see mtlib.paths.prepared_dir
    sample_rate: int = 12000  # Hz; 12 kHz for the shallow CNN, 16 kHz for SampleCNN
    split: str = "dieleman"  # "standard" (Lee/Won lists) or "dieleman" (folders 0-b/c/d-f)
    require_tag: bool = False  # keep only clips with >= 1 positive tag (valid/test of "standard")
    input_norm: str = "minmax"  # none | standardise | minmax
    input_norm_scope: str = "clip"  # clip: per-clip statistics; dataset: train-split statistics
    max_train_clips: int | None = None  # fixed random subset of the train split (None = all)
    train_eval_clips: int = 200  # fixed train subset scored in eval mode for train ROC-AUC
    # --- model ------------------------------------------------------------------------
    model: str = "dieleman"  # dieleman | samplecnn
    filters: int = 32  # F, filters of the strided first conv (Dieleman)
    length: int = 256  # L, first-conv filter length in samples (Dieleman)
    stride: int = 256  # S, first-conv stride in samples (Dieleman)
    frontend: str = "raw"  # raw | logmel (Dieleman)
    n_mels: int = 128  # mel bands of the logmel frontend (capped so no band is empty)
    norm: str | None = None  # none | batch | layer | group; None = model default
    groups: int = 8  # group count for norm="group" (per layer: gcd(groups, channels))
    dropout: float | None = None  # dropout p; None = model default (see MODEL_DEFAULTS)
    # Output biases start at the log-odds of each tag's training frequency (init_output_prior):
    # without it the un-normalised shallow CNN spends its first epochs learning the tag
    # frequencies through the biases and stalls at that solution (see the README).
    output_prior: bool = True
    # --- optimiser --------------------------------------------------------------------
    lr: float = 0.01
    momentum: float = 0.9
    nesterov: bool = False
    batch_clips: int = 10  # clips per step (10 clips = 100 Dieleman subclips)
    epochs: int = 30
    plateau: bool = False  # ReduceLROnPlateau: lr /= 5 after 3 epochs without val improvement
    amp: bool = False  # bf16 autocast on CUDA; ignored on CPU
    seed: int = 0
    tags: tuple[str, ...] = field(default=())  # restrict to these tags (empty = all in cache)

    def __post_init__(self) -> None:
        if isinstance(self.tags, list):  # YAML/JSON give lists; keep the dataclass hashable
            object.__setattr__(self, "tags", tuple(self.tags))
        _check_choice("model", self.model, MODELS)
        _check_choice("input_norm", self.input_norm, INPUT_NORMS)
        _check_choice("input_norm_scope", self.input_norm_scope, INPUT_NORM_SCOPES)
        if self.norm is not None:
            _check_choice("norm", self.norm, LAYER_NORMS)
        _check_choice("frontend", self.frontend, FRONTENDS)
        _check_choice("split", self.split, SPLITS)
        if self.model != "dieleman" and self.frontend != "raw":
            raise ConfigError(f"frontend {self.frontend!r} exists only for model 'dieleman'")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.epochs < 1 or self.batch_clips < 1:
            raise ConfigError("epochs and batch_clips must be >= 1")
        for name in ("sample_rate", "filters", "length", "stride", "groups", "n_mels"):
            _check_min(name, getattr(self, name), 1)
        _check_min("train_eval_clips", self.train_eval_clips, 0)
        if self.max_train_clips is not None:
            _check_min("max_train_clips", self.max_train_clips, 1)
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.nesterov and self.momentum == 0:
            raise ConfigError("nesterov needs momentum > 0")
        if len(set(self.tags)) != len(self.tags):
            raise ConfigError(f"tags contains duplicates: {list(self.tags)}")

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
        d = dataclasses.asdict(self)
        d["tags"] = list(self.tags)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown RunConfig field(s) {unknown}; valid: {sorted(known)}")
        return cls(**d)

    @property
    def run_id(self) -> str:
        """12 hex digits of the SHA-256 of the canonical JSON; names the run folder."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def replace(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, **changes)
