"""CPU time per 80 ms hop: `speech_commands.listen`'s streaming model vs openWakeWord's way.

Both process the same synthesized speech hop by hop (1280 new samples per hop) with the same
number of threads, in the same run:
- earshot: `streaming_kws.tflite` on the TFLite interpreter (what `listen` runs): the new
  log-mel frames, the embedding's convs on the new frames only (state in, state out), the
  ring of the last 16 embeddings, and the head;
- openWakeWord 0.5.1's streaming loop on onnxruntime: `melspectrogram.onnx` on the last 1760
  samples (8 new frames), then one 76-frame window through `embedding_model.onnx`, per hop
  (its head, a small dense model, is not counted, which favours openWakeWord).

CPU time is process time (`time.process_time`) over all hops, divided by the hop count.

    python -m benchmarks.streaming [--threads=1] [--seconds=60] [--model=DIR]

Without `--model` the streaming model is built from the pretrained embedding and an
untrained 12-label head (same compute as a trained one).
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
from absl import app, flags

from benchmarks import openwakeword
from earshot import tts
from speech_commands import features, listen, models, spotter
from speech_embedding import weights

FLAGS = flags.FLAGS
flags.DEFINE_integer("threads", 1, "CPU threads for both (TFLite, onnxruntime intra-op).")
flags.DEFINE_float("seconds", 60.0, "Audio streamed through each, in seconds.")
flags.DEFINE_string("model", "", "An export_kws folder; default: an untrained head.")

OWW_MEL_SAMPLES = 1760  # 1280 new samples + 480 of context give 8 new mel frames


def _speech(seconds: float) -> np.ndarray:
    """Synthesized speech repeated to `seconds`, float32 in [-1, 1] at 16 kHz."""
    phrase = tts.speak("yes no up down left right on off stop go", tts.speakers(1)[0])
    return np.tile(phrase, int(np.ceil(seconds * 16000 / phrase.size)))[:int(seconds * 16000)]


class OpenWakeWordStream:
    """openWakeWord's per-hop feature path: streaming melspectrogram + one embedding window."""

    def __init__(self, threads: int):
        self.melspec, self.embedding = openwakeword.sessions(threads)
        self.mel_input = self.melspec.get_inputs()[0].name
        self.embedding_input = self.embedding.get_inputs()[0].name
        self.audio = np.zeros(OWW_MEL_SAMPLES, np.float32)
        self.mel = np.ones((openwakeword.WINDOW_FRAMES, 32), np.float32)

    def hop(self, samples: np.ndarray) -> np.ndarray:
        self.audio = np.concatenate([self.audio, samples * 32767])[-OWW_MEL_SAMPLES:]
        mel = self.melspec.run(None, {self.mel_input: self.audio[np.newaxis]})[0]
        self.mel = np.concatenate([self.mel, np.squeeze(mel) / 10 + 2])[-openwakeword.WINDOW_FRAMES:]
        window = self.mel[np.newaxis, :, :, np.newaxis]
        return self.embedding.run(None, {self.embedding_input: window})[0]


def _streaming_model(directory: str) -> str:
    if FLAGS.model:
        return listen.model_paths(FLAGS.model)[0]
    settings = features.prepare_model_settings(12, 16000, 1000, 30, 10, 40, "embedding")
    path = os.path.join(directory, "streaming_kws.tflite")
    with open(path, "wb") as out:
        out.write(spotter.to_tflite(features.embedding_model(),
                                    models.create_model(settings, "embedding_head")))
    return path


def _cpu_ms_per_hop(step, hops: np.ndarray) -> float:
    for hop in hops[:25]:  # warm-up
        step(hop)
    start = time.process_time()
    for hop in hops:
        step(hop)
    return (time.process_time() - start) * 1000 / len(hops)


def main(argv: list[str]) -> None:
    del argv
    weights.fetch()
    waveform = _speech(FLAGS.seconds)
    hops = waveform[:waveform.size // spotter.HOP_SAMPLES * spotter.HOP_SAMPLES].reshape(
        -1, spotter.HOP_SAMPLES)
    with tempfile.TemporaryDirectory() as directory:
        stream = spotter.TFLiteStream(_streaming_model(directory), num_threads=FLAGS.threads)
        ours = _cpu_ms_per_hop(stream.step, hops)
    theirs = _cpu_ms_per_hop(OpenWakeWordStream(FLAGS.threads).hop, hops)
    print(f"{len(hops)} hops of 80 ms, {FLAGS.threads} thread(s), CPU time per hop:")
    print(f"  earshot listen (streaming TFLite, embedding + head): {ours:.3f} ms")
    print(f"  openWakeWord (melspectrogram.onnx + embedding_model.onnx): {theirs:.3f} ms")
    print(f"  ratio earshot / openWakeWord: {ours / theirs:.3f} (target <= 0.333)")


if __name__ == "__main__":
    app.run(main)
