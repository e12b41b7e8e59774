"""CPU time per 80 ms hop: `speech_commands.listen`'s streaming model vs openWakeWord's way.

Both process the same synthesized speech hop by hop (1280 new samples per hop) with the same
number of threads, in the same run:
- earshot: `streaming_kws.tflite` on LiteRT (what `listen` runs): the new
  log-mel frames, the embedding's convs on the new frames only (state in, state out), the
  ring of the last 16 embeddings, and the head;
- openWakeWord 0.5.1's streaming loop on onnxruntime: `melspectrogram.onnx` on the last 1760
  samples (8 new frames), then one 76-frame window through `embedding_model.onnx`, per hop
  (its head, a small dense model, is not counted, which favours openWakeWord).

CPU time is process time (`time.process_time`) over all hops, divided by the hop count.

    python -m benchmarks.streaming [--threads=1] [--seconds=60] [--model_dir=DIR]

Without `--model_dir` the streaming model is built from the pretrained embedding and an
untrained 12-label head (same compute as a trained one).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from absl import flags

from benchmarks import hop_timing, openwakeword
from earshot import cli
from speech_commands import architectures, spotter_runtime, streaming_spotter
from speech_commands.settings import TrainConfig

FLAGS = flags.FLAGS

OWW_MEL_SAMPLES = 1760  # 1280 new samples + 480 of context give 8 new mel frames


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
    if FLAGS.model_dir:
        return spotter_runtime.model_paths(FLAGS.model_dir)[0]
    settings = architectures.settings_for(TrainConfig(
        model_architecture="embedding_head", wanted_words=",".join(["word"] * 10)))
    path = os.path.join(directory, spotter_runtime.STREAMING_MODEL_NAME)
    return streaming_spotter.write_streaming_model(
        architectures.build_model(settings, "embedding_head"), settings, path)


def main(argv: list[str]) -> None:
    del argv
    waveform = hop_timing.speech("yes no up down left right on off stop go", FLAGS.seconds)
    with tempfile.TemporaryDirectory() as directory:
        stream = spotter_runtime.SpotterStream(_streaming_model(directory),
                                               num_threads=FLAGS.threads)
        hop_samples = stream.timing.hop_samples
        hops = waveform[:waveform.size // hop_samples * hop_samples].reshape(-1, hop_samples)
        ours = hop_timing.cpu_ms_per_hop(stream.step, hops)
    theirs = hop_timing.cpu_ms_per_hop(OpenWakeWordStream(FLAGS.threads).hop, hops)
    print(f"{len(hops)} hops of 80 ms, {FLAGS.threads} thread(s), CPU time per hop:")
    print(f"  earshot listen (streaming TFLite, embedding + head): {ours:.3f} ms")
    print(f"  openWakeWord (melspectrogram.onnx + embedding_model.onnx): {theirs:.3f} ms")
    print(f"  ratio earshot / openWakeWord: {ours / theirs:.3f} (target <= 0.333)")


if __name__ == "__main__":
    flags.DEFINE_integer("threads", 1, "CPU threads for both (TFLite, onnxruntime intra-op).")
    flags.DEFINE_float("seconds", 60.0, "Audio streamed through each, in seconds.")
    flags.DEFINE_string("model_dir", "", "An export_kws folder (or the run folder it exported "
                        "into); default: an untrained head.")
    cli.run(main)
