"""The one error type that means "the user's input or setup is wrong", not "earshot is broken".

Every package's own input errors (bad audio, missing weights, a folder that is not a model,
a corrupt database) derive from `UserError`, so a command-line tool tells them apart from
bugs with one `except` and reports them in one line (`earshot.cli.run`), while a bug keeps
its traceback. Library callers can catch `UserError` the same way.

Most also derive from the built-in type that fits (`ValueError` for wrong content,
`FileNotFoundError` for something missing), so code that caught those before still does.
"""


class UserError(Exception):
    """A problem with what the user gave (a file, a folder, a flag value) or set up.

    The message names the file or flag and says what is wrong with it, in one line.
    """


class InvalidInput(UserError, ValueError):
    """A value the user gave is wrong: a flag or argument value, or the content of a file.

    For errors with no package-specific type (`earshot.audio.AudioError`,
    `speaker_embedding.database.DatabaseError`, ...).
    """
