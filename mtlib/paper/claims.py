"""Every comparative claim the report makes, as records: which arm should beat which, in
which section, and the published numbers behind it. Judged by :mod:`mtlib.report.verdicts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtlib.paper.arms import Arm
from mtlib.paper.numbers import BY_KEY

KINDS = ("arms", "best_of", "tag_count", "tag_median", "tag_top", "peak", "tag_gain",
         "hard_gain", "tag_diff")
TAG_KINDS = ("tag_median", "tag_top", "tag_gain", "tag_diff")
TWO_ARM_KINDS = ("arms", "tag_gain", "hard_gain", "tag_diff")


@dataclass(frozen=True)
class Claim:
    """One comparison the report makes: ``a`` beats ``b`` (arms, records of the runs the
    report's studies name: :mod:`mtlib.paper.arms`; a statistic of one arm has no ``b``).

    ``report``: the published keys behind the report's difference: two keys (the report's
    number for ``a`` minus its number for ``b``) or one (a difference the report states
    itself); None where it gives no number. ``kind``, the statistic (its expected sign):

    - "arms": ``a``'s mean test macro ROC-AUC minus ``b``'s (> 0);
    - "best_of": ``a`` minus the best other variant of its step (> 0);
    - "tag_count": Spearman correlation of tags' training counts and test ROC-AUC (> 0);
    - "tag_median": ``tag``'s test ROC-AUC minus the median tag's (sign ``direction``);
    - "tag_top": ``tag``'s test ROC-AUC minus the top quarter's lowest (< 0: not among the
      best quarter);
    - "peak": Figure 3, mean validation ROC-AUC around the report's peak epoch minus that of
      the last epochs (> 0: it peaks and then falls);
    - "tag_gain": ``tag``'s relative gain from ``b`` to ``a`` minus the overall one (> 0);
    - "hard_gain": the mean relative gain of the hardest tags minus the overall one (> 0);
    - "tag_diff": ``tag``'s test ROC-AUC under ``a`` minus under ``b`` (> 0).

    ``section``: the report's section, "IX" for what it expected of its future work, or
    "calibration" for a pair of arms that differ only in seed (never a claim of the report:
    its row must read inconclusive). ``capacity``: a comparison at matched capacity, whose row
    states both arms' parameter counts."""

    key: str
    section: str
    text: str
    a: Arm
    b: Arm | None = None
    report: tuple[str, ...] | None = None
    kind: str = "arms"
    note: str = ""
    tag: str = ""
    direction: int = 1
    capacity: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.key}: kind {self.kind!r} is not one of "
                             f"{', '.join(KINDS)}")
        if self.kind in TAG_KINDS and not self.tag:
            raise ValueError(f"claim {self.key}: a {self.kind} claim names its tag")
        if self.kind in TWO_ARM_KINDS and self.b is None:
            raise ValueError(f"claim {self.key}: a {self.kind} claim compares two arms")

    @property
    def group(self) -> str:
        """"report" (a claim of the report), "future" (Section IX's expectations) or
        "calibration"."""
        return {"IX": "future", "calibration": "calibration"}.get(self.section, "report")


_DIELEMAN_SPECTROGRAM = "Dieleman & Schrauwen 2014: {:+.3f} ({} against {}, 256/256)".format(
    BY_KEY["dieleman.logmel.256-256"].value - BY_KEY["dieleman.raw.256-256"].value,
    BY_KEY["dieleman.logmel.256-256"].shown(), BY_KEY["dieleman.raw.256-256"].shown())

BEST_PAIR = Arm("table1", "raw", "256-256")  # the report's best Table I pair

# raw audio with the strided conv widened to the harmonic arm's parameter count (notebook 09)
RAW_WIDE = Arm("future", "shallow", "raw_wide")

# every seed of Table I's best pair on validation, the one notebooks 04-07 build on (notebook 10)
SHALLOW_SEEDS = Arm("noise", "shallow")

CLAIMS: tuple[Claim, ...] = (
    # Section V: the search (validation ROC-AUC in the report)
    Claim("input_norm.needed", "V", "some input normalisation is needed: min-max beats none",
          Arm("search", "input_norm", "minmax"), Arm("search", "input_norm", "none"),
          ("search.input_norm.minmax", "search.input_norm.none")),
    Claim("input_norm.minmax", "V", "min-max scaling beats standardisation",
          Arm("search", "input_norm", "minmax"), Arm("search", "input_norm", "standardise"),
          ("search.input_norm.minmax", "search.input_norm.standardise")),
    Claim("filters.more", "V", "more filters score higher (128 against 8)",
          Arm("search", "filters", "128"), Arm("search", "filters", "8")),
    Claim("lr.0.0075", "V", "learning rate 0.0075 beats 0.01", Arm("search", "lr", "0.0075"),
          Arm("search", "lr", "0.01")),
    Claim("momentum.0.95", "V", "momentum 0.95 is the best of the momenta searched",
          Arm("search", "momentum", "0.95"), kind="best_of"),
    # Section VI: Table I and Figure 3
    Claim("table1.256", "VI", "256/256 beats 1024/1024", BEST_PAIR,
          Arm("table1", "raw", "1024-1024"), ("table1.raw.256-256", "table1.raw.1024-1024")),
    Claim("table1.best", "VI", "256/256 beats the runner-up 512/256", BEST_PAIR,
          Arm("table1", "raw", "512-256"), ("table1.raw.256-256", "table1.raw.512-256")),
    Claim("figure3.peak", "VI", "validation ROC-AUC peaks and then falls", SHALLOW_SEEDS,
          kind="peak", note="validation around the report's peak epoch (19 of 30, scaled) "
          "minus the last three epochs"),
    # Section VII: per-tag analysis of the best pair (every seed notebook 10 trained)
    Claim("figure4.rare", "VII", "rare tags score lower (the report: no piano, foreign and no "
          "beat)", SHALLOW_SEEDS, kind="tag_count",
          note="ours is broader: the rank correlation of count and ROC-AUC over all tags; "
          "none of the report's three tags is in the standard top-50"),
    Claim("figure4.guitar", "VII", "guitar, the most frequent tag, scores below the median tag",
          SHALLOW_SEEDS, kind="tag_median", tag="guitar", direction=-1),
    Claim("figure4.classical", "VII", "classical is not among the best tags despite its count",
          SHALLOW_SEEDS, kind="tag_top", tag="classical", direction=-1,
          note="best tags: the top quarter by test ROC-AUC"),
    Claim("section7.rock", "VII", "the model does well on rock", SHALLOW_SEEDS,
          kind="tag_median", tag="rock", note="above the median tag"),
    Claim("section7.choir", "VII", "the model does well on choir", SHALLOW_SEEDS,
          kind="tag_median", tag="choir", note="above the median tag"),
    # Section VIII-A: Table II (test ROC-AUC in the report)
    Claim("table2.layer", "VIII-A", "layer norm beats batch norm", Arm("table2", "layer"),
          Arm("table2", "batch"), ("table2.layer", "table2.batch")),
    Claim("table2.group", "VIII-A", "group norm beats layer norm", Arm("table2", "group"),
          Arm("table2", "layer"), ("table2.group", "table2.layer")),
    Claim("table2.g8", "VIII-A", "G = 8 is the best of the group counts tried",
          Arm("table2", "group", "8"), kind="best_of"),
    Claim("table2.dropout", "VIII-A", "dropout 0.2 improves the kept normalisation",
          Arm("table2", "dropout", "0.2"), Arm("table2", "kept"),
          ("table2.dropout", "table2.group"), note="ours: on the normalisation kept here"),
    Claim("table2.long", "VIII-A", "40 epochs improve on 30", Arm("table2", "long"),
          Arm("table2", "dropout"), ("table2.long", "table2.dropout"),
          note="ours: the kept dropout"),
    Claim("table2.improved", "VIII-A", "the improved shallow CNN beats the basic one",
          Arm("table2", "long"), BEST_PAIR, ("table2.long", "table1.raw.256-256"),
          note="the conclusion: 0.82 -> 0.86"),
    # Section VIII-B: SampleCNN (validation ROC-AUC in the report, but where it says test)
    Claim("samplecnn.lee", "VIII-B", "the recreation falls short of Lee et al.'s own recipe",
          Arm("samplecnn", "lee"), Arm("samplecnn", "recreation"),
          ("lee2017.test", "samplecnn.recreation"),
          note="Lee et al.'s 0.9055 is fully trained; our Lee arm trains the steps' budget"),
    Claim("samplecnn.group", "VIII-B", "SampleCNN: group norm beats batch norm",
          Arm("samplecnn", "norm", "group"), Arm("samplecnn", "norm", "batch")),
    Claim("samplecnn.group_none", "VIII-B", "SampleCNN: group norm beats no normalisation",
          Arm("samplecnn", "norm", "group"), Arm("samplecnn", "norm", "none")),
    Claim("samplecnn.no_scheduler", "VIII-B", "SampleCNN: dropping the scheduler helps",
          Arm("samplecnn", "no_scheduler"), Arm("samplecnn", "normalisation"),
          ("samplecnn.no_scheduler_gain",)),
    Claim("samplecnn.momentum", "VIII-B", "SampleCNN: momentum 0.95 beats 0.9",
          Arm("samplecnn", "momentum", "0.95"), Arm("samplecnn", "momentum", "0.9")),
    Claim("samplecnn.long", "VIII-B", "SampleCNN: more epochs help", Arm("samplecnn", "long"),
          Arm("samplecnn", "momentum"), ("samplecnn.long.validation", "samplecnn.momentum.0.95")),
    Claim("samplecnn.tuned", "VIII-B", "tuned SampleCNN beats the recreation",
          Arm("samplecnn", "long"), Arm("samplecnn", "recreation"),
          ("samplecnn.long.test", "samplecnn.recreation")),
    Claim("samplecnn.beats_shallow", "VIII-B", "SampleCNN beats the best shallow CNN",
          Arm("samplecnn", "long"), Arm("table2", "long"), ("samplecnn.long.test", "table2.long")),
    Claim("samplecnn.guitar", "VIII-B", "SampleCNN gains more on guitar than overall",
          Arm("samplecnn", "long"), Arm("table2", "long"),
          ("samplecnn.guitar_gain", "samplecnn.overall_gain"), kind="tag_gain", tag="guitar",
          note="relative gains (the report does not say relative or in points)"),
    Claim("samplecnn.hard_tags", "VIII-B", "SampleCNN gains disproportionately on the "
          "problematic tags", Arm("samplecnn", "long"), Arm("table2", "long"),
          kind="hard_gain", note="the shallow CNN's five hardest tags, chosen on half of the "
          "test clips and measured on the other half"),
    # Sec. IX: what the report expected of its future work (notebook 09)
    Claim("future.logmel", "IX", "a log-mel spectrogram input beats raw audio (shallow CNN)",
          Arm("future", "shallow", "logmel"), Arm("future", "shallow", "raw"),
          note=_DIELEMAN_SPECTROGRAM),
    Claim("future.deep", "IX", "SampleCNN on raw audio beats the shallow CNN on log-mel",
          Arm("samplecnn", "long"), Arm("future", "shallow", "logmel")),
    # At matched capacity: the harmonic arm's flattened first conv makes it ~3.5 times the raw
    # arm's size, so raw audio is widened to its parameter count (notebook 09).
    Claim("future.harmonic", "IX", "the harmonic front end improves the shallow CNN",
          Arm("future", "shallow", "harmonic"), RAW_WIDE, capacity=True,
          note="at matched capacity: against raw audio widened to the harmonic arm's "
          "parameter count"),
    Claim("future.harmonic_guitar", "IX", "the harmonic front end improves guitar",
          Arm("future", "shallow", "harmonic"), RAW_WIDE, kind="tag_diff", tag="guitar",
          capacity=True, note="at matched capacity: against raw audio widened to the harmonic "
          "arm's parameter count"),
    Claim("future.embedding_shallow", "IX", "the tag embedding improves the shallow CNN "
          "(ATOSE: about 2 %)", Arm("future", "shallow", "embedding"),
          Arm("future", "shallow", "raw"),
          note="label-embedding regularisation, our stand-in for ATOSE"),
    Claim("future.embedding_samplecnn", "IX", "the tag embedding improves SampleCNN "
          "(ATOSE: about 2 %)", Arm("future", "samplecnn", "embedding"),
          Arm("future", "samplecnn", "base"),
          note="label-embedding regularisation, our stand-in for ATOSE"),
    # Calibration: two seeds of one configuration (notebook 10); must read inconclusive
    Claim("calibration.shallow", "calibration", "two seeds of the shallow CNN differ",
          Arm("noise", "shallow", "seed1"), Arm("noise", "shallow", "seed0")),
    Claim("calibration.samplecnn", "calibration", "two seeds of SampleCNN (the recreation) "
          "differ", Arm("noise", "samplecnn", "seed1"), Arm("noise", "samplecnn", "seed0")),
)
