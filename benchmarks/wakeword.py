"""CPU time per 80 ms hop: a `wakeword` model's stream vs openWakeWord's `hey_jarvis_v0.1` stream.

Both take the same synthesized speech hop by hop (1280 new samples per hop), one thread each,
in the same run, and both include everything from samples to the wake-word score:
- earshot: `wakeword.tflite` on LiteRT (what `wakeword.listen` and `wakeword.score` run): the
  new log-mel frames, the embedding's convs on the new frames only, the ring of the last 16
  embeddings, and the head;
- openWakeWord 0.5.1 as it streams (`wakeword.openwakeword.OpenWakeWordStream`, onnxruntime):
  `melspectrogram.onnx` on the last 1760 samples, one 76-frame window through
  `embedding_model.onnx`, and `hey_jarvis_v0.1.onnx` on the last 16 embeddings.

CPU time is process time over all hops divided by the hop count.

    python -m benchmarks.wakeword [--model_dir=DIR] [--seconds=60]

Without `--model_dir` the stream is built from the pretrained embedding and an untrained head
(the same compute as a trained one).
"""

from __future__ import annotations

import tempfile

from absl import flags

from benchmarks import hop_timing
from earshot import cli
from earshot.audio import SAMPLE_RATE
from wakeword import openwakeword, runtime

FLAGS = flags.FLAGS


def _untrained_model(directory: str) -> str:
    import speech_embedding
    from wakeword import model as model_lib
    head = model_lib.build_head()
    content = model_lib.streaming_step(speech_embedding.load(), head).to_tflite()
    with open(f"{directory}/{runtime.MODEL_NAME}", "wb") as out:
        out.write(content)
    runtime.Manifest("benchmark", 0.5, 1, 2.0, SAMPLE_RATE, 1280, 24, 0.5).write(
        f"{directory}/{runtime.MANIFEST_NAME}")
    return directory


def main(argv: list[str]) -> None:
    del argv
    waveform = hop_timing.speech("hey jarvis, what is the weather like today", FLAGS.seconds)
    hops = waveform[:waveform.size // 1280 * 1280].reshape(-1, 1280)
    with tempfile.TemporaryDirectory() as directory:
        stream = runtime.WakeWordStream(FLAGS.model_dir or _untrained_model(directory),
                                        num_threads=1)
        ours = hop_timing.cpu_ms_per_hop(stream.push, hops)
    theirs = hop_timing.cpu_ms_per_hop(openwakeword.OpenWakeWordStream("hey_jarvis_v0.1").push,
                                       hops)
    print(f"{len(hops)} hops of 80 ms, 1 thread, CPU time per hop, samples to score:")
    print(f"  earshot wakeword (streaming TFLite: new frames, embedding, ring, head): {ours:.3f} ms")
    print(f"  openWakeWord hey_jarvis_v0.1 (mel + embedding window + model, onnxruntime): "
          f"{theirs:.3f} ms")
    print(f"  ratio earshot / openWakeWord: {ours / theirs:.3f}")


if __name__ == "__main__":
    flags.DEFINE_string("model_dir", "", "A wakeword.train folder; default: an untrained head.")
    flags.DEFINE_float("seconds", 60.0, "Audio streamed through each, in seconds.")
    cli.run(main)
