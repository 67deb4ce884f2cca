"""Every number the report publishes, with its source, as data.

Each :class:`Published` entry is one number: its key, where it appears, what it is, its value
in ``unit`` with its printed precision, the set it is measured on, and its source.

* ``in_report=True``: a number the report itself prints (its results, its dataset figures,
  the values its searches kept, and other works' results as the report states them, e.g.
  SampleCNN's 0.91 of Sec. VIII-B and 0.90 of Sec. II). The settings it states (grids,
  epochs, batch sizes, the architecture) are in :mod:`mtlib.paper.ledger`. Its ``section`` is
  the report's section, table or figure, and ``shown()`` writes it exactly as the report
  prints it.
* ``in_report=False``: an external reference the report does not print, taken from the cited
  paper itself (Dieleman & Schrauwen 2014, Table 1; Lee et al. 2017, the 3^9 model). Its
  ``section`` names the place in that paper.

The notebooks write what they measure under the same keys (see
:mod:`mtlib.report.sections`), and notebook 08 sets each published number beside ours.
Values are kept in the unit the source prints them in: ``%`` for the report's tables,
``AUC`` (0-1) elsewhere, counts as integers, durations in ``s`` / ``ms``, sample rates in
``kHz``. ``shown()`` prints the number only; the unit is in ``unit`` (and in ``quantity``
where it helps), except that percentages keep their ``%`` sign.
"""

from __future__ import annotations

from dataclasses import dataclass

REPORT = "Digging Deeper into Automatic Music Tagging (the report)"
DIELEMAN = (
    "Dieleman & Schrauwen, End-to-end learning for music audio, ICASSP 2014, Table 1 "
    "(not printed in the report)"
)
LEE = (
    "Lee, Park, Kim & Nam, Sample-level deep convolutional neural networks for music "
    "auto-tagging using raw waveforms, SMC 2017, 3^9 model (not printed in the report)"
)

# Percentages: the value is in percent and prints with its "%" sign.
PERCENT_UNITS = ("%", "% of clips", "% gain")
# Signed differences (printed with their sign unless ``signed=False``).
GAIN_UNITS = ("AUC gain", "% gain")
# Whole numbers of things (printed as integers; from 10,000 up with thousands commas, as the
# report writes 25,863 but 3500).
COUNT_UNITS = (
    "epoch", "clips", "tags", "subclips", "examples", "channels", "filters", "groups",
    "kernel size", "samples", "factor", "count", "million recordings",
)
# Text values (printed as they are).
TEXT_UNITS = ("tag", "shape")
# Decimal numbers (printed with ``digits`` decimals).
DECIMAL_UNITS = ("AUC", "AUC gain", "kHz", "s", "ms", "learning rate", "momentum",
                 "probability")

UNITS = tuple(dict.fromkeys(PERCENT_UNITS + DECIMAL_UNITS + COUNT_UNITS + TEXT_UNITS))

# Which set a number is measured on: "train" / "validation" / "test"; "dataset" for counts of
# the whole dataset or its split; "none" for settings and other numbers not measured on data.
SPLITS = ("validation", "test", "train", "dataset", "none")


@dataclass(frozen=True)
class Published:
    """One published number. ``value`` is in ``unit``; ``digits`` is the printed precision."""

    key: str  # the key our notebooks measure it under
    section: str  # where it appears: the report's section / table / figure, or the cited paper's
    quantity: str  # what it measures
    value: float | str
    unit: str  # one of UNITS
    digits: int  # decimals as published
    split: str  # one of SPLITS: which set the number is measured on
    source: str
    in_report: bool = True  # False: an external reference the report does not print

    def shown(self) -> str:
        """The number as its source prints it (``81.07%``, ``0.8366``, ``21,355``, ``15%``)."""
        return format_value(self.value, self.unit, self.digits, signed=False)


def format_value(value: float | str, unit: str, digits: int, *,
                 signed: bool | None = None) -> str:
    """A number written the way the report writes it (``81.07%``, ``0.8366``, ``25,863``,
    ``3500``, ``0.25``, ``(10, 10, 1, 34950)``).

    ``signed``: write a ``+`` before positive values. By default only gains (``AUC gain``,
    ``% gain``) are signed (``+0.004``, ``+7.2%``: a measured change shows its direction);
    :meth:`Published.shown` passes ``False`` since the report writes a gain as "by 0.004".
    """
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; valid: {', '.join(UNITS)}")
    if unit in TEXT_UNITS:
        return str(value)
    if unit in COUNT_UNITS:
        n = int(value)
        if n != float(value):
            raise ValueError(f"a value in {unit!r} must be a whole number, got {value!r}")
        return f"{n:,}" if abs(n) >= 10_000 else str(n)
    sign = "+" if (unit in GAIN_UNITS if signed is None else signed) else ""
    text = f"{float(value):{sign}.{digits}f}"
    return text + "%" if unit in PERCENT_UNITS else text


# --- builders -------------------------------------------------------------------------------


def _r(key: str, section: str, quantity: str, value: float | str, unit: str, digits: int = 0,
       split: str = "none") -> Published:
    """A number the report prints."""
    return Published(key, section, quantity, value, unit, digits, split, REPORT)


def _sv(key: str, quantity: str, value: float, digits: int = 2) -> Published:
    return Published(key, "Section V", quantity, value, "AUC", digits, "validation", REPORT)


def _t1(length: int, stride: int, value: float) -> Published:
    return Published(
        f"table1.raw.{length}-{stride}", "Table I",
        f"raw audio, filter length {length}, stride {stride}: test ROC-AUC, mean of 5 trials",
        value, "%", 2, "test", REPORT,
    )


def _dieleman(frontend: str, length: int, value: float) -> Published:
    name = "raw audio" if frontend == "raw" else "mel-spectrogram"
    return Published(
        f"dieleman.{frontend}.{length}-{length}", "Dieleman & Schrauwen 2014, Table 1",
        f"Dieleman & Schrauwen, {name}, length = stride = {length}: test ROC-AUC",
        value, "AUC", 4, "test", DIELEMAN, in_report=False,
    )


def _t2(key: str, quantity: str, value: float, section: str = "Table II") -> Published:
    return Published(
        f"table2.{key}", section, f"{quantity}: test ROC-AUC, mean over trials",
        value, "%", 2, "test", REPORT,
    )


def _scnn(key: str, quantity: str, value: float | str, split: str = "validation",
          unit: str = "AUC", digits: int = 2) -> Published:
    return Published(
        f"samplecnn.{key}", "Section VIII-B", quantity, value, unit, digits, split, REPORT
    )


def _clip(name: str, clip: str, value: float, digits: int) -> Published:
    return _r(f"section7.clip_auc.{name}", "Section VII",
              f"ROC-AUC over the tags of the test clip {clip}", value, "AUC", digits, "test")


II, III, IV, V, VII, VIIIA, VIIIB, IX = (
    "Section II", "Section III", "Section IV", "Section V", "Section VII", "Section VIII-A",
    "Section VIII-B", "Section IX",
)

PUBLISHED: tuple[Published, ...] = (
    # Section II: related work, other works' results as the report states them
    _r("related.samplecnn.auc", II, "SampleCNN (Lee et al. 2017) on MagnaTagATune: ROC-AUC",
       0.90, "AUC", 2, "test"),
    _r("related.spectrogram.auc", II,
       "spectrogram-based model compared by Lee et al. 2017 on MagnaTagATune: ROC-AUC",
       0.90, "AUC", 2, "test"),
    _r("related.harmoniccnn.auc", II, "HarmonicCNN (Won et al. 2019) on MagnaTagATune: ROC-AUC",
       0.91, "AUC", 2, "test"),
    _r("related.mulan.recordings", II, "MuLan training recordings, in millions", 44,
       "million recordings", 0, "dataset"),
    _r("related.mulan.auc", II, "MuLan (Huang et al. 2022) on MagnaTagATune: ROC-AUC", 0.92,
       "AUC", 2, "test"),
    # Section III: the dataset
    _r("data.clips_total", III, "MagnaTagATune clips", 25863, "clips", 0, "dataset"),
    _r("data.tags_total", III, "MagnaTagATune tags", 188, "tags", 0, "dataset"),
    _r("data.clips_used", III, "clips used (train + validation + test)", 21355, "clips", 0,
       "dataset"),
    _r("data.split.train_percent", III, "share of the used clips in training", 72.23,
       "% of clips", 2, "dataset"),
    _r("data.split.validation_percent", III, "share of the used clips in validation", 7.20,
       "% of clips", 2, "dataset"),
    _r("data.split.test_percent", III, "share of the used clips in testing", 20.56,
       "% of clips", 2, "dataset"),
    _r("data.tags_used", III, "most frequent tags used as labels", 50, "tags", 0, "dataset"),
    # Section V: coordinate-wise search, validation ROC-AUC of the kept value
    _sv("search.input_norm.none", "no input normalisation", 0.53),
    _sv("search.input_norm.standardise", "input standardisation", 0.71),
    _sv("search.input_norm.minmax", "input min-max scaling", 0.72),
    _sv("search.filters.32", "32 filters in the strided convolution", 0.81),
    _sv("search.lr.0.0075", "learning rate 0.0075", 0.81),
    _sv("search.momentum.0.95", "momentum 0.95", 0.82),
    # Section V: what the search kept (its settings are in mtlib.paper.ledger)
    _r("search.kept.filters", V, "filters kept for the strided convolution", 32, "filters"),
    _r("search.kept.lr", V, "learning rate kept", 0.0075, "learning rate", 4),
    _r("search.kept.momentum", V, "momentum kept", 0.95, "momentum", 2),
    # Table I: raw audio, mean of 5 trials
    _t1(1024, 1024, 81.07),
    _t1(1024, 512, 81.66),
    _t1(512, 512, 81.62),
    _t1(512, 256, 82.08),
    _t1(256, 256, 82.44),
    _t1(256, 128, 81.83),
    _t1(128, 128, 81.69),
    _r("table1.best.length_stride", "Section VI", "filter length = stride of the best pair",
       256, "samples"),
    # External: Dieleman & Schrauwen's own results (not printed in the report)
    _dieleman("raw", 1024, 0.8366),
    _dieleman("raw", 256, 0.8487),
    _dieleman("logmel", 1024, 0.8690),
    _dieleman("logmel", 256, 0.8815),
    # Figure 3: training curves of the best configuration
    Published("figure3.best_epoch", "Figure 3", "epoch of the validation ROC-AUC peak",
              19, "epoch", 0, "validation", REPORT),
    Published("figure3.epochs", "Figure 3", "epochs trained", 30, "epoch", 0, "validation",
              REPORT),
    # Figure 4 / Section VII: per-tag and per-clip analysis
    Published("figure4.most_frequent_tag", "Figure 4", "most frequent tag in training",
              "guitar", "tag", 0, "train", REPORT),
    _r("figure4.guitar_train_clips", VII, "training clips tagged guitar (about)", 3500, "clips",
       0, "train"),
    Published("figure4.guitar_auc", "Figure 4", "test ROC-AUC of the tag guitar", 0.78, "AUC",
              2, "test", REPORT),
    _clip("jackass_canyon", "shira_kammen-music_of_waters-12-jackass_canyon-204-233", 0.59, 2),
    _clip("secret_solution",
          "magnatune-relaxation_spa-04-secret_solution_michael_masley-146-175", 0.55, 2),
    _clip("back_at_you", "electric_frankenstien-sick_songs-08-back_at_you-88-117", 1.0, 0),
    # Table II: normalisation layers, dropout, longer training
    _t2("batch", "batch norm", 81.69),
    _t2("layer", "layer norm", 83.66),
    _t2("group", "group norm", 84.70),
    # Section VIII-A's prose, not Table II: "85.06%", then "around 85.54%"
    _t2("dropout", "group norm + dropout 0.2", 85.06, VIIIA),
    _t2("long", "group norm + dropout 0.2 + 40 epochs (around)", 85.54, VIIIA),
    # Section VIII-A: what Table II kept
    _r("table2.groups.best", VIIIA, "group-norm group count kept", 8, "groups"),
    _r("table2.groups.channels_per_group", VIIIA, "channels per group at the kept count", 4,
       "channels"),
    _r("table2.dropout_p", VIIIA, "dropout probability kept", 0.2, "probability", 1),
    _r("table2.long.gain", VIIIA, "longer training: test ROC-AUC increase (about)", 0.5,
       "% gain", 1, "test"),
    # Section VIII-B: SampleCNN
    _scnn("recreation", "SampleCNN recreation (batch norm, Nesterov 0.9, lr 0.01, plateau): "
          "test ROC-AUC", 0.86, split="test"),
    _scnn("original_paper", "SampleCNN of Lee et al. 2017 as the report states it: ROC-AUC",
          0.91, split="test"),
    _scnn("benchmark_atose", "SampleCNN in the ATOSE benchmark [4] (2023): ROC-AUC", 0.87,
          split="test"),
    _scnn("group", "+ group norm", 0.87),
    _scnn("no_scheduler_gain", "+ no scheduler: gain", 0.004, unit="AUC gain", digits=3),
    _scnn("momentum.0.95", "+ momentum 0.95", 0.88),
    _scnn("long.validation", "+ 30 epochs (validation)", 0.89),
    _scnn("long.test", "+ 30 epochs (test)", 0.90, split="test"),
    _scnn("guitar_gain", "increase of the guitar tag's test ROC-AUC over the shallow CNN "
          "(relative or in points: not stated)", 15, split="test", unit="% gain", digits=0),
    _scnn("overall_gain", "increase of the overall test ROC-AUC over the shallow CNN "
          "(relative or in points: not stated)", 5, split="test", unit="% gain", digits=0),
    _scnn("first_kernel.samplecnn_ms", "audio under SampleCNN's first kernel, ms", 0.25, "none",
          "ms", 2),
    _scnn("first_kernel.shallow_ms", "audio under the shallow CNN's first kernel, ms", 21,
          "none", "ms", 0),
    # External: Lee et al.'s own result (not printed in the report, which rounds it)
    Published("lee2017.test", "Lee et al. 2017, results of the 3^9 model",
              "Lee et al. 2017 SampleCNN (3^9 model): test ROC-AUC", 0.9055, "AUC", 4, "test",
              LEE, in_report=False),
    # Section IX: conclusion
    _r("conclusion.shallow", IX, "shallow CNN (Dieleman & Schrauwen's network): ROC-AUC "
       "(the text says training data; Table I's best test value rounds to it)", 0.82, "AUC",
       2, "test"),
    _r("conclusion.extended", IX, "shallow CNN + group norm + dropout: ROC-AUC", 0.86, "AUC", 2,
       "test"),
    _r("conclusion.samplecnn", IX, "SampleCNN after tuning: ROC-AUC", 0.90, "AUC", 2, "test"),
    _r("conclusion.atose_gain", IX, "ATOSE's average ROC-AUC gain on its base models [4] "
       "(about)", 2, "% gain", 0, "test"),
)

BY_KEY: dict[str, Published] = {p.key: p for p in PUBLISHED}


def get(key: str) -> Published:
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown published key {key!r}; valid: {', '.join(BY_KEY)}") from None


def shown(*keys: str) -> str:
    """The published numbers of ``keys`` as printed, joined by ", " (for prose)."""
    return ", ".join(get(k).shown() for k in keys)
