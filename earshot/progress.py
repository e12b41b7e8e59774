"""Progress for long jobs: lines on stderr, shown whatever the log verbosity.

Progress is written straight to stderr rather than logged, so that programs can hide log
chatter by default (`earshot.quiet`) and still show that they are working. On a terminal a
line every few seconds; in a log file or a pipe every half minute, so captured output stays
short. A job that ends before its first line still prints its final one, unless it took
less than a second: a bar that would flash by tells nothing.
"""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, Sized, TypeVar

T = TypeVar("T")

TERMINAL_EVERY_SECONDS = 5.0
LOG_EVERY_SECONDS = 30.0
MIN_SECONDS = 1.0


def _default_period() -> float:
    isatty = getattr(sys.stderr, "isatty", None)
    return TERMINAL_EVERY_SECONDS if isatty is not None and isatty() else LOG_EVERY_SECONDS


def say(line: str) -> None:
    """Writes one progress line to stderr."""
    print(line, file=sys.stderr, flush=True)


def track(items: Iterable[T], description: str, total: int | None = None,
          every_seconds: float | None = None) -> Iterator[T]:
    """Yields `items`, writing `description: k/n (p%), elapsed, eta` to stderr.

    A line every `every_seconds` (default: 5 s on a terminal, 30 s otherwise), and one when
    the last item is done, `description: n/n (100%) in 12.3s`, unless the job took less than
    MIN_SECONDS and printed nothing before.
    """
    if total is None and isinstance(items, Sized):
        total = len(items)
    period = _default_period() if every_seconds is None else every_seconds
    start = last = time.monotonic()
    done, printed = 0, False
    for done, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if now - last >= period and done != total:
            last, printed = now, True
            elapsed = now - start
            if total:
                say(f"{description}: {done}/{total} ({100.0 * done / total:.0f}%), "
                    f"{elapsed:.1f}s elapsed, {elapsed / done * (total - done):.1f}s left")
            else:
                say(f"{description}: {done}, {elapsed:.1f}s elapsed")
    elapsed = time.monotonic() - start
    if done and (printed or elapsed >= MIN_SECONDS):
        count = f"{done}/{total} (100%)" if total and done == total else f"{done}"
        say(f"{description}: {count} in {elapsed:.1f}s")
