"""Speed benchmarks, each against a named comparator measured in the same run."""
