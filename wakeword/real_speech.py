"""Real human speech from Debian's game packages, as negatives for wake-word training.

Everything else a wake word hears in training is synthesized (espeak-ng, warped and
equalized, `wakeword.data`). Real voices differ in ways no synthesizer varies: breath, laughs,
shouts, acted emotion, vocal fry, microphones and rooms. A model that never heard them can
fire on them, so these recorded actors are added as ordinary speech that must never wake it:

* `flight-of-the-amazon-queen` (source "queen"): the CD version of the 1995 adventure game,
  English. `queen.1c`, a table of resources, holds about 6600 dialogue lines as MP3 (4.2 h)
  beside graphics and numbered sound effects (`nnnSSSSS.SB`, skipped).
* `fillets-ng-data-cs` and `fillets-ng-data-nl` ("fillets-cs", "fillets-nl"): Fish Fillets
  NG's dialogue in Czech (about 1900 lines, 1.8 h) and Dutch (1600, 1.6 h), one Ogg Vorbis
  file per line.
* `warzone2100-data` ("warzone2100"): Warzone 2100's English briefings, radio messages,
  countdowns and taunts, Ogg members of the zip `base.wz` (about 480, 0.26 h); its weapon and
  interface effects (`audio/sfx/`, `audio/radclick/`) are skipped.
* `hedgewars-data` ("hedgewars"): Hedgewars' exclamations in 15 voice packs, several
  languages, some pitched, robotic or sung (about 840, of which 770 last 0.3 s or more:
  0.24 h).

The first three (`TRAINING_SOURCES`) train, split by clip: CALIBRATION_PERCENT of the clips,
chosen by a hash of the clip's name, are heard only when the threshold is calibrated. The
last two (`EVALUATION_SOURCES`) never train nor calibrate: their actors, languages and
recording chains are ones the model never met, so the false accepts counted on them say how
it does on strangers, not on unheard lines of voices it learned.

A package is read where it is installed; otherwise `apt-get download` fetches it into the
cache and `dpkg -x` unpacks it there, nothing installed. Each source is decoded once to
16 kHz mono and cached as one `.npz`, so later calls only load it. `folder` reads a user's
own recordings the same way (split alike, not cached).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import glob
import hashlib
import io
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from typing import Callable, Iterable

import numpy as np
import soundfile

from earshot import audio, cache, fileio, progress
from earshot.errors import InvalidInput
from wakeword.voices import SAMPLE_RATE

TRAINING_SOURCES = ("queen", "fillets-cs", "fillets-nl")
EVALUATION_SOURCES = ("warzone2100", "hedgewars")
SPLITS = ("all", "train", "calibration")
CALIBRATION_PERCENT = 20
MIN_CLIP_SECONDS = 0.3
SILENT_PEAK = 1e-3  # -60 dBFS: a clip whose peak stays below it holds nothing to hear
SYSTEM_ROOT = "/"  # where installed packages' files are
CACHE_VERSION = "1"  # bump when what a decoded source holds changes

QUEEN_MAGIC = b"QTBL"
QUEEN_HEADER = struct.Struct(">4s6s2xBH")  # magic, version, (2 bytes), compression, entries
QUEEN_ENTRY = struct.Struct(">12sBII")  # NUL-padded name, bundle, absolute offset, size
QUEEN_MP3 = 1
# ScummVM (engines/queen/sound.cpp, AudioStreamWrapper): MP3s whose header says 11025 Hz were
# made by the old tool and really play at 11840 Hz, the original's rate; others as they say.
QUEEN_HEADER_RATE, QUEEN_TRUE_RATE = 11025, 11840
# Sound effects are numbered (ScummVM plays "116BSSSS" for a door opening); dialogue names
# carry the speaker ("020001P2", "JOE02891", "03SSSSJ1").
QUEEN_EFFECT = re.compile(r"^\d+[A-Z]?S+\.SB$")
WARZONE_EFFECTS = ("audio/sfx/", "audio/radclick/")


class RealSpeechError(InvalidInput):
    """A package file or recordings folder that cannot be read; the message names it and why."""


class NotFound(RealSpeechError, FileNotFoundError):
    """A package neither installed nor obtainable here, a file it should hold, or a folder of
    recordings that is not there."""


class _Undecodable(Exception):
    """One clip inside an otherwise readable container does not decode; it is skipped."""


@dataclasses.dataclass
class Collection:
    """Clips of one source at 16 kHz, one after another.

    Attributes:
      names: a stable id per clip (its path or name inside the package or folder).
      samples: float32 `[total]` in [-1, 1], all clips concatenated, at SAMPLE_RATE.
      ends: int64 `[clips]` end sample of each clip in `samples` (exclusive).
    """

    names: list[str]
    samples: np.ndarray
    ends: np.ndarray

    def clip(self, i: int) -> np.ndarray:
        """float32 `[n]` clip `i` (a view into `samples`)."""
        return self.samples[self.ends[i - 1] if i else 0:self.ends[i]]

    def hours(self) -> float:
        return self.samples.size / SAMPLE_RATE / 3600

    def subset(self, keep: np.ndarray) -> Collection:
        """The clips where the bool `[clips]` mask `keep` is True, in order."""
        keep = np.asarray(keep, bool)
        if keep.shape != (len(self.names),):
            raise ValueError(f"keep: expected shape ({len(self.names)},), got {keep.shape}")
        pieces = [self.clip(i) for i in np.flatnonzero(keep)]
        return Collection([n for n, k in zip(self.names, keep) if k],
                          np.concatenate(pieces) if pieces else np.zeros(0, np.float32),
                          np.cumsum([p.size for p in pieces], dtype=np.int64))


def is_calibration(name: str) -> bool:
    """Whether clip `name` is held out for calibration: CALIBRATION_PERCENT of names, by hash."""
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) % 100 < CALIBRATION_PERCENT


@dataclasses.dataclass(frozen=True)
class _Clip:
    """A clip and how to decode it: `read()` gives its float32 mono blocks at SAMPLE_RATE."""

    name: str
    read: Callable[[], Iterable[np.ndarray]]


@dataclasses.dataclass(frozen=True)
class _Source:
    """Where a source's clips are in its package.

    Attributes:
      package: the Debian package.
      data: the container file, or the folder of clip files, relative to the package's root.
      pattern: the clip files under `data` (a recursive glob); "" for a container.
      container: for a container, its path, an ExitStack to keep it open -> its speech clips.
    """

    package: str
    data: str
    pattern: str = ""
    container: Callable[[str, contextlib.ExitStack], list[_Clip]] | None = None

    def marker(self, root: str) -> str:
        """The glob whose matches under `root` show the package's clips are there."""
        path = os.path.join(glob.escape(root), self.data)
        return os.path.join(path, self.pattern) if self.pattern else path


def _bytes_clip(name: str, data: bytes, rate: Callable[[int], int] = int) -> list[np.ndarray]:
    """A compressed clip held in memory -> `[float32 [n]]` at SAMPLE_RATE (`[]` if empty).

    `rate` maps the rate the stream's header states to the rate it really plays at.

    Raises:
      _Undecodable: libsndfile cannot decode it ("name: problem").
    """
    try:
        samples, stated = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (RuntimeError, TypeError) as error:  # libsndfile's errors, at open or mid-read
        raise _Undecodable(f"{name}: {getattr(error, 'error_string', error)}") from error
    if not samples.size:
        return []
    # Lossy decoders overshoot full scale slightly; that is not bad input.
    return [audio.load(np.clip(samples, -1.0, 1.0), SAMPLE_RATE, rate(stated))]


def _queen_table(path: str) -> list[tuple[str, int, int]]:
    """The resources of a `queen.1c`: (name, offset, size) in bytes, in the table's order.

    Raises:
      NotFound: no such file.
      RealSpeechError: not an MP3 resource table, or an entry reaching past the file's end.
    """
    if not os.path.isfile(path):
        raise NotFound(f"{path}: no such file")
    size = os.path.getsize(path)
    with open(path, "rb") as table_file:
        header = table_file.read(QUEEN_HEADER.size)
        if len(header) < QUEEN_HEADER.size or not header.startswith(QUEEN_MAGIC):
            raise RealSpeechError(f"{path}: not a Flight of the Amazon Queen resource file "
                                  f"(no {QUEEN_MAGIC.decode()} header)")
        _, _, compression, count = QUEEN_HEADER.unpack(header)
        if compression != QUEEN_MP3:
            raise RealSpeechError(f"{path}: compression {compression}, not MP3 ({QUEEN_MP3}); "
                                  "only the MP3 version (Debian's) is read")
        table = table_file.read(count * QUEEN_ENTRY.size)
    if len(table) < count * QUEEN_ENTRY.size:
        raise RealSpeechError(f"{path}: truncated: its table of {count} entries ends at byte "
                              f"{QUEEN_HEADER.size + count * QUEEN_ENTRY.size}, the file at "
                              f"{size}")
    entries = []
    for raw, _, offset, length in QUEEN_ENTRY.iter_unpack(table):
        name = raw.rstrip(b"\0").decode("latin-1")
        if offset + length > size:
            raise RealSpeechError(f"{path}: truncated or corrupt: entry {name!r} ends at byte "
                                  f"{offset + length}, the file at {size}")
        entries.append((name, offset, length))
    return entries


def _queen_entry(path: str, name: str, offset: int, length: int) -> list[np.ndarray]:
    with open(path, "rb") as table_file:
        table_file.seek(offset)
        data = table_file.read(length)
    return _bytes_clip(name, data,
                       lambda stated: QUEEN_TRUE_RATE if stated == QUEEN_HEADER_RATE else stated)


def _queen_clips(path: str, _: contextlib.ExitStack) -> list[_Clip]:
    return [_Clip(name, functools.partial(_queen_entry, path, name, offset, length))
            for name, offset, length in sorted(_queen_table(path))
            if name.endswith(".SB") and not QUEEN_EFFECT.match(name)]


def _is_warzone_speech(member: str) -> bool:
    if not member.lower().endswith(".ogg"):
        return False
    if member.startswith("audio/"):
        return not member.startswith(WARZONE_EFFECTS)
    return os.path.dirname(member) == "sequenceaudio"


def _zip_member(archive: zipfile.ZipFile, path: str, member: str) -> list[np.ndarray]:
    try:
        data = archive.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise RealSpeechError(f"{path}: corrupt member {member} ({error})") from error
    return _bytes_clip(member, data)


def _warzone_clips(path: str, stack: contextlib.ExitStack) -> list[_Clip]:
    try:
        archive = stack.enter_context(zipfile.ZipFile(path))
    except (zipfile.BadZipFile, EOFError, ValueError) as error:
        raise RealSpeechError(f"{path}: not a readable zip archive ({error})") from error
    return [_Clip(member, functools.partial(_zip_member, archive, path, member))
            for member in sorted(archive.namelist()) if _is_warzone_speech(member)]


def _file_clip(path: str) -> Iterable[np.ndarray]:
    """A clip file's blocks (`audio.stream`), none for a file of no samples (one in
    fillets-ng-data-nl is)."""
    # A file libsndfile cannot open is left to `audio.stream`, whose error names it.
    with contextlib.suppress(RuntimeError, TypeError):
        if soundfile.info(path).frames == 0:
            return []
    return audio.stream(path, SAMPLE_RATE)


def _file_clips(folder_path: str, paths: list[str]) -> list[_Clip]:
    """One clip per audio file, named by its path under `folder_path` ('/'-separated)."""
    return [_Clip(os.path.relpath(path, folder_path).replace(os.sep, "/"),
                  functools.partial(_file_clip, path)) for path in sorted(paths)]


SOURCES = {
    "queen": _Source("flight-of-the-amazon-queen",
                     "usr/share/scummvm/flight-of-the-amazon-queen/queen.1c",
                     container=_queen_clips),
    "fillets-cs": _Source("fillets-ng-data-cs", "usr/share/games/fillets-ng/sound",
                          "**/cs/*.ogg"),
    "fillets-nl": _Source("fillets-ng-data-nl", "usr/share/games/fillets-ng/sound",
                          "**/nl/*.ogg"),
    "warzone2100": _Source("warzone2100-data", "usr/share/games/warzone2100/base.wz",
                           container=_warzone_clips),
    "hedgewars": _Source("hedgewars-data", "usr/share/games/hedgewars/Data/Sounds/voices",
                         "*/*.ogg"),
}


def _decode(clips: list[_Clip], description: str, where: str) -> Collection:
    """Decodes `clips` one at a time; short or silent ones and undecodable ones are left out.

    The kept samples go to a spool file as they come, so memory holds one clip, then the
    result once.

    Raises:
      RealSpeechError: clips there were, but none decodes (a broken container, not a clip).
    """
    names, ends, undecodable, total = [], [], [], 0
    with tempfile.TemporaryFile(dir=fileio.cache_dir("wakeword", "real_speech")) as spool:
        for clip in progress.track(clips, description):
            try:
                blocks = list(clip.read())
            except _Undecodable as error:
                undecodable.append(error)
                continue
            waveform = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
            if waveform.size < MIN_CLIP_SECONDS * SAMPLE_RATE or \
                    np.max(np.abs(waveform)) < SILENT_PEAK:
                continue
            spool.write(waveform.astype(np.float32, copy=False).tobytes())
            total += waveform.size
            names.append(clip.name)
            ends.append(total)
        spool.flush()
        spool.seek(0)
        samples = np.fromfile(spool, np.float32, count=total)
    if undecodable:
        if not names:
            raise RealSpeechError(f"{where}: none of its {len(clips)} clips decodes "
                                  f"(first: {undecodable[0]})")
        progress.say(f"{description}: {len(undecodable)} of {len(clips)} clips do not decode "
                     f"and are left out (first: {undecodable[0]})")
    return Collection(names, samples, np.array(ends, np.int64))


def read_source(source: str, root: str) -> Collection:
    """Decodes every speech clip of `source` from its package's files under `root`.

    Args:
      source: one of SOURCES.
      root: where the package's files are: SYSTEM_ROOT when installed, or the folder
        `dpkg -x` unpacked it into.

    Raises:
      NotFound: the package's clips are not under `root`.
      RealSpeechError: a corrupt container, or no clip decodes.
      earshot.audio.AudioError: a clip file that does not decode (named).
    """
    spec = _source(source)
    where = os.path.join(root, spec.data)
    paths = glob.glob(spec.marker(root), recursive=True)
    if not paths:
        missing = f"no {spec.pattern} files in it" if spec.pattern else "no such file"
        raise NotFound(f"{where}: {missing}; it comes with the Debian package {spec.package}")
    with contextlib.ExitStack() as stack:
        clips = spec.container(where, stack) if spec.container else _file_clips(where, paths)
        return _decode(clips, f"decoding {source} ({spec.package})", where)


def _source(source: str) -> _Source:
    if source not in SOURCES:
        raise InvalidInput(f"{source!r} is not a real-speech source; the sources are "
                           f"{', '.join(SOURCES)}")
    return SOURCES[source]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise InvalidInput(f"split {split!r}: expected one of {', '.join(SPLITS)}")


def _run(command: list[str], cwd: str | None = None) -> str:
    """Runs `command`; returns "" on success, else the last line it wrote on stderr."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return ""
    lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
    return lines[-1]


def _unpacked(package: str) -> str:
    """The root of `package`'s files, unpacked in the cache (fetched with apt-get the first time).

    Raises:
      NotFound: no apt-get or dpkg here, or apt-get cannot fetch the package.
      RealSpeechError: dpkg cannot unpack what apt-get fetched.
    """
    root = os.path.join(fileio.cache_dir("wakeword", "debian"), package)
    if os.path.isdir(root):
        return root
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise NotFound(
                f"the Debian package {package} is not installed and there is no {tool} to "
                f"fetch it: install {package} (Debian, Ubuntu), or pass --negatives=DIR, a "
                "folder of recordings of your own")
    progress.say(f"downloading the Debian package {package} with apt-get")
    with tempfile.TemporaryDirectory(dir=os.path.dirname(root)) as download, \
            fileio.atomic_dir(root) as staging:
        failure = _run(["apt-get", "download", package], cwd=download)
        debs = glob.glob(os.path.join(download, "*.deb"))
        if failure or not debs:
            raise NotFound(
                f"apt-get download {package} failed ({failure or 'no .deb written'}); run "
                f"`sudo apt-get update` if the package is unknown, install {package}, or pass "
                "--negatives=DIR, a folder of recordings of your own")
        failure = _run(["dpkg", "-x", debs[0], staging])
        if failure:
            raise RealSpeechError(f"{os.path.basename(debs[0])}: dpkg -x cannot unpack it "
                                  f"({failure})")
    return root


def _package_root(source: str) -> str:
    """SYSTEM_ROOT if `source`'s package is installed, else where it is unpacked in the cache."""
    spec = SOURCES[source]
    if glob.glob(spec.marker(SYSTEM_ROOT), recursive=True):
        return SYSTEM_ROOT
    return _unpacked(spec.package)


def _split(collection: Collection, split: str) -> Collection:
    if split == "all":
        return collection
    held_out = np.array([is_calibration(name) for name in collection.names], bool)
    return collection.subset(held_out if split == "calibration" else ~held_out)


def _cache_path(source: str) -> str:
    """The `.npz` that holds `source` decoded (samples, ends, names)."""
    return os.path.join(fileio.cache_dir("wakeword", "real_speech"),
                        f"{source}-v{CACHE_VERSION}.npz")


def load(source: str, split: str = "all") -> Collection:
    """The clips of one package at 16 kHz: decoded once, then from the cache.

    Args:
      source: one of TRAINING_SOURCES or EVALUATION_SOURCES.
      split: "all"; for a training source also "train" or "calibration" (is_calibration).

    Raises:
      InvalidInput: an unknown source or split, or a split of an evaluation source (they
        never train nor calibrate).
      NotFound, RealSpeechError: as `read_source` and fetching the package.
    """
    _source(source)
    _check_split(split)
    if source in EVALUATION_SOURCES and split != "all":
        raise InvalidInput(f"{source} is for evaluation only: it has no {split} split "
                           "(ask for 'all')")
    stored = cache.cached_npz(_cache_path(source), lambda: _arrays(
        read_source(source, _package_root(source))))
    collection = Collection([str(n) for n in stored["names"]], stored["samples"], stored["ends"])
    return _split(collection, split)


def _arrays(collection: Collection) -> dict[str, np.ndarray]:
    return {"samples": collection.samples, "ends": collection.ends,
            "names": np.array(collection.names, dtype=str)}


def folder_files(path: str) -> list[str]:
    """The audio files under `path` (recursive), checked before any decoding.

    Raises:
      NotFound: `path` is not a folder.
      RealSpeechError: no audio file under `path`.
    """
    if not os.path.isdir(path):
        raise NotFound(f"{path}: no such folder of recordings")
    paths = [os.path.join(parent, name) for parent, _, names in os.walk(path)
             for name in names if name.lower().endswith(audio.SUPPORTED_EXTENSIONS)]
    if not paths:
        raise RealSpeechError(f"{path}: no audio files ({', '.join(audio.SUPPORTED_EXTENSIONS)}) "
                              "in it or its subfolders")
    return paths


def folder(path: str, split: str = "all") -> Collection:
    """Every audio file under `path` (recursive; WAV, FLAC, OGG, MP3), a clip each, at 16 kHz.

    Split like the packages, by a hash of each file's path under `path`; only the files of
    `split` are decoded. Not cached: the folder may change.

    Raises:
      InvalidInput: an unknown split.
      NotFound, RealSpeechError: as `folder_files`.
      earshot.audio.AudioError: a file that does not decode (named).
    """
    _check_split(split)
    clips = [clip for clip in _file_clips(path, folder_files(path))
             if split == "all" or is_calibration(clip.name) == (split == "calibration")]
    return _decode(clips, f"decoding {path}", path)
