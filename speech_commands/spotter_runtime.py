"""Runs an exported streaming keyword spotter hop by hop, without TensorFlow.

`export_kws` writes `streaming_kws.tflite` (the stateful step: inputs `samples` and the
states, outputs `scores` and the new states, see `streaming_spotter`) and beside it
`streaming_kws.json`, the stream's timing (`StreamTiming`). This module drives them with
LiteRT (`earshot.streaming`), so `listen` runs where only ai-edge-litert, numpy, soundfile and
soxr are installed.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from earshot import progress, streaming
from earshot.errors import UserError
from speech_commands import dataset

STREAMING_MODEL_NAME = "streaming_kws.tflite"
TIMING_NAME = "streaming_kws.json"
EXPORT_DIR_NAME = "export"  # export_kws's default output folder inside a run folder
RING_STATE = "embeddings_state"
SCORES = "scores"
RECORDING_CHUNK_HOPS = 16  # a whole recording is pushed this many hops at a time


class SpotterModelError(UserError, ValueError):
    """A file or folder that is not an exported streaming keyword spotter."""


@dataclasses.dataclass(frozen=True)
class StreamTiming(streaming.Sidecar):
    """When the scores of a streaming spotter's hops are valid and what time they stand for.

    Attributes:
      hop_samples: new samples per hop (1280: 80 ms).
      first_full_hop: the first hop whose window holds only audio of the stream (earlier
        hops are not scored).
      window_end_offset: hop `h`'s window ends at sample `h * hop_samples + window_end_offset`.
      clip_duration_ms: the training clip length; a score is stamped with the start of the
        last `clip_duration_ms` of its window, as the reference's streaming tools do.
      sample_rate: Hz.
    """

    hop_samples: int
    first_full_hop: int
    window_end_offset: int
    clip_duration_ms: int
    sample_rate: int

    @property
    def min_stream_samples(self) -> int:
        """Audio needed for the first scores."""
        return (self.first_full_hop + 1) * self.hop_samples

    def time_ms(self, hop: int) -> int:
        """Reported time of hop `hop`'s scores: start of the last clip of its window."""
        window_end = hop * self.hop_samples + self.window_end_offset
        return int(window_end * 1000 // self.sample_rate) - self.clip_duration_ms

    @classmethod
    def read(cls, path: str) -> "StreamTiming":
        return cls.read_file(path, SpotterModelError, "stream timing",
                             missing=f"{path} not found: the streaming model's timing is written "
                             "beside it by `python -m speech_commands.export_kws`")


def timing_path(model_path: str) -> str:
    return os.path.splitext(model_path)[0] + ".json"


def model_paths(path: str) -> tuple[str, str]:
    """(streaming model, labels) of an `export_kws` folder, or of a run folder it exported into.

    Raises:
      SpotterModelError: no such folder, or neither holds a streaming spotter.
    """
    if not os.path.exists(path):
        raise SpotterModelError(f"{path}: no such folder (--model_dir must be a folder written by "
                                "`python -m speech_commands.export_kws`)")
    for folder in (path, os.path.join(path, EXPORT_DIR_NAME)):
        paths = (os.path.join(folder, STREAMING_MODEL_NAME),
                 os.path.join(folder, dataset.TFLITE_LABELS_NAME))
        if all(os.path.isfile(p) for p in paths):
            return paths
    raise SpotterModelError(
        f"{path}: no {STREAMING_MODEL_NAME} and {dataset.TFLITE_LABELS_NAME} there or in its "
        f"{EXPORT_DIR_NAME}/ folder: --model_dir must be a folder written by `python -m "
        "speech_commands.export_kws`, or the run folder it exported into")


class SpotterStream(streaming.HopStream):
    """Drives a streaming spotter TFLite model hop by hop (what `listen` runs).

    `push(samples)` accepts any number of float32 samples and returns the
    [(time_ms, scores [labels])] of every full window completed by them.
    """

    def __init__(self, model_path: str, num_threads: int | None = None):
        try:
            runner = streaming.load_runner(model_path, required=(streaming.SAMPLES, RING_STATE),
                                           num_threads=num_threads)
        except ValueError as error:
            raise SpotterModelError(f"{model_path} is not a streaming keyword spotter "
                                    f"({error})") from error
        self.timing = StreamTiming.read(timing_path(model_path))
        super().__init__(runner, self.timing.hop_samples, self.timing.first_full_hop,
                         self.timing.sample_rate)

    def step(self, samples: np.ndarray) -> np.ndarray:
        """One hop of exactly `hop_samples` samples -> scores `[labels]` (valid from
        `timing.first_full_hop`)."""
        return self.run_hop(samples)[SCORES]

    def push(self, samples: np.ndarray) -> list[tuple[int, np.ndarray]]:
        return [(self.timing.time_ms(hop), outputs[SCORES]) for hop, outputs in self.run(samples)
                if hop >= self.timing.first_full_hop]


def recording_scores(stream: SpotterStream,
                     waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(times_ms int64 `[n]`, scores float32 `[n, labels]`) of a whole recording, hop by hop."""
    stream.reset()
    results = []
    chunk = RECORDING_CHUNK_HOPS * stream.timing.hop_samples
    for start in progress.track(range(0, waveform.size, chunk), "streaming the recording"):
        results.extend(stream.push(waveform[start:start + chunk]))
    stream.check_scored("the recording")
    return (np.array([t for t, _ in results], np.int64),
            np.stack([s for _, s in results]).astype(np.float32))
