"""The log-mel statistics + logistic-regression learnability baseline."""

from __future__ import annotations

import numpy as np
import pytest

from mtlib import paths
from mtlib.errors import DataError
from mtlib.standin.baseline import (
    N_MELS,
    SAMPLE_RATE,
    evaluate_baseline,
    logmel_stats,
    mel_filterbank,
    run_baseline,
)
from mtlib.standin.corpus import QUICK_CLIPS, synth_mtat

AUC_BAND = (0.80, 0.95)


def test_mel_filterbank_covers_the_band():
    fb = mel_filterbank()
    assert fb.shape == (N_MELS, 257)
    assert np.all(fb >= 0) and np.all(fb.max(axis=1) > 0.5)
    peaks = fb.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0) and peaks[-1] > 240


def test_logmel_stats_separate_tone_heights():
    t = np.arange(SAMPLE_RATE * 2) / SAMPLE_RATE
    low = logmel_stats(0.1 * np.sin(2 * np.pi * 200 * t))
    high = logmel_stats(0.1 * np.sin(2 * np.pi * 3000 * t))
    assert low.shape == (2 * N_MELS,) and low.dtype == np.float32
    assert low[:N_MELS].argmax() < high[:N_MELS].argmax()
    assert np.all(low[N_MELS:] < 3.0)  # a steady tone barely varies over time
    with pytest.raises(DataError, match="expected mono audio"):
        logmel_stats(np.zeros((2, 1000)))


def test_evaluate_baseline_on_toy_features():
    rng = np.random.default_rng(0)
    n = 400
    labels = rng.integers(0, 2, (n, 3)).astype(np.uint8)
    features = rng.standard_normal((n, 8)).astype(np.float32)
    features[:, 0] += 3 * labels[:, 0]  # tag a audible, tag b faintly, tag c not at all
    features[:, 1] += 0.5 * labels[:, 1]
    split = ["train"] * 300 + ["valid"] * 20 + ["test"] * 80
    result = evaluate_baseline(features, labels, ["a", "b", "c"], split)
    auc = result["per_tag"]
    assert auc["a"] > 0.95 and 0.55 < auc["b"] < 0.9 and 0.3 < auc["c"] < 0.7
    assert result["n_train"] == 320 and result["n_test"] == 80  # train + valid rows
    labels[300:, 2] = 0  # no positive in test: excluded, not scored
    assert evaluate_baseline(features, labels, ["a", "b", "c"], split)["excluded_tags"] == ["c"]
    with pytest.raises(DataError, match="train/valid .* and test"):
        evaluate_baseline(features, labels, ["a", "b", "c"], ["train"] * n)


@pytest.mark.slow
def test_quick_corpus_baseline_in_band():
    """The quick-profile corpus is learnable but not trivially: macro AUC in 0.80-0.95."""
    root = synth_mtat(paths.corpus_dir("standin-quick"), QUICK_CLIPS, seed=0, progress=False)
    result = run_baseline(root, progress=False)
    assert AUC_BAND[0] <= result["macro_roc_auc"] <= AUC_BAND[1], result["macro_roc_auc"]
    assert len(result["per_tag"]) >= 28  # nearly every tag has test positives
