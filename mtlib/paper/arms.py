"""Arms: the names of a study's runs, as records.

An :class:`Arm` names the runs (every trial) of one variant of one step of a study, or the
variant a step kept. The report's sections declare the arms their studies can produce
(:mod:`mtlib.report.study`); the claims (:mod:`mtlib.paper.claims`) refer to them; the
artifacts store each arm's run ids under :attr:`Arm.key`.
"""

from __future__ import annotations

from dataclasses import dataclass

SECTIONS = ("search", "table1", "table2", "samplecnn", "future", "noise")


@dataclass(frozen=True, order=True)
class Arm:
    """``section``: the study (one of :data:`SECTIONS`); ``step``: the step, or the family of
    variants within a step, that the arm belongs to (``lr``, ``dropout``, ``norm``, ``group``,
    ``shallow``); ``variant``: which of its variants ("" for a step with one variant, or for
    the variant the step kept: ``table2.dropout`` is the kept dropout, ``table2.dropout.0.2``
    the variant p = 0.2)."""

    section: str
    step: str
    variant: str = ""

    def __post_init__(self) -> None:
        if self.section not in SECTIONS:
            raise ValueError(f"arm section {self.section!r}: not one of {', '.join(SECTIONS)}")
        if not self.step or "." in self.step:
            raise ValueError(f"arm step {self.step!r}: a name without dots")

    @property
    def key(self) -> str:
        """The arm's name in the artifacts: ``section.step[.variant]``."""
        return ".".join(p for p in (self.section, self.step, self.variant) if p)

    def __str__(self) -> str:
        return self.key

    @classmethod
    def parse(cls, key: str) -> Arm:
        """The arm named ``key`` (the inverse of :attr:`key`)."""
        section, step, *variant = key.split(".", 2)
        return cls(section, step, variant[0] if variant else "")
