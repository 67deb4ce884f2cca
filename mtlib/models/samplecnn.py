"""SampleCNN 3^9 (Lee, Park, Kim & Nam 2017, "Sample-level deep convolutional neural
networks for music auto-tagging using raw waveforms").

For one segment of 59,049 = 3^10 samples (3.69 s at 16 kHz)::

    conv(128, 3, stride 3), norm, ReLU                                  -> [128, 19683]
    9 x [conv(c, 3, pad 1), norm, ReLU, max-pool 3],
        c = 128, 128, 256, 256, 256, 256, 256, 256, 512                 -> [512, 1]
    conv(512, 1), norm, ReLU, dropout, dense n_tags (logits)

About 1.87 M parameters for 50 tags with batch norm. The layers run on ``[N, channels, 1,
time]`` time maps (:mod:`mtlib.models.layers`: the parameters are those of the 1-D layers,
the layout is twice as fast on a CPU). Maps ``[..., 1, 59049]`` to ``[..., n_tags]``; clip
predictions average the sigmoid over the non-overlapping segments of a clip (see
:mod:`mtlib.data.datasets` and :mod:`mtlib.training.fit`). The sample rate is a data
parameter: the network is the same at 12 kHz or 16 kHz, only the segment duration changes.
"""

from __future__ import annotations

import torch
from torch import nn

from mtlib.constants import SEGMENT_SAMPLES
from mtlib.models.layers import TimeConv, TimePool, flatten_units, make_norm, time_maps

BLOCK_CHANNELS = (128, 128, 256, 256, 256, 256, 256, 256, 512)
FEATURES = 512  # channels of the last (1 x 1) conv, one time step: the features of a segment


class SampleCNN(nn.Module):
    """Args: n_tags (outputs), norm (none|batch|layer|group), groups, dropout (p before
    the output layer)."""

    input_samples = SEGMENT_SAMPLES

    def __init__(
        self, n_tags: int, norm: str = "batch", groups: int = 8, dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.n_tags = n_tags
        layers: list[nn.Module] = [
            TimeConv(1, 128, 3, stride=3),
            make_norm(norm, 128, groups, maps=True),
            nn.ReLU(),
        ]
        c_in = 128
        for c_out in BLOCK_CHANNELS:
            layers += [
                TimeConv(c_in, c_out, 3, padding=1),
                make_norm(norm, c_out, groups, maps=True),
                nn.ReLU(),
                TimePool(3),
            ]
            c_in = c_out
        layers += [TimeConv(c_in, FEATURES, 1), make_norm(norm, FEATURES, groups, maps=True),
                   nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(FEATURES, n_tags))
        self.feature_dim = FEATURES

    def output_layer(self) -> nn.Linear:
        """The last dense layer (its biases: :func:`mtlib.models.layers.init_output_prior`)."""
        return self.head[-1]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., 1, 59049]`` float samples -> ``[..., 512]`` features of the last conv."""
        flat, lead = flatten_units(x, SEGMENT_SAMPLES, "SampleCNN")
        return self.features(time_maps(flat)).reshape(*lead, FEATURES)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """``[..., 512]`` features -> ``[..., n_tags]`` logits."""
        return self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., 1, 59049]`` float samples -> ``[..., n_tags]`` logits."""
        return self.classify(self.embed(x))
