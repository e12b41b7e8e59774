"""`Detector`: a wake-word model folder as one object, without TensorFlow.

    import wakeword
    detector = wakeword.Detector("model")           # a folder written by wakeword.train
    for found in detector.process(pcm):             # float32 16 kHz audio, or int16 PCM
        print(f"{found.time_s:.2f} s {found.phrase} ({found.score:.2f})")

`push` takes a live stream in pieces of any length and returns the detections they complete;
`process` is one whole recording. The streaming model runs on LiteRT (`runtime`), and the
manifest's threshold, smoothing and refractory time turn its scores into detections
(`detect.Trigger`), as `listen` does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from earshot import streaming
from wakeword import detect, runtime


class Detection(NamedTuple):
    """A detection: the phrase, when the hop that fired ends (seconds and samples from the
    start of the stream) and its smoothed score."""

    phrase: str
    time_s: float
    end_sample: int
    score: float


class Detector:
    """The wake phrase in audio at the model's rate (`manifest.sample_rate`, 16 kHz).

    Args:
      model_dir: a folder written by `python -m wakeword.train`.
      num_threads: LiteRT interpreter threads.

    Raises:
      runtime.ModelFolderError: `model_dir` holds no wake-word model.
    """

    def __init__(self, model_dir: str, num_threads: int | None = 1):
        self.stream = runtime.WakeWordStream(model_dir, num_threads=num_threads)
        self.manifest = self.stream.manifest
        self.reset()

    def reset(self) -> None:
        """Back to the start of a stream."""
        self.stream.reset()
        self._trigger = detect.Trigger(detect.Detector(
            self.manifest.threshold, self.manifest.smoothing_hops, self.manifest.refractory_s))

    def push(self, pcm: np.ndarray) -> list[Detection]:
        """The detections of the hops `pcm` completes (any length; the rest waits)."""
        found = []
        first = self.stream.hop
        for index, score in enumerate(self.stream.push(streaming.float_samples(pcm))):
            if self._trigger.update(score):
                end = (first + index + 1) * self.manifest.hop_samples
                found.append(Detection(self.manifest.phrase, end / self.manifest.sample_rate,
                                       end, self._trigger.smoothed))
        return found

    def process(self, pcm: np.ndarray, name: str = "audio") -> list[Detection]:
        """The detections of one whole recording (a new stream).

        Raises:
          earshot.audio.AudioError: the recording (`name`) ends before the first score.
        """
        self.reset()
        found = self.push(pcm)
        self.stream.check_scored(name)
        return found
