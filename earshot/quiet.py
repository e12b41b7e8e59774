"""Quiet by default: TensorFlow's chatter only when asked for.

TensorFlow prints dozens of lines a user cannot act on (CUDA probes, oneDNN and CPU-feature
notices, converter and MLIR logs, deprecation warnings). earshot's programs show progress,
results, paths and warnings instead; `--verbosity=1` (absl's flag) or `EARSHOT_VERBOSE=1`
brings the chatter back, for bug reports.

Three layers, because the chatter comes from three places:

  * TensorFlow's C++ logs. Importing this module (every earshot package's `__init__` does,
    first) sets `TF_CPP_MIN_LOG_LEVEL=3` unless it is already set, and silences file
    descriptor 2 while `tensorflow` itself is imported: since TF 2.19 the banner printed while
    its libraries load (before absl::InitializeLog) ignores that variable. Both must happen
    before TensorFlow is imported, so they cannot wait for flags to be parsed; `verbose()`
    reads `--verbosity` from `sys.argv` for that reason.
  * Native libraries that print straight to fd 2 whatever the log level (LiteRT's
    "Created TensorFlow Lite XNNPACK delegate for CPU."): wrap the call in
    `native_stderr_silenced()`, which replays what was printed if the block fails. Worker
    processes a library starts with unconfigured logging (Beam's): `child_logs_dropped()`.
  * Python-side logs and warnings (the `tensorflow` logger, Keras' "Saved artifact" prints,
    deprecation warnings, TensorFlow's absl warnings, and the INFO logs of the libraries a
    program calls): `for_program`, which `earshot.cli.run` calls once flags are parsed. A
    program's own INFO logs (those of its `__main__` module: a tool's narrative, e.g. the
    training log of `speech_commands.train`), earshot's warnings and all errors still show.

Progress bars (`earshot.progress`) do not go through logging and always show.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import re
import sys
import tempfile
import threading
import warnings
from typing import Iterator

VERBOSE_ENV = "EARSHOT_VERBOSE"
# Only FATAL: TensorFlow's C++ ERROR lines on a CPU machine are probes ("failed call to
# cuInit") and graph-rewrite notes, not failures; real failures raise Python exceptions.
QUIET_TF_CPP_MIN_LOG_LEVEL = "3"
# Third-party modules whose Python warnings (deprecations, "consider providing ...") are
# chatter for a user of earshot's programs.
CHATTY_MODULES = r"(tensorflow|tf_keras|keras|tensorflow_hub|ai_edge_litert|onnx|onnxruntime)(\.|$)"
_VERBOSITY_FLAGS = ("--verbosity", "-verbosity", "--v", "-v")


def _argv_verbosity(argv: list[str]) -> int | None:
    """absl's `--verbosity` (or `-v`) as given on the command line, if it is an integer."""
    for index, arg in enumerate(argv):
        name, equals, value = arg.partition("=")
        if name not in _VERBOSITY_FLAGS:
            continue
        if not equals and index + 1 < len(argv):
            value = argv[index + 1]
        try:
            return int(value)
        except ValueError:
            return None
    return None


def verbose() -> bool:
    """Whether to show everything: `$EARSHOT_VERBOSE` set (not 0) or `--verbosity` >= 1."""
    if os.environ.get(VERBOSE_ENV, "0").strip().lower() not in ("", "0", "false", "no"):
        return True
    verbosity = _argv_verbosity(sys.argv[1:])
    return verbosity is not None and verbosity >= 1


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Holds back what is written to file descriptor 2 while the block runs, and drops it.

    For native code that prints straight to fd 2 (`with quiet.native_stderr_silenced():
    interpreter = Interpreter(...)`). What was written is replayed on stderr if the block
    raises, so a failure keeps its context. A no-op when `verbose()`. Python's own
    `sys.stderr` goes the same way (it writes to fd 2 too), so keep the block to the one
    noisy call.
    """
    if verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            captured.seek(0)
            os.write(2, captured.read())
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


# Python's default logging format below ERROR ("WARNING:root:..."): what a library's records
# look like in a process where nobody configured logging. earshot's programs log through absl,
# whose lines look otherwise.
_UNCONFIGURED_LOG_LINE = re.compile(rb"^(DEBUG|INFO|WARNING):[\w.]*:")


@contextlib.contextmanager
def child_logs_dropped() -> Iterator[None]:
    """Drops, from file descriptor 2 while the block runs, the lines in Python's default
    logging format below ERROR; everything else passes through as it comes.

    For worker processes a library starts with its own logging left unconfigured: Beam's
    (`--direct_running_mode=multi_processing`) print "WARNING:root:apitools not found ..." and
    "INFO:__main__:Logging handler created." before they read the log level they are given.
    Their own progress lines and errors, and the program's, still show. A no-op when
    `verbose()`.
    """
    if verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    source, sink = os.pipe()
    copier = threading.Thread(target=_copy_lines, args=(source, os.dup(saved)), daemon=True)
    copier.start()
    os.dup2(sink, 2)
    os.close(sink)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        copier.join(timeout=10)  # until the workers that share the pipe have ended


def _copy_lines(source: int, target: int) -> None:
    """Copies `source`'s lines to `target` but for unconfigured log lines; closes both."""
    with os.fdopen(source, "rb") as lines:
        for line in lines:
            if not _UNCONFIGURED_LOG_LINE.match(line):
                os.write(target, line)
    os.close(target)


class _SilentLoader:
    """Another loader, whose `exec_module` runs with fd 2 silenced; the rest delegates."""

    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with native_stderr_silenced():
            self._loader.exec_module(module)

    def __getattr__(self, name: str):
        return getattr(self._loader, name)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` on sys.path like the default finder, with its import silenced.

    Asked only while `tensorflow` is not imported yet (a probe such as
    `importlib.util.find_spec` gets the same spec without loading anything).
    """

    def find_spec(self, fullname, path, target=None):
        if fullname != "tensorflow":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _SilentLoader(spec.loader)
        return spec


def _quiet_imports() -> None:
    """Sets TensorFlow's C++ log level and silences its import banner, unless verbose."""
    if verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_CPP_MIN_LOG_LEVEL)
    if "tensorflow" not in sys.modules and not any(
            isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())


# The checkout (or install folder) holding earshot and its sibling packages.
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _is_project_file(path: str) -> bool:
    """Whether `path` is one of earshot's own sources, not an installed third-party module."""
    path = os.path.realpath(path)
    return (path.startswith(PROJECT_ROOT + os.sep) and "site-packages" not in path
            and not path.startswith(os.path.realpath(sys.prefix) + os.sep))


class _ProgramLogs(logging.Filter):
    """Passes the program's own lines, earshot's warnings, and everyone's errors."""

    def __init__(self, program_file: str | None):
        super().__init__()
        self._program_file = program_file and os.path.realpath(program_file)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        if record.levelno >= logging.WARNING:
            return _is_project_file(record.pathname)
        return os.path.realpath(record.pathname) == self._program_file


def for_program(verbosity: int) -> None:
    """Lowers Python-side chatter for the rest of a program run (called by `earshot.cli.run`).

    Unless `verbose()` or `verbosity` >= 1 (absl's parsed `--verbosity`): absl's handler
    passes the INFO lines of the program's own `__main__` module only, warnings from
    earshot's modules (not TensorFlow's, which logs some through absl too), and errors; the
    `tensorflow` logger shows only errors; third-party Python warnings are ignored; Keras
    prints no "Saved artifact" or progress-bar lines.
    """
    if verbose() or verbosity >= 1:
        return
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=CHATTY_MODULES)
    if "keras" in sys.modules:
        sys.modules["keras"].config.disable_interactive_logging()
    from absl import logging as absl_logging

    program = getattr(sys.modules.get("__main__"), "__file__", None)
    absl_logging.get_absl_handler().addFilter(_ProgramLogs(program))


_quiet_imports()
