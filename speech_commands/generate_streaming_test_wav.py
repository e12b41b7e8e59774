r"""Writes a long test recording of words over background noise, with its labels.

    python -m speech_commands.generate_streaming_test_wav --data_dir=/tmp/speech_dataset \
        --output_audio_file=/tmp/streaming_test.wav \
        --output_labels_file=/tmp/streaming_test_labels.txt

One word from the testing split every `1 s + --word_gap_ms` (randomly placed in the gap),
`--unknown_percentage` of them unknown words, over background noise at up to
`--background_volume`. The labels file has one `label, time_ms` line per word.
"""

from __future__ import annotations

import numpy as np
from absl import app, flags, logging

from earshot import audio, fileio
from speech_commands import features, input_data, streaming, train

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("data_url", "", "Location of the speech training data (downloaded if "
                        "--data_dir has no wavs).")
    flags.DEFINE_string("data_dir", "/tmp/speech_dataset", "Where the speech data is.")
    flags.DEFINE_float("background_volume", 0.1, "How loud the background noise should be, 0-1.")
    flags.DEFINE_integer("testing_percentage", 10, "What percentage of wavs to use as a test set.")
    flags.DEFINE_integer("validation_percentage", 10, "What percentage of wavs to use for "
                         "validation.")
    flags.DEFINE_integer("sample_rate", 16000, "Expected sample rate of the wavs.")
    flags.DEFINE_integer("clip_duration_ms", 1000, "Expected duration in ms of the wavs.")
    flags.DEFINE_string("wanted_words", train.DEFAULT_WANTED_WORDS, "Words to use (others are "
                        "unknown).")
    flags.DEFINE_string("output_audio_file", "/tmp/speech_commands_train/streaming_test.wav",
                        "File to save the generated test audio to.")
    flags.DEFINE_string("output_labels_file",
                        "/tmp/speech_commands_train/streaming_test_labels.txt",
                        "File to save the generated test labels to.")
    flags.DEFINE_float("test_duration_seconds", 600, "How long the generated test audio is.")
    flags.DEFINE_integer("word_gap_ms", 2000, "How long the average gap between words is.")
    flags.DEFINE_integer("unknown_percentage", 30, "What percentage of words are unknown.")
    flags.DEFINE_integer("seed", 0, "Seed of word, clip and noise choices.")


def main(argv):
    del argv
    words = FLAGS.wanted_words.split(",")
    settings = features.prepare_model_settings(
        len(input_data.prepare_words_list(words)), FLAGS.sample_rate, FLAGS.clip_duration_ms,
        30.0, 10.0, 40, "mfcc")
    # 100% unknown: the testing split then offers as many unknown-word clips as wanted ones.
    processor = input_data.AudioProcessor(FLAGS.data_url, FLAGS.data_dir, 0.0, 100.0, words,
                                          FLAGS.validation_percentage, FLAGS.testing_percentage,
                                          settings)
    waveform, ground_truth = streaming.generate(
        processor, words, FLAGS.test_duration_seconds, FLAGS.word_gap_ms,
        FLAGS.background_volume, FLAGS.unknown_percentage, np.random.default_rng(FLAGS.seed))
    audio.write_wav(FLAGS.output_audio_file, waveform, FLAGS.sample_rate)
    logging.info("Saved streaming test wav to %s", FLAGS.output_audio_file)
    with fileio.atomic_open(FLAGS.output_labels_file, "w") as labels_file:
        labels_file.writelines("%s, %f\n" % (label, time_ms)
                               for label, time_ms in ground_truth)
    logging.info("Saved streaming test labels to %s", FLAGS.output_labels_file)


if __name__ == "__main__":
    define_flags()
    app.run(main)
