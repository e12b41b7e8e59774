"""Speed benchmarks, each against a named comparator measured in the same run."""

from earshot import quiet  # noqa: F401  (first: TensorFlow is quiet only if set before it loads)
