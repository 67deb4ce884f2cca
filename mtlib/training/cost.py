"""What a configuration costs to train: parameters and milliseconds per training clip.

:func:`training_cost` times real SGD steps (forward, the training loss, backward, update) on
a batch of :data:`COST_CLIPS` clips shaped like the configuration's training batches and
filled with noise, on one CPU thread, so that variants compare on the same footing whatever
the machine's load or worker pool (a SampleCNN step on ten clips of ten segments takes
seconds). Training time in the run store (``metrics["train_seconds"]``) also holds
validation scoring and data loading.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from mtlib.config import RunConfig
from mtlib.constants import N_SUBCLIPS, SEGMENT_SAMPLES
from mtlib.models import build_model, count_parameters

COST_CLIPS = 2  # clips in a timed batch


@dataclass(frozen=True)
class Cost:
    """``parameters``: trainable parameters; ``ms_per_clip``: milliseconds of one training
    step per clip (median of the timed steps, one thread)."""

    parameters: int
    ms_per_clip: float


def batch_shape(config: RunConfig, clip_samples: int, clips: int) -> tuple[int, int, int, int]:
    """``[clips, units, 1, samples]`` of a training batch: ten subclips per clip for the
    shallow CNN; one crop or every segment per clip for SampleCNN."""
    if config.model == "dieleman":
        return (clips, N_SUBCLIPS, 1, clip_samples // N_SUBCLIPS)
    segments = config.segments or clip_samples // SEGMENT_SAMPLES
    units = 1 if config.train_segments == "crop" else segments
    return (clips, units, 1, SEGMENT_SAMPLES)


def training_cost(config: RunConfig, n_tags: int, clip_samples: int, steps: int = 2,
                  clips: int = COST_CLIPS) -> Cost:
    """Time ``steps`` training steps of ``config`` on ``clips`` clips (after one untimed
    warm-up step) on one CPU thread."""
    from mtlib.training.fit import training_loss

    threads = torch.get_num_threads()
    rng_state = torch.get_rng_state()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        model = build_model(config, n_tags, clip_samples)
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
        x = torch.randn(batch_shape(config, clip_samples, clips))
        y = (torch.rand(clips, n_tags) < 0.3).float()
        if hasattr(model, "tag_embedding"):  # a tag space, so the embedding loss does its work
            model.tag_embedding.set_tags(y.numpy())
        device = torch.device("cpu")
        times = []
        for _ in range(steps + 1):
            start = time.perf_counter()
            loss = training_loss(model, config, x, y, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times[1:])
        return Cost(count_parameters(model), 1000.0 * seconds / clips)
    finally:
        torch.set_num_threads(threads)
        torch.set_rng_state(rng_state)
