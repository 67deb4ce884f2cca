"""Label-embedding regularisation from tag co-occurrence: our stand-in for the one-sided
joint embedding of ATOSE (Kim, Moon, Kim & Cho, Applied Sciences 2023).

ATOSE embeds audio features and tags into a shared tag space, so that a clip's audio
embedding sits near the tags it carries and correlated tags ("classical", "cello") sit near
each other. The public text available here (abstract and introduction) does not give the tag
encoder, the embedding loss or its weight, so this module implements the closest
well-defined method and names it for what it is:

1. **Tag space, fixed** (the one side that is not learnt): the positive pointwise mutual
   information of the tags' co-occurrence on the *training* split, factorised by SVD; a tag's
   vector is its row of ``U_d sqrt(S_d)``, scaled to unit length (:func:`cooccurrence_vectors`).
2. **Audio side, learnt**: a linear projection of the tagger's features (the shallow CNN's
   100-unit hidden layer, SampleCNN's 512 features) into that space, averaged over a clip's
   units.
3. **Loss**: ``BCE + weight * mean(1 - cos(audio embedding, target))`` over the batch's clips
   with at least one tag, where a clip's target is the sum of its tags' vectors.

Predictions still come from the classifier; the projection only shapes the features during
training (its parameters are counted in ``n_params`` all the same).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def cooccurrence_vectors(labels: np.ndarray, dim: int) -> np.ndarray:
    """Unit tag vectors ``[n_tags, dim]`` (float32) from a 0/1 label matrix ``[n_clips,
    n_tags]``: PPMI of the co-occurrence counts, rank-``dim`` SVD. A tag without positives
    gets a zero vector; ``dim`` is capped at the tag count."""
    y = np.asarray(labels, dtype=np.float64)
    n, n_tags = y.shape
    counts = y.T @ y  # [T, T]; the diagonal holds each tag's count
    rate = np.diag(counts) / max(n, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(counts / max(n, 1) / np.outer(rate, rate))
    ppmi = np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0)
    u, s, _ = np.linalg.svd(ppmi)
    d = min(dim, n_tags)
    vectors = u[:, :d] * np.sqrt(s[:d])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    out = np.zeros((n_tags, dim), dtype=np.float32)
    out[:, :d] = vectors
    return out


class TagEmbedding(nn.Module):
    """The audio side: ``features [B, units, feature_dim]`` -> a cosine loss against the fixed
    tag vectors (the buffer ``tag_vectors [n_tags, dim]``, set from the training labels before
    training and saved with the weights)."""

    def __init__(self, feature_dim: int, n_tags: int, dim: int) -> None:
        super().__init__()
        self.project = nn.Linear(feature_dim, dim)
        self.register_buffer("tag_vectors", torch.zeros(n_tags, dim))

    def set_tags(self, labels: np.ndarray) -> None:
        """Fix the tag space from the training split's labels ``[n_clips, n_tags]``."""
        vectors = cooccurrence_vectors(labels, self.tag_vectors.shape[1])
        with torch.no_grad():
            self.tag_vectors.copy_(torch.from_numpy(vectors))

    def loss(self, features: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean ``1 - cos`` between each clip's embedding (the mean over its units of the
        projected features) and the sum of its tags' vectors; clips without a tag are left
        out (zero when the batch has none)."""
        audio = self.project(features.float()).mean(1)  # [B, dim]
        target = targets.float() @ self.tag_vectors  # [B, dim]
        tagged = target.norm(dim=1) > 0
        if not bool(tagged.any()):
            return audio.sum() * 0.0
        cos = nn.functional.cosine_similarity(audio[tagged], target[tagged], dim=1)
        return (1.0 - cos).mean()
