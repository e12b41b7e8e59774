"""speaker_embedding package."""

from earshot import quiet  # noqa: F401  (first: TensorFlow is quiet only if set before it loads)
