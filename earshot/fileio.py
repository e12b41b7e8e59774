"""Atomic outputs and the download cache.

Every file or folder earshot writes goes to a hidden temporary sibling first and is renamed
into place, so a killed job leaves either the old output or the complete new one, never a
half-written model that a later `hub.load` would trip over. An output that cannot be written
(`check_output`) is refused before any work, and a full device during the write is one
`OutputError` naming the output, with nothing left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from typing import IO, Iterator, Union

from earshot.errors import UserError

PathLike = Union[str, os.PathLike]

CACHE_ENV = "EARSHOT_CACHE"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(staging: str, directory: bool) -> None:
    """Gives a staged file or folder the permissions a plain open()/mkdir() would have.

    mkdtemp creates the staging folder private (0700); published outputs should not be, and a
    file's mode should not depend on which writer made it.
    """
    os.chmod(staging, (0o777 if directory else 0o666) & ~_current_umask())


def cache_dir(*parts: str) -> str:
    """`$EARSHOT_CACHE` (default `~/.cache/earshot`) joined with `parts`; created on demand."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "earshot")
    path = os.path.join(root, *parts)
    os.makedirs(path, exist_ok=True)
    return path


class OutputError(UserError, OSError):
    """An output that cannot be written: a folder where a file is asked for, a folder that is
    read-only or not a folder, a full disk. The message starts with the output's path."""


# Errors that mean "the device is full", however deep a writer (zipfile, HDF5) wraps them:
# out of space, over quota, over the file size limit.
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def check_output(path: PathLike, folder: bool = False, overwrite: bool = True,
                 extensions: tuple[str, ...] = ()) -> str:
    """Refuses an output that could not be written, so a tool can refuse it before any work.

    Every tool calls this on its output flags first; `atomic_file` and `atomic_dir` call it
    again, so a library caller gets the same answer.

    Args:
      path: the file (or, with `folder`, the folder) to write; missing parents are created
        later, so it is the nearest existing one that must be a writable folder.
      folder: the output is a folder (`atomic_dir`), not a file.
      overwrite: for a folder, whether an existing one may be replaced.
      extensions: for a writer that picks its format by the name (Keras `.keras`), the
        endings it is given; another name is refused. Empty: the tool writes its one format
        under any name.

    Returns:
      The absolute path.

    Raises:
      OutputError: `path` is a folder where a file is asked for, has none of `extensions`,
        or its folder cannot be written (read-only file system, no permission, or a file
        where a folder is needed).
      FileExistsError: the folder `path` exists and `overwrite` is False.
    """
    path = os.path.abspath(os.fspath(path))
    if folder and os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    if not folder and os.path.isdir(path):
        raise OutputError(f"{path}: is a folder; name the file to write")
    if extensions and not path.endswith(extensions):
        raise OutputError(f"{path}: must end in {' or '.join(extensions)}, the format written")
    parent = os.path.dirname(path)
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise OutputError(f"{path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        read_only = os.statvfs(parent).f_flag & os.ST_RDONLY
        raise OutputError(f"{path}: cannot write in {parent} "
                          f"({'read-only file system' if read_only else 'permission denied'})")
    return path


def _is_out_of_space(error: BaseException, folder: str) -> bool:
    """Whether `error` came from the device of `folder` being full.

    Some writers say so with an errno somewhere in the chain of errors; others do not
    (`soundfile`'s "System error.", `np.save`'s "N requested and M written", TensorFlow's
    ResourceExhaustedError), so a failure while the device has no free block counts too.
    """
    cause = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno in _NO_SPACE:
            return True
        cause = cause.__cause__ or cause.__context__
    return os.statvfs(folder).f_bavail == 0


@contextlib.contextmanager
def _reporting_full_disk(path: str, staging: str) -> Iterator[None]:
    """Turns a full device while `staging` is written into one OutputError naming `path`.

    Checked before the staging folder is removed, while the device is still as full as the
    writer found it.
    """
    try:
        yield
    except Exception as error:  # pylint: disable=broad-except
        if _is_out_of_space(error, staging):
            raise OutputError(f"{path}: no space left on the device; nothing was written "
                              "there") from error
        raise


def _staging_folder(path: str) -> str:
    """A new private hidden folder beside `path` (its parents made), on the same device, so
    what is staged there is renamed into place, never copied."""
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=parent)


@contextlib.contextmanager
def atomic_dir(path: PathLike, overwrite: bool = False) -> Iterator[str]:
    """Yields a temporary folder that replaces `path` when the block exits cleanly.

    Raises:
      FileExistsError: `path` exists and `overwrite` is False (checked before any work).
      OutputError: as `check_output`, or the device filled up (nothing is left behind).
    """
    path = check_output(path, folder=True, overwrite=overwrite)
    staging = _staging_folder(path)
    try:
        with _reporting_full_disk(path, staging):
            yield staging
        _publish(staging, directory=True)
        if os.path.exists(path):
            retired = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".old",
                                       dir=os.path.dirname(path))
            os.rename(path, os.path.join(retired, "old"))
            os.rename(staging, path)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """`open(path, mode)` whose content appears at `path` only when the block exits cleanly."""
    with atomic_file(path) as staging, open(staging, mode, **open_kwargs) as file:
        yield file


@contextlib.contextmanager
def atomic_file(path: PathLike) -> Iterator[str]:
    """Yields a file name for a writer; what it writes there is renamed to `path` on success.

    The name is `path`'s own base name inside a fresh private folder beside `path`, so
    writers that pick or check their format by the extension (Keras `.weights.h5`,
    `soundfile`, matplotlib) see the one the user gave. Writers that append one of their
    own (`np.savez` adds `.npz`, `np.save` `.npy`, matplotlib `.png` to a name without
    one) write a file of another name there: whatever single file the writer made is the
    output, so `path` is written exactly as named, whatever the writer.

    Raises:
      OutputError: as `check_output` (before the block runs), or the device filled up
        during the write (then nothing is left behind: neither output nor staging folder).
      RuntimeError: the block wrote no file, or more than one (a bug of the caller).
    """
    path = check_output(path)
    staging = _staging_folder(path)
    try:
        with _reporting_full_disk(path, staging):
            yield os.path.join(staging, os.path.basename(path))
        written = os.listdir(staging)
        if len(written) != 1:
            raise RuntimeError(f"the writer of {path} made {len(written)} files, not one: "
                               f"{written}")
        _publish(os.path.join(staging, written[0]), directory=False)
        os.replace(os.path.join(staging, written[0]), path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
