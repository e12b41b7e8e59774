"""What a corpus job embeds: clips (a file, or a stretch of one, with an id and labels).

A clip comes from a file pattern (the whole file; its id is its path) or from one row of a
manifest CSV laid out like AudioSet's segment lists, with a path in front:

    path,id,start,end,labels
    gs://bucket/audio/Y--PJHxphWEs.flac,--PJHxphWEs,30,40,"0,137"

`start` and `end` are seconds into the file (empty: from the start, to the end); `labels`
are AudioSet class indices (`class_labels_indices.csv` order), or names or mids that a
class-labels CSV maps to indices. Files on any Beam filesystem (`gs://`, `s3://`, ...) are
copied to a local temporary file before decoding, since libsndfile reads local files only.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import os
import re
import shutil
import tempfile
from typing import Iterable, Iterator, Mapping

import numpy as np
from apache_beam.io.filesystems import FileSystems

from earshot import audio
from earshot.errors import InvalidInput

MANIFEST_COLUMNS = ("path", "id", "start", "end", "labels")
# Bytes copied at a time when a remote file is made local.
COPY_BUFFER_BYTES = 1 << 22
_LABEL_SEPARATORS = re.compile(r"[,;\s]+")


@dataclasses.dataclass(frozen=True)
class Clip:
    """One item of a corpus.

    Attributes:
      path: the audio file, on any Beam filesystem.
      id: the name records carry (AudioSet's `video_id`).
      start: seconds into the file where the clip starts.
      end: seconds into the file where it ends; None: the end of the file.
      labels: class indices.
    """

    path: str
    id: str
    start: float = 0.0
    end: float | None = None
    labels: tuple[int, ...] = ()

    @classmethod
    def of_file(cls, path: str) -> "Clip":
        """The whole file, named by its path."""
        return cls(path=path, id=path)


def read_class_labels(path: str) -> dict[str, int]:
    """An AudioSet `class_labels_indices.csv` (index,mid,display_name) -> {mid or name: index}.

    Raises:
      InvalidInput: a row whose index is not an integer.
    """
    names = {}
    with FileSystems.open(path) as raw:
        rows = csv.reader(line.decode("utf-8") for line in raw)
        for row in rows:
            if not row or row[0].strip() in ("index", "") or row[0].startswith("#"):
                continue
            try:
                index = int(row[0])
            except ValueError as error:
                raise InvalidInput(f"{path}: {row[0]!r} is not a class index") from error
            for name in row[1:3]:
                names[name.strip()] = index
    return names


def parse_labels(text: str, class_labels: Mapping[str, int] | None = None) -> tuple[int, ...]:
    """`"0,137"` (or names/mids, with `class_labels`) -> (0, 137).

    Raises:
      InvalidInput: a label that is neither an index nor a known name.
    """
    labels = []
    for label in _LABEL_SEPARATORS.split(text.strip()):
        if not label:
            continue
        if label.isdigit():
            labels.append(int(label))
        elif class_labels is not None and label in class_labels:
            labels.append(class_labels[label])
        else:
            known = "" if class_labels is None else " or a name in the class-labels file"
            raise InvalidInput(f"label {label!r} is not a class index{known}")
    return tuple(labels)


def is_manifest_data(line: str) -> bool:
    """False for blank lines, `#` comments and the header row."""
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#") and \
        next(csv.reader([stripped]))[0].strip() != MANIFEST_COLUMNS[0]


def parse_manifest_line(line: str, class_labels: Mapping[str, int] | None = None) -> Clip:
    """One data line of a manifest -> Clip.

    Raises:
      InvalidInput: no path, more than five columns, a time that is not a number, an end
        before the start, or a bad label (the message quotes the line).
    """
    fields = [field.strip() for field in next(csv.reader([line.strip()]))]
    try:
        if len(fields) > len(MANIFEST_COLUMNS):
            raise InvalidInput(f"{len(fields)} columns, expected at most "
                               f"{len(MANIFEST_COLUMNS)} ({','.join(MANIFEST_COLUMNS)})")
        path, clip_id, start, end, labels = fields + [""] * (len(MANIFEST_COLUMNS) - len(fields))
        if not path:
            raise InvalidInput("no path")
        start_seconds = _seconds(start, "start") if start else 0.0
        end_seconds = _seconds(end, "end") if end else None
        if end_seconds is not None and end_seconds <= start_seconds:
            raise InvalidInput(f"end {end_seconds} is not after start {start_seconds}")
        return Clip(path=path, id=clip_id or path, start=start_seconds, end=end_seconds,
                    labels=parse_labels(labels, class_labels))
    except InvalidInput as error:
        raise InvalidInput(f"manifest line {line.strip()!r}: {error}") from error


def _seconds(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise InvalidInput(f"{name} {text!r} is not a number of seconds") from error
    if not np.isfinite(value) or value < 0:
        raise InvalidInput(f"{name} {text!r} is not a time in the file")
    return value


def is_local(path: str) -> bool:
    return FileSystems.get_scheme(path) in (None, "file")


@contextlib.contextmanager
def local_file(path: str) -> Iterator[str]:
    """`path` itself if local; else a temporary local copy, deleted when the block exits.

    The copy keeps the file's extension, which names the format in decoding errors.
    """
    if is_local(path):
        yield path
        return
    suffix = os.path.splitext(path)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as copy:
        with FileSystems.open(path) as remote:
            shutil.copyfileobj(remote, copy, COPY_BUFFER_BYTES)
        copy.flush()
        yield copy.name


def blocks(local_path: str, clip: Clip, sample_rate: int) -> Iterator[np.ndarray]:
    """The clip's audio as validated float32 mono blocks at `sample_rate` (`audio.stream`).

    A stretch `[start, end)` is cut from the decoded and resampled stream at sample
    `round(seconds * sample_rate)`, so a whole-file clip gives exactly what `audio.stream`
    gives, and memory stays one block whatever the length.

    Raises:
      audio.AudioError: as `audio.stream`, or a stretch that holds no samples.
    """
    first = round(clip.start * sample_rate)
    last = None if clip.end is None else round(clip.end * sample_rate)
    position = 0
    for block in audio.stream(local_path, sample_rate):
        begin, stop = position, position + block.size
        position = stop
        if stop <= first:
            continue
        if last is not None and begin >= last:
            break
        yield block[max(first - begin, 0):block.size if last is None else min(last - begin,
                                                                               block.size)]
    if position <= first:
        raise audio.AudioError(f"{clip.path}: the clip starts at {clip.start} s but the file "
                               f"holds {position / sample_rate:.2f} s")


def take(stream: Iterator[np.ndarray], num_samples: int) -> tuple[list[np.ndarray], bool]:
    """Pulls blocks from `stream` until they hold more than `num_samples` samples or it ends.

    Returns:
      (the blocks pulled, whether the stream ended within `num_samples`).
    """
    pulled, held = [], 0
    for block in stream:
        pulled.append(block)
        held += block.size
        if held > num_samples:
            return pulled, False
    return pulled, True


def concatenate(pieces: Iterable[np.ndarray]) -> np.ndarray:
    """float32 `[n]` of the pieces in order (an empty float32 array for none)."""
    pieces = list(pieces)
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
