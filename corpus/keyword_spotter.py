"""A trained keyword spotter as a corpus model: label scores of every window of every clip.

The run folder of `python -m speech_commands.train` gives the model and its front end
(`speech_commands.run_folder`). Each clip is cut into windows of the run's clip length
(`desired_samples`) starting every `stride_ms`, as the reference's streaming tools score
audio; a clip shorter than one window is zero-padded to one, as the training data loader
pads short clips. Windows of many clips are featurized and scored in one batch. Rows are the
softmax scores `[labels]`, in the run's label order (`settings.json`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from corpus import clips as clips_lib
from corpus.clips import Clip
from corpus.clip_model import BAD_INPUT_ERRORS, ClipModel, Embedding, Result
from earshot import audio
from earshot.errors import InvalidInput
from speech_commands import features, run_folder

# Windows featurized and scored together: 16 MB of 1 s windows.
BATCH_WINDOWS = 256


class KeywordSpotterModel(ClipModel):
    """The softmax scores of a `speech_commands.train` run, one row per window."""

    name = "keyword_spotter"

    def __init__(self, train_dir: str, stride_ms: float = 500.0):
        model, run = run_folder.load_model(train_dir)
        settings = run.model_settings
        self.labels = run.labels
        self.size = len(run.labels)
        self.sample_rate = settings.sample_rate
        self.window = settings.desired_samples
        self.stride = round(stride_ms * self.sample_rate / 1000)
        if self.stride < 1:
            raise InvalidInput(f"--stride_ms={stride_ms} is less than one sample")
        self.window_seconds = self.window / self.sample_rate
        featurize = features.BatchFeaturizer(settings)
        predict = tf.function(lambda fingerprints: tf.nn.softmax(model(fingerprints,
                                                                       training=False)))
        self._score = lambda windows: predict(tf.constant(featurize(windows))).numpy()

    def _windows(self, clip: Clip, path: str, scores: "_Scores") -> float:
        """Queues the clip's windows on `scores`; returns the clip's length in seconds."""
        samples = 0
        blocks = clips_lib.blocks(path, clip, self.sample_rate)
        for index, chunk in enumerate(audio.overlapping_chunks(blocks, self.window,
                                                               self.stride)):
            samples = index * self.stride + chunk.size
            if chunk.size == self.window or index == 0:
                scores.add(np.pad(chunk, (0, self.window - chunk.size)))
        return samples / self.sample_rate

    def embed_clips(self, batch: Sequence[tuple[Clip, str]]) -> list[Result]:
        results: list[Result] = []
        scores = _Scores(self._score)
        for clip, path in batch:
            scores.key = len(results)
            try:
                seconds = self._windows(clip, path, scores)
            except BAD_INPUT_ERRORS as error:
                results.append(error)
                continue
            results.append(Embedding(np.zeros((0, self.size), np.float32),
                                     np.zeros(0, np.float32), seconds, self.window_seconds))
        scores.flush()
        for key, result in enumerate(results):
            rows = scores.rows.pop(key, [])
            if isinstance(result, Embedding):
                result.rows = np.stack(rows)
                result.offsets = np.arange(len(rows), dtype=np.float32) * (
                    self.stride / self.sample_rate)
        return results


class _Scores:
    """Windows queued under the current `key`, scored BATCH_WINDOWS at a time; `rows[key]`
    collects each key's score rows in order, so memory holds one batch of audio at most."""

    def __init__(self, score):
        self._score = score
        self._queue: list[tuple[int, np.ndarray]] = []
        self.key = 0
        self.rows: dict[int, list[np.ndarray]] = {}

    def add(self, window: np.ndarray) -> None:
        self._queue.append((self.key, window))
        if len(self._queue) >= BATCH_WINDOWS:
            self.flush()

    def flush(self) -> None:
        if not self._queue:
            return
        scores = self._score(np.stack([window for _, window in self._queue]))
        for (key, _), row in zip(self._queue, scores):
            self.rows.setdefault(key, []).append(row)
        self._queue = []
