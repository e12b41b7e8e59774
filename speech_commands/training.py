"""Training a keyword-spotting model: the loop `python -m speech_commands.train` runs.

Every step draws `batch_size` augmented clips and takes one SGD step; every
`eval_step_interval` steps the validation set is scored (log line, confusion matrix in the
log and as a PNG) and every `save_step_interval` steps a checkpoint `<arch>.ckpt-<step>` is
written to `train_dir`, next to `settings.json` (`settings.RunSettings`: what every later tool
reads). The checkpoint holds the weights, optimizer slots, dropout seed state, step and the
data sampler's RNG, so `start_checkpoint` continues the very run that was interrupted: the
next step sees the same batch, dropout masks and learning rate.

With a `tf.distribute` strategy (`earshot.distribution`: `--distribution_strategy` of
`train`), every worker draws the same global batch of `batch_size` clips (the data RNG is
seeded alike everywhere) and trains on its slice; gradients are all-reduced, so the weights
and the logged losses are the same on every worker. Only the chief writes `train_dir` and the
summaries; the others save to a scratch folder they delete (a save may run collective ops).
The chief's checkpoint holds all the state, so resuming works on any number of workers.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from earshot import distribution, fileio
from earshot import tensorboard as summaries
from earshot.errors import UserError
from speech_commands import architectures, batches, embedding_cache, plots, settings
from speech_commands.settings import RunSettings, TrainConfig

OPTIMIZERS = ("gradient_descent", "momentum", "adam")
Log = Callable[..., None]


class TrainingError(UserError, ValueError):
    """Training flags that cannot run (schedule, sizes, optimizer, a checkpoint of another run)."""


@dataclasses.dataclass
class TrainResult:
    """What a run ends with: per-step training losses (by step) and the scores it logged."""

    losses: dict[int, float]
    validation_accuracy: dict[int, float]
    test_accuracy: float
    test_count: int
    last_step: int
    seconds: float


def parse_schedule(steps: str | tuple[int, ...], rates: str | tuple[float, ...]
                   ) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The checked schedule: steps and learning rates per stage, as `TrainConfig` holds them
    (a comma list such as `'15000,3000'` is parsed as the flag is: `settings.as_list`).

    Raises:
      TrainingError: lists of different lengths, or a step count or rate that is not > 0.
    """
    steps_list = settings.as_list("how_many_training_steps", steps)
    rates_list = settings.as_list("learning_rate", rates)
    if len(steps_list) != len(rates_list):
        raise TrainingError(
            "--how_many_training_steps and --learning_rate must be equal length lists, but are "
            "%d and %d long instead" % (len(steps_list), len(rates_list)))
    if any(s <= 0 for s in steps_list) or any(r <= 0 for r in rates_list):
        raise TrainingError("steps and learning rates must be positive, got "
                            f"{settings.flag_text(steps_list)} / {settings.flag_text(rates_list)}")
    return steps_list, rates_list


def learning_rate_at(step: int, steps_list: tuple[int, ...], rates_list: tuple[float, ...]
                     ) -> float:
    """LR of the first stage whose cumulative step count reaches `step` (1-based)."""
    total = 0
    for stage_steps, rate in zip(steps_list, rates_list):
        total += stage_steps
        if step <= total:
            return rate
    return rates_list[-1]


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    if name == "gradient_descent":
        return keras.optimizers.SGD(learning_rate)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    raise TrainingError(f"Invalid Optimizer {name!r}: use one of {', '.join(OPTIMIZERS)}")


class Trainer:
    """Model, optimizer and the checkpointed state of one training run."""

    def __init__(self, config: TrainConfig, model_settings: settings.ModelSettings,
                 source: batches.BatchSource,
                 strategy: tf.distribute.Strategy | None = None):
        self.config = config
        self.source = source
        self.strategy = strategy or tf.distribute.get_strategy()
        keras.utils.set_random_seed(config.seed)
        with self.strategy.scope():
            self.model = architectures.build_model(model_settings, config.model_architecture,
                                                   quantize=config.quantize)
            self.optimizer = make_optimizer(config.optimizer, 0.0)
            self.optimizer.build(self.model.trainable_variables)
        self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.rng_state = tf.Variable("", dtype=tf.string, trainable=False)
        self.checkpoint = tf.train.Checkpoint(
            model_variables=list(self.model.variables),
            optimizer_variables=list(self.optimizer.variables),
            global_step=self.global_step, data_rng_state=self.rng_state)
        self._distributed_step = tf.function(
            lambda *batch: self.strategy.run(self._train_step, args=batch))
        self.predict = tf.function(lambda x: self.model(x, training=False))

    def train_step(self, fingerprints: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        """One step on the global batch, each replica on its slice; (cross entropy, accuracy)
        of the whole batch."""
        return tuple(distribution.sum_over_replicas(self.strategy, self._distributed_step(
            *distribution.split_batch(self.strategy, fingerprints, labels))))

    def _train_step(self, fingerprints, labels):
        # The replica's mean scaled by its share of the global batch (exactly 1 alone):
        # replicas' gradients and losses are summed.
        share = tf.cast(tf.shape(labels)[0], tf.float32) / float(self.config.batch_size)
        with tf.GradientTape() as tape:
            logits = self.model(fingerprints, training=True)
            cross_entropy = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
            ) * share
        variables = self.model.trainable_variables
        gradients = tape.gradient(cross_entropy, variables)
        if self.config.check_nans:
            cross_entropy = tf.debugging.check_numerics(cross_entropy, "cross_entropy")
            gradients = [tf.debugging.check_numerics(g, f"gradient of {v.path}")
                         for g, v in zip(gradients, variables)]
        self.optimizer.apply_gradients(zip(gradients, variables))
        predicted = tf.argmax(logits, 1)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(predicted, labels), tf.float32)) * share
        return cross_entropy, accuracy

    def restore(self, path: str) -> int:
        """Loads a checkpoint written by `save`; returns the step it was saved at."""
        self.checkpoint.read(path).assert_existing_objects_matched()
        self.source.set_rng_state(self.rng_state.numpy().decode())
        return int(self.global_step.numpy())

    def save(self, manager: tf.train.CheckpointManager, step: int) -> str:
        self.global_step.assign(step)
        self.rng_state.assign(self.source.get_rng_state())
        return manager.save(checkpoint_number=step)

    def evaluate(self, mode: str, batch_size: int) -> tuple[float, float, np.ndarray, int]:
        """(accuracy, mean cross entropy, confusion matrix rows=truth, set size) on a split."""
        fingerprints, labels = self.source.evaluation_set(mode)
        label_count = self.model.output_shape[-1]
        confusion = np.zeros((label_count, label_count), np.int64)
        cross_entropy = 0.0
        for start in range(0, len(labels), batch_size):
            logits = self.predict(fingerprints[start:start + batch_size]).numpy()
            truth = labels[start:start + batch_size]
            np.add.at(confusion, (truth, logits.argmax(1)), 1)
            cross_entropy += float(tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=truth, logits=logits)))
        count = len(labels)
        accuracy = float(np.trace(confusion)) / count if count else 0.0
        return accuracy, cross_entropy / max(count, 1), confusion, count


def _confusion_png(config: TrainConfig, name: str, confusion: np.ndarray, labels: list[str],
                   title: str) -> str:
    path = os.path.join(config.train_dir, f"{config.model_architecture}_{name}.png")
    plots.confusion_matrix(confusion, labels, title, path)
    return path


def train(config: TrainConfig, log: Log = logging.info,
          strategy: tf.distribute.Strategy | None = None) -> TrainResult:
    """Runs training, evaluation and testing as `python -m speech_commands.train` does.

    Args:
      log: takes the reference's progress lines (`log(format, *args)`), the final test figures
        included, absl's INFO by default: a caller with a summary of its own (the demo, the
        few-shot study) reads them from the returned `TrainResult` instead.
      strategy: a `tf.distribute` strategy (`earshot.distribution.make`); None: one process.
    """
    strategy = strategy or tf.distribute.get_strategy()
    chief = distribution.is_chief(strategy)
    start_time = time.monotonic()
    steps_list, rates_list = parse_schedule(config.how_many_training_steps, config.learning_rate)
    architectures.check_architecture(config.model_architecture)
    if config.batch_size <= 0 or config.eval_step_interval <= 0 or config.save_step_interval <= 0:
        raise TrainingError("--batch_size, --eval_step_interval and --save_step_interval must "
                            "be > 0")
    model_settings = architectures.settings_for(config)
    source = embedding_cache.batch_source(config, model_settings)
    trainer = Trainer(config, model_settings, source, strategy)
    time_shift_samples = int((config.time_shift_ms * config.sample_rate) / 1000)
    training_steps_max = sum(steps_list)

    run = RunSettings(config.model_architecture, tuple(source.words_list), model_settings,
                      dataclasses.replace(config, data_dir=os.path.abspath(config.data_dir)))
    start_step = 1
    if config.start_checkpoint:
        check_resumable(config.start_checkpoint, run)
        start_step = trainer.restore(config.start_checkpoint) + 1
    log("Training from step: %d ", start_step)

    if chief:
        os.makedirs(config.train_dir, exist_ok=True)
        settings.write(config.train_dir, run)
        architectures.write_graph(trainer.model, os.path.join(
            config.train_dir, config.model_architecture + ".pbtxt"))
        labels_path = os.path.join(config.train_dir, config.model_architecture + "_labels.txt")
        with fileio.atomic_open(labels_path, "w") as labels_file:
            labels_file.write("\n".join(source.words_list))
    checkpoint_path = os.path.join(config.train_dir, config.model_architecture + ".ckpt")
    manager = tf.train.CheckpointManager(
        trainer.checkpoint, distribution.write_dir(config.train_dir, strategy), max_to_keep=5,
        checkpoint_name=config.model_architecture + ".ckpt")
    if chief:
        train_writer = tf.summary.create_file_writer(os.path.join(config.summaries_dir, "train"))
        validation_writer = tf.summary.create_file_writer(
            os.path.join(config.summaries_dir, "validation"))
        _write_data_summary(config, source, model_settings)
    else:
        train_writer = validation_writer = tf.summary.create_noop_writer()

    result = TrainResult({}, {}, 0.0, 0, start_step - 1, 0.0)
    for training_step in range(start_step, training_steps_max + 1):
        learning_rate_value = learning_rate_at(training_step, steps_list, rates_list)
        trainer.optimizer.learning_rate.assign(learning_rate_value)
        fingerprints, labels = source.batch(
            config.batch_size, 0, config.background_frequency, config.background_volume,
            time_shift_samples, "training")
        cross_entropy, accuracy = trainer.train_step(fingerprints, labels)
        result.losses[training_step] = cross_entropy
        result.last_step = training_step
        summaries.scalar(train_writer, "cross_entropy", cross_entropy, training_step)
        summaries.scalar(train_writer, "accuracy", accuracy, training_step)
        summaries.scalar(train_writer, "learning_rate", learning_rate_value, training_step)
        log("Step #%d: rate %f, accuracy %.1f%%, cross entropy %f", training_step,
                     learning_rate_value, accuracy * 100, cross_entropy)
        is_last_step = training_step == training_steps_max
        if training_step % config.eval_step_interval == 0 or is_last_step:
            accuracy, validation_loss, confusion, set_size = trainer.evaluate(
                "validation", config.batch_size)
            log("Confusion Matrix:\n %s", confusion)
            log("Step %d: Validation accuracy = %.1f%% (N=%d)", training_step,
                         accuracy * 100, set_size)
            result.validation_accuracy[training_step] = accuracy
            summaries.scalar(validation_writer, "eval/accuracy", accuracy, training_step)
            summaries.scalar(validation_writer, "eval/cross_entropy", validation_loss,
                             training_step)
            if chief:
                _confusion_png(config, "validation_confusion", confusion,
                               source.words_list, f"{config.model_architecture}, step "
                               f"{training_step}: validation accuracy {accuracy * 100:.1f}% "
                               f"(N={set_size})")
        if training_step % config.save_step_interval == 0 or is_last_step:
            log('Saving to "%s-%d"', checkpoint_path, training_step)
            trainer.save(manager, training_step)
            distribution.discard_scratch(config.train_dir, strategy)
    for writer in (train_writer, validation_writer):
        writer.flush()

    set_size = source.set_size("testing")
    log("set_size=%d", set_size)
    accuracy, _, confusion, set_size = trainer.evaluate("testing", config.batch_size)
    log("Confusion Matrix:\n %s", confusion)
    log("Final test accuracy = %.1f%% (N=%d)", accuracy * 100, set_size)
    if chief:
        _confusion_png(config, "test_confusion", confusion, source.words_list,
                       f"{config.model_architecture}: test accuracy {accuracy * 100:.1f}% "
                       f"(N={set_size})")
    result.test_accuracy, result.test_count = accuracy, set_size
    result.seconds = time.monotonic() - start_time
    log("Trained steps %d..%d in %.1f s", start_step, result.last_step, result.seconds)
    return result


def check_resumable(checkpoint: str, run: RunSettings) -> None:
    """Raises SettingsError unless `checkpoint` was written by a run of the same model."""
    previous = settings.read(checkpoint)
    previous.check(checkpoint, model_architecture=run.model_architecture,
                   wanted_words=run.wanted_words, quantize=run.quantize,
                   train_embedding=run.train_embedding)
    if previous.model_settings != run.model_settings:
        raise settings.SettingsError(
            f"{checkpoint} was trained with other front-end settings "
            f"({previous.model_settings}, now {run.model_settings})")


def _write_data_summary(config: TrainConfig, source: batches.BatchSource,
                        model_settings: settings.ModelSettings) -> None:
    """A few validation fingerprints as TensorBoard images (`data/<preprocess>`)."""
    fingerprints, _ = source.evaluation_set("validation")
    if not len(fingerprints):
        return
    writer = tf.summary.create_file_writer(os.path.join(config.summaries_dir, "data"))
    for index, fingerprint in enumerate(fingerprints[:3]):
        image = fingerprint.reshape(model_settings.spectrogram_length,
                                    model_settings.fingerprint_width)
        summaries.image(writer, f"{model_settings.preprocess}/{index}", image, 0)
    writer.flush()
