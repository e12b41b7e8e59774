"""Throughput of speech_embedding against openWakeWord's published pipeline, same run.

Both embed the same 60 s of 16 kHz audio with the same number of CPU threads:
- earshot: `speech_embedding.embed(waveform)`, one fully convolutional pass of the Keras model
  (front end included) over the clip;
- openWakeWord 0.5.1: `melspectrogram.onnx` over the clip, then `embedding_model.onnx` on
  every 76-frame window at stride 8, all windows in one batch (its `embed_clips` way), on
  onnxruntime; both ONNX files come from the same wheel the weights are converted from.

Prints audio seconds embedded per wall-clock second for each and the ratio.

    python -m benchmarks.speech_embedding [--threads=1] [--seconds=60] [--repeats=5]
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf
from absl import flags

import speech_embedding
from benchmarks import openwakeword
from earshot import cli, tts
from earshot.audio import SAMPLE_RATE
from speech_embedding import pretrained

FLAGS = flags.FLAGS



def _speech(seconds: float) -> np.ndarray:
    """Synthesized speech, repeated to `seconds` seconds, float32 in [-1, 1] at 16 kHz."""
    phrase = tts.speak("set a timer for ten minutes and then turn on the kitchen lights",
                       tts.speakers(1)[0])
    repeats = int(np.ceil(seconds * SAMPLE_RATE / phrase.size))
    return np.tile(phrase, repeats)[:int(seconds * SAMPLE_RATE)]


def _median_seconds(run, repeats: int) -> float:
    run()  # warm-up: tracing, allocation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


class OpenWakeWord:
    """openWakeWord's batch feature pipeline on onnxruntime."""

    def __init__(self, threads: int):
        self.melspec, self.embedding = openwakeword.sessions(threads)

    def __call__(self, waveform: np.ndarray) -> np.ndarray:
        # openWakeWord feeds int16-valued floats and rescales the dB mel by x/10 + 2.
        samples = (waveform * 32767).astype(np.int16).astype(np.float32)[np.newaxis]
        mel = self.melspec.run(None, {self.melspec.get_inputs()[0].name: samples})[0]
        mel = np.squeeze(mel) / 10 + 2
        starts = range(0, mel.shape[0] - openwakeword.WINDOW_FRAMES + 1, openwakeword.HOP_FRAMES)
        windows = np.stack([mel[s:s + openwakeword.WINDOW_FRAMES] for s in starts])[..., np.newaxis]
        return self.embedding.run(None, {self.embedding.get_inputs()[0].name: windows})[0]


def main(argv: list[str]) -> None:
    del argv
    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    pretrained.fetch()
    waveform = _speech(FLAGS.seconds)

    ours = speech_embedding.embed(waveform)
    oww = OpenWakeWord(FLAGS.threads)
    theirs = oww(waveform)

    earshot_s = _median_seconds(lambda: speech_embedding.embed(waveform), FLAGS.repeats)
    oww_s = _median_seconds(lambda: oww(waveform), FLAGS.repeats)
    earshot_rate, oww_rate = FLAGS.seconds / earshot_s, FLAGS.seconds / oww_s
    print(f"audio: {FLAGS.seconds:.0f} s, threads: {FLAGS.threads}, "
          f"embeddings: earshot {ours.shape[0]}, openWakeWord {theirs.shape[0]}")
    print(f"earshot speech_embedding (one fully convolutional pass): "
          f"{earshot_rate:,.0f} audio s / wall s ({earshot_s * 1000:.1f} ms)")
    print(f"openWakeWord 0.5.1 (onnxruntime, 76-frame windows at stride 8): "
          f"{oww_rate:,.0f} audio s / wall s ({oww_s * 1000:.1f} ms)")
    print(f"ratio earshot / openWakeWord: {earshot_rate / oww_rate:.2f}x")


if __name__ == "__main__":
    flags.DEFINE_integer("threads", 1,
                         "CPU threads for both (TF intra/inter-op, onnxruntime intra-op).")
    flags.DEFINE_float("seconds", 60.0, "Length of the benchmark clip, in seconds.")
    flags.DEFINE_integer("repeats", 5, "Timed runs of each; the median is reported.")
    cli.run(main)
