r"""Runs a model over a long recording and scores its detections against the labels.

    python -m speech_commands.streaming_accuracy --train_dir=/tmp/speech_commands_train
    python -m speech_commands.streaming_accuracy --wav=/tmp/streaming_test.wav \
        --ground_truth=/tmp/streaming_test_labels.txt --graph=/tmp/my_frozen_graph.pb \
        --labels=/tmp/speech_commands_train/conv_labels.txt --roc_png=/tmp/roc.png

The reference's `test_streaming_accuracy`. With `--train_dir`, the run folder gives what is
not passed: the model `export/conv_actions_frozen.tflite` (from `freeze
--tflite_dir=RUN/export` or `export_kws`), the labels (`settings.json`), and the recording
and its ground truth written there by `generate_streaming_test_wav --train_dir=RUN`.

`--graph` is a frozen graph (fed `--input_data_name`/`--input_rate_name`) or a `.tflite`
model. The model is run every `--clip_stride_ms` on the last clip; `RecognizeCommands`
(`--average_window_ms`, `--suppression_ms`, `--detection_threshold`) turns the scores into
commands, which are matched to the ground truth within `--time_tolerance_ms`. Prints
`X% matched, X% correctly, X% wrongly, X% false positives`; `--roc_png` also sweeps the
detection threshold (`--roc_thresholds`) and plots detection rate against false alarms/hour.
"""

from __future__ import annotations

import os

import numpy as np
from absl import flags, logging

from earshot import audio, cli
from earshot.errors import UserError, require_file
from speech_commands import (accuracy_utils, classifier, dataset, detection, plots, settings,
                             spotter_runtime)

FLAGS = flags.FLAGS
# What --train_dir supplies; the same names as generate_streaming_test_wav's outputs.
STREAMING_WAV_NAME = "streaming_test.wav"
STREAMING_LABELS_NAME = "streaming_test_labels.txt"


def define_flags() -> None:
    flags.DEFINE_string("train_dir", "", "A training run folder: default model, labels, wav "
                        "and ground truth.")
    flags.DEFINE_string("wav", "", "The wave file path to evaluate.")
    flags.DEFINE_string("graph", "", "Model to use: frozen graph (.pb) or .tflite.")
    flags.DEFINE_string("labels", "", "Path to file containing labels.")
    flags.DEFINE_string("ground_truth", "", "Path to file containing `<word>, <time in ms>` "
                        "lines.")
    flags.DEFINE_string("input_data_name", "decoded_sample_data:0", "Audio input tensor.")
    flags.DEFINE_string("input_rate_name", "decoded_sample_data:1", "Sample rate input tensor.")
    flags.DEFINE_string("output_name", "labels_softmax:0", "Output tensor.")
    flags.DEFINE_integer("clip_duration_ms", 1000, "Length of each audio clip fed into the model.")
    flags.DEFINE_float("clip_stride_ms", 30, "How often to run recognition.")
    defaults = detection.DEFAULTS
    flags.DEFINE_float("average_window_ms", defaults.average_window_ms,
                       "Length of the window to smooth results over.")
    flags.DEFINE_float("time_tolerance_ms", defaults.time_tolerance_ms, "Maximum gap allowed "
                       "between a recognition and its ground truth.")
    flags.DEFINE_float("suppression_ms", defaults.suppression_ms, "How long to ignore "
                       "recognitions after one has triggered.")
    flags.DEFINE_float("detection_threshold", defaults.detection_threshold,
                       "What score is required to trigger recognition.")
    flags.DEFINE_integer("minimum_count", defaults.minimum_count, "How many results must be "
                         "averaged before one counts.")
    flags.DEFINE_bool("verbose", False, "Log every detection with its verdict.")
    flags.DEFINE_string("roc_png", "", "If set, write the ROC curve over --roc_thresholds here.")
    flags.DEFINE_list("roc_thresholds", [str(t) for t in np.round(np.arange(0.1, 1.0, 0.05), 2)],
                      "Detection thresholds of the ROC curve.")


def _inputs() -> tuple[str, list[str], str, str]:
    """(model, labels, wav, ground truth) from the flags, the rest from --train_dir."""
    run_dir = FLAGS.train_dir
    if run_dir:
        run = settings.read(run_dir)
        labels = (dataset.read_labels(FLAGS.labels) if FLAGS.labels else list(run.labels))
    elif FLAGS.labels:
        labels = dataset.read_labels(FLAGS.labels)
    else:
        raise UserError("pass --train_dir, or --graph, --labels, --wav and --ground_truth")
    paths = {"graph": FLAGS.graph or os.path.join(run_dir, spotter_runtime.EXPORT_DIR_NAME,
                                                  classifier.TFLITE_MODEL_NAME),
             "wav": FLAGS.wav or os.path.join(run_dir, STREAMING_WAV_NAME),
             "ground_truth": FLAGS.ground_truth or os.path.join(run_dir, STREAMING_LABELS_NAME)}
    for name, path in paths.items():
        if not os.path.exists(path):
            raise UserError(f"--{name}: {path} not found (freeze --tflite_dir=RUN/export or "
                            "export_kws writes the model, generate_streaming_test_wav "
                            "--train_dir=RUN the wav and ground truth)")
        require_file(path, f"--{name} file")
    return paths["graph"], labels, paths["wav"], paths["ground_truth"]


def main(argv):
    del argv
    graph, labels, wav, ground_truth_path = _inputs()
    ground_truth = accuracy_utils.read_ground_truth_file(ground_truth_path)
    model = classifier.Classifier(graph, (FLAGS.input_data_name, FLAGS.input_rate_name),
                                  FLAGS.output_name)
    sample_rate = int(round(model.clip_samples * 1000 / FLAGS.clip_duration_ms))
    waveform = audio.load(wav, sample_rate)
    times, scores = detection.sliding_window_scores(model, waveform, sample_rate,
                                                    FLAGS.clip_stride_ms)
    if scores.shape[1] != len(labels):
        raise UserError(f"{graph} gives {scores.shape[1]} scores but there are {len(labels)} "
                        "labels")
    rules = detection.DetectionSettings(FLAGS.average_window_ms, FLAGS.detection_threshold,
                                        FLAGS.suppression_ms, FLAGS.minimum_count,
                                        FLAGS.time_tolerance_ms)
    found = detection.detect(labels, times, scores, rules)
    if FLAGS.verbose:
        running = accuracy_utils.StreamingAccuracyStats(ground_truth=ground_truth)
        found_so_far = []
        for label, time_ms, score in found:
            found_so_far.append((label, time_ms))
            running.calculate_accuracy_stats(found_so_far, time_ms, rules.time_tolerance_ms)
            logging.info("%dms: %s: %f %s", time_ms, label, score, running.delta())
            logging.info("%s", running.summary())
    stats = accuracy_utils.calculate_accuracy_stats(
        ground_truth, [(label, time_ms) for label, time_ms, _ in found], -1,
        rules.time_tolerance_ms)
    print(stats.summary())
    logging.info("%s", stats.summary())
    if FLAGS.roc_png:
        thresholds = np.array([float(t) for t in FLAGS.roc_thresholds])
        duration_s = waveform.size / sample_rate
        rates, false_per_hour = detection.roc(labels, times, scores, ground_truth,
                                              rules, thresholds, duration_s)
        plots.roc_curve(thresholds, rates, false_per_hour,
                        f"{os.path.basename(graph)} on {os.path.basename(wav)} "
                        f"({duration_s:.0f} s, window {rules.average_window_ms:.0f} ms)",
                        FLAGS.roc_png)
        for threshold, rate, per_hour in zip(thresholds, rates, false_per_hour):
            logging.info("threshold %.2f: %.1f%% correct, %.1f false positives/hour", threshold,
                         rate * 100, per_hour)
        logging.info("Saved ROC curve to %s", FLAGS.roc_png)


if __name__ == "__main__":
    define_flags()
    cli.run(main)
