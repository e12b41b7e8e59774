"""Training-batch throughput: earshot's batched pipeline vs the reference's per-clip graph.

The reference builds each training batch by running its processing graph once per clip
(read file, decode, shift, mix noise, AudioSpectrogram, Mfcc). earshot decodes each clip once,
augments the batch in NumPy and featurizes it in a single op call. Both produce the same
fingerprints (tests/test_speech_commands_data.py); this prints how long a batch of 100 takes.

    python -m benchmarks.speech_commands [--data_dir=DIR] [--threads=2] [--batches=10]

Without --data_dir a small dataset is synthesized into a temporary folder first.
"""

import os
import tempfile
import time

import numpy as np
import tensorflow as tf
from absl import flags

from earshot import cli
from speech_commands import architectures, batches, clip_graph, dataset, synthetic_dataset
from speech_commands.settings import TrainConfig

FLAGS = flags.FLAGS

BATCH = 100
TIME_SHIFT = 1600


def reference_batch_fn(settings, background):
    """One clip through the reference's processing graph, as a session.run per clip."""

    @tf.function(input_signature=[
        tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.float32),
        tf.TensorSpec([2, 2], tf.int32), tf.TensorSpec([2], tf.int32),
        tf.TensorSpec([settings.desired_samples, 1], tf.float32),
        tf.TensorSpec([], tf.float32)])
    def one_clip(path, volume, padding, offset, noise, noise_volume):
        fingerprint = clip_graph.process_clip(settings, path, volume, padding, offset, noise,
                                              noise_volume)
        return tf.reshape(fingerprint, [-1])

    def batch(entries, rng):
        rows = []
        for entry in (entries[i] for i in rng.integers(len(entries), size=BATCH)):
            shift = int(rng.integers(-TIME_SHIFT, TIME_SHIFT))
            padding = [[max(shift, 0), max(-shift, 0)], [0, 0]]
            offset = [max(-shift, 0), 0]
            noise = background[int(rng.integers(len(background)))]
            start = int(rng.integers(0, len(noise) - settings.desired_samples))
            rows.append(one_clip(
                tf.constant(entry["file"]),
                tf.constant(0.0 if entry["label"] == "_silence_" else 1.0),
                tf.constant(padding, tf.int32), tf.constant(offset, tf.int32),
                tf.constant(noise[start:start + settings.desired_samples, None]),
                tf.constant(rng.uniform(0, 0.1), tf.float32)))
        return np.stack([r.numpy() for r in rows])

    return batch


def seconds_per_batch(make_batch) -> float:
    make_batch()  # Warm-up: tracing, file cache.
    start = time.perf_counter()
    for _ in range(FLAGS.batches):
        make_batch()
    return (time.perf_counter() - start) / FLAGS.batches


def main(argv):
    del argv
    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
    tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    data_dir = FLAGS.data_dir
    if not data_dir:
        data_dir = os.path.join(tempfile.mkdtemp(), "speech")
        synthetic_dataset.synthesize(data_dir, ["yes", "no", "up", "down"], ["cat", "dog"],
                                     speakers=20, background_seconds=10.0)
    words = ["yes", "no", "up", "down"]
    settings = architectures.settings_for(TrainConfig(wanted_words=tuple(words)))
    processor = batches.BatchSource.from_folder(
        settings, data_dir, dataset.SplitSettings(10, 10, tuple(words), 10, 10))
    ours = seconds_per_batch(lambda: processor.batch(BATCH, 0, 0.8, 0.1, TIME_SHIFT,
                                                     "training"))
    reference = reference_batch_fn(settings, processor.background_data)
    rng = np.random.default_rng(0)
    theirs = seconds_per_batch(lambda: reference(processor.data_index["training"], rng))
    print(f"threads={FLAGS.threads}, batch={BATCH}, {FLAGS.batches} batches each")
    print(f"earshot batched pipeline : {ours * 1000:8.1f} ms/batch")
    print(f"reference per-clip graph : {theirs * 1000:8.1f} ms/batch")
    print(f"speed-up                 : {theirs / ours:8.1f}x")


if __name__ == "__main__":
    flags.DEFINE_string("data_dir", "", "Speech Commands folder (default: synthesize one).")
    flags.DEFINE_integer("threads", 2, "TF intra- and inter-op threads, the same for both sides.")
    flags.DEFINE_integer("batches", 10, "Batches of 100 to time per side.")
    cli.run(main)
