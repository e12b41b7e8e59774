r"""Writes a long test recording of words over background noise, with its labels.

    python -m speech_commands.generate_streaming_test_wav --train_dir=/tmp/speech_commands_train
    python -m speech_commands.generate_streaming_test_wav --data_dir=/tmp/speech_dataset \
        --output_audio_file=/tmp/streaming_test.wav \
        --output_labels_file=/tmp/streaming_test_labels.txt

With `--train_dir`, the dataset, words, split and clip length are the run's (`settings.json`;
the flags that repeat them are checked against it) and the files go into the run folder as
`streaming_test.wav` and `streaming_test_labels.txt`, where `streaming_accuracy` finds them.

One word from the testing split every `1 s + --word_gap_ms` (randomly placed in the gap),
`--unknown_percentage` of them unknown words, over background noise at up to
`--background_volume`. The labels file has one `label, time_ms` line per word.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from absl import flags, logging

from earshot import audio, cli, fileio
from speech_commands import architectures, batches, dataset, settings, streaming_test_audio
from speech_commands.streaming_test_audio import (  # noqa: F401  (the reference's function)
    mix_in_audio_sample)

FLAGS = flags.FLAGS
WAV_NAME = "streaming_test.wav"
LABELS_NAME = "streaming_test_labels.txt"
# Flags that repeat a run's settings (checked against settings.json with --train_dir).
SETTINGS_FLAGS = ("data_dir", "validation_percentage", "testing_percentage", "sample_rate",
                  "clip_duration_ms", "wanted_words")


def define_flags() -> None:
    defaults = settings.TrainConfig()
    flags.DEFINE_string("train_dir", "", "A training run folder: its dataset, words and split, "
                        "and where the files go.")
    flags.DEFINE_string("data_url", "", "Location of the speech training data (downloaded if "
                        "--data_dir has no wavs).")
    flags.DEFINE_string("data_dir", "/tmp/speech_dataset", "Where the speech data is.")
    flags.DEFINE_float("background_volume", 0.1, "How loud the background noise should be, 0-1.")
    flags.DEFINE_integer("testing_percentage", defaults.testing_percentage,
                         "What percentage of wavs to use as a test set.")
    flags.DEFINE_integer("validation_percentage", defaults.validation_percentage,
                         "What percentage of wavs to use for validation.")
    flags.DEFINE_integer("sample_rate", defaults.sample_rate, "Expected sample rate of the wavs.")
    flags.DEFINE_integer("clip_duration_ms", defaults.clip_duration_ms,
                         "Expected duration in ms of the wavs.")
    flags.DEFINE_string("wanted_words", settings.flag_text(defaults.wanted_words), "Words to use "
                        "(others are unknown).")
    flags.DEFINE_string("output_audio_file", "", "File to save the generated test audio to "
                        f"(default: {defaults.train_dir}/{WAV_NAME}, or in --train_dir).")
    flags.DEFINE_string("output_labels_file", "", "File to save the generated test labels to "
                        f"(default: {defaults.train_dir}/{LABELS_NAME}, or in --train_dir).")
    flags.DEFINE_float("test_duration_seconds", 600, "How long the generated test audio is.")
    flags.DEFINE_integer("word_gap_ms", 2000, "How long the average gap between words is.")
    flags.DEFINE_integer("unknown_percentage", 30, "What percentage of words are unknown.")
    flags.DEFINE_integer("seed", 0, "Seed of word, clip and noise choices.")


def _config() -> settings.TrainConfig:
    """The dataset, words, split and clip of the run, or of the flags."""
    if FLAGS.train_dir:
        run = settings.read(FLAGS.train_dir)
        run.check(FLAGS.train_dir, **settings.flags_given(FLAGS, SETTINGS_FLAGS))
        return run.training
    return dataclasses.replace(settings.TrainConfig(), data_url=FLAGS.data_url,
                               **{name: getattr(FLAGS, name) for name in SETTINGS_FLAGS})


def main(argv):
    del argv
    folder = FLAGS.train_dir or settings.TrainConfig().train_dir
    audio_path = fileio.check_output(FLAGS.output_audio_file or os.path.join(folder, WAV_NAME))
    labels_path = fileio.check_output(FLAGS.output_labels_file
                                      or os.path.join(folder, LABELS_NAME))
    config = _config()
    # 100% unknown: the testing split then offers as many unknown-word clips as wanted ones.
    split = dataclasses.replace(dataset.SplitSettings.of(config), silence_percentage=0.0,
                                unknown_percentage=100.0, examples_per_word=0)
    source = batches.BatchSource.from_folder(architectures.settings_for(config), config.data_dir,
                                             split, data_url=config.data_url)
    waveform, ground_truth = streaming_test_audio.generate(
        source, config.wanted_words, FLAGS.test_duration_seconds, FLAGS.word_gap_ms,
        FLAGS.background_volume, FLAGS.unknown_percentage, np.random.default_rng(FLAGS.seed))
    audio.write_wav(audio_path, waveform, config.sample_rate)
    logging.info("Saved streaming test wav to %s", audio_path)
    with fileio.atomic_open(labels_path, "w") as labels_file:
        labels_file.writelines("%s, %f\n" % (label, time_ms) for label, time_ms in ground_truth)
    logging.info("Saved streaming test labels to %s", labels_path)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
