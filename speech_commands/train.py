r"""Trains a keyword-spotting model, with the reference's flags, logs and files.

    python -m speech_commands.train --data_dir=/tmp/speech_dataset --data_url= \
        --model_architecture=conv --how_many_training_steps=15000,3000

Every step draws `--batch_size` augmented clips and takes one SGD step; every
`--eval_step_interval` steps the validation set is scored (log line, confusion matrix in the
log and as a PNG) and every `--save_step_interval` steps a checkpoint `<arch>.ckpt-<step>` is
written to `--train_dir`. The checkpoint holds the weights, optimizer slots, dropout seed
state, step and the data sampler's RNG, so `--start_checkpoint` continues the very run that
was interrupted: the next step sees the same batch, dropout masks and learning rate.

Differences from the reference: `--verbosity` is absl's own (0 = INFO, 1 = DEBUG, -1 =
WARNING); `--seed` makes a run repeatable; `--optimizer=adam` is added for short runs;
`--quantize` fake-quantizes the fingerprint only (`tf.contrib.quantize` is gone; `freeze
--tflite_dir` writes an int8 TFLite model instead).
"""

from __future__ import annotations

import dataclasses
import os
import time

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags, logging

from earshot import fileio
from speech_commands import (embedding_cache, export, features, input_data, models, plots,
                             summaries)

FLAGS = flags.FLAGS
DEFAULT_DATA_URL = ("https://storage.googleapis.com/download.tensorflow.org/data/"
                    "speech_commands_v0.02.tar.gz")
DEFAULT_WANTED_WORDS = "yes,no,up,down,left,right,on,off,stop,go"
OPTIMIZERS = ("gradient_descent", "momentum", "adam")


@dataclasses.dataclass
class TrainConfig:
    """Every `train.py` flag, with the reference's defaults."""

    data_url: str = DEFAULT_DATA_URL
    data_dir: str = "/tmp/speech_dataset/"
    background_volume: float = 0.1
    background_frequency: float = 0.8
    silence_percentage: float = 10.0
    unknown_percentage: float = 10.0
    time_shift_ms: float = 100.0
    testing_percentage: int = 10
    validation_percentage: int = 10
    sample_rate: int = 16000
    clip_duration_ms: int = 1000
    window_size_ms: float = 30.0
    window_stride_ms: float = 10.0
    feature_bin_count: int = 40
    how_many_training_steps: str = "15000,3000"
    eval_step_interval: int = 400
    learning_rate: str = "0.001,0.0001"
    batch_size: int = 100
    summaries_dir: str = "/tmp/retrain_logs"
    wanted_words: str = DEFAULT_WANTED_WORDS
    train_dir: str = "/tmp/speech_commands_train"
    save_step_interval: int = 100
    start_checkpoint: str = ""
    model_architecture: str = "conv"
    check_nans: bool = False
    quantize: bool = False
    preprocess: str = "mfcc"
    optimizer: str = "gradient_descent"
    seed: int = 0
    train_embedding: bool = False
    examples_per_word: int = 0


HELP = {
    "data_url": "Location of the speech training data archive (skipped if --data_dir has wavs).",
    "data_dir": "Where to download the speech training data to / find it.",
    "background_volume": "How loud the background noise should be, between 0 and 1.",
    "background_frequency": "How many of the training samples have background noise mixed in.",
    "silence_percentage": "How much of the training data should be silence.",
    "unknown_percentage": "How much of the training data should be unknown words.",
    "time_shift_ms": "Range to randomly shift the training audio by in time.",
    "testing_percentage": "What percentage of wavs to use as a test set.",
    "validation_percentage": "What percentage of wavs to use as a validation set.",
    "sample_rate": "Expected sample rate of the wavs.",
    "clip_duration_ms": "Expected duration in milliseconds of the wavs.",
    "window_size_ms": "How long each spectrogram timeslice is.",
    "window_stride_ms": "How far to move in time between spectrogram timeslices.",
    "feature_bin_count": "How many bins to use for the MFCC fingerprint.",
    "how_many_training_steps": "How many training loops to run (comma list, one per stage).",
    "eval_step_interval": "How often to evaluate the training results.",
    "learning_rate": "How large a learning rate to use when training (comma list per stage).",
    "batch_size": "How many items to train with at once.",
    "summaries_dir": "Where to save summary logs for TensorBoard.",
    "wanted_words": "Words to use (others will be added to an unknown label).",
    "train_dir": "Directory to write event logs and checkpoint.",
    "save_step_interval": "Save model checkpoint every save_steps.",
    "start_checkpoint": "If specified, restore this pretrained model before any training.",
    "model_architecture": "What model architecture to use: " + ", ".join(models.architectures()),
    "check_nans": "Whether to check for invalid numbers during processing.",
    "quantize": "Whether to train the model for eight-bit deployment (fake-quantized input).",
    "preprocess": "Spectrogram processing mode: " + ", ".join(features.names()),
    "optimizer": "Optimizer: gradient_descent (reference default), momentum (Nesterov, 0.9) or "
                 "adam (earshot addition, for short runs).",
    "seed": "Seed of weight init, dropout and data sampling (the split uses the reference's).",
    "train_embedding": "embedding_head only: fine-tune the speech embedding too (batch norm in "
                       "training mode; embeddings are then computed at every step, not cached).",
    "examples_per_word": "If > 0, keep the training clips of only this many speakers per "
                         "wanted word (few-shot training); 0 keeps all.",
}


@dataclasses.dataclass
class TrainResult:
    """What a run ends with: per-step training losses (by step) and the scores it logged."""

    losses: dict[int, float]
    validation_accuracy: dict[int, float]
    test_accuracy: float
    test_count: int
    last_step: int
    seconds: float


def parse_schedule(steps: str, rates: str) -> tuple[list[int], list[float]]:
    """`'15000,3000'`, `'0.001,0.0001'` -> ([15000, 3000], [0.001, 0.0001])."""
    steps_list = [int(x) for x in steps.split(",")]
    rates_list = [float(x) for x in rates.split(",")]
    if len(steps_list) != len(rates_list):
        raise ValueError(
            "--how_many_training_steps and --learning_rate must be equal length lists, but are "
            "%d and %d long instead" % (len(steps_list), len(rates_list)))
    if any(s <= 0 for s in steps_list) or any(r <= 0 for r in rates_list):
        raise ValueError(f"steps and learning rates must be positive, got {steps} / {rates}")
    return steps_list, rates_list


def learning_rate_at(step: int, steps_list: list[int], rates_list: list[float]) -> float:
    """LR of the first stage whose cumulative step count reaches `step` (1-based)."""
    total = 0
    for stage_steps, rate in zip(steps_list, rates_list):
        total += stage_steps
        if step <= total:
            return rate
    return rates_list[-1]


def model_settings_for(config: TrainConfig) -> dict:
    wanted_words = config.wanted_words.split(",")
    preprocess = models.preprocess_for(config.model_architecture, config.preprocess,
                                       config.train_embedding)
    return features.prepare_model_settings(
        len(input_data.prepare_words_list(wanted_words)), config.sample_rate,
        config.clip_duration_ms, config.window_size_ms, config.window_stride_ms,
        config.feature_bin_count, preprocess)


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    if name == "gradient_descent":
        return keras.optimizers.SGD(learning_rate)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    raise ValueError(f"Invalid Optimizer {name!r}: use one of {', '.join(OPTIMIZERS)}")


class Trainer:
    """Model, optimizer and the checkpointed state of one training run."""

    def __init__(self, config: TrainConfig, model_settings: dict,
                 processor: input_data.AudioProcessor):
        self.config = config
        self.processor = processor
        keras.utils.set_random_seed(config.seed)
        self.model = models.create_model(model_settings, config.model_architecture,
                                         quantize=config.quantize)
        self.optimizer = make_optimizer(config.optimizer, 0.0)
        self.optimizer.build(self.model.trainable_variables)
        self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.rng_state = tf.Variable("", dtype=tf.string, trainable=False)
        self.checkpoint = tf.train.Checkpoint(
            model_variables=list(self.model.variables),
            optimizer_variables=list(self.optimizer.variables),
            global_step=self.global_step, data_rng_state=self.rng_state)
        self.train_step = tf.function(self._train_step)
        self.predict = tf.function(lambda x: self.model(x, training=False))

    def _train_step(self, fingerprints, labels):
        with tf.GradientTape() as tape:
            logits = self.model(fingerprints, training=True)
            cross_entropy = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        variables = self.model.trainable_variables
        gradients = tape.gradient(cross_entropy, variables)
        if self.config.check_nans:
            cross_entropy = tf.debugging.check_numerics(cross_entropy, "cross_entropy")
            gradients = [tf.debugging.check_numerics(g, f"gradient of {v.path}")
                         for g, v in zip(gradients, variables)]
        self.optimizer.apply_gradients(zip(gradients, variables))
        predicted = tf.argmax(logits, 1)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(predicted, labels), tf.float32))
        return cross_entropy, accuracy

    def restore(self, path: str) -> int:
        """Loads a checkpoint written by `save`; returns the step it was saved at."""
        export.check_checkpoint(path, self.model)
        self.checkpoint.read(path).assert_existing_objects_matched()
        self.processor.set_rng_state(self.rng_state.numpy().decode())
        return int(self.global_step.numpy())

    def save(self, manager: tf.train.CheckpointManager, step: int) -> str:
        self.global_step.assign(step)
        self.rng_state.assign(self.processor.get_rng_state())
        return manager.save(checkpoint_number=step)

    def evaluate(self, mode: str, batch_size: int) -> tuple[float, float, np.ndarray, int]:
        """(accuracy, mean cross entropy, confusion matrix rows=truth, set size) on a split."""
        fingerprints, labels = self.processor.evaluation_set(mode)
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


def train(config: TrainConfig) -> TrainResult:
    """Runs training, evaluation and testing as `python -m speech_commands.train` does."""
    start_time = time.monotonic()
    steps_list, rates_list = parse_schedule(config.how_many_training_steps, config.learning_rate)
    if config.model_architecture not in models.architectures():
        raise ValueError(f'model_architecture argument "{config.model_architecture}" not '
                         f'recognized, should be one of {", ".join(models.architectures())}')
    if config.batch_size <= 0 or config.eval_step_interval <= 0 or config.save_step_interval <= 0:
        raise ValueError("--batch_size, --eval_step_interval and --save_step_interval must be > 0")
    model_settings = model_settings_for(config)
    wanted_words = config.wanted_words.split(",")
    processor = embedding_cache.make_processor(
        config.data_url, config.data_dir, config.silence_percentage, config.unknown_percentage,
        wanted_words, config.validation_percentage, config.testing_percentage, model_settings,
        seed=config.seed, examples_per_word=config.examples_per_word)
    trainer = Trainer(config, model_settings, processor)
    time_shift_samples = int((config.time_shift_ms * config.sample_rate) / 1000)
    training_steps_max = sum(steps_list)

    start_step = 1
    if config.start_checkpoint:
        start_step = trainer.restore(config.start_checkpoint) + 1
    logging.info("Training from step: %d ", start_step)

    os.makedirs(config.train_dir, exist_ok=True)
    labels_path = os.path.join(config.train_dir, config.model_architecture + "_labels.txt")
    with fileio.atomic_open(labels_path, "w") as labels_file:
        labels_file.write("\n".join(processor.words_list))
    checkpoint_path = os.path.join(config.train_dir, config.model_architecture + ".ckpt")
    manager = tf.train.CheckpointManager(trainer.checkpoint, config.train_dir, max_to_keep=5,
                                         checkpoint_name=config.model_architecture + ".ckpt")
    train_writer = tf.summary.create_file_writer(os.path.join(config.summaries_dir, "train"))
    validation_writer = tf.summary.create_file_writer(
        os.path.join(config.summaries_dir, "validation"))
    _write_data_summary(config, processor, model_settings)

    result = TrainResult({}, {}, 0.0, 0, start_step - 1, 0.0)
    for training_step in range(start_step, training_steps_max + 1):
        learning_rate_value = learning_rate_at(training_step, steps_list, rates_list)
        trainer.optimizer.learning_rate.assign(learning_rate_value)
        fingerprints, labels = processor.get_data(
            config.batch_size, 0, config.background_frequency, config.background_volume,
            time_shift_samples, "training")
        cross_entropy, accuracy = (float(v) for v in trainer.train_step(fingerprints, labels))
        result.losses[training_step] = cross_entropy
        result.last_step = training_step
        summaries.scalar(train_writer, "cross_entropy", cross_entropy, training_step)
        summaries.scalar(train_writer, "accuracy", accuracy, training_step)
        summaries.scalar(train_writer, "learning_rate", learning_rate_value, training_step)
        logging.info("Step #%d: rate %f, accuracy %.1f%%, cross entropy %f", training_step,
                     learning_rate_value, accuracy * 100, cross_entropy)
        is_last_step = training_step == training_steps_max
        if training_step % config.eval_step_interval == 0 or is_last_step:
            accuracy, validation_loss, confusion, set_size = trainer.evaluate(
                "validation", config.batch_size)
            logging.info("Confusion Matrix:\n %s", confusion)
            logging.info("Step %d: Validation accuracy = %.1f%% (N=%d)", training_step,
                         accuracy * 100, set_size)
            result.validation_accuracy[training_step] = accuracy
            summaries.scalar(validation_writer, "eval/accuracy", accuracy, training_step)
            summaries.scalar(validation_writer, "eval/cross_entropy", validation_loss,
                             training_step)
            _confusion_png(config, "validation_confusion", confusion, processor.words_list,
                           f"{config.model_architecture}, step {training_step}: validation "
                           f"accuracy {accuracy * 100:.1f}% (N={set_size})")
        if training_step % config.save_step_interval == 0 or is_last_step:
            logging.info('Saving to "%s-%d"', checkpoint_path, training_step)
            trainer.save(manager, training_step)
    for writer in (train_writer, validation_writer):
        writer.flush()

    set_size = processor.set_size("testing")
    logging.info("set_size=%d", set_size)
    accuracy, _, confusion, set_size = trainer.evaluate("testing", config.batch_size)
    logging.warning("Confusion Matrix:\n %s", confusion)
    logging.warning("Final test accuracy = %.1f%% (N=%d)", accuracy * 100, set_size)
    _confusion_png(config, "test_confusion", confusion, processor.words_list,
                   f"{config.model_architecture}: test accuracy {accuracy * 100:.1f}% "
                   f"(N={set_size})")
    result.test_accuracy, result.test_count = accuracy, set_size
    result.seconds = time.monotonic() - start_time
    logging.info("Trained steps %d..%d in %.1f s", start_step, result.last_step, result.seconds)
    return result


def _write_data_summary(config: TrainConfig, processor: input_data.AudioProcessor,
                        model_settings: dict) -> None:
    """A few validation fingerprints as TensorBoard images (`data/<preprocess>`)."""
    fingerprints, _ = processor.evaluation_set("validation")
    if not len(fingerprints):
        return
    writer = tf.summary.create_file_writer(os.path.join(config.summaries_dir, "data"))
    for index, fingerprint in enumerate(fingerprints[:3]):
        image = fingerprint.reshape(model_settings["spectrogram_length"],
                                    model_settings["fingerprint_width"])
        summaries.image(writer, f"{model_settings['preprocess']}/{index}", image, 0)
    writer.flush()


def define_flags() -> None:
    """One absl flag per `TrainConfig` field, same name and default."""
    definers = {str: flags.DEFINE_string, int: flags.DEFINE_integer,
                float: flags.DEFINE_float, bool: flags.DEFINE_bool}
    for field in dataclasses.fields(TrainConfig):
        kind = {"str": str, "int": int, "float": float, "bool": bool}[field.type]
        definers[kind](field.name, field.default, HELP[field.name])


def config_from_flags() -> TrainConfig:
    return TrainConfig(**{f.name: getattr(FLAGS, f.name) for f in dataclasses.fields(TrainConfig)})


def main(argv):
    del argv
    train(config_from_flags())


if __name__ == "__main__":
    define_flags()
    app.run(main)
