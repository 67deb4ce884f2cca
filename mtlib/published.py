"""Every number the report publishes, with its source, as data.

The notebooks write what they measure under the same keys (see
:mod:`mtlib.experiments`), and notebook 08 sets each published number beside ours.
Values are kept in the unit the source prints them in: ``%`` for the report's tables,
``AUC`` (0-1) elsewhere; :meth:`Published.shown` writes them as published.
"""

from __future__ import annotations

from dataclasses import dataclass

REPORT = "Digging Deeper into Automatic Music Tagging (the report)"
DIELEMAN = (
    "Dieleman & Schrauwen, End-to-end learning for music audio, ICASSP 2014 "
    "(as quoted in the report's Table I)"
)
LEE = (
    "Lee, Park, Kim & Nam, Sample-level deep convolutional neural networks for music "
    "auto-tagging using raw waveforms, SMC 2017 (as quoted in the report, Section VIII-B)"
)

UNITS = ("AUC", "%", "AUC gain", "% gain", "epoch", "tag")


@dataclass(frozen=True)
class Published:
    """One published number. ``value`` is in ``unit``; ``digits`` is the printed precision."""

    key: str  # the key our notebooks measure it under
    section: str  # where in the report it appears
    quantity: str  # what it measures
    value: float | str
    unit: str  # one of UNITS
    digits: int  # decimals as published
    split: str  # "validation" or "test": which set the number is measured on
    source: str

    def shown(self) -> str:
        return format_value(self.value, self.unit, self.digits)


def format_value(value: float | str, unit: str, digits: int) -> str:
    """A number written the way the report writes it (``81.07%``, ``0.8366``, ``+0.004``)."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; valid: {', '.join(UNITS)}")
    if unit == "tag":
        return str(value)
    if unit == "epoch":
        return f"{int(value)}"
    text = f"{float(value):.{digits}f}"
    if unit == "%":
        return text + "%"
    if unit == "% gain":
        return f"{float(value):+.{digits}f}%"
    if unit == "AUC gain":
        return f"{float(value):+.{digits}f}"
    return text


def _sv(key: str, quantity: str, value: float, digits: int = 2) -> Published:
    return Published(key, "Section V", quantity, value, "AUC", digits, "validation", REPORT)


def _t1(length: int, stride: int, value: float) -> Published:
    return Published(
        f"table1.raw.{length}-{stride}", "Table I",
        f"raw audio, filter length {length}, stride {stride}: test ROC-AUC, mean of 5 trials",
        value, "%", 2, "test", REPORT,
    )


def _dieleman(frontend: str, length: int, value: float) -> Published:
    name = "raw audio" if frontend == "raw" else "spectrogram"
    return Published(
        f"dieleman.{frontend}.{length}-{length}", "Table I (Dieleman column)",
        f"Dieleman & Schrauwen, {name}, length = stride = {length}: test ROC-AUC",
        value, "AUC", 4, "test", DIELEMAN,
    )


def _t2(key: str, quantity: str, value: float) -> Published:
    return Published(
        f"table2.{key}", "Table II", f"{quantity}: test ROC-AUC, mean over trials",
        value, "%", 2, "test", REPORT,
    )


def _scnn(key: str, quantity: str, value: float, split: str = "validation",
          unit: str = "AUC", digits: int = 2) -> Published:
    return Published(
        f"samplecnn.{key}", "Section VIII-B", quantity, value, unit, digits, split, REPORT
    )


PUBLISHED: tuple[Published, ...] = (
    # Section V: coordinate-wise search, validation ROC-AUC of the kept value
    _sv("search.input_norm.none", "no input normalisation", 0.53),
    _sv("search.input_norm.standardise", "input standardisation", 0.71),
    _sv("search.input_norm.minmax", "input min-max scaling", 0.72),
    _sv("search.filters.32", "32 filters in the strided convolution", 0.81),
    _sv("search.lr.0.0075", "learning rate 0.0075", 0.81),
    _sv("search.momentum.0.95", "momentum 0.95", 0.82),
    # Table I: raw audio, mean of 5 trials
    _t1(1024, 1024, 81.07),
    _t1(1024, 512, 81.66),
    _t1(512, 512, 81.62),
    _t1(512, 256, 82.08),
    _t1(256, 256, 82.44),
    _t1(256, 128, 81.83),
    _t1(128, 128, 81.69),
    _dieleman("raw", 1024, 0.8366),
    _dieleman("raw", 256, 0.8487),
    _dieleman("logmel", 1024, 0.8690),
    _dieleman("logmel", 256, 0.8815),
    # Figure 3: training curves of the best configuration
    Published("figure3.best_epoch", "Figure 3", "epoch of the validation ROC-AUC peak",
              19, "epoch", 0, "validation", REPORT),
    Published("figure3.epochs", "Figure 3", "epochs trained", 30, "epoch", 0, "validation",
              REPORT),
    # Figure 4: per-tag analysis
    Published("figure4.most_frequent_tag", "Figure 4", "most frequent tag in training",
              "guitar", "tag", 0, "test", REPORT),
    Published("figure4.guitar_auc", "Figure 4", "test ROC-AUC of the tag guitar", 0.78, "AUC",
              2, "test", REPORT),
    # Table II: normalisation layers, dropout, longer training
    _t2("batch", "batch norm", 81.69),
    _t2("layer", "layer norm", 83.66),
    _t2("group", "group norm", 84.70),
    _t2("dropout", "group norm + dropout 0.2", 85.06),
    _t2("long", "group norm + dropout 0.2 + 40 epochs", 85.54),
    # Section VIII-B: SampleCNN
    _scnn("recreation", "SampleCNN recreation (batch norm, Nesterov 0.9, lr 0.01, plateau)", 0.86),
    _scnn("group", "+ group norm", 0.87),
    _scnn("no_scheduler_gain", "+ no scheduler: gain", 0.004, unit="AUC gain", digits=3),
    _scnn("momentum.0.95", "+ momentum 0.95", 0.88),
    _scnn("long.validation", "+ 30 epochs (validation)", 0.89),
    _scnn("long.test", "+ 30 epochs (test)", 0.90, split="test"),
    _scnn("guitar_gain", "guitar ROC-AUC over the shallow CNN (relative)", 15, split="test",
          unit="% gain", digits=0),
    Published("lee2017.test", "Section VIII-B", "Lee et al. 2017 SampleCNN (3^9 model): test "
              "ROC-AUC", 0.9055, "AUC", 4, "test", LEE),
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
