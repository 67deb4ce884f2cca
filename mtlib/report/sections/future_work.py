"""Notebook 09, Section IX: the report's future work, run.

Two experiments, each against an arm another notebook already trained (so its baseline costs
nothing):

- **Front ends of the shallow CNN.** Raw audio (the strided convolution), a log-mel
  spectrogram (Dieleman & Schrauwen's spectrogram input) and the learnable harmonic filters
  of Won et al. (2020), each feeding the same convolutional stack, on Table II's kept
  normalisation and dropout, for ``shallow.epochs`` (the raw arm at the best Table I pair is
  Table II's dropout step). The harmonic tensor, flattened into the channels of the first
  1-D conv, makes that arm ~3.5 times the raw arm's size; a fourth arm widens the raw arm's
  strided conv to the harmonic arm's parameter count (:func:`matched_filters`), and the
  harmonic arm is compared with it. SampleCNN, the deep network on raw audio, is the point of
  comparison the report asks for; its runs are notebook 07's last step.
- **Label-embedding regularisation** (our stand-in for ATOSE's one-sided joint embedding,
  :mod:`mtlib.models.tag_embedding`) on the shallow CNN's raw arm and on SampleCNN's momentum
  step (notebook 07's kept settings for ``samplecnn.epochs``).

Every arm reports its test ROC-AUC, its guitar ROC-AUC (the tag the report singles out), its
parameter count and its cost per training clip (:mod:`mtlib.training.cost`).
:func:`listening` picks, for each spectral front end, the test clips on which it and raw audio
disagree most about guitar.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mtlib.config import RunConfig
from mtlib.constants import N_TAGS
from mtlib.data.prepare import clip_samples_for
from mtlib.models import build_model, count_parameters
from mtlib.models.frontends import (
    BANDS_PER_OCTAVE,
    ERB_OFFSET,
    ERB_SLOPE,
    F0_MIN,
    HARMONICS,
    LOG_COMPRESSION,
    HarmonicFrontend,
    quarter_tone_fundamentals,
    won_filterbank_gap,
)
from mtlib.paper.arms import Arm
from mtlib.paper.claims import RAW_WIDE
from mtlib.paper.numbers import shown
from mtlib.report import listening as listen
from mtlib.report import plots
from mtlib.report.artifacts import read_artifact, write_artifact
from mtlib.report.outputs import Outputs
from mtlib.report.profiles import Profile, run_config
from mtlib.report.sections import normalisation_dropout, samplecnn
from mtlib.report.sections.grids import aggregate, runs_frame
from mtlib.report.sections.per_tag_analysis import HIGHLIGHT, per_tag_table
from mtlib.report.study import Chain, Option, Step, run_chain
from mtlib.report.tables import mean_std_column
from mtlib.training.cost import training_cost
from mtlib.training.executors import Executor
from mtlib.training.rundir import BEST_CHECKPOINT, RunResult, load_torch
from mtlib.training.runs import RunStore

SLUG = "09_future_work"
PER_TAG_SLUG = "09_future_work_per_tag"
CHOICES_SLUG = "09_future_work_choices"
FIGURE_SLUGS = {"front ends": "09_future_work_frontends",
                "joint embedding": "09_future_work_embedding"}
EXPERIMENTS = ("front ends", "joint embedding")
N_FFT = 512  # STFT window of both spectral front ends, samples (42.7 ms at 12 kHz)
EMBEDDING_DIM = 16  # dimensions of the tag space
SHALLOW, DEEP = "shallow CNN", "SampleCNN"
TRAINED = 0.75  # validation ROC-AUC an arm should reach on the quick profile
# The clips on which a spectral front end and raw audio disagree most about HIGHLIGHT, by arm.
LISTEN = {"logmel": "09_listen_logmel", "harmonic": "09_listen_harmonic"}
N_DISAGREE = 2  # clips each way


@dataclass(frozen=True)
class FutureArm:
    """One arm: ``arm`` names its runs in the artifact (``future.<network>.<name>``), ``base``
    the arm it is compared with (None for a baseline), ``config`` its seed-0 run."""

    arm: Arm
    experiment: str
    network: str
    label: str
    config: RunConfig
    base: Arm | None = None

    @property
    def key(self) -> str:
        return self.arm.key

    @property
    def base_key(self) -> str:
        """The base's key, "" for a baseline."""
        return "" if self.base is None else self.base.key


def raw_arm_config(profile: Profile, table2_final: RunConfig) -> RunConfig:
    """Table II's last row (``table2_final``) for ``future.epochs`` (default
    ``shallow.epochs``: Table II's dropout step), at ``future.stride`` when the profile sets
    one."""
    return run_config(profile, "future_shallow", base=table2_final, seed=0)


def samplecnn_config(profile: Profile, samplecnn_final: RunConfig) -> RunConfig:
    """SampleCNN's last step (``samplecnn_final``) for ``samplecnn.epochs``: its momentum
    step."""
    return run_config(profile, "future_samplecnn", base=samplecnn_final, seed=0)


def shallow_base(profile: Profile) -> RunConfig:
    """:func:`shallow_config` of the Table II run notebook 06 kept."""
    return raw_arm_config(profile, RunConfig.from_dict(
        read_artifact(normalisation_dropout.SLUG, profile.name)["final_config"]))


def samplecnn_arm_base(profile: Profile) -> RunConfig:
    """:func:`samplecnn_config` of notebook 07's last step."""
    return samplecnn_config(profile, _samplecnn_final(profile)[0].config)


def _samplecnn_final(profile: Profile) -> list[RunResult]:
    ids = read_artifact(samplecnn.SLUG, profile.name)["final_run_ids"]
    return RunStore().require(ids, f"notebook {samplecnn.SLUG}")


RAW = Arm("future", "shallow", "raw")
HARMONIC = Arm("future", "shallow", "harmonic")
SAMPLECNN = Arm("future", "samplecnn", "base")


def spectral(frontend: str) -> dict[str, object]:
    """The fields of a spectral arm: its front end, the STFT window and today's defaults of
    the late fields, set explicitly because a base read from an older artifact carries their
    legacy values (:meth:`mtlib.config.RunConfig.from_dict`): each subclip's mean removed
    before the STFT, and for the harmonic filters Won et al.'s released setting (fundamentals
    fixed, Q learnt)."""
    defaults = RunConfig.model_fields
    fields: dict[str, object] = {"frontend": frontend, "n_fft": N_FFT,
                                 "spectral_dc": defaults["spectral_dc"].default}
    if frontend == "harmonic":
        fields["harmonic_f0"] = defaults["harmonic_f0"].default
    return fields


def parameters(config: RunConfig) -> int:
    """Trainable parameters of ``config``'s model for 50 tags on a clip of the prepared length
    at its sample rate (:func:`mtlib.data.prepare.clip_samples_for`)."""
    return count_parameters(build_model(config, N_TAGS, clip_samples_for(config.sample_rate)))


def matched_filters(raw: RunConfig, target: RunConfig) -> int:
    """The filter count F of the raw arm ``raw`` whose parameter count is nearest
    ``target``'s. The shallow CNN's count is linear in F (the strided conv, its norm and the
    next conv's input channels), so two counts give it; the tag count adds the same to both
    arms."""
    at_one = parameters(raw.replace(filters=1))
    per_filter = parameters(raw.replace(filters=2)) - at_one
    return max(1, 1 + round((parameters(target) - at_one) / per_filter))


def arms(profile: Profile, shallow: RunConfig | None = None,
         deep: RunConfig | None = None) -> list[FutureArm]:
    """The arms of both experiments, baselines first, on the shallow and SampleCNN bases
    (default: :func:`shallow_base` and :func:`samplecnn_base`)."""
    shallow = shallow or shallow_base(profile)
    deep = deep or samplecnn_arm_base(profile)
    weight = profile.future_embedding_weight
    embedding = {"tag_embedding": weight, "tag_embedding_dim": EMBEDDING_DIM}
    harmonic = shallow.replace(**spectral("harmonic"))
    wide = shallow.replace(filters=matched_filters(shallow, harmonic))
    geometry = f"strided conv {shallow.length}/{shallow.stride}"
    return [
        FutureArm(RAW, "front ends", SHALLOW, f"raw audio, {geometry}", shallow),
        FutureArm(Arm("future", "shallow", "logmel"), "front ends", SHALLOW,
                  "log-mel spectrogram", shallow.replace(**spectral("logmel")), RAW),
        FutureArm(RAW_WIDE, "front ends", SHALLOW, f"raw audio, {geometry} widened to "
                  f"F = {wide.filters} (the harmonic arm's parameter count)", wide, RAW),
        FutureArm(HARMONIC, "front ends", SHALLOW, "harmonic filters (Won et al., Q learnt), "
                  "flattened into the first conv", harmonic, RAW_WIDE),
        FutureArm(Arm("future", "shallow", "embedding"), "joint embedding", SHALLOW,
                  f"raw audio + label embedding (weight {weight:g})",
                  shallow.replace(**embedding), RAW),
        FutureArm(SAMPLECNN, "joint embedding", DEEP, "raw audio", deep),
        FutureArm(Arm("future", "samplecnn", "embedding"), "joint embedding", DEEP,
                  f"raw audio + label embedding (weight {weight:g})", deep.replace(**embedding),
                  SAMPLECNN),
    ]


def chain(study_arms: list[FutureArm]) -> Chain:
    """One step, every arm, nothing kept. The costliest runs train first (the harmonic front
    end, then SampleCNN), so a worker pool does not end on one of them alone."""
    return Chain(
        (Step("future work", lambda kept: [Option(a.arm, a.config, a.label, a)
                                           for a in study_arms], keep=None),),
        label=lambda names, n: f"future work ({n} arms)",
        order=lambda o: (o.config.frontend != "harmonic", o.config.model != "samplecnn"))


def train(study_arms: list[FutureArm], n: int, executor: str | Executor = "local"
          ) -> dict[str, list[RunResult]]:
    """``n`` trials of every arm as one grid (baselines come from the run store), by arm key."""
    step = run_chain(chain(study_arms), None, n, executor).steps[0]
    return {o.arm.key: runs for o, runs in zip(step.options, step.runs, strict=True)}


@dataclass
class FutureWork:
    """``table``: one row per arm (experiment, network, arm, key, base, the :func:`aggregate`
    columns, guitar test ROC-AUC, parameters, ms per training clip); ``per_tag``: test ROC-AUC
    per tag (rows) and arm key (columns) with ``n_train_pos``; ``deep``: SampleCNN's last step
    (notebook 07), the deep network the front ends are set against."""

    table: pd.DataFrame
    per_tag: pd.DataFrame
    arms: list[FutureArm]
    results: dict[str, list[RunResult]] = field(repr=False)
    deep: list[RunResult] = field(repr=False)

    def arm(self, key: str | Arm) -> FutureArm:
        return next(a for a in self.arms if a.key == str(key))

    def row(self, key: str | Arm) -> pd.Series:
        return self.table.set_index("key").loc[str(key)]

    def gain(self, key: str | Arm) -> float:
        """Test ROC-AUC of arm ``key`` minus its base's."""
        base = self.arm(key).base
        return float(self.row(key)["test_roc_auc_mean"] - self.row(base)["test_roc_auc_mean"])

    def relative_gain(self, key: str | Arm) -> float:
        """:meth:`gain` in % of the base's test ROC-AUC."""
        return 100.0 * self.gain(key) / float(self.row(self.arm(key).base)["test_roc_auc_mean"])

    def below(self, floor: float) -> pd.DataFrame:
        """The rows of the arms whose mean validation ROC-AUC is below ``floor``."""
        return self.table[self.table["val_roc_auc_mean"] < floor]


def _tag_auc(results: list[RunResult]) -> pd.Series:
    """Mean test ROC-AUC per tag over ``results`` (index: tag, most frequent first)."""
    return per_tag_table(results).set_index("tag")["roc_auc"]


def run(profile: Profile, executor: str | Executor = "local") -> FutureWork:
    """Train every arm's ``future.trials`` trials (baselines come from the run store), then
    time one training step of each."""
    study_arms = arms(profile)
    results = train(study_arms, profile.future_trials, executor)

    frames = []
    for a in study_arms:
        f = runs_frame(results[a.key])
        f["key"] = a.key
        frames.append(f)
    table = aggregate(pd.concat(frames, ignore_index=True), ["key"])
    meta = pd.DataFrame([{"experiment": a.experiment, "network": a.network, "arm": a.label,
                          "key": a.key, "base": a.base_key} for a in study_arms])
    table = meta.merge(table, on="key")
    # Each arm on its own data's shape (SampleCNN's cache may have another sample rate).
    costs = [training_cost(a.config, len(m["tags"]), m["clip_samples"])
             for a in study_arms for m in [results[a.key][0].metrics]]
    aucs = {a.key: _tag_auc(results[a.key]) for a in study_arms}
    table["guitar_test_roc_auc"] = [aucs[a.key].get(HIGHLIGHT, np.nan) for a in study_arms]
    table["parameters"] = [c.parameters for c in costs]
    table["ms_per_clip"] = [c.ms_per_clip for c in costs]

    base = per_tag_table(results[study_arms[0].key])
    per_tag = base[["tag", "n_train_pos"]].assign(
        **{key: auc.reindex(base["tag"]).to_numpy() for key, auc in aucs.items()})
    return FutureWork(table, per_tag, study_arms, results, _samplecnn_final(profile))


def arm_table(fw: FutureWork, experiment: str | None = None) -> pd.DataFrame:
    """The table a reader sees: every arm (or one experiment's) with its scores and cost."""
    t = fw.table if experiment is None else fw.table[fw.table["experiment"] == experiment]
    gains = ["" if not b else f"{fw.gain(k):+.3f}" for k, b in zip(t["key"], t["base"],
                                                                     strict=True)]
    return pd.DataFrame({
        "experiment": t["experiment"], "network": t["network"], "arm": t["arm"],
        "validation ROC-AUC": mean_std_column(t, "val_roc_auc"),
        "test ROC-AUC": mean_std_column(t, "test_roc_auc"),
        "gain over its base": gains,
        f"{HIGHLIGHT} ROC-AUC": ["" if pd.isna(v) else f"{v:.3f}"
                                 for v in t["guitar_test_roc_auc"]],
        "parameters": [f"{p:,}" for p in t["parameters"]],
        "ms per training clip": [f"{v:.1f}" for v in t["ms_per_clip"]],
        "trials": t["trials"],
    }).reset_index(drop=True)


def deep_comparison(fw: FutureWork) -> pd.DataFrame:
    """The shallow CNN's three front ends beside SampleCNN's last step (notebook 07)."""
    fronts = fw.table[fw.table["experiment"] == "front ends"]
    deep = fw.deep
    rows = [{"network": r.network, "input": r.arm, "test ROC-AUC": r.test_roc_auc_mean,
             f"{HIGHLIGHT} ROC-AUC": r.guitar_test_roc_auc, "trials": r.trials}
            for r in fronts.itertuples()]
    rows.append({"network": DEEP, "input": f"raw audio, notebook 07's last step "
                                           f"({deep[0].config.epochs} epochs)",
                 "test ROC-AUC": float(np.mean([r.metrics["test_roc_auc"] for r in deep])),
                 f"{HIGHLIGHT} ROC-AUC": _tag_auc(deep).get(HIGHLIGHT, np.nan),
                 "trials": len(deep)})
    return pd.DataFrame(rows)


def training_note(fw: FutureWork, profile: Profile, floor: float = TRAINED) -> str:
    """Whether every arm learnt past ``floor`` (validation ROC-AUC), and for those that did not,
    the budget they had and what the same network reaches with more."""
    low = fw.below(floor)
    if low.empty:
        return f"Every arm reaches validation ROC-AUC {floor:.2f} or more."
    names = "; ".join(f"{r.network}, {r.arm}: {r.val_roc_auc_mean:.3f}" for r in low.itertuples())
    why = []
    if (low["network"] == DEEP).any():
        deep = fw.deep
        why.append(
            f"SampleCNN's arms train for `samplecnn_epochs` = {profile.samplecnn_epochs} "
            f"epoch(s), the budget of notebook 07's momentum step; its last step "
            f"({deep[0].config.epochs} epochs) reaches validation "
            f"{np.mean([r.metrics['val_roc_auc'] for r in deep]):.3f}")
    if (low["network"] == SHALLOW).any():
        why.append(f"the shallow arms train for {shallow_base(profile).epochs} epochs")
    return (f"Below validation ROC-AUC {floor:.2f}: {names}. " + "; ".join(why) + ". Their "
            "claims above compare models that have not finished learning.")


def learnt_filters(fw: FutureWork) -> str:
    """What the harmonic front end's training did to its filters (best epochs' weights): Q,
    and how far learnt fundamentals moved from their quarter-tone start, in cents."""
    runs = [r for r in fw.results[HARMONIC.key] if r.run_dir is not None]
    if not runs:
        return "The harmonic runs kept no weights to inspect."
    moved, quality, dead = [], [], []
    for r in runs:
        weights = load_torch(r.run_dir / BEST_CHECKPOINT)["model"]
        start = quarter_tone_fundamentals(r.config.sample_rate).numpy()
        f0 = weights["frontend.f0"].double().numpy()
        moved.append(np.abs(1200 * np.log2(np.maximum(f0, 1e-6) / start)))
        quality.append(float(weights["frontend.quality"]))
        front = HarmonicFrontend(r.config.sample_rate, r.config.n_fft or r.config.length,
                                 r.config.stride)
        front.load_state_dict({k.removeprefix("frontend."): v for k, v in weights.items()
                               if k.startswith("frontend.")})
        dead.append(front.dead_filters())
    q = float(np.mean(quality))
    text = (f"Training took Q from 1 to {q:.3f} (bandwidths "
            f"{'narrower' if q > 1 else 'wider'} than the ERB); {np.mean(dead):.0f} of the "
            f"{front.channels} filters then cover no FFT bin (channels of zeros).")
    if runs[0].config.harmonic_f0 == "fixed":
        return text + " The fundamentals stay on the quarter-tone grid (Won et al.'s setting)."
    cents = np.concatenate(moved)
    return (text + f" It moved the learnt fundamentals by a median of {np.median(cents):.1f} "
            f"cents (at most {cents.max():.0f}; a quarter tone is 50).")


def filterbank_text(sample_rate: int) -> str:
    """How close the harmonic filter bank is to Won et al.'s formula, measured now by
    :func:`mtlib.models.frontends.won_filterbank_gap` (the figure the unit test asserts)."""
    gap, common = won_filterbank_gap(sample_rate, N_FFT)
    return (f"Its filter bank (Q = 1) differs from one built from Won et al.'s formula (MIDI 24 "
            f"upward in quarter tones, ERB(h f0) / Q, triangles) by at most {gap:.1e} on the "
            f"same {N_FFT // 2 + 1} FFT bins, over the {common} fundamentals both have at "
            f"{sample_rate / 1000:g} kHz: C1 is {F0_MIN} Hz here, 32.70320 Hz there.")


def future_claims(profile: Profile) -> pd.DataFrame:
    """The claims table's Section IX rows (:func:`mtlib.report.verdicts.claims_table`), judged
    once; :func:`future_view` and :func:`claims_counts` format them."""
    from mtlib.report import verdicts

    return verdicts.claims_table(profile.name, sections=["IX"])


def future_view(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`future_claims` as notebook 08 shows its own."""
    from mtlib.report.sections.summary import claims_view as view

    return view(table).drop(columns="section").reset_index(drop=True)


def claims_counts(table: pd.DataFrame) -> str:
    """Section IX's own verdict counts in the rows of :func:`future_claims`, one line."""
    from mtlib.report import verdicts

    counts = ", ".join(f"{n} {v}" for v, n in verdicts.verdict_counts(table, "future").items())
    return (f"**What the report expected of its future work:** {counts} (of {len(table)}; "
            "not counted among the report's claims).")


def choices(profile: Profile) -> pd.DataFrame:
    """Every detail the papers leave open (or that integrating them into our networks
    decides), and what this code chose."""
    base = shallow_base(profile)
    sr = base.sample_rate
    f0 = quarter_tone_fundamentals(sr)
    rows = [
        ("front ends", "STFT", f"Hann window of {N_FFT} samples ({1000 * N_FFT / sr:.1f} ms), "
         f"hop = the raw arm's stride ({base.stride} samples), no centring, power spectrum",
         "one spectrum for both spectral front ends, so they differ only in their filters"),
        ("front ends", "DC", "each subclip's mean is removed before the STFT",
         "min-max scaling (every arm's input) adds an offset of about 0.5; without it the "
         "spectra are those of the audio itself up to gain, as Dieleman's and Won's, and every "
         "arm still reads the same samples"),
        ("front ends", "compression", f"log(1 + {LOG_COMPRESSION:g} x)",
         "Dieleman & Schrauwen's spectrogram input"),
        ("front ends", "what follows the front end", "the shallow CNN's two length-8 convs, "
         "pools and dense layers, unchanged; no learnt layer, norm or ReLU before them",
         "Dieleman & Schrauwen feed the spectrogram to the convolutions directly"),
        ("log-mel", "mel bands", f"{base.n_mels} HTK mel bands, 0 Hz to Nyquist "
         "(fewer if a band would cover no FFT bin)", "torchaudio's filter bank"),
        ("harmonic", "harmonics", f"{HARMONICS}", "Won et al.'s setting for music tagging"),
        ("harmonic", "fundamentals", f"{len(f0)}, a quarter tone apart ({BANDS_PER_OCTAVE} "
         f"per octave) from C1 ({F0_MIN:.1f} Hz) to {float(f0[-1]):.0f} Hz, so that the "
         f"{HARMONICS}th harmonic stays below Nyquist ({sr / 2:g} Hz)",
         "Won et al.'s quarter-tone grid from C1; the top is set by the sample rate (Won's "
         "rule, the note nearest Nyquist / 6, may keep one fewer)"),
        ("harmonic", "filter shape and bandwidth", f"triangle on linear frequency, width "
         f"ERB(f) / Q, ERB(f) = {ERB_SLOPE} f + {ERB_OFFSET} Hz, one learnt Q (starts at 1)",
         "Won et al.'s ERB bandwidth; one shared Q keeps the parameter count small"),
        ("harmonic", "what is learnt", "Q, with the rest of the network (same SGD and learning "
         "rate); the fundamentals stay on the grid (RunConfig harmonic_f0 = 'learnt' learns "
         "each, shared by its harmonics); section 2 gives the learnt Q",
         "Won et al.'s released models learn only Q; learning f0 is their option, off by "
         "default"),
        ("harmonic", "into the shallow CNN", f"the harmonic tensor [{HARMONICS}, {len(f0)}, "
         f"frames] flattened to {HARMONICS * len(f0)} channels of the first length-8 conv; "
         "compared with raw audio whose strided conv is widened to the same parameter count",
         "Won et al. follow the tensor with a 2-D CNN; the report asks for the shallow CNN. "
         "A small 2-D stack of the raw arm's size costs about 8 times the flattened conv per "
         "clip on a CPU, so raw audio is widened to match capacity instead"),
        ("embedding", "method", "label-embedding regularisation from tag co-occurrence, not "
         "ATOSE itself", "the ATOSE text available here (abstract, introduction) gives neither "
         "its tag encoder nor its loss"),
        ("embedding", "tag space", f"PPMI of the training split's tag co-occurrence, rank-"
         f"{EMBEDDING_DIM} SVD, unit vectors; fixed during training", "the one side that is "
         "not learnt: inter-tag correlations, as ATOSE uses them"),
        ("embedding", "audio side and loss", "a linear map of the last hidden features (100 "
         "for the shallow CNN, 512 for SampleCNN) averaged over a clip's units; "
         f"BCE + {profile.future_embedding_weight:g} x mean(1 - cosine to the sum of the "
         "clip's tag vectors)", "the weight is ours; clips without a tag add nothing"),
    ]
    return pd.DataFrame(rows, columns=["part", "detail", "choice", "why"])


def findings(fw: FutureWork) -> dict[str, dict]:
    """``conclusion.atose_gain``: the shallow CNN's relative test gain (%) from the label embedding,
    beside the report's "about 2 %" (SampleCNN's in the note)."""
    shallow = fw.relative_gain("future.shallow.embedding")
    deep = fw.relative_gain("future.samplecnn.embedding")
    trials_ = int(fw.row("future.shallow.embedding")["trials"])
    return {"conclusion.atose_gain": {"value": round(shallow, 2), "n": trials_,
                           "note": f"shallow CNN, label-embedding regularisation (not ATOSE); "
                                   f"SampleCNN: {deep:+.2f} %"}}


def arm_ids(fw: FutureWork) -> dict[str, list[str]]:
    """Run ids per arm key (see :mod:`mtlib.report.verdicts`)."""
    return {a.key: [r.run_id for r in fw.results[a.key]] for a in fw.arms}


def listening(profile: Profile, fw: FutureWork) -> dict[str, listen.Listening]:
    """By :data:`LISTEN` key: the :data:`N_DISAGREE` test clips that the front end ranks
    highest for :data:`HIGHLIGHT` relative to raw audio, then those raw audio ranks highest
    relative to it (first trial of each arm; :func:`mtlib.report.listening.disagreements`)."""
    raw = fw.results[RAW.key][0]
    base = listen.Scores.of(raw, "raw audio")
    groups = {}
    for name, key in LISTEN.items():
        arm = fw.arm(Arm("future", "shallow", name))
        other = listen.Scores.of(fw.results[arm.key][0], arm.label)
        groups[key] = listen.Listening(
            f"where the {arm.label} and raw audio disagree most about {HIGHLIGHT}",
            tuple(listen.disagreements(other, base, HIGHLIGHT, N_DISAGREE)),
            raw.config.dataset, raw.config.sample_rate, listen.attribution(profile.data_source))
    return groups


def save(profile: Profile, fw: FutureWork,
         clips: dict[str, listen.Listening] | None = None) -> Outputs:
    """Every arm's table and figures, then ``clips`` to listen to (:func:`listening`, by
    :data:`LISTEN` key; None shows none)."""
    out = Outputs()
    out.table(SLUG, fw.table, arm_table(fw))
    out.table(PER_TAG_SLUG, fw.per_tag)
    out.table(CHOICES_SLUG, choices(profile))
    bars = fw.table.assign(variant=[f"{n}: {a}" for n, a in zip(fw.table["network"],
                                                                 fw.table["arm"], strict=True)])
    out.figure(SLUG, plots.variant_bars(bars, "test_roc_auc", "test ROC-AUC"))
    for experiment, slug in FIGURE_SLUGS.items():
        pairs = [(a.base_key, a.key, _short(fw, a.base), _short(fw, a.key)) for a in fw.arms
                 if a.experiment == experiment and a.base]
        out.figure(slug, plots.per_tag_pairs(fw.per_tag, pairs, highlight=HIGHLIGHT))
    for key, group in (clips or {}).items():
        out.listening(key, group)
    write_artifact(SLUG, profile.name, {"findings": findings(fw), "arms": arm_ids(fw)})
    return out


def _short(fw: FutureWork, key: str | Arm) -> str:
    """Axis label of an arm: network and arm."""
    arm = fw.arm(key)
    return f"{arm.network}, {arm.label}"


def frontends_text(fw: FutureWork) -> str:
    """The log-mel front end against raw audio (Markdown)."""
    raw, mel = fw.row(RAW), fw.row("future.shallow.logmel")
    return (
        f"The log-mel input scores {mel.test_roc_auc_mean:.3f} test ROC-AUC against "
        f"{raw.test_roc_auc_mean:.3f} for raw audio ({fw.gain('future.shallow.logmel'):+.3f}; "
        f"Dieleman & Schrauwen: {shown('dieleman.logmel.256-256')} against "
        f"{shown('dieleman.raw.256-256')}) at {mel.ms_per_clip:.1f} against "
        f"{raw.ms_per_clip:.1f} ms per training clip. The claims below say whether the "
        "difference exceeds the noise of a rerun."
    )


def harmonic_text(fw: FutureWork) -> str:
    """The harmonic front end at matched capacity: scores, sizes, cost, guitar, how close its
    filter bank is to Won et al.'s and what training did to it (Markdown)."""
    raw, mel = fw.row(RAW), fw.row("future.shallow.logmel")
    wide, harmonic = fw.row(RAW_WIDE), fw.row(HARMONIC)
    return (
        f"The harmonic front end scores {harmonic.test_roc_auc_mean:.3f} test ROC-AUC with "
        f"{harmonic.parameters:,} parameters, at {harmonic.ms_per_clip:.1f} ms per training "
        f"clip. Flattening its [{HARMONICS}, K, frames] tensor into the first conv's channels "
        f"makes it {harmonic.parameters / raw.parameters:.1f} times the raw arm's size "
        f"({raw.parameters:,}), so it is compared at matched capacity: raw audio widened to "
        f"F = {fw.arm(RAW_WIDE).config.filters} filters ({wide.parameters:,} parameters) "
        f"scores {wide.test_roc_auc_mean:.3f} ({fw.gain(RAW_WIDE):+.3f} over the raw arm), "
        f"and the harmonic front end {fw.gain(HARMONIC):+.3f} over it (over the narrow raw "
        f"arm: {harmonic.test_roc_auc_mean - raw.test_roc_auc_mean:+.3f}). On guitar it scores "
        f"{harmonic.guitar_test_roc_auc:.3f} against {wide.guitar_test_roc_auc:.3f} for the "
        f"widened raw arm, {raw.guitar_test_roc_auc:.3f} for the raw arm and "
        f"{mel.guitar_test_roc_auc:.3f} for the log-mel input. "
        + filterbank_text(fw.arm(HARMONIC).config.sample_rate) + " " + learnt_filters(fw)
    )


def embedding_text(fw: FutureWork) -> str:
    """The label embedding on both networks, beside ATOSE's gain (Markdown)."""
    return (
        "The label embedding changes the test ROC-AUC by "
        f"{fw.relative_gain('future.shallow.embedding'):+.2f} % for the shallow CNN and "
        f"{fw.relative_gain('future.samplecnn.embedding'):+.2f} % for SampleCNN; ATOSE "
        f"reported about {shown('conclusion.atose_gain')} on its base models. The claims below "
        "say whether either change exceeds the noise of a rerun."
    )
