r"""Spots keywords in a recording or a live stream, 80 ms at a time.

    python -m speech_commands.listen --model=/tmp/kws_model --input=stream.wav
    arecord -f S16_LE -r 16000 -c 1 -t raw | python -m speech_commands.listen --model=DIR --input=-

`--model` is a folder written by `speech_commands.export_kws` (it holds
`streaming_kws.tflite` and `conv_actions_labels.txt`). Each 1280-sample hop runs the
streaming TFLite model once (new embedding frames only, then the head on the ring of the last
16 embeddings); `RecognizeCommands` smooths the scores. Every new command is printed as

    2.975 s  yes  (score 0.93)

with the time of the start of the last second of audio it was heard in (near the word's
start). `--input=-` reads raw 16-bit little-endian mono PCM at 16 kHz from stdin and prints
as it goes; a file is decoded (any format `earshot.audio` reads, resampled to 16 kHz).
"""

from __future__ import annotations

import os
import sys
from typing import BinaryIO, Iterator

import numpy as np
from absl import app, flags, logging

from earshot import audio
from speech_commands import export, recognize_commands, spotter

FLAGS = flags.FLAGS
STREAMING_MODEL_NAME = "streaming_kws.tflite"
SAMPLE_RATE = 16000
READ_SAMPLES = 4 * spotter.HOP_SAMPLES  # stdin is read 320 ms at a time
INT16_SCALE = 32768.0


def define_flags() -> None:
    flags.DEFINE_string("model", None, "Folder with streaming_kws.tflite and "
                        "conv_actions_labels.txt (from speech_commands.export_kws).")
    flags.DEFINE_string("input", None, "Audio file, or '-' for raw 16-bit 16 kHz mono PCM on stdin.")
    flags.DEFINE_float("average_window_ms", 500, "Scores are averaged over this long.")
    flags.DEFINE_float("detection_threshold", 0.7, "Averaged score a command needs.")
    flags.DEFINE_float("suppression_ms", 1500, "No new command for this long after one.")
    flags.DEFINE_integer("minimum_count", 3, "Scores a window needs before it is trusted.")
    flags.DEFINE_integer("num_threads", 1, "TFLite interpreter threads.")
    flags.mark_flags_as_required(["model", "input"])


def model_paths(model_dir: str) -> tuple[str, str]:
    """(streaming model, labels) in an `export_kws` folder; a clear error if missing."""
    paths = (os.path.join(model_dir, STREAMING_MODEL_NAME),
             os.path.join(model_dir, export.TFLITE_LABELS_NAME))
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found: --model must be a folder written by "
                                    "`python -m speech_commands.export_kws`")
    return paths


def pcm_chunks(stream: BinaryIO, samples: int = READ_SAMPLES) -> Iterator[np.ndarray]:
    """float32 chunks in [-1, 1) from raw int16 little-endian PCM, until end of stream."""
    leftover = b""
    while True:
        data = stream.read(samples * 2)
        if not data:
            return
        data = leftover + data
        usable = len(data) - len(data) % 2
        leftover = data[usable:]
        yield np.frombuffer(data[:usable], "<i2").astype(np.float32) / INT16_SCALE


def listen(stream: spotter.TFLiteStream, labels: list[str], chunks: Iterator[np.ndarray],
           recognizer: recognize_commands.RecognizeCommands) -> Iterator[tuple[str, int, float]]:
    """Yields (label, time_ms, score) for every new non-silence command, as audio arrives."""
    for chunk in chunks:
        for time_ms, scores in stream.push(chunk):
            if scores.shape[0] != len(labels):
                raise ValueError(f"the model gives {scores.shape[0]} scores but the labels file "
                                 f"has {len(labels)} labels")
            result = recognizer.process_latest_result(scores, time_ms)
            if (result.is_new_command and
                    result.founded_command != recognize_commands.SILENCE_LABEL):
                yield result.founded_command, time_ms, float(result.score)


def file_chunks(path: str) -> Iterator[np.ndarray]:
    waveform = audio.load(path, SAMPLE_RATE)
    for start in range(0, waveform.size, READ_SAMPLES):
        yield waveform[start:start + READ_SAMPLES]


def main(argv):
    del argv
    model_path, labels_path = model_paths(FLAGS.model)
    labels = export.read_labels(labels_path)
    stream = spotter.TFLiteStream(model_path, num_threads=FLAGS.num_threads)
    recognizer = recognize_commands.RecognizeCommands(
        labels, FLAGS.average_window_ms, FLAGS.detection_threshold, FLAGS.suppression_ms,
        FLAGS.minimum_count)
    chunks = pcm_chunks(sys.stdin.buffer) if FLAGS.input == "-" else file_chunks(FLAGS.input)
    count = 0
    for label, time_ms, score in listen(stream, labels, chunks, recognizer):
        print(f"{time_ms / 1000:8.3f} s  {label}  (score {score:.2f})", flush=True)
        count += 1
    logging.info("%d commands in %.1f s of audio", count,
                 stream.hop * spotter.HOP_SAMPLES / SAMPLE_RATE)


if __name__ == "__main__":
    define_flags()
    app.run(main)
