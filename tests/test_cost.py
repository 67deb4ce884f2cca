"""Cost per training clip: the batch it times, what it counts, and what it leaves as it was."""

from __future__ import annotations

import torch

from mtlib.config import RunConfig
from mtlib.models import build_model, count_parameters
from mtlib.training.cost import batch_shape, training_cost

CLIP = 2 * 59_049  # two SampleCNN segments; 11,809 samples per Dieleman subclip


def test_batch_shape_follows_the_training_batches():
    assert batch_shape(RunConfig(), CLIP, 3) == (3, 10, 1, CLIP // 10)
    crop = RunConfig(model="samplecnn", train_segments="crop")
    assert batch_shape(crop, CLIP, 2) == (2, 1, 1, 59_049)
    assert batch_shape(crop.replace(train_segments="all"), CLIP, 2) == (2, 2, 1, 59_049)
    assert batch_shape(crop.replace(train_segments="all", segments=4), CLIP, 2)[1] == 4


def test_training_cost_counts_parameters_and_restores_torch_state():
    cfg = RunConfig(length=1024, stride=1024, tag_embedding=1.0)
    threads, rng = torch.get_num_threads(), torch.get_rng_state()
    cost = training_cost(cfg, n_tags=5, clip_samples=CLIP, steps=1)
    assert torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), rng)
    assert cost.parameters == count_parameters(build_model(cfg, 5, CLIP))
    assert 0 < cost.ms_per_clip < 10_000
