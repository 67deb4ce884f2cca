"""The report's settings, once, in code: every setting it states, with its section.

Each :class:`Setting` holds the report's value and reads the same setting off a profile (or
off the code, for what no profile changes). Where the report is silent or ambiguous the value
is our reading, and ``reading`` says why. :func:`deviations` compares a resolved profile with
the ledger: every difference is listed with the reason the profile declares in its YAML
(``deviations:`` in ``full``, the ``why`` beside a changed key in a profile extending it),
and a difference without one is an error (the tests check every profile). The ``full``
profile takes the report's value wherever the report states one.

The report's numbers (results rather than settings) are in :mod:`mtlib.paper.numbers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypeAlias

import pandas as pd

from mtlib.constants import N_SUBCLIPS, N_TAGS
from mtlib.errors import MtlibError
from mtlib.paper.dataset import SECTION7_TAGS
from mtlib.paper.recipes import SAMPLECNN_START

# A mtlib.report.profiles.Profile. The ledger reads profiles and does not build them; the
# profile loader reads the ledger (a profile extending another inherits its reasons), so the
# paper layer does not import the report, not even for type checking.
Profile: TypeAlias = Any

MOMENTA = tuple(round(0.90 + 0.01 * i, 2) for i in range(10))  # 0.90, 0.91, ..., 0.99


@dataclass(frozen=True)
class Setting:
    """One setting: ``key`` (what ``Profile.reason`` is asked for), the report's section,
    what it is (our words), the report's ``value``, how to read it off a profile, and, where
    the value is our reading of silent or ambiguous text, why."""

    key: str
    section: str
    what: str
    value: Any
    of: Callable[[Profile], Any]
    reading: str = ""


def _code(value: Any) -> Callable[[Profile], Any]:
    """A setting that the code fixes for every profile."""
    return lambda p: value


def _dieleman_layers() -> str:
    from mtlib.models.dieleman import CONV_CHANNELS, CONV_LENGTH, POOL

    return f"{CONV_CHANNELS} channels, kernel {CONV_LENGTH}, max-pool {POOL}"


def _minmax_range() -> tuple[float, float]:
    from mtlib.data.datasets import MINMAX_RANGE

    return MINMAX_RANGE


def _plateau() -> str:
    from mtlib.config import RunConfig
    from mtlib.training.fit import PLATEAU_FACTOR

    return (f"divided by {1 / PLATEAU_FACTOR:g} after {RunConfig().plateau_epochs} epochs "
            "without improvement")


def _search_start(p: Profile) -> str:
    pinned = [f"{name} {value:g}" for name, value in (("lr", p.search_start_lr),
                                                       ("momentum", p.search_start_momentum))
              if value is not None]
    return p.search_start + (f", {' and '.join(pinned)} pinned" if pinned else "")


def _recipe(p: Profile, field: str) -> Any:
    """The value Tables I-IX train ``field`` with: the profile's recipe, or "the search's
    choice" when the profile follows its own search."""
    return "the search's choice" if p.recipe_from_search else getattr(p, f"recipe_{field}")


def _search_geometry(p: Profile) -> str:
    from mtlib.config import RunConfig

    default = RunConfig()
    return f"{default.length}/{default.stride}"


def _dense_groups() -> str:
    from mtlib.models.dieleman import HIDDEN

    return f"gcd(G, {HIDDEN}) groups"  # mtlib.models.layers.make_norm (a test builds it)


def _samplecnn_dropout() -> float:
    from mtlib.config import MODEL_DEFAULTS

    return MODEL_DEFAULTS["samplecnn"]["dropout"]


def _train_curve() -> str:
    from mtlib.config import RunConfig

    return f"a fixed {RunConfig().train_eval_clips}-clip training subset, in eval mode"


def _section7_tags_in_vocabulary() -> tuple[str, ...]:
    """The Sec. VII tags that the tag list of every profile, the standard top-50, holds."""
    from mtlib.data.metadata import standard_tags

    vocabulary = set(standard_tags())
    return tuple(t for t in SECTION7_TAGS if t in vocabulary)


def _harmonic_f0() -> str:
    from mtlib.config import RunConfig

    return {"fixed": "Q only; the fundamentals stay on the quarter-tone grid",
            "learnt": "Q and each fundamental"}[RunConfig().harmonic_f0]


def _spectral_dc() -> str:
    from mtlib.config import RunConfig

    return {"remove": "each subclip less its mean",
            "keep": "the min-max scaled samples, offset included"}[RunConfig().spectral_dc]


def _samplecnn_start(key: str) -> Callable[[Profile], Any]:
    return lambda p: SAMPLECNN_START[key]


SETTINGS: tuple[Setting, ...] = (
    # --- Sec. III: data ---------------------------------------------------------------------
    Setting("data.source", "III", "dataset", "mtat", lambda p: p.data_source),
    Setting("data.clips", "III", "clips used and their split",
            "21,355 clips, 72.23 / 7.20 / 20.56 %",
            lambda p: ("standard lists: 15,244 / 1,529 / 4,332 clips" if p.data_split ==
                       "standard" else "folders 0-b / c / d-f")),
    Setting("data.tags", "III", "number of tags", N_TAGS, _code(N_TAGS)),
    Setting("data.vocabulary", "III, VII", "the tags of Sec. VII in the tag list",
            SECTION7_TAGS, lambda p: _section7_tags_in_vocabulary(),
            "the report's \"50 most frequent tags\" hold the six tags its Sec. VII discusses, "
            "which the standard top-50 lacks: its list was probably built after merging "
            "synonyms (see notebook 01), and it is not published"),
    Setting("data.sample_rate", "III", "sample rate of the shallow CNN, Hz", 12000,
            lambda p: p.shallow_sample_rate),
    # --- Sec. IV: the shallow CNN -----------------------------------------------------------
    Setting("shallow.subclips", "IV", "subclips per 29.1 s clip", 10, _code(N_SUBCLIPS)),
    Setting("shallow.layers", "IV", "the two convolutions after the strided one",
            "32 channels, kernel 8, max-pool 4", lambda p: _dieleman_layers()),
    # "our batches are of size (10, 10, 1, 34950)": 10 clips of 10 subclips, stated
    Setting("shallow.batch_clips", "IV-V", "clips per minibatch (of 10 subclips each)", 10,
            lambda p: p.shallow_batch_clips),
    Setting("shallow.loss", "IV", "what the loss scores", "clip",
            lambda p: p.shallow_loss,
            "the subclip predictions are averaged after the sigmoid into the clip's tag "
            "predictions, so the BCE is taken on that average"),
    Setting("shallow.output_prior", "-", "output biases start at the tags' log-odds", False,
            lambda p: p.shallow_output_prior,
            "the report does not state its initialisation: PyTorch's default"),
    # --- Sec. V: the search -----------------------------------------------------------------
    Setting("search.start", "V", "starting values of the search", "random",
            lambda p: _search_start(p)),
    Setting("search.epochs", "V", "epochs per search run", 30, lambda p: p.search_epochs),
    Setting("search.trials", "V", "trials per searched value", 1, lambda p: p.search_trials,
            "not stated; one run per value"),
    Setting("search.train_clips", "III, V", "training clips per search run", "all",
            lambda p: p.search_max_train_clips or "all"),
    Setting("search.input_norms", "V", "input normalisations tried",
            ("none", "standardise", "minmax"), lambda p: p.search_input_norms),
    Setting("search.minmax_range", "V", "range of min-max scaling", (0.0, 1.0),
            lambda p: _minmax_range()),
    Setting("search.norm_scope", "V", "statistics input normalisation uses", "each clip's",
            _code("each clip's"),
            "not stated whether min-max and standardisation use each clip's statistics or the "
            "training set's: each clip's (RunConfig.input_norm_scope offers the dataset's)"),
    Setting("search.no_norm", "V", "the input without normalisation",
            "int16 samples / 32768, in [-1, 1]", _code("int16 samples / 32768, in [-1, 1]"),
            "not stated what \"no normalisation\" feeds the network: the decoded samples as "
            "floats"),
    Setting("search.geometry", "V", "filter length / stride of the search runs", "256/256",
            lambda p: _search_geometry(p),
            "not stated; Table I's best pair, which the search could not know yet (chosen "
            "with hindsight)"),
    Setting("search.filters", "V", "filter counts tried", (8, 16, 32, 64, 128),
            lambda p: p.search_filters,
            "not listed; AUC is said to rise with the count, so a doubling grid around 32"),
    Setting("search.keep_filters", "V", "filter count kept", 32,
            lambda p: p.search_keep_filters),
    Setting("search.lrs", "V", "coarse learning-rate grid", (0.1, 0.05, 0.01, 0.005, 0.001),
            lambda p: p.search_lrs),
    # stated: 0.005, 0.0075 and 0.01 after 0.01 and 0.005 did best on the coarse grid
    Setting("search.lr_fine_points", "V", "fine learning-rate grid size", 3,
            lambda p: p.search_lr_fine_points),
    Setting("search.momenta", "V", "momenta tried", MOMENTA, lambda p: p.search_momenta),
    Setting("selection.epoch", "V", "which epoch is kept", "best validation ROC-AUC",
            _code("best validation ROC-AUC")),
    # --- the recipe Tables I-IX train with: the values the report's search found -------------
    Setting("recipe.input_norm", "V-VI", "input normalisation of Tables I-IX", "minmax",
            lambda p: _recipe(p, "input_norm")),
    Setting("recipe.filters", "V-VI", "filters of the strided convolution, Tables I-IX", 32,
            lambda p: _recipe(p, "filters")),
    Setting("recipe.lr", "V-VI", "learning rate of Tables I-IX", 0.0075,
            lambda p: _recipe(p, "lr")),
    Setting("recipe.momentum", "V-VI", "momentum of Tables I-IX", 0.95,
            lambda p: _recipe(p, "momentum")),
    # --- Table I, Fig. 3 --------------------------------------------------------------------
    Setting("table1.pairs", "VI", "(filter length, stride) pairs",
            ((1024, 1024), (1024, 512), (512, 512), (512, 256), (256, 256), (256, 128),
             (128, 128)), lambda p: p.table1_pairs),
    Setting("shallow.trials", "VI, VIII-A", "trials per configuration", 5,
            lambda p: p.shallow_trials),
    Setting("shallow.epochs", "V", "epochs per run", 30, lambda p: p.shallow_epochs),
    Setting("shallow.train_clips", "III", "training clips per run", "all",
            lambda p: p.shallow_max_train_clips or "all"),
    Setting("table1.selection", "VI", "how Table I's best pair is chosen", "test ROC-AUC",
            _code("validation ROC-AUC")),
    Setting("figure3.train_curve", "VI", "what Figure 3's training curve scores",
            "a fixed 200-clip training subset, in eval mode",
            _code(_train_curve()),
            "not stated; scoring the whole training split every epoch would cost as much as "
            "an epoch"),
    Setting("table1.logmel", "VI", "a spectrogram column in Table I", False,
            lambda p: p.table1_logmel),
    Setting("table1.prior_arm", "-", "an output-prior arm beside Table I", False,
            lambda p: p.table1_prior_arm),
    # --- Sec. VIII-A, Table II --------------------------------------------------------------
    Setting("table2.selection", "VIII-A", "how a Table II variant is kept",
            "test ROC-AUC", _code("validation ROC-AUC"),
            "the normalisation is chosen on the test AUCs of Table II; dropout on validation"),
    Setting("table2.group_counts", "VIII-A", "group counts tried", (2, 4, 8, 16),
            lambda p: p.table2_group_counts),
    Setting("table2.dropout_position", "VIII-A", "where dropout acts",
            "before both dense layers", _code("before both dense layers"),
            "not stated where dropout sits: before each of the two dense layers"),
    Setting("table2.dense_groups", "VIII-A", "group norm on the 100-unit dense layer",
            "gcd(G, 100) groups", _code(_dense_groups()),
            "not stated how G groups split 100 units: gcd(G, 100) groups, so G = 4, 8 and 16 "
            "all give 4 groups there"),
    Setting("table2.dropouts", "VIII-A", "dropout p tried", (0.1, 0.2, 0.3, 0.5),
            lambda p: p.table2_dropouts,
            "only the kept p = 0.2 is stated; a grid around it"),
    Setting("shallow.long_epochs", "VIII-A", "epochs of the last Table II row", 40,
            lambda p: p.shallow_long_epochs),
    # --- Sec. VIII-B: SampleCNN -------------------------------------------------------------
    Setting("samplecnn.sample_rate", "VIII-B", "sample rate, Hz", 12000,
            lambda p: p.samplecnn_sample_rate),
    Setting("samplecnn.batch_clips", "VIII-B", "clips per minibatch", 10,
            lambda p: p.samplecnn_batch_clips),
    Setting("samplecnn.train_clips", "III", "training clips per run", "all",
            lambda p: p.samplecnn_max_train_clips or "all"),
    Setting("samplecnn.segments", "VIII-B", "segments per clip", 10,
            lambda p: p.samplecnn_segments,
            "the input shape is garbled in the text, (B, 10, 1, 4): ten subclips per clip. "
            "Read literally as the shallow CNN's ten 34,950-sample subclips, they are shorter "
            "than the 59,049 samples the 3^9 model needs; read here as ten evenly spaced "
            "59,049-sample segments (the 3^9 model's input)"),
    Setting("samplecnn.train_segments", "VIII-B", "what an epoch trains on", "all",
            lambda p: p.samplecnn_train_segments, "every subclip of every clip, as for the "
                                                  "shallow CNN"),
    Setting("samplecnn.loss", "VIII-B", "what the loss scores", "clip",
            lambda p: p.samplecnn_loss, "BCE, on the clip prediction as in Sec. IV"),
    Setting("samplecnn.optimiser", "VIII-B", "optimiser",
            "SGD, Nesterov momentum 0.9, lr 0.01",
            lambda p: "SGD, Nesterov momentum {:g}, lr {:g}".format(
                _samplecnn_start("momentum")(p), _samplecnn_start("lr")(p))),
    Setting("samplecnn.plateau", "VIII-B", "learning-rate schedule",
            "divided by 5 after 3 epochs without improvement",
            lambda p: _plateau()),
    Setting("samplecnn.input_norm", "VIII-B", "SampleCNN's input normalisation", "none",
            _samplecnn_start("input_norm"),
            "not stated; none, as in Lee et al.'s code (Sec. V's search is of the shallow CNN)"),
    Setting("samplecnn.dropout", "VIII-B", "SampleCNN's dropout before the output", 0.5,
            _code(_samplecnn_dropout()), "not stated; Lee et al.'s 0.5"),
    Setting("samplecnn.groups", "VIII-B", "group count of SampleCNN's group norm",
            "Table II's best G", _code("Table II's best G"),
            "not stated; the count Table II kept for the shallow CNN"),
    Setting("samplecnn.plateau_metric", "VIII-B", "what the plateau schedule watches",
            "validation ROC-AUC", _code("validation ROC-AUC"),
            "not stated; the metric that selects the best epoch (Lee et al. watch the "
            "validation loss)"),
    Setting("samplecnn.norms", "VIII-B", "normalisations compared", ("group", "batch", "none"),
            lambda p: p.samplecnn_norms),
    Setting("samplecnn.momenta", "VIII-B", "momenta tried", MOMENTA,
            lambda p: p.samplecnn_momenta),
    Setting("samplecnn.epochs", "VIII-B", "epochs of every step but the last", 20,
            lambda p: p.samplecnn_epochs),
    Setting("samplecnn.long_epochs", "VIII-B", "epochs of the last step", 30,
            lambda p: p.samplecnn_long_epochs),
    Setting("samplecnn.trials", "VIII-B", "trials per configuration", 3,
            lambda p: p.samplecnn_trials, "not stated; three"),
    Setting("samplecnn.precision", "-", "arithmetic of SampleCNN's training and scoring",
            "float32", lambda p: "bf16 autocast" if p.samplecnn_amp else "float32",
            "not stated: PyTorch's default"),
    Setting("samplecnn.output_prior", "-", "output biases start at the tags' log-odds", False,
            lambda p: p.samplecnn_output_prior),
    Setting("samplecnn.lee_reference", "-", "Lee et al.'s own recipe as a reference arm",
            False, lambda p: p.samplecnn_lee_reference),
    # --- Sec. IX: future work the report proposes (notebook 09) -----------------------------
    Setting("future.trials", "IX", "trials per future-work arm", 5, lambda p: p.future_trials,
            "not run in the report; five, as Tables I and II"),
    Setting("future.epochs", "IX", "epochs of the shallow future-work arms",
            "shallow.epochs", lambda p: p.future_epochs or "shallow.epochs",
            "not run in the report; those of Table II's dropout step, whose run is the raw arm"),
    Setting("future.geometry", "IX", "first-layer length / stride of the front-end comparison",
            "the best Table I pair",
            lambda p: f"{p.future_stride}/{p.future_stride}" if p.future_stride
            else "the best Table I pair",
            "not run in the report; the pair Table II builds on, so the raw arm is Table II's "
            "dropout step"),
    Setting("future.harmonic_learnt", "IX", "what the harmonic front end learns",
            "Q only; the fundamentals stay on the quarter-tone grid", _code(_harmonic_f0()),
            "the report names the front end, not its setting: Won et al.'s released models "
            "learn only the bandwidth's Q (learning the fundamentals is their option, off by "
            "default; RunConfig harmonic_f0 = 'learnt' offers it)"),
    Setting("future.spectral_dc", "VI, IX", "what the STFT of the spectral front ends sees",
            "each subclip less its mean", _code(_spectral_dc()),
            "min-max scaling to [0, 1] adds an offset of about 0.5, which moved the lowest "
            "harmonic and mel channels by up to 3 nats; Dieleman's and Won's spectrograms see "
            "the audio itself. Removing each subclip's mean gives that spectrum up to gain and "
            "keeps one input for every arm (RunConfig spectral_dc = 'keep': the offset)"),
    Setting("future.harmonic_backend", "IX", "how the harmonic tensor enters the shallow CNN",
            "flattened into the first conv's channels; compared with raw audio widened to its "
            "parameter count",
            _code("flattened into the first conv's channels; compared with raw audio widened "
                  "to its parameter count"),
            "Won et al. follow the [harmonic, pitch, time] tensor with 2-D convolutions; the "
            "report asks for the shallow CNN. Flattened, the first conv makes the arm ~3.5 "
            "times the raw arm's size, so the claims compare it with raw audio widened to the "
            "same count; a 2-D stack of the raw arm's size would cost ~8 times the flattened "
            "conv per clip on a CPU"),
)

BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _text(value: Any) -> str:
    if isinstance(value, tuple | list) and not value:
        return "none"
    if isinstance(value, tuple | list):
        if value and all(isinstance(v, tuple | list) for v in value):  # pairs: 1024/512
            return ", ".join("/".join(_text(x) for x in v) for v in value)
        return ", ".join(_text(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return "—" if value is None else str(value)


def deviations(profile: Profile) -> pd.DataFrame:
    """Every setting where ``profile`` departs from the report: key, section, setting, the
    report's value, this profile's, and the reason it declares ("" when undeclared)."""
    rows = []
    for s in SETTINGS:
        ours = s.of(profile)
        if not _same(ours, s.value):
            rows.append({"key": s.key, "section": s.section, "setting": s.what,
                         "report": _text(s.value), "profile": _text(ours),
                         "why": profile.reason(s.key)})
    return pd.DataFrame(rows, columns=["key", "section", "setting", "report", "profile", "why"])


def settings_of(field: str, value: Any, reference: Profile) -> list[Setting]:
    """The settings that profile field ``field`` (``shallow_epochs``) moves: those whose value
    on ``reference`` changes when the field takes ``value`` there."""
    # model_copy skips validation: one field alone may break a cross-field rule, and only
    # the settings' readers look at the probe.
    probe = reference.model_copy(update={field: value})
    return [s for s in SETTINGS if not _same(s.of(probe), s.of(reference))]


def report_states(field: str, value: Any, reference: Profile) -> bool:
    """Whether ``reference``'s value of profile field ``field`` is one the report states: the
    field moves at least one setting (setting it to ``value`` shows which), the report states
    each of them (no reading of ours), and ``reference`` follows the report in each."""
    settings = settings_of(field, value, reference)
    return bool(settings) and all(not s.reading and _same(s.of(reference), s.value)
                                  for s in settings)


def check(profile: Profile) -> None:
    """MtlibError naming every undeclared departure, and every declared reason for a setting
    that does not depart (or does not exist)."""
    table = deviations(profile)
    undeclared = list(table.loc[table["why"] == "", "key"])
    stale = sorted(set(dict(profile.deviations)) - set(table["key"]))
    problems = []
    if undeclared:
        problems.append(f"departs from the report without a reason: {', '.join(undeclared)}")
    if stale:
        problems.append(f"declares reasons for settings it does not change: {', '.join(stale)}")
    if problems:
        raise MtlibError(f"configs/{profile.name}.yaml: " + "; ".join(problems)
                         + " (see mtlib.paper.ledger.SETTINGS and the profile's reasons)")


def readings() -> pd.DataFrame:
    """The settings where the report is silent or ambiguous, and our reading of each."""
    return pd.DataFrame([{"key": s.key, "section": s.section, "setting": s.what,
                          "our reading": _text(s.value), "why": s.reading}
                         for s in SETTINGS if s.reading])
