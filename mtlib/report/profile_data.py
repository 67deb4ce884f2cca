"""Make sure a profile's dataset exists: the MTAT-format folder and its prepared caches.

A ``standin`` profile generates its corpus with :func:`mtlib.standin.corpus.synth_mtat` into
``paths.corpus_dir(data_name)`` the first time (later calls find it and skip); an ``mtat``
profile reads the real MagnaTagATune at its ``data_root``. Either folder is then decoded by
:func:`mtlib.data.prepare.prepare_mtat` at every sample rate the report trains at (the
shallow CNN's and SampleCNN's); that step is idempotent too.
"""

from __future__ import annotations

import time
from pathlib import Path

from mtlib import paths
from mtlib.data.mtat import ANNOTATIONS_FILE
from mtlib.errors import DataError
from mtlib.progress import log
from mtlib.report.profiles import MTAT_ROOT_ENV, Profile


def sample_rates(profile: Profile) -> list[int]:
    """Every sample rate (Hz) the report trains at, ascending, without repeats: the shallow
    CNN's, SampleCNN's, and Lee et al.'s when the profile trains their recipe."""
    rates = {profile.shallow_sample_rate, profile.samplecnn_sample_rate}
    if profile.samplecnn_lee_reference:
        from mtlib.paper.recipes import LEE_RECIPE

        rates.add(LEE_RECIPE["sample_rate"])
    return sorted(rates)


def dataset_root(profile: Profile) -> Path:
    """The MTAT-format folder of ``profile`` (the stand-in's may not exist yet)."""
    if profile.data_source == "standin":
        return paths.corpus_dir(profile.data_name)
    if not profile.data_root:
        raise DataError(
            f"profile {profile.name!r} reads real MTAT but has no data root; set data.root in "
            f"configs/{profile.name}.yaml, the {MTAT_ROOT_ENV} environment variable, or pass "
            "`mtlib report --data-root DIR`"
        )
    return Path(profile.data_root).expanduser()


def standin_is_complete(root: Path, profile: Profile) -> bool:
    """True when ``root`` holds a finished stand-in corpus of this generator version with the
    profile's clip count, seed and id kind (a cheap check that avoids re-planning the corpus).

    Anything else (missing, unfinished, other settings or version) returns False, and
    :func:`mtlib.standin.corpus.synth_mtat` then finishes the corpus or says why it cannot.
    """
    from mtlib.standin.corpus import standin_settings
    from mtlib.standin.plan import GENERATOR_VERSION

    if not (root / ANNOTATIONS_FILE).is_file():
        return False
    return standin_settings(root) == {
        "generator_version": GENERATOR_VERSION, "clips": profile.data_clips,
        "seed": profile.data_seed, "mtat_ids": profile.data_mtat_ids}


def ensure_dataset(profile: Profile, progress: bool = True, workers: int | None = None) -> str:
    """Generate (stand-in) or locate (MTAT) the corpus and prepare it at every sample rate.

    Returns the dataset name (``RunConfig.dataset``): the prepared caches are
    ``paths.prepared_dir(name, sr)`` for each ``sr`` in :func:`sample_rates`. A second call
    with the same profile does no work beyond checking what exists.
    """
    root = dataset_root(profile)
    if profile.data_source == "standin" and not standin_is_complete(root, profile):
        from mtlib.standin.corpus import synth_mtat

        start = time.perf_counter()
        synth_mtat(root, clips=profile.data_clips, seed=profile.data_seed, workers=workers,
                   progress=progress, mtat_ids=profile.data_mtat_ids)
        if progress:
            log(f"stand-in corpus {root}: {time.perf_counter() - start:.0f} s")
    from mtlib.data.prepare import prepare_mtat  # deferred: pulls in torchaudio

    for sample_rate in sample_rates(profile):
        prepare_mtat(root, sample_rate, dataset=profile.data_name, workers=workers,
                     progress=progress)
    return profile.data_name
