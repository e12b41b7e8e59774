"""`Spotter`: an exported keyword spotter as one object, without TensorFlow.

    from speech_commands import Spotter
    spotter = Spotter("export")                    # a folder written by export_kws
    for word in spotter.process(pcm):              # float32 16 kHz audio, or int16 PCM
        print(word.time_ms, word.label, word.score)

`push` takes a live stream in pieces of any length and returns the commands they complete;
`process` is one whole recording. The streaming model runs on LiteRT (`spotter_runtime`), and
`RecognizeCommands` turns its scores into commands with the rules of `detection.DEFAULTS`
(what `listen` does, whose flags set the same rules).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from earshot import streaming
from earshot.errors import UserError
from speech_commands import dataset, detection, recognize_commands, spotter_runtime


class Command(NamedTuple):
    """A spotted keyword: its label, the start of the last clip of audio it was heard in
    (ms from the start of the stream) and its averaged score."""

    label: str
    time_ms: int
    score: float


class Spotter:
    """The keywords in audio at the model's rate (16 kHz), as they complete.

    Args:
      model_dir: a folder written by `python -m speech_commands.export_kws`, or the run folder
        it exported into.
      rules: how scores become commands (`detection.DetectionSettings`).
      num_threads: LiteRT interpreter threads.

    Raises:
      spotter_runtime.SpotterModelError: `model_dir` holds no streaming keyword spotter.
    """

    def __init__(self, model_dir: str, rules: detection.DetectionSettings = detection.DEFAULTS,
                 num_threads: int | None = 1):
        model_path, labels_path = spotter_runtime.model_paths(model_dir)
        self.labels = dataset.read_labels(labels_path)
        self.rules = rules
        self.stream = spotter_runtime.SpotterStream(model_path, num_threads=num_threads)
        self.reset()

    @property
    def sample_rate(self) -> int:
        return self.stream.timing.sample_rate

    def reset(self) -> None:
        """Back to the start of a stream."""
        self.stream.reset()
        self._recognizer = recognize_commands.RecognizeCommands(
            self.labels, self.rules.average_window_ms, self.rules.detection_threshold,
            self.rules.suppression_ms, self.rules.minimum_count)

    def push(self, pcm: np.ndarray) -> list[Command]:
        """The new non-silence commands of the hops `pcm` completes (any length; the rest
        waits for the next push)."""
        commands = []
        for time_ms, scores in self.stream.push(streaming.float_samples(pcm)):
            if scores.shape[0] != len(self.labels):
                raise UserError(f"the model gives {scores.shape[0]} scores but the labels file "
                                f"has {len(self.labels)} labels")
            result = self._recognizer.process_latest_result(scores, time_ms)
            if (result.is_new_command and
                    result.founded_command != recognize_commands.SILENCE_LABEL):
                commands.append(Command(result.founded_command, time_ms, float(result.score)))
        return commands

    def process(self, pcm: np.ndarray, name: str = "audio") -> list[Command]:
        """The commands of one whole recording (a new stream).

        Raises:
          earshot.audio.AudioError: the recording (`name`) ends before the first full window.
        """
        self.reset()
        commands = self.push(pcm)
        self.stream.check_scored(name)
        return commands
