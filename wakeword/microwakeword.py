"""microWakeWord's pretrained models, run as pymicro-wakeword streams them: the second comparator.

The wheel `pymicro-wakeword==2.5.0` ships the models (`hey_jarvis.tflite` with its ESPHome
manifest `hey_jarvis.json`), the TensorFlow Lite C library they run on, and the streaming
loop; `MicroWakeWordStream` drives the wheel's own `MicroWakeWordFeatures` and
`MicroWakeWord`, nothing re-implemented:

* audio is 16-bit PCM; the front end (pymicro-features' TFLite Micro frontend: 30 ms
  windows, 10 ms step, 40 channels) reads 160 samples at a time and gives its first
  feature frame after 480 samples, then one per 160 samples;
* the model takes every `stride` (3) new frames, int8 `[1, 3, 40]` (scale 0.102, zero
  point -128), keeps its streaming state inside the interpreter, and gives one uint8
  probability (scale 1/256) per 30 ms;
* the wheel averages the last `sliding_window_size` (5 for hey_jarvis) probabilities,
  reports 0 until it has that many, and detects when the mean exceeds
  `probability_cutoff` (0.97 for hey_jarvis).

Hop `h` feeds the wheel samples `[1280 h, 1280 (h + 1))`: every frame and probability of the
hop comes from audio up to `(h + 1) * 80 ms`, as for earshot's scores. The hop's score is the
MAX of the wheel's sliding means computed during it (2 or 3 of them: 8 frames, 3 per step),
so it reaches the cutoff exactly when the wheel fires within the hop. The operating point
(`detector`) is therefore the cutoff on the hop scores with no further smoothing (the
window of 5 is inside the scores). The wheel fires on `mean > cutoff`, `wakeword.detect` on
`>=`: the means are multiples of 1/1280 (five probabilities of step 1/256) and 0.97 is not
one, so both agree. The highest score is 255/256 (0.9961): where more than a target of
false accepts per hour score that, no threshold reaches the target. The wheel has no
refractory time (its command line stops at a file's first detection), so the one of the
other models is applied.
"""

from __future__ import annotations

import json
import os

import numpy as np

from earshot import streaming
from earshot.errors import UserError
from wakeword import detect

VERSION = "2.5.0"
INSTALL_HINT = f'pip install pymicro-wakeword=={VERSION} (or pip install -e ".[wakeword]")'
HOP_SAMPLES = 1280
INT16_SCALE = 32768  # earshot.audio reads int16 PCM as x / 32768: this gives the file's samples


class ComparatorMissing(UserError, FileNotFoundError):
    """The pymicro-wakeword wheel or one of its models is not available."""


def _wheel():
    try:
        import pymicro_wakeword  # the comparator's own runtime (the wakeword extra)
    except ImportError as error:
        raise ComparatorMissing(f"microWakeWord needs the pymicro-wakeword wheel ({error}): "
                                f"{INSTALL_HINT}") from error
    return pymicro_wakeword


def _builtin(model_name: str):
    """The wheel's `Model` of that name, or ComparatorMissing naming the ones it has."""
    models = _wheel().Model
    names = [m.value for m in models]
    if model_name not in names:
        raise ComparatorMissing(f"pymicro-wakeword has no model {model_name!r} (it has "
                                f"{', '.join(names)})")
    return models(model_name)


def manifest(model_name: str = "hey_jarvis") -> dict:
    """The model's ESPHome manifest from the wheel (`micro.probability_cutoff`, ...)."""
    model = _builtin(model_name)
    path = os.path.join(os.path.dirname(_wheel().__file__), "models", f"{model.value}.json")
    with open(path, encoding="utf-8") as manifest_file:
        return json.load(manifest_file)


def detector(model_name: str = "hey_jarvis", refractory_s: float = detect.REFRACTORY_S
             ) -> detect.Detector:
    """microWakeWord's own operating point on `file_scores`: its cutoff, no more smoothing."""
    return detect.Detector(float(manifest(model_name)["micro"]["probability_cutoff"]), 1,
                           refractory_s)


class MicroWakeWordStream:
    """`push(samples float32 in [-1, 1])` -> float32 scores of the 80 ms hops completed."""

    def __init__(self, model_name: str = "hey_jarvis"):
        wheel = _wheel()
        self._model = wheel.MicroWakeWord.from_builtin(_builtin(model_name))
        self._features = wheel.MicroWakeWordFeatures()
        self._hops = streaming.Hops(HOP_SAMPLES)

    @property
    def probability_cutoff(self) -> float:
        return float(self._model.probability_cutoff)

    def reset(self) -> None:
        """A new stream: the wheel reloads the model (its state lives in the interpreter)."""
        self._model.reset()
        self._features.reset()
        self._hops.clear()

    def _hop(self, samples: np.ndarray) -> float:
        pcm = np.clip(np.round(samples * INT16_SCALE), -32768, 32767).astype("<i2")
        means = [self._model.process_streaming_prob(frame)
                 for frame in self._features.process_streaming(pcm.tobytes())]
        return max(means)

    def push(self, samples: np.ndarray) -> np.ndarray:
        return np.array([self._hop(hop) for hop in self._hops.push(samples)], np.float32)


def file_scores(waveform: np.ndarray, model_name: str = "hey_jarvis") -> np.ndarray:
    """float32 `[len(waveform) // 1280]`: one score per 80 ms hop of a 16 kHz waveform in
    [-1, 1], the stream started afresh (the wheel's state cannot be batched over)."""
    return MicroWakeWordStream(model_name).push(waveform)
