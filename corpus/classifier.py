"""A small AudioSet-style clip classifier trained on a corpus job's float rows.

The AudioSet baselines classify a clip from its sequence of embeddings with independent
sigmoid outputs (a clip may carry several labels). This is the smallest such model: the
clip's rows are mean-pooled, then one hidden layer and a logit per class, trained with
binary cross entropy. It shows the records feeding `tf.data` straight into Keras; swap the
pooling for attention or the model for your own.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from corpus import records
from earshot.errors import InvalidInput

HIDDEN_UNITS = 64
LEARNING_RATE = 1e-2
NORMALIZATION_CLIPS = 10000  # clips whose pooled rows set the input normalisation


def clip_examples(pattern: str, num_classes: int) -> tf.data.Dataset:
    """(mean row float32 `[size]`, multi-hot labels float32 `[num_classes]`) per clip.

    Raises:
      InvalidInput: `num_classes` < 1. (A record's label >= num_classes fails when read.)
    """
    if num_classes < 1:
        raise InvalidInput(f"--num_classes must be at least 1, got {num_classes}")

    def pooled(parsed):
        check = tf.debugging.assert_less(parsed["labels"], tf.cast(num_classes, tf.int64),
                                         message="a record's label is >= num_classes")
        with tf.control_dependencies([check]):
            hot = tf.one_hot(parsed["labels"], num_classes)
        # The zero row gives a clip without labels all-zero targets.
        targets = tf.reduce_max(tf.concat([tf.zeros([1, num_classes]), hot], 0), axis=0)
        return tf.reduce_mean(parsed[records.EMBEDDING], axis=0), targets

    return records.read_embeddings(pattern).map(pooled)


def build(size: int, num_classes: int, seed: int = 0) -> keras.Model:
    """float32 `[batch, size]` pooled rows -> `[batch, num_classes]` logits."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input([size])
    hidden = keras.layers.Dense(HIDDEN_UNITS, activation="relu")(
        keras.layers.Normalization()(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes)(hidden))


@dataclasses.dataclass
class Trained:
    """The model and its per-epoch training loss and per-label accuracy."""

    model: keras.Model
    losses: list[float]
    accuracies: list[float]


def train(pattern: str, num_classes: int, epochs: int = 30, batch_size: int = 32,
          seed: int = 0) -> Trained:
    """Trains `build` on every clip of the float records matching `pattern`.

    Raises:
      FileNotFoundError, InvalidInput: no, empty or corrupt record files (named), as
        `records.read_embeddings`; `num_classes` < 1.
    """
    examples = clip_examples(pattern, num_classes).cache()
    # Counting fills the cache (the only pass over the files); a known length keeps Keras
    # from stopping epochs short.
    with records.named_read_errors(pattern):
        count = int(examples.reduce(0, lambda count, _: count + 1))
    examples = examples.apply(tf.data.experimental.assert_cardinality(count))
    size = int(examples.element_spec[0].shape[-1])
    model = build(size, num_classes, seed)
    model.layers[1].adapt(np.stack([rows for rows, _ in
                                    examples.take(NORMALIZATION_CLIPS).as_numpy_iterator()]))
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")])
    batches = examples.shuffle(1024, seed=seed).batch(batch_size)
    history = model.fit(batches, epochs=epochs, verbose=0, shuffle=False)  # shuffled above
    return Trained(model, history.history["loss"], history.history["accuracy"])
