"""A study's arms as typed records: the labels of tables and figures are derived from them,
never parsed back into a configuration."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mtlib.config import RunConfig

NORM_NAMES = {"none": "no norm layers", "batch": "batch norm", "layer": "layer norm",
              "group": "group norm"}


@dataclass(frozen=True)
class Variant:
    """The :class:`~mtlib.config.RunConfig` fields one arm sets on top of a base config;
    ``None`` keeps the base's value."""

    norm: str | None = None  # none | batch | layer | group
    groups: int | None = None  # group count of group norm
    dropout: float | None = None  # dropout p
    plateau: bool | None = None  # ReduceLROnPlateau on (True) or off (False)
    momentum: float | None = None
    epochs: int | None = None

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def apply(self, base: RunConfig) -> RunConfig:
        return base.replace(**self.changes())

    def then(self, **more: Any) -> Variant:
        """This arm with more fields set: the next step of a cumulative chain."""
        return dataclasses.replace(self, **more)

    @property
    def label(self) -> str:
        """``group norm, G = 8 + dropout 0.2 + 40 epochs``: every field it sets, in order."""
        parts = []
        if self.norm is not None:
            name = NORM_NAMES[self.norm]
            parts.append(f"{name}, G = {self.groups}" if self.norm == "group" else name)
        if self.dropout is not None:
            parts.append(f"dropout {self.dropout:g}")
        if self.plateau is not None:
            parts.append("plateau scheduler" if self.plateau else "no scheduler")
        if self.momentum is not None:
            parts.append(f"momentum {self.momentum:g}")
        if self.epochs is not None:
            parts.append(f"{self.epochs} epochs")
        return " + ".join(parts) or "base"

    def columns(self) -> dict[str, Any]:
        """Every field, for a table row (None where the base's value applies)."""
        return dataclasses.asdict(self)
