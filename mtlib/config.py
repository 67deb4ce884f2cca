"""The training configuration: one frozen dataclass whose hash names its run folder.

A :class:`RunConfig` holds everything that changes a trained model's numbers (data, model,
optimiser, seed). Operational knobs that do not change the numbers (progress bars, loader
workers) are arguments of :func:`mtlib.train.fit`, not fields here, so they never change a
run's identity.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

MODELS = ("dieleman", "samplecnn")
INPUT_NORMS = ("none", "standardise", "minmax")
INPUT_NORM_SCOPES = ("clip", "dataset")
LAYER_NORMS = ("none", "batch", "layer", "group")
FRONTENDS = ("raw", "logmel")
SPLITS = ("standard", "dieleman")


class ConfigError(ValueError):
    """A configuration value is unknown or out of range; the message lists valid values."""


def _check_choice(name: str, value: Any, valid: tuple) -> None:
    if value not in valid:
        raise ConfigError(f"unknown {name} {value!r}; valid: {', '.join(map(str, valid))}")


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
    max_train_clips: int | None = None  # deterministic subset of the train split (None = all)
    # --- model ------------------------------------------------------------------------
    model: str = "dieleman"  # dieleman | samplecnn
    filters: int = 32  # F, filters of the strided first conv (Dieleman)
    length: int = 256  # L, first-conv filter length in samples (Dieleman)
    stride: int = 256  # S, first-conv stride in samples (Dieleman)
    frontend: str = "raw"  # raw | logmel (Dieleman)
    norm: str = "none"  # none | batch | layer | group
    groups: int = 8  # group count for norm="group"
    dropout: float = 0.0  # dropout p before the dense layers (SampleCNN: before the output)
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
        _check_choice("model", self.model, MODELS)
        _check_choice("input_norm", self.input_norm, INPUT_NORMS)
        _check_choice("input_norm_scope", self.input_norm_scope, INPUT_NORM_SCOPES)
        _check_choice("norm", self.norm, LAYER_NORMS)
        _check_choice("frontend", self.frontend, FRONTENDS)
        _check_choice("split", self.split, SPLITS)
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.epochs < 1 or self.batch_clips < 1:
            raise ConfigError("epochs and batch_clips must be >= 1")
        if isinstance(self.tags, list):  # YAML/JSON give lists; keep the dataclass hashable
            object.__setattr__(self, "tags", tuple(self.tags))

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
