"""Training the head on cached embedding windows, with the imbalance of real use.

In use a wake word is a few seconds a day and everything else is negative, so a false accept
costs far more than a miss. Each batch holds `POSITIVES` positive windows, `CONFUSABLES`
windows of near-miss phrases and `NEGATIVES` windows of ordinary speech, non-speech and
phrase fragments; the loss weight of negatives ramps from 1 to `max_negative_weight`, so the
head first learns the phrase and then to be silent on everything else. From half-way on, half
of each batch's negatives are *mined*: drawn from the negatives the current head scores
highest (re-mined every quarter of the run). Each branch of the head (`model.build_head`)
learns from its own loss on the same batches; mining follows their mean, the head's score.

The defaults are set against phrases of voices the head never heard (held-out espeak-ng
variants, and flite and festival in `evaluate`): openWakeWord's ramp to 20 and twice the
steps fit the training voices (their phrases scored 0.998) while the phrase of other voices
fell below any threshold that kept false accepts rare; a ramp to 2, 1000 steps, dropout 0.5
and noise on the embeddings kept the most of those phrases at the same false accepts per
hour.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from earshot import progress
from wakeword import data as data_lib, model as model_lib

POSITIVES, CONFUSABLES, NEGATIVES = 128, 128, 256
HARD_FRACTION = 0.05  # share of negatives in the mined pool
LEARNING_RATE = 1e-3


@dataclasses.dataclass(frozen=True)
class FitSettings:
    steps: int = 1500
    max_negative_weight: float = 2.0
    dropout: float = 0.5
    input_noise: float = 0.5
    seed: int = 0
    branches: int = 3  # heads averaged (`model.build_head`)


class Pool:
    """Windows of one label drawn from several groups: `gather(indices)` -> `[n, 16, 96]`."""

    def __init__(self, groups: list[data_lib.Group], label: int):
        self.embeddings = np.concatenate([g.embeddings for g in groups]).astype(np.float32)
        offsets = np.cumsum([0] + [len(g.embeddings) for g in groups[:-1]])
        per_group = [g.ends[g.labels == label] + o for g, o in zip(groups, offsets)]
        self.ends = np.concatenate(per_group).astype(np.int64)
        self.group_bounds = np.cumsum([0] + [e.size for e in per_group])

    def __len__(self) -> int:
        return self.ends.size

    def balanced(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """`count` window indices, each from a group chosen uniformly (among non-empty ones):
        every source (engine) weighs the same however many windows it has."""
        bounds = [(a, b) for a, b in zip(self.group_bounds[:-1], self.group_bounds[1:]) if b > a]
        chosen = rng.integers(len(bounds), size=count)
        return np.array([rng.integers(*bounds[g]) for g in chosen], np.int64)

    def gather(self, indices: np.ndarray) -> np.ndarray:
        return model_lib.windows(self.embeddings, self.ends[indices])


def scores(head: keras.Model, pool: Pool) -> np.ndarray:
    """The head's logits for every window of `pool`."""
    return model_lib.window_logits(head, pool.embeddings, pool.ends)


def train_head(training: data_lib.TrainingData, settings: FitSettings) -> keras.Model:
    """A head trained on `training`'s positive, confusable and other negative windows."""
    head = model_lib.build_head(settings.seed, settings.dropout, settings.input_noise,
                                settings.branches)
    branches = model_lib.branch_logits(head)
    positives = Pool(training.positives, data_lib.POSITIVE)
    confusables = Pool(training.confusables, data_lib.NEGATIVE)
    negatives = Pool(training.positives + training.negatives, data_lib.NEGATIVE)
    if not len(positives) or not len(negatives):
        raise ValueError("no positive or no negative windows to train on")
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
        LEARNING_RATE, settings.steps, alpha=0.05))

    @tf.function
    def step(x, y, w):
        with tf.GradientTape() as tape:
            logits = branches(x, training=True)  # [batch, branches], each its own loss
            losses = tf.nn.sigmoid_cross_entropy_with_logits(
                tf.broadcast_to(y[:, None], tf.shape(logits)), logits)
            loss = tf.reduce_sum(w[:, None] * losses) / tf.reduce_sum(w)
        gradients = tape.gradient(loss, head.trainable_weights)
        optimizer.apply_gradients(zip(gradients, head.trainable_weights))
        return loss

    rng = np.random.default_rng(settings.seed)
    hard = np.arange(len(negatives))
    hard_confusables = np.arange(max(len(confusables), 1))
    remine_at = {settings.steps // 2, 3 * settings.steps // 4}
    labels = np.concatenate([np.ones(POSITIVES), np.zeros(CONFUSABLES + NEGATIVES)]
                            ).astype(np.float32)
    for index in progress.track(range(settings.steps), "training the head"):
        if index in remine_at:
            hard = np.argsort(-scores(head, negatives))[:max(1, int(HARD_FRACTION * len(negatives)))]
            if len(confusables):
                hard_confusables = np.argsort(-scores(head, confusables))[
                    :max(1, len(confusables) // 4)]
        mined = index >= settings.steps // 2
        half = NEGATIVES // 2 if mined else 0
        negative_indices = np.concatenate([rng.integers(len(negatives), size=NEGATIVES - half),
                                           rng.choice(hard, size=half)])
        batch = [positives.gather(positives.balanced(rng, POSITIVES))]
        if len(confusables):
            batch.append(confusables.gather(rng.choice(hard_confusables, size=CONFUSABLES)
                                            if mined else confusables.balanced(rng, CONFUSABLES)))
        else:
            batch.append(negatives.gather(rng.integers(len(negatives), size=CONFUSABLES)))
        batch.append(negatives.gather(negative_indices))
        weight = 1.0 + (settings.max_negative_weight - 1.0) * min(1.0, 2.0 * index / settings.steps)
        weights = np.concatenate([np.ones(POSITIVES), np.full(CONFUSABLES + NEGATIVES, weight)]
                                 ).astype(np.float32)
        step(tf.constant(np.concatenate(batch)), tf.constant(labels), tf.constant(weights))
    return head
