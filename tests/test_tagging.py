"""``mtlib tag``: top tags of an audio file from a tagger bundle or a run of the store (on
the smoke corpus)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from smoke_env import session_dirs, smoke_dataset

from mtlib import cli, paths
from mtlib.config import RunConfig
from mtlib.training.bundle import bundle_from_run, load_bundle, save_bundle
from mtlib.training.runs import RunStore
from mtlib.training.tagging import tag_file

MTAT_CLIP = Path(__file__).parent / "data" / "joram-moments_of_clarity-08-solipsism-59-88.mp3"


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """A one-epoch shallow CNN on the smoke corpus, trained into the session's run store."""
    base = tmp_path_factory.getbasetemp()
    dataset = smoke_dataset(base)
    config = RunConfig(dataset=dataset, sample_rate=12000, split="dieleman", epochs=1,
                       max_train_clips=12, input_norm="minmax", train_eval_clips=0)
    with session_dirs(base):
        return RunStore().get_or_run(config, progress=False)


@pytest.fixture(scope="module")
def dataset_scope_run(tmp_path_factory):
    """A dataset-scope run trained on a copy of the smoke cache, the copy then deleted.

    Returns ``(result, mp3 of its first test clip)``."""
    from mtlib.data.cache import open_cache

    base = tmp_path_factory.getbasetemp()
    dataset = smoke_dataset(base)
    with session_dirs(base):
        copy = paths.prepared_dir("smoke-copy", 12000)
        shutil.copytree(paths.prepared_dir(dataset, 12000), copy, dirs_exist_ok=True)
        config = RunConfig(dataset="smoke-copy", sample_rate=12000, split="dieleman", epochs=1,
                           max_train_clips=12, input_norm="standardise",
                           input_norm_scope="dataset", train_eval_clips=0)
        result = RunStore().get_or_run(config, progress=False)
        index = open_cache("smoke-copy", 12000).index
        shutil.rmtree(copy)
        row = index[index["clip_id"] == result.predictions()[0][0]].iloc[0]
        return result, paths.corpus_dir(dataset) / row["mp3_path"]


def test_tag_prints_the_top_tags(smoke_run, capsys):
    assert cli.main(["tag", str(MTAT_CLIP), "--run", smoke_run.run_id, "--top", "4"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert smoke_run.run_id in lines[0] and "29." in lines[0] and "1 clip(s)" in lines[0]
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == 4
    scores = [float(r[0]) for r in rows]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert {" ".join(r[1:]) for r in rows} <= set(smoke_run.metrics["tags"])


def test_tagging_a_test_clip_reproduces_its_stored_prediction(smoke_run):
    """The CLI path (decode, normalise, best.pt) equals the evaluation of the test split."""
    from mtlib.data.cache import open_cache

    clip_ids, _, y_score, tags = smoke_run.predictions()
    index = open_cache(smoke_run.config.dataset, 12000).index
    row = index[index["clip_id"] == clip_ids[0]].iloc[0]
    mp3 = paths.corpus_dir(smoke_run.config.dataset) / row["mp3_path"]
    out = tag_file(mp3, smoke_run.run_id)
    got = dict(out["scores"])
    assert np.allclose([got[t] for t in tags], y_score[0], atol=1e-5)


def test_a_saved_bundle_tags_like_its_run(smoke_run, tmp_path):
    """get_model() of a bundle read back from disk scores a file exactly like the run."""
    folder = save_bundle(bundle_from_run(smoke_run), tmp_path / "bundle")
    assert sorted(p.name for p in folder.iterdir()) == ["bundle.json", "weights.pt"]
    bundle = load_bundle(folder)
    assert (bundle.sample_rate, bundle.run_id) == (12000, smoke_run.run_id)
    assert bundle.labels == tuple(smoke_run.metrics["tags"])
    assert bundle.config.run_id == smoke_run.run_id
    by_run = dict(tag_file(MTAT_CLIP, smoke_run.run_id)["scores"])
    by_bundle = dict(tag_file(MTAT_CLIP, bundle=folder)["scores"])
    assert by_bundle == pytest.approx(by_run, abs=1e-6)
    # Saving again replaces the bundle and leaves no staging folder behind.
    save_bundle(bundle, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_default_is_the_newest_bundle(smoke_run, capsys):
    shutil.rmtree(paths.bundles_dir(), ignore_errors=True)
    assert cli.main(["tag", str(MTAT_CLIP)]) == 2
    assert "no tagger bundle yet" in capsys.readouterr().err
    # A folder without its manifest (an interrupted write) is never taken for a bundle.
    (paths.bundles_dir() / ".06_normalisation_dropout-smoke.writing").mkdir(parents=True)
    assert cli.main(["tag", str(MTAT_CLIP)]) == 2
    capsys.readouterr()
    save_bundle(bundle_from_run(smoke_run), paths.bundle_dir("06_normalisation_dropout", "smoke"))
    assert cli.main(["tag", str(MTAT_CLIP), "--top", "1"]) == 0
    assert smoke_run.run_id in capsys.readouterr().out
    shutil.rmtree(paths.bundles_dir())


def test_a_damaged_bundle_fails_with_one_line(smoke_run, tmp_path, capsys):
    folder = save_bundle(bundle_from_run(smoke_run), tmp_path / "bundle")
    (folder / "weights.pt").write_bytes(b"garbage")
    assert cli.main(["tag", str(MTAT_CLIP), "--bundle", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "weights.pt: expected a torch state dict" in err[0]
    (folder / "bundle.json").write_text('{"format": 1, "sample_rate": 12')
    assert cli.main(["tag", str(MTAT_CLIP), "--bundle", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bundle.json: expected a JSON bundle manifest" in err[0]


def test_bad_inputs_fail_with_one_line(smoke_run, tmp_path, capsys):
    assert cli.main(["tag", str(MTAT_CLIP), "--run", "0123456789ab"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no finished run '0123456789ab'" in err[0]
    # The finished runs are listed (the first ten of the session's store, by id).
    listed = err[0].split("finished runs: ")[1].removesuffix(" ...").split(", ")
    store = RunStore()
    assert listed and all(store.is_finished(run_id) for run_id in listed)

    fake = tmp_path / "notes.mp3"
    fake.write_text("not audio")
    assert cli.main(["tag", str(fake), "--run", smoke_run.run_id]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "notes.mp3: not an audio file soundfile can read" in err[0]

    assert cli.main(["tag", str(tmp_path / "missing.wav"), "--run", smoke_run.run_id]) == 2
    assert "no such audio file" in capsys.readouterr().err


def test_a_long_file_is_tagged_clip_by_clip(smoke_run, tmp_path):
    import soundfile as sf

    audio, sr = sf.read(str(MTAT_CLIP), dtype="float32")
    wav = tmp_path / "long.wav"
    # 29.3 s x 3 + 10 s: three full clips and a 10 s tail, too short to count as a clip.
    sf.write(str(wav), np.concatenate([audio, audio, audio, audio[: sr * 10]]), sr)
    out = tag_file(wav, smoke_run.run_id)
    assert out["n_clips"] == 3
    assert out["seconds"] == pytest.approx(3 * len(audio) / sr + 10, abs=0.01)
    sf.write(str(wav), np.concatenate([audio, audio[: sr * 20]]), sr)
    assert tag_file(wav, smoke_run.run_id)["n_clips"] == 2  # a 20 s tail is its own clip


def test_dataset_scope_uses_the_stored_statistics_without_the_cache(dataset_scope_run):
    """best.pt's shift/scale reproduce the test prediction after the cache is gone."""
    result, mp3 = dataset_scope_run
    stored = result.metrics["input_norm"]
    assert (stored["kind"], stored["scope"]) == ("standardise", "dataset")
    assert stored["scale"] != 1.0  # real statistics, not the identity
    assert not paths.prepared_dir(result.config.dataset, 12000).exists()
    _, _, y_score, tags = result.predictions()
    got = dict(tag_file(mp3, result.run_id)["scores"])
    assert np.allclose([got[t] for t in tags], y_score[0], atol=1e-5)


def test_a_checkpoint_without_input_norm_fails_with_one_line(dataset_scope_run, capsys):
    import torch

    from mtlib.training.rundir import BEST_CHECKPOINT

    result, mp3 = dataset_scope_run
    checkpoint = result.run_dir / BEST_CHECKPOINT
    original = checkpoint.read_bytes()
    payload = torch.load(checkpoint, weights_only=True)
    del payload["input_norm"]
    torch.save(payload, checkpoint)
    try:
        assert cli.main(["tag", str(mp3), "--run", result.run_id]) == 2
    finally:
        checkpoint.write_bytes(original)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert str(checkpoint) in err[0] and "kind, scope, shift, scale" in err[0]
