"""Keyword spotting: the reference's speech_commands in TF2/Keras, and spotters on the speech
embedding.

    from speech_commands import Spotter
    spotter = Spotter("export")                # a folder written by speech_commands.export_kws
    commands = spotter.process(pcm)            # [Command(label, time_ms, score)]

`Spotter.push` takes a live stream in pieces; neither needs TensorFlow.
"""

from earshot import quiet  # noqa: F401  (first: TensorFlow is quiet only if set before it loads)
from speech_commands.spotter import Command, Spotter

__all__ = ["Command", "Spotter"]
