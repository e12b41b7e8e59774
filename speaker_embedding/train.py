r"""Trains the speaker embedding network: optional softmax pre-training, then triplet loss.

    python -m speaker_embedding.train --data_dir=/tmp/voices --model_dir=/tmp/spk_model \
        --model_size=small --test_speakers=100 --softmax_steps=100 --triplet_steps=200

`--test_speakers` speakers are held out of training (written to MODEL_DIR/split.json for
`evaluate`). `--distribution_strategy=multi_worker_mirrored` trains on several workers, one
copy of the command each with its TF_CONFIG (`earshot.distribution`): every worker draws the
same batch and trains on its slice (batch norm sees the slice), and the chief alone writes
MODEL_DIR. Steps [0, softmax_steps) classify the training speakers with a softmax head on
the `affine` layer, the paper's warm start; the next `triplet_steps` steps use the cosine
triplet loss, on hard triplets mined from a pool of crops embedded by the current network
(`--hard_negatives`) or on random ones. Re-running the same command resumes from the last
checkpoint and produces the same weights as an uninterrupted run.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
from absl import flags, logging

from earshot import cli, distribution, fileio, tensorboard
from speaker_embedding import checkpoints, dataset, embedder, features, model as model_lib
from speaker_embedding import triplets

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the command-line flags; called only when run as a program, so that tests
    can import this module next to the other commands, which share flag names."""
    flags.DEFINE_string("data_dir", None, "Dataset root, LibriSpeech or VoxCeleb layout.",
                        required=True)
    flags.DEFINE_string("model_dir", None,
                        "Folder for weights, checkpoints, split and TensorBoard logs.",
                        required=True)
    flags.DEFINE_enum("model_size", "small", list(model_lib.MODEL_SIZES),
                      "full: the paper's 4-stage ResCNN (24 M parameters); small: 3 stages "
                      "for CPUs.")
    flags.DEFINE_integer("test_speakers", 100, "Speakers held out of training for evaluation.",
                         lower_bound=0)
    flags.DEFINE_integer("split_seed", 0, "Chooses the held-out speakers.")
    flags.DEFINE_integer("seed", 0, "Initial weights and every batch.")
    flags.DEFINE_integer("batch_size", triplets.BATCH_SIZE,
                         "Triplets per batch (3x rows); the softmax phase uses 3x rows too.",
                         lower_bound=1)
    flags.DEFINE_float("alpha", triplets.ALPHA, "Triplet margin on cosine similarity.")
    flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate of the softmax phase, and of the "
                       "triplet phase unless --triplet_learning_rate is given.")
    flags.DEFINE_float("triplet_learning_rate", None, "Adam learning rate of the triplet phase.")
    flags.DEFINE_integer("softmax_steps", 0, "Softmax pre-training steps (0: none).")
    flags.DEFINE_integer("triplet_steps", 1000, "Triplet-loss steps after pre-training.")
    flags.DEFINE_bool("hard_negatives", True,
                      "Mine hard triplets from a candidate pool; else random.")
    flags.DEFINE_integer("candidate_speakers", 64, "Speakers in the mining pool (2 crops each).")
    flags.DEFINE_integer("mining_refresh", 5, "Steps between re-embeddings of the mining pool.",
                         lower_bound=1)
    flags.DEFINE_integer("checkpoint_every", 50, "Steps between checkpoints.", lower_bound=1)
    flags.DEFINE_integer("keep_checkpoints", 2, "Checkpoints kept on disk.", lower_bound=1)
    flags.DEFINE_float("max_minutes", None, "Checkpoint and stop once training has run this long; "
                       "the same command resumes it.")
    flags.DEFINE_enum("distribution_strategy", "none", distribution.STRATEGIES,
                      distribution.FLAG_HELP)


CHECKPOINT_DIR = "checkpoints"
CROPS_PER_CANDIDATE = 2


class Trainer:
    """Holds the network, heads, optimizers and data of one run; `step(n)` runs step n."""

    def __init__(self, utterances: Sequence[triplets.Utterance], config: model_lib.ResCNNConfig,
                 seed: int, batch_size: int, alpha: float, learning_rate: float,
                 triplet_learning_rate: float, softmax_steps: int, hard_negatives: bool,
                 candidate_speakers: int, mining_refresh: int,
                 strategy: tf.distribute.Strategy | None = None):
        keras.utils.set_random_seed(seed)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.seed, self.batch_size, self.alpha = seed, batch_size, alpha
        self.softmax_steps = softmax_steps
        self.hard_negatives, self.candidate_speakers = hard_negatives, candidate_speakers
        self.mining_refresh = mining_refresh
        self.batcher = triplets.TripletBatcher(utterances)
        self.utterances = list(utterances)
        self.speaker_index = {s: i for i, s in enumerate(self.batcher.speakers)}
        with self.strategy.scope():
            self.network = model_lib.build(config=config)
            affine = self.network.get_layer("affine").output
            logits = keras.layers.Dense(len(self.batcher.speakers), name="softmax_head")(affine)
            self.classifier = keras.Model(self.network.input, logits, name="classifier")
            self.softmax_optimizer = keras.optimizers.Adam(learning_rate)
            self.triplet_optimizer = keras.optimizers.Adam(triplet_learning_rate)
            checkpoints.build_optimizers(
                [self.softmax_optimizer, self.triplet_optimizer],
                [self.classifier.trainable_variables, self.network.trainable_variables])
        # Mining pool (inputs, speaker labels, vectors) and the step that embedded it.
        self.pool: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.pool_step = -1
        # Batches have one shape per phase: one trace per function for the whole run. No
        # Python control flow inside, so AutoGraph has nothing to convert.
        inputs = tf.TensorSpec([None, features.NUM_FRAMES, features.NUM_FBANKS, 1], tf.float32)
        compile_fn = functools.partial(tf.function, autograph=False)
        self._softmax_step = compile_fn(
            lambda *batch: self.strategy.run(self._softmax_update, args=batch))
        self._triplet_step = compile_fn(
            lambda *batch: self.strategy.run(self._triplet_update, args=batch))
        self._embed = compile_fn(lambda x: self.network(x, training=False),
                                 input_signature=[inputs])

    def owners(self) -> dict[str, object]:
        return {"classifier": self.classifier, "softmax_optimizer": self.softmax_optimizer,
                "triplet_optimizer": self.triplet_optimizer}

    def _share(self, inputs) -> tf.Tensor:
        """This replica's share of the global batch: 1 with one replica. Replicas' gradients
        are summed, so each scales its mean loss by its share."""
        return tf.cast(tf.shape(inputs)[0], tf.float32) / float(3 * self.batch_size)

    def _softmax_update(self, inputs, labels):
        with tf.GradientTape() as tape:
            logits = self.classifier(inputs, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels, logits)) * self._share(inputs)
            total = loss + tf.nn.scale_regularization_loss(tf.add_n(self.classifier.losses))
        variables = self.classifier.trainable_variables
        self.softmax_optimizer.apply_gradients(zip(tape.gradient(total, variables), variables))
        return loss

    def _triplet_update(self, inputs):
        with tf.GradientTape() as tape:
            loss = triplets.triplet_loss(self.network(inputs, training=True),
                                         self.alpha) * self._share(inputs)
            total = loss + tf.nn.scale_regularization_loss(tf.add_n(self.network.losses))
        variables = self.network.trainable_variables
        self.triplet_optimizer.apply_gradients(zip(tape.gradient(total, variables), variables))
        return loss

    def rng(self, step: int, stream: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.seed, step, stream])

    def classification_batch(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        picks = rng.integers(len(self.utterances), size=3 * self.batch_size)
        inputs = np.stack([features.random_crop(self.utterances[i].features, rng) for i in picks])
        labels = np.array([self.speaker_index[self.utterances[i].speaker] for i in picks], np.int32)
        return inputs, labels

    def triplet_batch(self, step: int) -> np.ndarray:
        if not self.hard_negatives:
            return self.batcher.random_batch(self.batch_size, self.rng(step))
        triplet_step = step - self.softmax_steps
        refresh_step = step - triplet_step % self.mining_refresh
        if self.pool_step != refresh_step:
            inputs, labels = self.batcher.candidates(self.candidate_speakers, CROPS_PER_CANDIDATE,
                                                     self.rng(refresh_step, stream=1))
            self.pool = (inputs, labels, self._embed(inputs).numpy())
            self.pool_step = refresh_step
        inputs, labels, vectors = self.pool
        rows = triplets.hard_triplets(vectors, labels, self.batch_size, self.rng(step))
        return inputs[rows]

    def step(self, step: int) -> tuple[str, float]:
        """Runs training step `step` (0-based) on every replica's slice of the batch; returns
        (phase, loss over the whole batch)."""
        if step < self.softmax_steps:
            batch = distribution.split_batch(self.strategy,
                                             *self.classification_batch(self.rng(step)))
            phase, losses = "softmax", self._softmax_step(*batch)
        else:
            batch = distribution.split_batch(self.strategy, self.triplet_batch(step),
                                             slicer=_triplet_slice)
            phase, losses = "triplet", self._triplet_step(*batch)
        return phase, distribution.sum_over_replicas(self.strategy, [losses])[0]

    def save(self, directory: str, step: int, keep: int) -> str:
        """Checkpoint after `step` steps, mining pool included."""
        extra = {}
        if self.pool is not None:
            extra = {"pool_step": np.asarray(self.pool_step), "pool_inputs": self.pool[0],
                     "pool_labels": self.pool[1], "pool_vectors": self.pool[2]}
        return checkpoints.save(directory, step, self.owners(), extra, keep)

    def restore(self, path: str) -> int:
        step, extra = checkpoints.restore(path, self.owners())
        if "pool_step" in extra:
            self.pool = (extra["pool_inputs"], extra["pool_labels"], extra["pool_vectors"])
            self.pool_step = int(extra["pool_step"])
        return step


def _triplet_slice(batch: np.ndarray, replica: int, replicas: int) -> np.ndarray:
    """A replica's triplets of `[3 B, ...]` (anchors, positives, negatives), in that layout."""
    return np.concatenate([np.array_split(third, replicas)[replica]
                           for third in np.split(batch, 3)])


def train(data_dir: str, model_dir: str, config: model_lib.ResCNNConfig, test_speakers: int,
          split_seed: int = 0, seed: int = 0, batch_size: int = triplets.BATCH_SIZE,
          alpha: float = triplets.ALPHA, learning_rate: float = 1e-3,
          triplet_learning_rate: float | None = None, softmax_steps: int = 0,
          triplet_steps: int = 1000, hard_negatives: bool = True, candidate_speakers: int = 64,
          mining_refresh: int = 5, checkpoint_every: int = 50, keep_checkpoints: int = 2,
          stop_after: int | None = None, max_minutes: float | None = None,
          strategy: tf.distribute.Strategy | None = None) -> keras.Model:
    """Trains (or resumes) and returns the embedding network; see the module docstring.

    Args:
      stop_after: end after this many steps in total, as if interrupted (tests use it).
      max_minutes: end, with a checkpoint, at the first step past this wall time.
      strategy: a `tf.distribute` strategy (`earshot.distribution.make`); None: one process.
        Only its chief writes to `model_dir`.
    """
    strategy = strategy or tf.distribute.get_strategy()
    chief = distribution.is_chief(strategy)
    if batch_size < 1 or mining_refresh < 1 or checkpoint_every < 1:
        raise ValueError("batch_size, mining_refresh and checkpoint_every must be positive")
    if os.path.exists(os.path.join(model_dir, embedder.CONFIG_FILE)):
        stored = embedder.read_config(model_dir)
        if stored != config:
            raise embedder.ModelFolderError(f"{model_dir} holds a {stored} model, not {config}; "
                                            "use another --model_dir")
    paths = dataset.find_utterances(data_dir)
    train_speakers, held_out = dataset.split_speakers(sorted(paths), test_speakers, split_seed)
    split_path = os.path.join(model_dir, dataset.SPLIT_FILE)
    if os.path.exists(split_path) and dataset.read_split(split_path)["train"] != train_speakers:
        raise embedder.ModelFolderError(f"{split_path} names other training speakers than "
                                        "--data_dir, --test_speakers and --split_seed give; use "
                                        "another --model_dir")
    if chief:
        os.makedirs(model_dir, exist_ok=True)
        embedder.write_config(model_dir, config)
        dataset.write_split(model_dir, train_speakers, held_out)
    logging.info("%d training speakers, %d held out", len(train_speakers), len(held_out))

    trainer = Trainer(dataset.load_utterances(paths, train_speakers), config, seed, batch_size,
                      alpha, learning_rate,
                      learning_rate if triplet_learning_rate is None else triplet_learning_rate,
                      softmax_steps, hard_negatives, candidate_speakers, mining_refresh, strategy)
    checkpoint_dir = os.path.join(model_dir, CHECKPOINT_DIR)
    start = 0
    resume_from = checkpoints.latest(checkpoint_dir)
    if resume_from:
        start = trainer.restore(resume_from)
        logging.info("resumed from %s at step %d", resume_from, start)
    total = softmax_steps + triplet_steps
    end = total if stop_after is None else min(total, stop_after)
    writer = tf.summary.create_file_writer(os.path.join(model_dir, "train")) if chief else None
    began = last_log = time.monotonic()
    for step in range(start, end):
        phase, loss = trainer.step(step)
        if chief:
            tensorboard.scalar(writer, f"loss/{phase}", loss, step + 1)
        now = time.monotonic()
        done = step + 1
        if now - last_log >= 10 or done in (start + 1, end):
            rate = (done - start) / (now - began)
            logging.info("step %d/%d %s loss %.4f (%.2f steps/s, %.0fs left)", done, total, phase,
                         loss, rate, (end - done) / rate)
            last_log = now
        # Every worker must stop at the same step, so the clock of any one of them decides.
        out_of_time = max_minutes is not None and distribution.any_worker(
            strategy, now - began >= 60 * max_minutes)
        if chief and (done % checkpoint_every == 0 or done == end or out_of_time):
            trainer.save(checkpoint_dir, done, keep_checkpoints)
            embedder.save_weights(trainer.network, model_dir)
        if out_of_time:
            logging.info("stopping at step %d after %.1f minutes (--max_minutes)", done,
                         (now - began) / 60)
            break
    if chief:
        writer.flush()
    if start >= end:
        logging.info("nothing to do: %s is already at step %d of %d", model_dir, start, total)
    return trainer.network


def main(argv: Sequence[str]) -> None:
    del argv
    started = time.monotonic()
    fileio.check_output(FLAGS.model_dir, folder=True)
    train(FLAGS.data_dir, FLAGS.model_dir, model_lib.config_for(FLAGS.model_size),
          test_speakers=FLAGS.test_speakers, split_seed=FLAGS.split_seed, seed=FLAGS.seed,
          batch_size=FLAGS.batch_size, alpha=FLAGS.alpha, learning_rate=FLAGS.learning_rate,
          triplet_learning_rate=FLAGS.triplet_learning_rate, softmax_steps=FLAGS.softmax_steps,
          triplet_steps=FLAGS.triplet_steps, hard_negatives=FLAGS.hard_negatives,
          candidate_speakers=FLAGS.candidate_speakers, mining_refresh=FLAGS.mining_refresh,
          checkpoint_every=FLAGS.checkpoint_every, keep_checkpoints=FLAGS.keep_checkpoints,
          max_minutes=FLAGS.max_minutes,
          strategy=distribution.make(FLAGS.distribution_strategy))
    logging.info("training took %.1f minutes; weights in %s", (time.monotonic() - started) / 60,
                 os.path.join(FLAGS.model_dir, embedder.WEIGHTS_FILE))


if __name__ == "__main__":
    define_flags()
    cli.run(main)
