"""The recorder's output: a folder in the Speech Commands layout, and what to train on it.

    DIR/<word>/<speaker>_nohash_<k>.wav                 16 kHz, 16-bit mono, --clip_seconds long
    DIR/_background_noise_/<speaker>_nohash_<k>.wav     --background_seconds long

Re-running on the same folder continues the numbering. `which_set` splits by the speaker
part of the file name, so one speaker's clips all land in one split; when no speaker on disk
falls in training, the suggested command sets `--validation_percentage=0
--testing_percentage=0` so that training has data.
"""

from __future__ import annotations

import dataclasses
import getpass
import glob
import os
import re
import shlex
import threading
from typing import Any

import numpy as np

from earshot import audio
from earshot.errors import UserError
from recorder import takes
from speech_commands import split

DEFAULT_SPLIT_PERCENTAGES = (10, 10)  # train.py's --validation_percentage, --testing_percentage
BACKGROUND_DIR = "_background_noise_"
WORD_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# No '_': `which_set` hashes what precedes `_nohash_`, so the speaker part must be unambiguous.
SPEAKER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
CLIP_NAME = re.compile(r"^(?P<speaker>[A-Za-z0-9-]+)_nohash_(?P<index>\d+)\.wav$")


class NothingToDiscard(UserError):
    """Discard asked for when this session has no take left."""


@dataclasses.dataclass(frozen=True)
class RecorderConfig:
    """What the recorder writes and how it judges takes."""

    output_dir: str
    words: tuple[str, ...]
    speaker: str
    clip_seconds: float = 1.0
    background_seconds: float = 10.0
    takes_per_word: int = 10
    min_level_db: float = takes.DEFAULT_MIN_LEVEL_DB

    @property
    def record_seconds(self) -> float:
        """How long the page records a word take."""
        return self.clip_seconds + takes.RECORD_MARGIN_SECONDS

    @property
    def clip_samples(self) -> int:
        return int(round(self.clip_seconds * takes.SAMPLE_RATE))


def parse_words(words: str) -> tuple[str, ...]:
    """`--words` as folder names; lower-cased, since `input_data` lower-cases folders too.

    Raises:
      ValueError: empty, repeated, or not usable as a dataset folder.
    """
    parsed = tuple(word.strip().lower() for word in words.split(",") if word.strip())
    if not parsed:
        raise ValueError("--words is empty: give the keywords to record, e.g. --words=yes,no")
    for word in parsed:
        if not WORD_PATTERN.match(word):
            raise ValueError(f"--words: {word!r} cannot be a dataset folder; use letters, "
                             "digits, '-' and '_' (not first: '_' folders are reserved)")
    duplicates = sorted({word for word in parsed if parsed.count(word) > 1})
    if duplicates:
        raise ValueError(f"--words lists {', '.join(duplicates)} more than once")
    return parsed


def check_speaker(speaker: str) -> str:
    if not SPEAKER_PATTERN.match(speaker):
        raise ValueError(f"--speaker={speaker!r}: use letters, digits and '-' only (it "
                         "becomes the file-name part before '_nohash_' that splits the dataset)")
    return speaker


def default_speaker() -> str:
    """The login name reduced to what `SPEAKER_PATTERN` allows, or 'speaker'."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = ""
    name = re.sub(r"[^A-Za-z0-9-]", "", name).lstrip("-")
    return name or "speaker"


def speaker_split(speaker: str, validation_percentage: float = DEFAULT_SPLIT_PERCENTAGES[0],
                  testing_percentage: float = DEFAULT_SPLIT_PERCENTAGES[1]) -> str:
    """'training', 'validation' or 'testing': where `which_set` puts the speaker's clips."""
    return split.which_set(f"{speaker}_nohash_0.wav", validation_percentage, testing_percentage)


class Dataset:
    """The output folder: numbering, counts, this session's takes and the training command.

    One lock serialises writes and discards, since the server handles requests on threads.
    """

    def __init__(self, config: RecorderConfig):
        self.config = config
        self.root = os.path.abspath(config.output_dir)
        self._lock = threading.Lock()
        self._session: list[str] = []  # relative paths written by this process, oldest first

    def _clips(self, folder: str) -> list[tuple[str, int]]:
        """(speaker, index) of every clip named like Speech Commands in `folder`."""
        found = []
        for path in glob.glob(os.path.join(self.root, folder, "*.wav")):
            match = CLIP_NAME.match(os.path.basename(path))
            if match:
                found.append((match["speaker"], int(match["index"])))
        return found

    def folders(self) -> tuple[str, ...]:
        """The folders takes go to: each word, then background noise."""
        return self.config.words + (BACKGROUND_DIR,)

    def take_path(self, relative: str) -> str | None:
        """The file of `<folder>/<clip name>` if it is a clip of this dataset, else None."""
        folder, _, name = relative.partition("/")
        if folder not in self.folders() or not CLIP_NAME.match(name):
            return None
        path = os.path.join(self.root, folder, name)
        return path if os.path.isfile(path) else None

    def save(self, folder: str, waveform: np.ndarray) -> str:
        """Writes the next `<speaker>_nohash_<k>.wav` in `folder`; returns its relative path."""
        with self._lock:
            taken = [index for speaker, index in self._clips(folder)
                     if speaker == self.config.speaker]
            name = f"{self.config.speaker}_nohash_{max(taken, default=-1) + 1}.wav"
            relative = f"{folder}/{name}"
            audio.write_wav(os.path.join(self.root, folder, name), waveform, takes.SAMPLE_RATE)
            self._session.append(relative)
        return relative

    def discard_last(self) -> str:
        """Deletes the newest take of this session; returns its relative path.

        Raises:
          NothingToDiscard: this session wrote no take that is still on disk.
        """
        with self._lock:
            while self._session:
                relative = self._session.pop()
                path = os.path.join(self.root, relative)
                if os.path.exists(path):
                    os.remove(path)
                    return relative
        raise NothingToDiscard("nothing to discard: no take recorded in this session")

    def last_take(self) -> str | None:
        with self._lock:
            return self._session[-1] if self._session else None

    def counts(self) -> dict[str, dict[str, int]]:
        """Per folder (each word, then background): clips by this speaker and by everyone."""
        counts = {}
        for folder in self.folders():
            clips = self._clips(folder)
            counts[folder] = {"speaker": sum(s == self.config.speaker for s, _ in clips),
                              "total": len(clips)}
        return counts

    def speaker_splits(self) -> dict[str, str]:
        """Split (train.py's default percentages) of this speaker and every word speaker."""
        speakers = {speaker for word in self.config.words for speaker, _ in self._clips(word)}
        speakers.add(self.config.speaker)
        return {speaker: speaker_split(speaker) for speaker in sorted(speakers)}

    def train_command(self) -> tuple[str, str]:
        """(command that trains on the folder, a note on how the speakers split)."""
        counts = self.counts()
        recorded = [word for word in self.config.words if counts[word]["total"]]
        splits = self.speaker_splits()
        speakers = {speaker for word in recorded for speaker, _ in self._clips(word)}
        held_out = sorted(s for s in speakers if splits[s] != "training")
        trained = sorted(s for s in speakers if splits[s] == "training")
        command = ["python", "-m", "speech_commands.train", f"--data_dir={self.root}",
                   f"--wanted_words={','.join(recorded or self.config.words)}",
                   "--model_architecture=embedding_head"]
        if round(self.config.clip_seconds * 1000) != 1000:
            command.append(f"--clip_duration_ms={round(self.config.clip_seconds * 1000)}")
        if not speakers:
            note = "Nothing recorded yet."
        elif not trained:
            command += ["--validation_percentage=0", "--testing_percentage=0"]
            note = (f"Speaker(s) {', '.join(held_out)} hash into validation/testing, so every "
                    "clip is used for training; record another speaker (--speaker) to get a "
                    "held-out accuracy.")
        elif not held_out:
            note = ("Every speaker hashes into training: validation and testing stay empty. "
                    "Record another speaker (--speaker) to get a held-out accuracy.")
        else:
            note = (f"Training on {', '.join(trained)}; held out: "
                    + ", ".join(f"{s} ({splits[s]})" for s in held_out) + ".")
        return " ".join(shlex.quote(part) for part in command), note

    def state(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready values."""
        command, note = self.train_command()
        config = self.config
        return {"speaker": config.speaker, "words": list(config.words),
                "clip_seconds": config.clip_seconds, "record_seconds": config.record_seconds,
                "background_seconds": config.background_seconds,
                "takes_per_word": config.takes_per_word, "counts": self.counts(),
                "background_dir": BACKGROUND_DIR, "last_take": self.last_take(),
                "split": self.speaker_splits()[config.speaker], "output_dir": self.root,
                "train_command": command, "train_note": note}
