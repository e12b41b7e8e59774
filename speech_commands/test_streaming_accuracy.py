r"""Runs a model over a long recording and scores its detections against the labels.

    python -m speech_commands.test_streaming_accuracy --wav=/tmp/streaming_test.wav \
        --ground_truth=/tmp/streaming_test_labels.txt --graph=/tmp/my_frozen_graph.pb \
        --labels=/tmp/speech_commands_train/conv_labels.txt --roc_png=/tmp/roc.png

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
from absl import app, flags, logging

from earshot import audio
from speech_commands import accuracy_utils, export, plots, streaming

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("wav", None, "The wave file path to evaluate.")
    flags.DEFINE_string("graph", None, "Model to use: frozen graph (.pb) or .tflite.")
    flags.DEFINE_string("labels", None, "Path to file containing labels.")
    flags.DEFINE_string("ground_truth", None, "Path to file containing `<word>, <time in ms>` "
                        "lines.")
    flags.DEFINE_string("input_data_name", "decoded_sample_data:0", "Audio input tensor.")
    flags.DEFINE_string("input_rate_name", "decoded_sample_data:1", "Sample rate input tensor.")
    flags.DEFINE_string("output_name", "labels_softmax:0", "Output tensor.")
    flags.DEFINE_integer("clip_duration_ms", 1000, "Length of each audio clip fed into the model.")
    flags.DEFINE_float("clip_stride_ms", 30, "How often to run recognition.")
    flags.DEFINE_float("average_window_ms", 500, "Length of the window to smooth results over.")
    flags.DEFINE_float("time_tolerance_ms", 750, "Maximum gap allowed between a recognition "
                       "and its ground truth.")
    flags.DEFINE_float("suppression_ms", 1500, "How long to ignore recognitions after one has "
                       "triggered.")
    flags.DEFINE_float("detection_threshold", 0.7, "What score is required to trigger "
                       "recognition.")
    flags.DEFINE_integer("minimum_count", 3, "How many results must be averaged before one "
                         "counts.")
    flags.DEFINE_bool("verbose", False, "Log every detection with its verdict.")
    flags.DEFINE_string("roc_png", "", "If set, write the ROC curve over --roc_thresholds here.")
    flags.DEFINE_list("roc_thresholds", [str(t) for t in np.round(np.arange(0.1, 1.0, 0.05), 2)],
                      "Detection thresholds of the ROC curve.")


def main(argv):
    del argv
    labels = export.read_labels(FLAGS.labels)
    ground_truth = accuracy_utils.read_ground_truth_file(FLAGS.ground_truth)
    classifier = export.Classifier(FLAGS.graph, (FLAGS.input_data_name, FLAGS.input_rate_name),
                                   FLAGS.output_name)
    sample_rate = int(round(classifier.clip_samples * 1000 / FLAGS.clip_duration_ms))
    waveform = audio.load(FLAGS.wav, sample_rate)
    times, scores = streaming.stream_scores(classifier, waveform, sample_rate,
                                            FLAGS.clip_stride_ms)
    if scores.shape[1] != len(labels):
        raise ValueError(f"{FLAGS.graph} gives {scores.shape[1]} scores but {FLAGS.labels} has "
                         f"{len(labels)} labels")
    settings = streaming.DetectionSettings(FLAGS.average_window_ms, FLAGS.detection_threshold,
                                           FLAGS.suppression_ms, FLAGS.minimum_count,
                                           FLAGS.time_tolerance_ms)
    found = streaming.detect(labels, times, scores, settings)
    if FLAGS.verbose:
        found_so_far = []
        for label, time_ms, score in found:
            found_so_far.append((label, time_ms))
            before = accuracy_utils.calculate_accuracy_stats(ground_truth, found_so_far[:-1],
                                                             time_ms, settings.time_tolerance_ms)
            after = accuracy_utils.calculate_accuracy_stats(ground_truth, found_so_far, time_ms,
                                                            settings.time_tolerance_ms)
            if after.how_many_correct_words > before.how_many_correct_words:
                verdict = "Correct"
            elif after.how_many_wrong_words > before.how_many_wrong_words:
                verdict = "Wrong"
            else:
                verdict = "False Positive"
            logging.info("%dms: %s: %f (%s)", time_ms, label, score, verdict)
            logging.info("%s", after.summary())
    stats = accuracy_utils.calculate_accuracy_stats(
        ground_truth, [(label, time_ms) for label, time_ms, _ in found], -1,
        settings.time_tolerance_ms)
    print(stats.summary())
    logging.info("%s", stats.summary())
    if FLAGS.roc_png:
        thresholds = np.array([float(t) for t in FLAGS.roc_thresholds])
        duration_s = waveform.size / sample_rate
        rates, false_per_hour = streaming.roc(labels, times, scores, ground_truth, settings,
                                              thresholds, duration_s)
        plots.roc_curve(thresholds, rates, false_per_hour,
                        f"{os.path.basename(FLAGS.graph)} on {os.path.basename(FLAGS.wav)} "
                        f"({duration_s:.0f} s, window {settings.average_window_ms:.0f} ms)",
                        FLAGS.roc_png)
        for threshold, rate, per_hour in zip(thresholds, rates, false_per_hour):
            logging.info("threshold %.2f: %.1f%% correct, %.1f false positives/hour", threshold,
                         rate * 100, per_hour)
        logging.info("Saved ROC curve to %s", FLAGS.roc_png)


if __name__ == "__main__":
    define_flags()
    for required in ("wav", "graph", "labels", "ground_truth"):
        flags.mark_flag_as_required(required)
    app.run(main)
