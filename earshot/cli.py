"""The one way earshot's programs run: absl flags, quiet libraries, one-line user errors.

    if __name__ == "__main__":
        define_flags()       # flags exist only when the module runs as a program
        cli.run(main)

A `UserError` (or an OSError such as a missing file, which names its path) ends the program
with `error: <message>` on stderr and exit status `EXIT_USER_ERROR`; anything else is a bug
and keeps its traceback. Flag errors keep absl's own usage message (exit status 1). `main`
may return an exit status of its own, e.g. `speaker_embedding.verify` returns 1 to reject.

Output is quiet (`earshot.quiet.for_program`): progress bars, the program's own log lines,
warnings and results; `--verbosity=1` or `EARSHOT_VERBOSE=1` adds everything else.
"""

from __future__ import annotations

import sys
from typing import Callable

from absl import app, flags

from earshot import quiet
from earshot.errors import UserError

# 2, as Unix tools use it for bad usage or input (1 stays free for a negative answer, e.g.
# speaker_embedding.verify rejecting a voice).
EXIT_USER_ERROR = 2

USER_ERRORS = (UserError, OSError)


def report(error: BaseException) -> int:
    """Prints `error: <message>` (one line) to stderr; returns EXIT_USER_ERROR."""
    message = " ".join(str(error).split()) or type(error).__name__
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


def exit_status(command: Callable[[], int | None]) -> int:
    """Runs `command`; returns its exit status (None: 0), or reports a user error and returns 2."""
    try:
        status = command()
    except USER_ERRORS as error:
        return report(error)
    return 0 if status is None else status


def run(main: Callable[[list[str]], int | None],
        flags_parser: Callable[[list[str]], list[str]] = app.parse_flags_with_usage) -> None:
    """`absl.app.run(main)`, quiet, with user errors reported in one line and exit status 2.

    `flags_parser` is absl's (argv -> the argv `main` gets), e.g. one that leaves the flags
    of another library (Beam's pipeline options) to `main`.
    """

    def guarded(argv: list[str]) -> int:
        quiet.for_program(flags.FLAGS.verbosity)
        return exit_status(lambda: main(argv))

    app.run(guarded, flags_parser=flags_parser)
