"""Every comparative claim the report makes, as records: which arm should beat which, in
which section, and the published numbers behind it. Judged by :mod:`mtlib.report.verdicts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtlib.paper.arms import Arm
from mtlib.paper.numbers import BY_KEY


@dataclass(frozen=True)
class Claim:
    """One comparison the report makes: ``a`` beats ``b`` (arms, records of the runs the
    report's studies name: :mod:`mtlib.paper.arms`; a statistic of one arm has no ``b``).
    ``report``: the published keys of the report's two numbers, when it gives them.
    ``kind``: "arms" (difference of mean test ROC-AUC), "tag_count" (Spearman of training
    count and test ROC-AUC, a > 0), "guitar" (guitar's ROC-AUC minus the median tag's, < 0),
    "peak" (Figure 3: the validation peak minus the last epoch, > 0), "tag_gain" (guitar's
    relative gain minus the overall relative gain, > 0), "tag_diff" (guitar's ROC-AUC under
    ``a`` minus under ``b``, > 0)."""

    key: str
    section: str
    text: str
    a: Arm
    b: Arm | None = None
    report: tuple[str, str] | None = None
    kind: str = "arms"
    note: str = ""


_DIELEMAN_SPECTROGRAM = "Dieleman & Schrauwen 2014: {:+.3f} ({} against {}, 256/256)".format(
    BY_KEY["dieleman.logmel.256-256"].value - BY_KEY["dieleman.raw.256-256"].value,
    BY_KEY["dieleman.logmel.256-256"].shown(), BY_KEY["dieleman.raw.256-256"].shown())

BEST_PAIR = Arm("table1", "raw", "256-256")  # the report's best Table I pair

CLAIMS: tuple[Claim, ...] = (
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
    Claim("momentum.0.95", "V", "momentum 0.95 beats 0.9", Arm("search", "momentum", "0.95"),
          Arm("search", "momentum", "0.9")),
    Claim("table1.256", "VI", "256/256 beats 1024/1024", BEST_PAIR,
          Arm("table1", "raw", "1024-1024"), ("table1.raw.256-256", "table1.raw.1024-1024")),
    Claim("table1.best", "VI", "256/256 beats the runner-up 512/256", BEST_PAIR,
          Arm("table1", "raw", "512-256"), ("table1.raw.256-256", "table1.raw.512-256")),
    # Statistics of the 256/256 pair's trials (Figures 3 and 4)
    Claim("figure3.peak", "VI", "validation ROC-AUC peaks and then falls", BEST_PAIR,
          kind="peak"),
    Claim("figure4.rare", "VII", "rare tags score lower (count and AUC correlate)", BEST_PAIR,
          kind="tag_count"),
    Claim("figure4.guitar", "VII", "guitar, the most frequent tag, scores below the median tag",
          BEST_PAIR, kind="guitar"),
    Claim("table2.layer", "VIII-A", "layer norm beats batch norm", Arm("table2", "layer"),
          Arm("table2", "batch"), ("table2.layer", "table2.batch")),
    Claim("table2.group", "VIII-A", "group norm beats layer norm", Arm("table2", "group"),
          Arm("table2", "layer"), ("table2.group", "table2.layer")),
    Claim("table2.g8", "VIII-A", "G = 8 beats G = 4", Arm("table2", "group", "8"),
          Arm("table2", "group", "4")),
    Claim("table2.dropout", "VIII-A", "dropout 0.2 improves the kept normalisation",
          Arm("table2", "dropout", "0.2"), Arm("table2", "kept"),
          ("table2.dropout", "table2.group"), note="ours: on the normalisation kept here"),
    Claim("table2.long", "VIII-A", "40 epochs improve on 30", Arm("table2", "long"),
          Arm("table2", "dropout"), ("table2.long", "table2.dropout"),
          note="ours: the kept dropout"),
    Claim("samplecnn.group", "VIII-B", "SampleCNN: group norm beats batch norm",
          Arm("samplecnn", "norm", "group"), Arm("samplecnn", "norm", "batch")),
    Claim("samplecnn.group_none", "VIII-B", "SampleCNN: group norm beats no normalisation",
          Arm("samplecnn", "norm", "group"), Arm("samplecnn", "norm", "none")),
    Claim("samplecnn.no_scheduler", "VIII-B", "SampleCNN: dropping the scheduler helps",
          Arm("samplecnn", "no_scheduler"), Arm("samplecnn", "normalisation")),
    Claim("samplecnn.momentum", "VIII-B", "SampleCNN: momentum 0.95 beats 0.9",
          Arm("samplecnn", "momentum", "0.95"), Arm("samplecnn", "momentum", "0.9")),
    Claim("samplecnn.long", "VIII-B", "SampleCNN: more epochs help", Arm("samplecnn", "long"),
          Arm("samplecnn", "momentum")),
    Claim("samplecnn.beats_shallow", "VIII-B", "SampleCNN beats the best shallow CNN",
          Arm("samplecnn", "long"), Arm("table2", "long"), ("samplecnn.long.test", "table2.long")),
    Claim("samplecnn.guitar", "VIII-B", "SampleCNN gains more on guitar than overall",
          Arm("samplecnn", "long"), Arm("table2", "long"), kind="tag_gain"),
    # Sec. IX: what the report expected of its future work (notebook 09)
    Claim("future.logmel", "IX", "a log-mel spectrogram input beats raw audio (shallow CNN)",
          Arm("future", "shallow", "logmel"), Arm("future", "shallow", "raw"),
          note=_DIELEMAN_SPECTROGRAM),
    Claim("future.deep", "IX", "SampleCNN on raw audio beats the shallow CNN on log-mel",
          Arm("samplecnn", "long"), Arm("future", "shallow", "logmel")),
    Claim("future.harmonic", "IX", "the harmonic front end improves the shallow CNN",
          Arm("future", "shallow", "harmonic"), Arm("future", "shallow", "raw")),
    Claim("future.harmonic_guitar", "IX", "the harmonic front end improves guitar",
          Arm("future", "shallow", "harmonic"), Arm("future", "shallow", "raw"), kind="tag_diff"),
    Claim("future.embedding_shallow", "IX", "the tag embedding improves the shallow CNN "
          "(ATOSE: about 2 %)", Arm("future", "shallow", "embedding"),
          Arm("future", "shallow", "raw"),
          note="label-embedding regularisation, our stand-in for ATOSE"),
    Claim("future.embedding_samplecnn", "IX", "the tag embedding improves SampleCNN "
          "(ATOSE: about 2 %)", Arm("future", "samplecnn", "embedding"),
          Arm("future", "samplecnn", "base"),
          note="label-embedding regularisation, our stand-in for ATOSE"),
)

BY_CLAIM = {c.key: c for c in CLAIMS}
