"""Running absl programs so that bad input ends in one clear line, not a traceback."""

from __future__ import annotations

import sys
from typing import Callable

from absl import app

from earshot import audio

# Errors that describe the user's input or setup; anything else is a bug and keeps its traceback.
USER_ERRORS = (audio.AudioError, FileNotFoundError, FileExistsError, ValueError)


def run(main: Callable[[list[str]], None]) -> None:
    """`absl.app.run(main)`, printing `error: <message>` and exiting 1 on a user error."""

    def guarded(argv: list[str]) -> None:
        try:
            main(argv)
        except USER_ERRORS as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(1)

    app.run(guarded)
