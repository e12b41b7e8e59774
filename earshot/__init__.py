"""Shared infrastructure of earshot: audio input, speech synthesis, atomic files, cache."""

from earshot import quiet  # noqa: F401  (before anything loads TensorFlow)
