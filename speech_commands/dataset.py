"""The Speech Commands dataset without TensorFlow: download, split index, noise, clips, mixing.

Each job of the reference's `AudioProcessor` is one small piece here, composed by
`batches.BatchSource` (which adds featurizing):

* `maybe_download_and_extract_dataset`: the tarball, when one is named and the folder holds
  no wavs yet.
* `DataIndex`: splits by hashing, silence and unknown entries as the reference adds them.
* `load_background_data`: the `_background_noise_` recordings.
* `ClipCache`: each clip decoded once, kept in memory (~64 kB each).
* `SamplerRng`: the one seeded generator of a run, whose state is saved in checkpoints.
* `augment`: time shift and background mixing of one entry, as the reference's graph does.

Behaviour follows the reference `input_data.py`; the file list is sorted before the seeded
shuffle, so unknown picks are the same on every machine.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import math
import os
import random
import tarfile
import urllib.error
import urllib.request

import numpy as np
from absl import logging

from earshot import audio, fileio, progress
from earshot.errors import UserError, require_file
from speech_commands.settings import TrainConfig
from speech_commands.split import speaker_of, which_set

SILENCE_LABEL = "_silence_"
SILENCE_INDEX = 0
UNKNOWN_WORD_LABEL = "_unknown_"
UNKNOWN_WORD_INDEX = 1
BACKGROUND_NOISE_DIR_NAME = "_background_noise_"
RANDOM_SEED = 59185
MODES = ("validation", "testing", "training")
DOWNLOAD_TIMEOUT_SECONDS = 60  # a server silent this long is not coming back


class DatasetError(UserError, ValueError):
    """A dataset folder that cannot serve the asked split (missing words, no clips)."""


class NoDataset(DatasetError, FileNotFoundError):
    """A dataset folder that does not exist or holds no `<word>/*.wav` clip."""


def prepare_words_list(wanted_words: list[str]) -> list[str]:
    """Label order of the model output: silence, unknown, then the wanted words as given."""
    return [SILENCE_LABEL, UNKNOWN_WORD_LABEL] + list(wanted_words)


TFLITE_LABELS_NAME = "conv_actions_labels.txt"  # the Android demo's labels, beside its model


def read_labels(path: str) -> list[str]:
    """Label lines with trailing whitespace removed (as label_wav reads them)."""
    require_file(path, "labels file")
    with open(path) as labels_file:
        labels = [line.rstrip() for line in labels_file]
    if not labels or not all(labels):
        raise DatasetError(f"{path}: empty labels file or empty label line")
    return labels


def _has_wavs(data_dir: str) -> bool:
    return bool(glob.glob(os.path.join(data_dir, "*", "*.wav")))


def maybe_download_and_extract_dataset(data_url: str, dest_directory: str) -> None:
    """Downloads and unpacks the dataset tarball `data_url` into `dest_directory` if needed.

    Unlike the reference, a folder that already holds `<word>/*.wav` is used as is, so a
    synthesized or previously extracted dataset never triggers a download; and no
    `data_url` ("" or None) never downloads.

    Raises:
      DatasetError: the download failed (nothing is left behind: neither a partial tarball
        nor the folder made for it), or the tarball is not one.
    """
    if not data_url:
        return
    if _has_wavs(dest_directory):
        logging.info("Using the dataset already in %s (not downloading %s)", dest_directory,
                     data_url)
        return
    created = not os.path.exists(dest_directory)
    os.makedirs(dest_directory, exist_ok=True)
    filepath = os.path.join(dest_directory, data_url.split("/")[-1])
    if not os.path.exists(filepath):
        try:
            _download(data_url, filepath)
        except DatasetError:
            if created and not os.listdir(dest_directory):
                os.rmdir(dest_directory)
            raise
    try:
        with tarfile.open(filepath, "r:*") as archive:
            archive.extractall(dest_directory, filter="data")
    except tarfile.TarError as error:
        raise DatasetError(f"{filepath}: not a readable tar archive ({error})") from error


def _download(url: str, filepath: str) -> None:
    """Downloads `url` to `filepath` atomically (a failed download leaves no file)."""
    logging.info("Downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response, \
                fileio.atomic_open(filepath, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            chunks = iter(lambda: response.read(1 << 20), b"")
            for chunk in progress.track(chunks, f"downloading {filepath}",
                                        total=total and math.ceil(total / (1 << 20))):
                out.write(chunk)
    except OSError as error:
        # An HTTP error says its status; a connection error's reason is the socket's.
        reason = error if isinstance(error, urllib.error.HTTPError) else getattr(
            error, "reason", error)
        raise DatasetError(f"cannot download {url} ({reason}); check the URL and the network, "
                           "or name a folder that holds the dataset with --data_dir") from error
    logging.info("Successfully downloaded %s (%d bytes)", os.path.basename(filepath),
                 os.path.getsize(filepath))


@dataclasses.dataclass(frozen=True)
class SplitSettings:
    """How a folder is cut into entries (the reference's percentages)."""

    silence_percentage: float
    unknown_percentage: float
    wanted_words: tuple[str, ...]
    validation_percentage: float
    testing_percentage: float
    examples_per_word: int = 0

    @classmethod
    def of(cls, config: TrainConfig) -> "SplitSettings":
        """The split a training run cuts its folder into."""
        return cls(config.silence_percentage, config.unknown_percentage, config.wanted_words,
                   config.validation_percentage, config.testing_percentage,
                   config.examples_per_word)


@dataclasses.dataclass
class DataIndex:
    """The entries of each split.

    Attributes:
      data_index: mode -> list of {'label': word, 'file': path}, silence entries included.
      words_list: output labels, `[_silence_, _unknown_, *wanted_words]`.
      word_to_index: every word seen (and `_silence_`) -> label index.
    """

    data_index: dict[str, list[dict]]
    words_list: list[str]
    word_to_index: dict[str, int]

    @classmethod
    def build(cls, data_dir: str, split: SplitSettings) -> "DataIndex":
        """Splits clips by `which_set`, then adds silence and unknown entries and shuffles.

        `examples_per_word=K > 0` keeps, for each wanted word, the training clips of K
        speakers only (`few_speakers`); silence and unknown counts still follow the full
        training set, since negatives are cheap to collect.
        """
        if not os.path.isdir(data_dir):
            raise NoDataset(f"{data_dir}: no such dataset folder")
        random.seed(RANDOM_SEED)
        wanted_words = list(split.wanted_words)
        wanted_words_index = {word: index + 2 for index, word in enumerate(wanted_words)}
        data_index: dict[str, list[dict]] = {mode: [] for mode in MODES}
        unknown_index: dict[str, list[dict]] = {mode: [] for mode in MODES}
        all_words = {}
        search_path = os.path.join(data_dir, "*", "*.wav")
        for wav_path in sorted(glob.glob(search_path)):
            word = os.path.basename(os.path.dirname(wav_path)).lower()
            if word == BACKGROUND_NOISE_DIR_NAME:
                continue
            all_words[word] = True
            set_index = which_set(wav_path, split.validation_percentage,
                                  split.testing_percentage)
            entry = {"label": word, "file": wav_path}
            if word in wanted_words_index:
                data_index[set_index].append(entry)
            else:
                unknown_index[set_index].append(entry)
        if not all_words:
            raise NoDataset(f"No .wavs found at {search_path}: {data_dir} holds no dataset")
        for word in wanted_words:
            if word not in all_words:
                raise DatasetError("Expected to find " + word + " in labels but only found " +
                                   ", ".join(sorted(all_words)))
        if not data_index["training"]:
            raise DatasetError(f"No training clips of the wanted words in {data_dir}: every "
                               "speaker hashed into validation or testing")
        silence_wav_path = data_index["training"][0]["file"]
        set_sizes = {mode: len(data_index[mode]) for mode in MODES}
        if split.examples_per_word > 0:
            data_index["training"] = few_speakers(data_index["training"],
                                                  split.examples_per_word)
        for set_index in MODES:
            set_size = set_sizes[set_index]
            silence_size = int(math.ceil(set_size * split.silence_percentage / 100))
            data_index[set_index].extend(
                {"label": SILENCE_LABEL, "file": silence_wav_path} for _ in range(silence_size))
            random.shuffle(unknown_index[set_index])
            unknown_size = int(math.ceil(set_size * split.unknown_percentage / 100))
            data_index[set_index].extend(unknown_index[set_index][:unknown_size])
        for set_index in MODES:
            random.shuffle(data_index[set_index])
        word_to_index = {word: wanted_words_index.get(word, UNKNOWN_WORD_INDEX)
                         for word in all_words}
        word_to_index[SILENCE_LABEL] = SILENCE_INDEX
        return cls(data_index, prepare_words_list(wanted_words), word_to_index)


def few_speakers(entries: list[dict], examples_per_word: int) -> list[dict]:
    """The entries of `examples_per_word` speakers per label, in the given order.

    Speakers are ranked by the SHA1 of their name, so the K kept for a smaller K are a subset
    of those kept for a larger one, and the same speakers are kept for every word they said.
    """
    if examples_per_word <= 0:
        raise DatasetError(f"examples_per_word must be > 0, got {examples_per_word}")
    speakers: dict[str, set[str]] = {}
    for entry in entries:
        speakers.setdefault(entry["label"], set()).add(speaker_of(entry["file"]))
    kept = {label: set(sorted(names, key=lambda n: hashlib.sha1(n.encode()).hexdigest())
                       [:examples_per_word])
            for label, names in speakers.items()}
    return [entry for entry in entries if speaker_of(entry["file"]) in kept[entry["label"]]]


def load_background_data(data_dir: str, desired_samples: int,
                         sample_rate: int) -> list[np.ndarray]:
    """Every `_background_noise_/*.wav` as float32 `[samples]`; none if the folder is absent."""
    background_dir = os.path.join(data_dir, BACKGROUND_NOISE_DIR_NAME)
    if not os.path.isdir(background_dir):
        return []
    paths = sorted(glob.glob(os.path.join(background_dir, "*.wav")))
    if not paths:
        raise FileNotFoundError("No background wavs were found in " + background_dir)
    background_data = []
    for path in paths:
        noise = audio.load(path, sample_rate)
        if noise.size <= desired_samples:
            raise DatasetError(f"{path}: background noise of {noise.size} samples is not "
                               f"longer than one clip ({desired_samples} samples)")
        background_data.append(noise)
    return background_data


def load_clip(path: str, desired_samples: int, sample_rate: int) -> np.ndarray:
    """A clip as float32 `[desired_samples]`: zero-padded at the end or truncated, like
    `decode_wav(desired_samples=...)`."""
    waveform = audio.load(path, sample_rate)
    clip = np.zeros(desired_samples, np.float32)
    length = min(desired_samples, waveform.size)
    clip[:length] = waveform[:length]
    return clip


class ClipCache:
    """float32 `[desired_samples]` audio of each file, decoded once and then kept."""

    def __init__(self, desired_samples: int, sample_rate: int):
        self.desired_samples, self.sample_rate = desired_samples, sample_rate
        self._clips: dict[str, np.ndarray] = {}

    def __call__(self, path: str) -> np.ndarray:
        if path not in self._clips:
            self._clips[path] = load_clip(path, self.desired_samples, self.sample_rate)
        return self._clips[path]


class SamplerRng:
    """The seeded generator every random choice of a run draws from; its state round-trips
    through JSON, so a checkpoint can hold it and a resumed run draws the same batches."""

    def __init__(self, seed: int):
        self.generator = np.random.default_rng(seed)

    def get_state(self) -> str:
        return json.dumps(self.generator.bit_generator.state)

    def set_state(self, state: str) -> None:
        self.generator.bit_generator.state = json.loads(state)


def augment(foreground: np.ndarray, is_silence: bool, background_data: list[np.ndarray],
            use_background: bool, background_frequency: float, background_volume_range: float,
            time_shift: int, rng: np.random.Generator) -> np.ndarray:
    """One entry's audio as the reference mixes it.

    Args:
      foreground: the clip, float32 `[desired_samples]` (ignored for silence, which is zeros).
      is_silence: the entry is a silence entry: always mixed with noise, at volume U(0, 1).
      use_background: mix noise into words too, with probability `background_frequency` at
        volume U(0, `background_volume_range`).
      time_shift: shift by U[-time_shift, time_shift) samples, filling with zeros.

    Returns:
      float32 `[desired_samples]` clipped to [-1, 1].
    """
    desired_samples = foreground.size
    if is_silence:
        foreground = np.zeros(desired_samples, np.float32)
    if time_shift > 0:
        foreground = _shift(foreground, int(rng.integers(-time_shift, time_shift)))
    mixed = foreground
    if background_data and (use_background or is_silence):
        noise = background_data[int(rng.integers(len(background_data)))]
        start = int(rng.integers(0, len(noise) - desired_samples))
        if is_silence:
            volume = rng.uniform(0, 1)
        elif rng.uniform(0, 1) < background_frequency:
            volume = rng.uniform(0, background_volume_range)
        else:
            volume = 0.0
        mixed = foreground + noise[start:start + desired_samples] * np.float32(volume)
    return np.clip(mixed, -1.0, 1.0)


def _shift(clip: np.ndarray, amount: int) -> np.ndarray:
    """Moves audio later (amount > 0) or earlier (< 0), filling with zeros, length kept."""
    if amount == 0:
        return clip
    shifted = np.zeros_like(clip)
    if amount > 0:
        shifted[amount:] = clip[:-amount]
    else:
        shifted[:amount] = clip[-amount:]
    return shifted
