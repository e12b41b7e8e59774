"""Triplet batches and the cosine triplet loss of Deep Speaker.

A batch holds 3 * B rows: B anchors, then their B positives (same speaker, another
utterance), then B negatives (another speaker). The loss asks every anchor to be closer, in
cosine similarity, to its positive than to its negative by a margin alpha:

    L = mean_i max(cos(a_i, n_i) - cos(a_i, p_i) + alpha, 0)

With the mean (not the sum) the loss of a collapsed network, where every vector is the same,
is exactly alpha whatever B is, which makes that failure easy to spot in TensorBoard.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import tensorflow as tf

from speaker_embedding import features

ALPHA = 0.1            # the Deep Speaker margin (FaceNet uses 0.2)
BATCH_SIZE = 32        # triplets per batch: 96 rows


def batch_cosine_similarity(x1: tf.Tensor, x2: tf.Tensor) -> tf.Tensor:
    """Row-wise cosine of unit vectors `[n, d]` x `[n, d]` -> `[n]`."""
    return tf.reduce_sum(x1 * x2, axis=-1)


def triplet_loss(embeddings: tf.Tensor, alpha: float = ALPHA) -> tf.Tensor:
    """Mean hinge loss of `[3 * B, d]` unit vectors: anchors, then positives, then negatives."""
    anchors, positives, negatives = tf.split(embeddings, 3, axis=0)
    s_ap = batch_cosine_similarity(anchors, positives)
    s_an = batch_cosine_similarity(anchors, negatives)
    return tf.reduce_mean(tf.maximum(s_an - s_ap + alpha, 0.0))


@dataclasses.dataclass(frozen=True)
class Utterance:
    speaker: str
    path: str
    features: np.ndarray   # float32 [frames, 64]


class TripletBatcher:
    """Draws triplet batches from utterances grouped by speaker.

    Only speakers with at least two utterances can be anchors; every speaker can be a
    negative. Every draw takes an explicit `np.random.Generator`, so a training step's batch
    is a function of (seed, step) alone and a resumed run sees the batches it would have seen.
    """

    def __init__(self, utterances: Sequence[Utterance]):
        by_speaker: dict[str, list[Utterance]] = {}
        for utterance in utterances:
            by_speaker.setdefault(utterance.speaker, []).append(utterance)
        self.speakers = sorted(by_speaker)
        if len(self.speakers) < 2:
            raise ValueError(f"triplets need at least 2 speakers, got {len(self.speakers)}")
        self.by_speaker = {s: by_speaker[s] for s in self.speakers}
        self.anchor_speakers = [s for s in self.speakers if len(self.by_speaker[s]) >= 2]
        if not self.anchor_speakers:
            raise ValueError("triplets need a speaker with at least 2 utterances")

    def _crop(self, utterance: Utterance, rng: np.random.Generator) -> np.ndarray:
        return features.random_crop(utterance.features, rng)

    def random_batch(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Random triplets: float32 `[3 * batch_size, NUM_FRAMES, 64, 1]`."""
        anchors, positives, negatives = [], [], []
        for _ in range(batch_size):
            speaker = self.anchor_speakers[rng.integers(len(self.anchor_speakers))]
            own = self.by_speaker[speaker]
            a, p = rng.choice(len(own), size=2, replace=False)
            # Uniform over the other speakers: draw from n - 1 slots and step over the anchor's.
            other_index = rng.integers(len(self.speakers) - 1)
            other_index += other_index >= self.speakers.index(speaker)
            other = self.speakers[other_index]
            negative = self.by_speaker[other][rng.integers(len(self.by_speaker[other]))]
            anchors.append(self._crop(own[a], rng))
            positives.append(self._crop(own[p], rng))
            negatives.append(self._crop(negative, rng))
        return np.stack(anchors + positives + negatives)

    def candidates(self, num_speakers: int, per_speaker: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A mining pool: `per_speaker` crops of each of `num_speakers` anchor-able speakers.

        Returns:
          (inputs float32 `[n, NUM_FRAMES, 64, 1]`, speaker indices int `[n]`).
        """
        count = min(num_speakers, len(self.anchor_speakers))
        chosen = rng.choice(len(self.anchor_speakers), size=count, replace=False)
        inputs, labels = [], []
        for index in chosen:
            own = self.by_speaker[self.anchor_speakers[index]]
            picks = rng.choice(len(own), size=min(per_speaker, len(own)), replace=False)
            for pick in picks:
                inputs.append(self._crop(own[pick], rng))
                labels.append(index)
        return np.stack(inputs), np.asarray(labels)


def hard_triplets(embeddings: np.ndarray, labels: np.ndarray, batch_size: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Picks hard triplets from an embedded candidate pool.

    For each anchor: the least similar candidate of its own speaker as the positive and the
    most similar candidate of any other speaker as the negative, the rule of the hard-mining
    re-implementation (which the paper's gains from triplet training depend on).

    Args:
      embeddings: float `[n, d]` unit vectors of the pool.
      labels: int `[n]` speaker of each row.

    Returns:
      int `[3 * batch_size]` row indices into the pool: anchors, positives, negatives.
    """
    similarity = embeddings @ embeddings.T
    same = labels[:, None] == labels[None, :]
    eligible = np.flatnonzero(same.sum(axis=1) >= 2)
    if eligible.size == 0 or same.all():
        raise ValueError("the candidate pool needs 2+ speakers, one with 2+ utterances")
    anchors = rng.choice(eligible, size=batch_size, replace=eligible.size < batch_size)
    positive_scores = np.where(same & ~np.eye(len(labels), dtype=bool), similarity, np.inf)
    negative_scores = np.where(same, -np.inf, similarity)
    positives = positive_scores[anchors].argmin(axis=1)
    negatives = negative_scores[anchors].argmax(axis=1)
    return np.concatenate([anchors, positives, negatives])
