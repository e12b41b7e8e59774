r"""Front-end speed: speaker_embedding.features.fbank vs the reference python_speech_features.

    python -m benchmarks.speaker_embedding [--utterances=200] [--seconds=3] [--repeats=3]

The public Deep Speaker re-implementations compute `python_speech_features.fbank(nfilt=64)`
and then normalise every frame in a Python loop. Both run here on the same waveforms, in the
same process and thread, and must agree (checked) before their times are compared.
"""

from __future__ import annotations

import os

# Both sides single-threaded, so the ratio does not depend on the BLAS thread pool.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import time  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
from absl import flags  # noqa: E402
from python_speech_features import base as psf  # noqa: E402

from earshot import cli  # noqa: E402
from speaker_embedding import features  # noqa: E402

FLAGS = flags.FLAGS



def reference_fbank(waveform: np.ndarray) -> np.ndarray:
    """What the reference pipelines run (philipperemy `read_mfcc` minus its silence trim)."""
    energies, _ = psf.fbank(waveform, samplerate=features.SAMPLE_RATE, nfilt=features.NUM_FBANKS,
                            winlen=features.WINDOW_SECONDS)
    return np.array([(v - np.mean(v)) / max(np.std(v), 1e-12) for v in energies])


def best_time(fn: Callable[[np.ndarray], np.ndarray], waveforms: list[np.ndarray],
              repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for waveform in waveforms:
            fn(waveform)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv) -> None:
    del argv
    rng = np.random.default_rng(0)
    length = int(FLAGS.seconds * features.SAMPLE_RATE)
    count = FLAGS.utterances
    waveforms = [rng.uniform(-0.5, 0.5, length).astype(np.float32) for _ in range(count)]
    difference = max(float(np.abs(features.fbank(w) - reference_fbank(w)).max())
                     for w in waveforms[:5])
    ours = best_time(features.fbank, waveforms, FLAGS.repeats)
    reference = best_time(reference_fbank, waveforms, FLAGS.repeats)
    audio_seconds = count * FLAGS.seconds
    print(f"{count} x {FLAGS.seconds:g} s waveforms, 1 thread, best of {FLAGS.repeats}; "
          f"max |difference| {difference:.2e}")
    print(f"speaker_embedding.features.fbank: {ours:.3f} s "
          f"({audio_seconds / ours:,.0f}x real time)")
    print(f"python_speech_features + per-frame loop: {reference:.3f} s "
          f"({audio_seconds / reference:,.0f}x real time)")
    print(f"speed-up: {reference / ours:.2f}x")


if __name__ == "__main__":
    flags.DEFINE_integer("utterances", 200, "Waveforms to process.")
    flags.DEFINE_float("seconds", 3.0, "Length of each waveform.")
    flags.DEFINE_integer("repeats", 3, "Timed passes; the best is reported.")
    cli.run(main)
