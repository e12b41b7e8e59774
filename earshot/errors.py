"""The one error type that means "the user's input or setup is wrong", not "earshot is broken".

Every package's own input errors (bad audio, missing weights, a folder that is not a model,
a corrupt database) derive from `UserError`, so a command-line tool tells them apart from
bugs with one `except` and reports them in one line (`earshot.cli.run`), while a bug keeps
its traceback. Library callers can catch `UserError` the same way.

Most also derive from the built-in type that fits (`ValueError` for wrong content,
`FileNotFoundError` for something missing), so code that caught those before still does.
"""

import os


class UserError(Exception):
    """A problem with what the user gave (a file, a folder, a flag value) or set up.

    The message names the file or flag and says what is wrong with it, in one line.
    """


class InvalidInput(UserError, ValueError):
    """A value the user gave is wrong: a flag or argument value, or the content of a file.

    For errors with no package-specific type (`earshot.audio.AudioError`,
    `speaker_embedding.database.DatabaseError`, ...).
    """


def require_file(path: str, what: str = "file") -> str:
    """Returns `path` if it is a file; else an OSError that says what is there instead.

    "not found" for a folder sends the user hunting for a typo in a path that exists, so a
    folder where a file is wanted is named as one (`IsADirectoryError`). Both are OSErrors,
    which `earshot.cli` reports in one line.

    Args:
      what: what the file should be, for the message ("audio file", "labels file", ...).
    """
    if not path:
        raise FileNotFoundError(f"no {what} given")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a folder; give the {what} itself")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such {what}")
    return path
