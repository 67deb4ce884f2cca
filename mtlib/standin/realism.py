"""The realism card of a stand-in corpus: per tag, how often its sound is in clips with and
without the tag, how learnable the tag is, and how often it occurs against MTAT.

Presence is read from the render plan (``standin_metadata.json``'s ``clips_detail``), never
from the audio: an instrument tag is *present* in a clip when a layer plays a General MIDI
program that sounds like it (:data:`PROGRAM_TAGS`, at any level, tagged or not), "drums"
when a drum kit plays (up front or in the background). Genre and attribute tags have no
instrument behind them, so their presence columns stay empty.

- tagged presence: P(present | clip annotated with the tag); below 1 only through synonym
  swaps (a "strings" clip annotated "violin");
- untagged presence: P(present | clip not annotated with the tag): the weak-label effect
  (dropped labels and background parts nobody would name).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mtlib.errors import DataError
from mtlib.standin.recipes import INSTRUMENTS
from mtlib.standin.vocab import INSTRUMENT_TAGS, VOCABULARY, target_marginals


def _programs(first: int, last: int, tag: str) -> dict[int, str]:
    return {p: tag for p in range(first, last + 1)}


# The instrument tag each GM program sounds like; programs not listed carry no tag (bass,
# organ, brass, reeds, ...). Voice programs (52-54, 85) are "choir" in a choir layer and
# "vocal" otherwise: GM has no separate solo-voice timbre.
PROGRAM_TAGS: dict[int, str] = {
    **_programs(0, 3, "piano"), 6: "harpsichord", **_programs(24, 31, "guitar"),
    40: "violin", 110: "violin", 41: "strings", 42: "cello", 44: "strings", 48: "strings",
    49: "strings", 50: "strings", 46: "harp", **_programs(72, 75, "flute"),
    38: "synth", 39: "synth", **_programs(80, 84, "synth"), 86: "synth", 87: "synth",
    **_programs(88, 95, "synth"), 104: "sitar",
}
VOICE_PROGRAMS = frozenset({52, 53, 54, 85})
# Tags whose presence the plan can show: the instruments.
PRESENCE_TAGS: tuple[str, ...] = INSTRUMENT_TAGS


def sounding_tags(recipe: dict) -> set[str]:
    """The instrument tags whose sound is in the clip's mix (see the module docstring)."""
    out = set()
    for layer in recipe["layers"]:
        inst = INSTRUMENTS[layer["instrument"]]
        programs = [layer["program"]]
        if layer["role"] == "voices" and inst.per_voice:
            programs = list(inst.per_voice)
        for program in programs:
            if program in VOICE_PROGRAMS:
                out.add("choir" if layer["instrument"] == "choir" else "vocal")
            elif program in PROGRAM_TAGS:
                out.add(PROGRAM_TAGS[program])
    if recipe["drums"] is not None:
        out.add("drums")
    return out


def read_plan(root: str | Path) -> list[dict]:
    """The clips of the stand-in corpus at ``root`` (its marker's ``clips_detail``)."""
    marker = Path(root) / "standin_metadata.json"
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
        return list(meta["clips_detail"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"{marker}: cannot read the stand-in plan ({err}); expected the "
                        "standin_metadata.json that synth-mtat writes") from err


def presence_table(clips: list[dict]) -> pd.DataFrame:
    """Per tag of VOCABULARY: clips annotated (``n_tagged``), ``tagged_presence`` and
    ``untagged_presence`` (fractions 0-1; NaN for tags without an instrument, or when no
    clip is on that side), ``corpus_freq`` (fraction of clips annotated)."""
    if not clips:
        raise DataError("realism card: the plan has no clips")
    present = np.array([[t in s for t in VOCABULARY]
                        for s in (sounding_tags(c["recipe"]) for c in clips)])
    tagged = np.array([[t in set(c["tags"]) for t in VOCABULARY] for c in clips])
    rows = []
    for j, tag in enumerate(VOCABULARY):
        pos, neg = tagged[:, j], ~tagged[:, j]
        has = tag in PRESENCE_TAGS
        rows.append({
            "tag": tag,
            "n_tagged": int(pos.sum()),
            "corpus_freq": float(pos.mean()),
            "tagged_presence": float(present[pos, j].mean()) if has and pos.any() else np.nan,
            "untagged_presence": float(present[neg, j].mean()) if has and neg.any() else np.nan,
        })
    return pd.DataFrame(rows)


def realism_card(clips: list[dict], per_tag_auc: dict[str, float]) -> pd.DataFrame:
    """The card: :func:`presence_table` plus ``target_freq`` (MTAT's), ``freq_ratio``
    (corpus / target) and ``baseline_auc`` (the log-mel baseline's test ROC-AUC; NaN for a
    tag it could not score). One row per tag in VOCABULARY order."""
    card = presence_table(clips)
    targets = target_marginals()
    card["target_freq"] = [targets[t] for t in card["tag"]]
    card["freq_ratio"] = card["corpus_freq"] / card["target_freq"]
    card["baseline_auc"] = [per_tag_auc.get(t, np.nan) for t in card["tag"]]
    return card[["tag", "n_tagged", "target_freq", "corpus_freq", "freq_ratio",
                 "tagged_presence", "untagged_presence", "baseline_auc"]]


BASELINE_FILE = "standin_baseline.json"  # the baseline's result, beside the marker
DOCS_START = "<!-- realism-card:start (written by `mtlib standin-card --docs`) -->"
DOCS_END = "<!-- realism-card:end -->"


def corpus_baseline(root: str | Path, workers: int | None = None) -> dict:
    """The log-mel baseline's result on the stand-in corpus at ``root``
    (:func:`mtlib.standin.baseline.run_baseline`), cached in ``root/standin_baseline.json``
    under the corpus fingerprint, so a report pays for it (about a minute on 1,000 clips)
    once per corpus."""
    from mtlib.io import atomic_write_json
    from mtlib.standin.baseline import run_baseline

    root = Path(root)
    marker = root / "standin_metadata.json"
    try:
        fingerprint = json.loads(marker.read_text(encoding="utf-8"))["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"{marker}: cannot read the corpus fingerprint ({err}); expected "
                        "the standin_metadata.json that synth-mtat writes") from err
    cache = root / BASELINE_FILE
    if cache.is_file():
        try:
            cached = json.loads(cache.read_text(encoding="utf-8"))
        except ValueError:
            cached = {}
        if cached.get("fingerprint") == fingerprint:
            return cached["result"]
    result = run_baseline(root, workers=workers, progress=False)
    atomic_write_json(cache, {"fingerprint": fingerprint, "result": result})
    return result


def corpus_card(root: str | Path, workers: int | None = None) -> pd.DataFrame:
    """:func:`realism_card` of the stand-in corpus at ``root``."""
    return realism_card(read_plan(root), corpus_baseline(root, workers)["per_tag"])


def card_display(card: pd.DataFrame) -> pd.DataFrame:
    """The card formatted for reading: percentages, AUCs to 3 digits, "-" for no value."""
    def pct(x: float) -> str:
        return "-" if pd.isna(x) else f"{100 * x:.1f} %"

    return pd.DataFrame({
        "tag": card["tag"],
        "clips tagged": card["n_tagged"],
        "MTAT freq.": card["target_freq"].map(pct),
        "corpus freq.": card["corpus_freq"].map(pct),
        "corpus / MTAT": card["freq_ratio"].map(lambda x: f"{x:.2f}"),
        "present when tagged": card["tagged_presence"].map(pct),
        "present when untagged": card["untagged_presence"].map(pct),
        "baseline ROC-AUC": card["baseline_auc"].map(lambda x: "-" if pd.isna(x)
                                                     else f"{x:.3f}"),
    })


def card_markdown(card: pd.DataFrame, clips: int, seed: int, macro_auc: float) -> str:
    """The card as the Markdown block shipped in docs/standin.md (between the markers)."""
    shown = card_display(card)
    rows = [list(shown.columns), *shown.astype(str).values.tolist()]
    align = ["---" if c == "tag" else "---:" for c in shown.columns]
    table = "\n".join("| " + " | ".join(r) + " |" for r in [rows[0], align, *rows[1:]])
    return (f"{DOCS_START}\nCorpus: {clips:,} clips, seed {seed}; baseline macro ROC-AUC "
            f"{macro_auc:.3f} on the test folders.\n\n{table}\n{DOCS_END}")


def write_docs(path: str | Path, block: str) -> None:
    """Replace the card block between the markers of the Markdown page ``path``."""
    from mtlib.io import atomic_write_text

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    start, end = text.find(DOCS_START), text.find(DOCS_END)
    if start < 0 or end < start:
        raise DataError(f"{path}: no realism-card block; expected the lines {DOCS_START!r} "
                        f"and {DOCS_END!r}")
    atomic_write_text(path, text[:start] + block + text[end + len(DOCS_END):])


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "standin-card",
        help="print (or ship in docs/standin.md) the realism card of a stand-in corpus",
        description="Per tag: presence of its sound in clips with and without the tag (from "
        "the render plan), the log-mel baseline's ROC-AUC, and the frequency against MTAT.",
    )
    parser.add_argument("--corpus", required=True, type=Path, help="stand-in corpus folder")
    parser.add_argument("--docs", action="store_true",
                        help="write the card into docs/standin.md instead of printing it")
    parser.add_argument("--workers", type=int, default=None,
                        help="feature processes (default: all cores)")
    parser.set_defaults(func=_main)


def _main(args) -> int:
    from mtlib import paths
    from mtlib.standin.corpus import standin_settings

    settings = standin_settings(args.corpus)
    if settings is None:
        raise DataError(f"{args.corpus}: not a finished stand-in corpus (no "
                        "standin_metadata.json and annotations_final.csv)")
    card = corpus_card(args.corpus, args.workers)
    macro = corpus_baseline(args.corpus)["macro_roc_auc"]
    block = card_markdown(card, int(settings["clips"]), int(settings["seed"]), macro)
    if args.docs:
        write_docs(paths.docs_dir() / "standin.md", block)
    else:
        print(block)
    return 0
