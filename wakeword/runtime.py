"""Runs an exported wake-word model hop by hop with LiteRT, without TensorFlow.

A model folder (written by `wakeword.train`) holds `wakeword.tflite`, the streaming step
(inputs `samples` [1280] and the states; outputs `score` [1] and the new states), and
`manifest.json`, what a device needs to act on the scores (`Manifest`). `WakeWordStream`
feeds any number of samples at a time and returns one score per completed 80 ms hop
(`earshot.streaming` drives the model and reads the audio for it).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from earshot import streaming
from earshot.errors import UserError

MODEL_NAME = "wakeword.tflite"
MANIFEST_NAME = "manifest.json"
SCORE = "score"
MANIFEST_VERSION = 1


class ModelFolderError(UserError, ValueError):
    """A --model_dir folder that does not hold a wake-word model."""


@dataclasses.dataclass(frozen=True)
class Manifest(streaming.Sidecar):
    """How to use the model's scores, in the spirit of microWakeWord's ESPHome manifest.

    Attributes:
      phrase: the wake phrase.
      threshold: smoothed score that fires a detection (calibrated to
        `target_fa_per_hour` on held-out negative audio).
      smoothing_hops: scores are averaged over the last this many hops.
      refractory_s: no new detection for this long after one.
      sample_rate, hop_samples: the audio the model takes, per step.
      first_scored_hop: scores of earlier hops are 0 (the window is not full yet).
      target_fa_per_hour: what the threshold was calibrated for.
      model: the streaming TFLite file, relative to the manifest.
      head_branches: branches averaged in the head (`wakeword.model.build_head`), for tools
        that score offline with `head.weights.h5`; 1 in folders written before there were more.
    """

    phrase: str
    threshold: float
    smoothing_hops: int
    refractory_s: float
    sample_rate: int
    hop_samples: int
    first_scored_hop: int
    target_fa_per_hour: float
    model: str = MODEL_NAME
    version: int = MANIFEST_VERSION
    head_branches: int = 1

    @classmethod
    def read(cls, folder: str) -> "Manifest":
        problem = f"no {MANIFEST_NAME}" if os.path.isdir(folder) else "no such folder"
        return cls.read_file(os.path.join(folder, MANIFEST_NAME), ModelFolderError, "manifest",
                             missing=f"{folder}: {problem}; --model_dir must be a folder written "
                             "by `python -m wakeword.train`")


class WakeWordStream(streaming.HopStream):
    """Drives the streaming model: `push(samples)` -> scores of the hops they complete."""

    def __init__(self, folder: str, num_threads: int | None = 1):
        self.manifest = Manifest.read(folder)
        path = os.path.join(folder, self.manifest.model)
        try:
            runner = streaming.load_runner(path, num_threads=num_threads)
        except (ValueError, FileNotFoundError) as error:
            raise ModelFolderError(f"{path}: not a wake-word model ({error})") from error
        super().__init__(runner, self.manifest.hop_samples, self.manifest.first_scored_hop,
                         self.manifest.sample_rate)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """float32 scores `[k]` of the k hops completed by `samples` (any length)."""
        return np.array([float(outputs[SCORE][0]) for _, outputs in self.run(samples)],
                        np.float32)
