"""Progress for long jobs, through absl.logging so it lands wherever the job's logs go."""

from __future__ import annotations

import time
from typing import Iterable, Iterator, Sized, TypeVar

from absl import logging

T = TypeVar("T")


def track(items: Iterable[T], description: str, total: int | None = None,
          every_seconds: float = 5.0) -> Iterator[T]:
    """Yields `items`, logging `description: k/n (p%), elapsed, eta` at most every `every_seconds`.

    The first and last items are always reported, so short jobs still show one line each way.
    """
    if total is None and isinstance(items, Sized):
        total = len(items)
    start = last = time.monotonic()
    done = 0
    for done, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if done == 1 or done == total or now - last >= every_seconds:
            last = now
            elapsed = now - start
            if total:
                eta = elapsed / done * (total - done)
                logging.info("%s: %d/%d (%.0f%%), %.1fs elapsed, %.1fs left", description, done,
                             total, 100.0 * done / total, elapsed, eta)
            else:
                logging.info("%s: %d, %.1fs elapsed", description, done, elapsed)
