"""Training: learning on a learnable fixture, determinism, SampleCNN, divergence, options."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers_train import one_torch_thread, write_learnable_cache

from mtlib import paths
from mtlib.config import RunConfig
from mtlib.training.fit import TrainingDiverged, _determinism, epoch_batches, fit

# 12 clips per folder: 144 train, 12 valid, 36 test clips of 25,600 samples (2.1 s at 12 kHz).
BASE = RunConfig(
    dataset="learnable", epochs=8, lr=0.1, batch_clips=8, norm="batch", train_eval_clips=48
)


_one_thread = pytest.fixture(autouse=True)(one_torch_thread)


@pytest.fixture
def learnable():
    return write_learnable_cache("learnable", 12000, clip_samples=25_600, clips_per_folder=12)


def _same_history(a, b):
    cols = [c for c in a.columns if c != "seconds"]
    return a[cols].equals(b[cols])


def test_learns_the_fixture_tags(learnable):
    result = fit(BASE, progress=False)
    h = result.history
    assert list(h["epoch"]) == list(range(1, 9))
    assert result.metrics["val_roc_auc"] > 0.85  # chance is 0.5
    assert result.metrics["test_roc_auc"] > 0.8
    assert h["train_loss"].iloc[-1] < h["train_loss"].iloc[0]
    assert result.metrics["val_roc_auc"] == h["val_roc_auc"].max()
    assert h["val_roc_auc"].iloc[result.metrics["best_epoch"] - 1] == h["val_roc_auc"].max()
    clip_ids, y_true, y_score, tags = result.predictions()
    assert y_score.shape == y_true.shape == (36, 4) and tags == ["low", "mid", "high", "top"]
    assert ((y_score >= 0) & (y_score <= 1)).all() and len(set(clip_ids)) == 36
    assert set(result.metrics["per_tag"]) == set(tags)
    assert result.metrics["per_tag"]["low"]["n_train_pos"] > 0
    assert result.metrics["device"] == "cpu" and result.metrics["epochs_run"] == 8


def test_same_config_gives_identical_results(learnable):
    cfg = BASE.replace(epochs=3, dropout=0.3, norm="group", groups=4, nesterov=True)
    a, b = fit(cfg, progress=False), fit(cfg, progress=False)
    assert _same_history(a.history, b.history)
    np.testing.assert_array_equal(a.predictions()[2], b.predictions()[2])
    assert a.metrics["test_roc_auc"] == b.metrics["test_roc_auc"]
    c = fit(cfg.replace(seed=1), progress=False)
    assert not _same_history(a.history, c.history)


def test_output_prior_starts_training_at_the_tag_frequencies():
    # Rare tags, as in MTAT; lr ~ 0, so the first epoch's loss is the initial network's.
    rare = write_learnable_cache("rare", 12000, clip_samples=25_600, clips_per_folder=12,
                                 p_tag=0.08)
    cfg = BASE.replace(dataset="rare", epochs=1, norm="none", lr=1e-9, momentum=0.0)
    y = np.asarray(rare.labels)[rare.split_rows("dieleman", "train")].astype(float)
    q = (y.sum(0) + 0.5) / (len(y) + 1)
    marginal = float(np.mean(-(y * np.log(q) + (1 - y) * np.log(1 - q))))
    with_prior = fit(cfg, progress=False).history["train_loss"].iloc[0]
    without = fit(cfg.replace(output_prior=False), progress=False).history["train_loss"].iloc[0]
    assert abs(with_prior - marginal) < 0.02
    assert marginal < 0.4 and abs(without - np.log(2)) < 0.05  # default init: logits near 0


def test_epoch_batches_are_seeded_and_cover_the_data():
    b = epoch_batches(21, 10, seed=3, epoch=1)
    assert [len(x) for x in b] == [10, 10]  # a final single-clip batch is dropped
    assert len(set(np.concatenate(b))) == 20
    assert all(np.array_equal(x, y) for x, y in zip(b, epoch_batches(21, 10, 3, 1), strict=True))
    assert not np.array_equal(b[0], epoch_batches(21, 10, 3, 2)[0])
    assert [len(x) for x in epoch_batches(22, 10, 0, 1)] == [10, 10, 2]


def test_divergence_raises_training_diverged(learnable):
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        fit(BASE.replace(lr=1e10, norm="none", epochs=2), progress=False)


def test_plateau_scheduler_divides_lr_by_five(learnable):
    # lr so small that validation AUC cannot improve: after 1 + 4 epochs without improvement
    # (patience 3), ReduceLROnPlateau lowers the lr for epoch 6.
    cfg = BASE.replace(lr=1e-12, epochs=6, plateau=True, train_eval_clips=0)
    h = fit(cfg, progress=False).history
    assert list(h["lr"]) == pytest.approx([1e-12] * 5 + [2e-13])
    assert h["train_roc_auc"].isna().all()  # train_eval_clips = 0 switches it off


def test_logmel_frontend_and_dataset_scope_train(learnable, capsys):
    cfg = BASE.replace(frontend="logmel", input_norm="standardise", input_norm_scope="dataset",
                       epochs=2, max_train_clips=40)
    result = fit(cfg, progress=True)
    assert np.isfinite(result.metrics["test_roc_auc"])
    assert result.metrics["n_clips"]["train"] == 40
    assert "epoch 2/2" in capsys.readouterr().out


def test_samplecnn_trains_on_segments():
    write_learnable_cache("segtrain", 16000, clip_samples=2 * 59_049 + 100, clips_per_folder=4)
    cfg = RunConfig(dataset="segtrain", sample_rate=16000, model="samplecnn", epochs=1,
                    batch_clips=4, max_train_clips=8, train_eval_clips=4)
    result = fit(cfg, progress=False)
    assert result.metrics["n_params"] == 1_869_874 - 46 * 513  # 4 tags instead of 50
    assert result.predictions()[2].shape == (12, 4)
    assert np.isfinite(result.history["train_loss"]).all()


def test_fit_on_the_prepared_mtat_fixture(tmp_path, monkeypatch):
    # End to end through prepare_mtat's real output (decoded mp3s, skipped bad files).
    from helpers_mtat import write_prepared_fixture

    monkeypatch.setenv("MTLIB_CACHE_DIR", str(tmp_path))  # its own fixture size

    write_prepared_fixture(paths.cache_dir(), 12000, n_clips_per_folder=2, clip_seconds=3.0)
    result = fit(RunConfig(dataset="fixture", epochs=1, train_eval_clips=8), progress=False)
    assert result.metrics["n_clips"] == {"train": 24, "valid": 2, "test": 6, "train_eval": 8}
    assert 0.0 <= result.metrics["test_roc_auc"] <= 1.0
    assert result.metrics["excluded_tags"]  # 6 test clips cannot cover all 50 tags


def test_clip_loss_is_the_bce_of_the_mean_subclip_probability():
    import torch

    from mtlib.training.fit import clip_loss, unit_loss

    torch.manual_seed(0)
    logits = torch.randn(3, 10, 5) * 4
    targets = (torch.rand(3, 5) > 0.5).float()
    p = torch.sigmoid(logits).mean(1)
    expected = torch.nn.functional.binary_cross_entropy(p, targets)
    assert clip_loss(logits, targets).item() == pytest.approx(expected.item(), rel=1e-5)
    # Saturated units keep a finite loss and gradient (no log(0)).
    big = torch.full((1, 10, 1), 200.0, requires_grad=True)
    loss = clip_loss(big, torch.zeros(1, 1))
    loss.backward()
    assert np.isfinite(loss.item()) and torch.isfinite(big.grad).all()
    # One unit per clip: both losses agree.
    one = logits[:, :1]
    assert clip_loss(one, targets).item() == pytest.approx(unit_loss(one, targets).item(),
                                                           rel=1e-5)


def test_both_losses_learn(learnable):
    unit = fit(BASE.replace(loss="unit", epochs=4), progress=False)
    clip = fit(BASE.replace(loss="clip", epochs=4), progress=False)
    assert unit.metrics["val_roc_auc"] > 0.7 and clip.metrics["val_roc_auc"] > 0.7
    assert not _same_history(unit.history, clip.history)


def test_determinism_skips_the_nan_fill_and_restores_every_setting():
    fill = torch.utils.deterministic
    before = (torch.are_deterministic_algorithms_enabled(), fill.fill_uninitialized_memory)
    with _determinism(torch.device("cpu")):
        assert torch.are_deterministic_algorithms_enabled()
        assert fill.fill_uninitialized_memory is False
    assert (torch.are_deterministic_algorithms_enabled(), fill.fill_uninitialized_memory) == before
