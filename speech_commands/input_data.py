"""The Speech Commands dataset: splits, silence/unknown sampling, augmentation, batches.

Behaviour follows the reference `input_data.py` (splits by hashing, 10% silence and unknown
relative to the wanted-word count, background mixing, time shift). Two things differ on
purpose, both for speed and reproducibility:

* Batches are built in NumPy and featurized in one op call per batch, instead of one
  session run per clip. Clips are decoded once and kept in memory (~64 kB each).
* All randomness comes from one seeded `numpy.random.Generator` whose state can be saved
  and restored, so a resumed training run draws the same batches as an uninterrupted one.
  The validation and testing sets, whose silence clips get random noise, are featurized
  once with their own fixed seed, so successive evaluations score the same inputs.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import os
import random
import tarfile
import urllib.request

import numpy as np
import tensorflow as tf
from absl import logging

from earshot import audio, fileio, progress
from speech_commands import features
from speech_commands.split import speaker_of, which_set

SILENCE_LABEL = "_silence_"
SILENCE_INDEX = 0
UNKNOWN_WORD_LABEL = "_unknown_"
UNKNOWN_WORD_INDEX = 1
BACKGROUND_NOISE_DIR_NAME = "_background_noise_"
RANDOM_SEED = 59185
MODES = ("validation", "testing", "training")
# Seed of the noise drawn for silence clips of the fixed evaluation sets.
EVALUATION_SEED = 7
# Pieces a batch is cut into for featurizing in parallel (one per core, at most 8).
FEATURE_SHARDS = min(os.cpu_count() or 1, 8)


def prepare_words_list(wanted_words: list[str]) -> list[str]:
    """Label order of the model output: silence, unknown, then the wanted words as given."""
    return [SILENCE_LABEL, UNKNOWN_WORD_LABEL] + list(wanted_words)


def _has_wavs(data_dir: str) -> bool:
    return bool(glob.glob(os.path.join(data_dir, "*", "*.wav")))


def maybe_download_and_extract_dataset(data_url: str, dest_directory: str) -> None:
    """Downloads and unpacks the dataset tarball into `dest_directory` if needed.

    Unlike the reference, a folder that already holds `<word>/*.wav` is used as is, so a
    synthesized or previously extracted dataset never triggers a download.
    """
    if not data_url:
        return
    if _has_wavs(dest_directory):
        logging.info("Using the dataset already in %s (not downloading %s)", dest_directory,
                     data_url)
        return
    os.makedirs(dest_directory, exist_ok=True)
    filepath = os.path.join(dest_directory, data_url.split("/")[-1])
    if not os.path.exists(filepath):
        logging.info("Downloading %s", data_url)
        try:
            with urllib.request.urlopen(data_url) as response, \
                    fileio.atomic_open(filepath, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                chunks = iter(lambda: response.read(1 << 20), b"")
                for chunk in progress.track(chunks, f"downloading {filepath}",
                                            total=total and math.ceil(total / (1 << 20))):
                    out.write(chunk)
        except OSError as error:
            raise RuntimeError(
                f"Failed to download URL: {data_url} to folder: {filepath} ({error}). Please make "
                "sure you have enough free space and an internet connection") from error
        logging.info("Successfully downloaded %s (%d bytes)", os.path.basename(filepath),
                     os.path.getsize(filepath))
    try:
        with tarfile.open(filepath, "r:*") as archive:
            archive.extractall(dest_directory, filter="data")
    except tarfile.TarError as error:
        raise RuntimeError(f"{filepath} is not a readable tar archive ({error})") from error


def load_clip(path: str, desired_samples: int, sample_rate: int) -> np.ndarray:
    """A clip as float32 `[desired_samples]`: zero-padded at the end or truncated, like
    `decode_wav(desired_samples=...)`."""
    waveform = audio.load(path, sample_rate)
    clip = np.zeros(desired_samples, np.float32)
    length = min(desired_samples, waveform.size)
    clip[:length] = waveform[:length]
    return clip


class AudioProcessor:
    """Indexes a Speech Commands folder and serves featurized, augmented batches.

    Attributes:
      data_index: mode -> list of {'label': word, 'file': path}, silence entries included.
      words_list: output labels, `[_silence_, _unknown_, *wanted_words]`.
      word_to_index: every word seen (and `_silence_`) -> label index.
      background_data: list of float32 `[samples]` noise recordings.
    """

    def __init__(self, data_url: str, data_dir: str, silence_percentage: float,
                 unknown_percentage: float, wanted_words: list[str],
                 validation_percentage: float, testing_percentage: float, model_settings: dict,
                 seed: int = 0, examples_per_word: int = 0):
        if not data_dir:
            raise ValueError("--data_dir is empty")
        self.data_dir = data_dir
        self.model_settings = model_settings
        self.rng = np.random.default_rng(seed)
        self._clips: dict[str, np.ndarray] = {}
        self._evaluation_sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        maybe_download_and_extract_dataset(data_url, data_dir)
        self.prepare_data_index(silence_percentage, unknown_percentage, wanted_words,
                                validation_percentage, testing_percentage, examples_per_word)
        self.prepare_background_data()
        self._featurize = tf.function(self._featurize_batch, reduce_retracing=True)

    def prepare_data_index(self, silence_percentage: float, unknown_percentage: float,
                           wanted_words: list[str], validation_percentage: float,
                           testing_percentage: float, examples_per_word: int = 0) -> None:
        """Splits clips by `which_set`, then adds silence and unknown entries and shuffles.

        The file list is sorted (the reference leaves it in glob order), so unknown picks are
        the same on every machine. `examples_per_word=K > 0` keeps, for each wanted word, the
        training clips of K speakers only (`few_speakers`); silence and unknown counts still
        follow the full training set, since negatives are cheap to collect.
        """
        random.seed(RANDOM_SEED)
        wanted_words_index = {word: index + 2 for index, word in enumerate(wanted_words)}
        self.data_index: dict[str, list[dict]] = {mode: [] for mode in MODES}
        unknown_index: dict[str, list[dict]] = {mode: [] for mode in MODES}
        all_words = {}
        search_path = os.path.join(self.data_dir, "*", "*.wav")
        for wav_path in sorted(glob.glob(search_path)):
            word = os.path.basename(os.path.dirname(wav_path)).lower()
            if word == BACKGROUND_NOISE_DIR_NAME:
                continue
            all_words[word] = True
            set_index = which_set(wav_path, validation_percentage, testing_percentage)
            entry = {"label": word, "file": wav_path}
            if word in wanted_words_index:
                self.data_index[set_index].append(entry)
            else:
                unknown_index[set_index].append(entry)
        if not all_words:
            raise FileNotFoundError("No .wavs found at " + search_path)
        for word in wanted_words:
            if word not in all_words:
                raise ValueError("Expected to find " + word + " in labels but only found " +
                                 ", ".join(sorted(all_words)))
        if not self.data_index["training"]:
            raise ValueError(f"No training clips of the wanted words in {self.data_dir}: every "
                             "speaker hashed into validation or testing")
        silence_wav_path = self.data_index["training"][0]["file"]
        set_sizes = {mode: len(self.data_index[mode]) for mode in MODES}
        if examples_per_word > 0:
            self.data_index["training"] = few_speakers(self.data_index["training"],
                                                       examples_per_word)
        for set_index in MODES:
            set_size = set_sizes[set_index]
            silence_size = int(math.ceil(set_size * silence_percentage / 100))
            self.data_index[set_index].extend(
                {"label": SILENCE_LABEL, "file": silence_wav_path} for _ in range(silence_size))
            random.shuffle(unknown_index[set_index])
            unknown_size = int(math.ceil(set_size * unknown_percentage / 100))
            self.data_index[set_index].extend(unknown_index[set_index][:unknown_size])
        for set_index in MODES:
            random.shuffle(self.data_index[set_index])
        self.words_list = prepare_words_list(wanted_words)
        self.word_to_index = {word: wanted_words_index.get(word, UNKNOWN_WORD_INDEX)
                              for word in all_words}
        self.word_to_index[SILENCE_LABEL] = SILENCE_INDEX

    def prepare_background_data(self) -> None:
        """Loads every `_background_noise_/*.wav`; none if the folder is absent."""
        self.background_data: list[np.ndarray] = []
        background_dir = os.path.join(self.data_dir, BACKGROUND_NOISE_DIR_NAME)
        if not os.path.isdir(background_dir):
            return
        paths = sorted(glob.glob(os.path.join(background_dir, "*.wav")))
        if not paths:
            raise FileNotFoundError("No background wavs were found in " + background_dir)
        desired_samples = self.model_settings["desired_samples"]
        for path in paths:
            noise = audio.load(path, self.model_settings["sample_rate"])
            if noise.size <= desired_samples:
                raise ValueError(f"{path}: background noise of {noise.size} samples is not longer "
                                 f"than one clip ({desired_samples} samples)")
            self.background_data.append(noise)

    def set_size(self, mode: str) -> int:
        """Number of entries (silence and unknown included) in a split."""
        return len(self.data_index[mode])

    def clip(self, path: str) -> np.ndarray:
        """float32 `[desired_samples]` audio of a file, decoded once and then cached."""
        if path not in self._clips:
            self._clips[path] = load_clip(path, self.model_settings["desired_samples"],
                                          self.model_settings["sample_rate"])
        return self._clips[path]

    def get_rng_state(self) -> str:
        """The augmentation RNG state as JSON (saved in checkpoints for an exact resume)."""
        return json.dumps(self.rng.bit_generator.state)

    def set_rng_state(self, state: str) -> None:
        self.rng.bit_generator.state = json.loads(state)

    def _featurize_batch(self, *shards: tf.Tensor) -> tf.Tensor:
        settings = self.model_settings
        rate = tf.constant(settings["sample_rate"], tf.int32)
        fingerprints = [features.compute(tf.transpose(shard), rate, settings) for shard in shards]
        return tf.reshape(tf.concat(fingerprints, 0), [-1, settings["fingerprint_size"]])

    def featurize(self, audio_batch: np.ndarray) -> np.ndarray:
        """float32 `[batch, desired_samples]` audio -> float32 `[batch, fingerprint_size]`.

        The DSP kernels are single-threaded, so the batch is cut into one shard per core and
        the shards' ops run side by side in one graph.
        """
        shards = [shard for shard in np.array_split(audio_batch, FEATURE_SHARDS) if len(shard)]
        return self._featurize(*[tf.convert_to_tensor(s, tf.float32) for s in shards]).numpy()

    def get_audio(self, how_many: int, offset: int, background_frequency: float,
                  background_volume_range: float, time_shift: int, mode: str,
                  rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Augmented audio and labels, as the reference's processing graph mixes them.

        Training draws `how_many` entries at random with replacement; other modes take
        `[offset, offset + how_many)` in order (`how_many=-1`: the whole split).

        Returns:
          (audio float32 `[n, desired_samples]` in [-1, 1], labels int64 `[n]`).
        """
        rng = self.rng if rng is None else rng
        candidates = self.data_index[mode]
        if how_many == -1:
            sample_count = len(candidates)
        else:
            sample_count = max(0, min(how_many, len(candidates) - offset))
        desired_samples = self.model_settings["desired_samples"]
        use_background = bool(self.background_data) and mode == "training"
        pick_deterministically = mode != "training"
        data = np.zeros((sample_count, desired_samples), np.float32)
        labels = np.zeros(sample_count, np.int64)
        for i in range(sample_count):
            if how_many == -1 or pick_deterministically:
                sample_index = i + offset
            else:
                sample_index = int(rng.integers(len(candidates)))
            sample = candidates[sample_index]
            data[i] = self.augment(sample, use_background, background_frequency,
                                   background_volume_range, time_shift, rng)
            labels[i] = self.word_to_index[sample["label"]]
        return data, labels

    def augment(self, sample: dict, use_background: bool, background_frequency: float,
                background_volume_range: float, time_shift: int,
                rng: np.random.Generator) -> np.ndarray:
        """One entry's audio as the reference mixes it: shifted by up to `time_shift`
        samples, background noise added (always for silence, else with probability
        `background_frequency` when `use_background`), clipped to [-1, 1]. float32
        `[desired_samples]`."""
        desired_samples = self.model_settings["desired_samples"]
        is_silence = sample["label"] == SILENCE_LABEL
        foreground = np.zeros(desired_samples, np.float32) if is_silence else self.clip(
            sample["file"])
        if time_shift > 0:
            foreground = _shift(foreground, int(rng.integers(-time_shift, time_shift)))
        mixed = foreground
        if self.background_data and (use_background or is_silence):
            noise = self.background_data[int(rng.integers(len(self.background_data)))]
            start = int(rng.integers(0, len(noise) - desired_samples))
            if is_silence:
                volume = rng.uniform(0, 1)
            elif rng.uniform(0, 1) < background_frequency:
                volume = rng.uniform(0, background_volume_range)
            else:
                volume = 0.0
            mixed = foreground + noise[start:start + desired_samples] * np.float32(volume)
        return np.clip(mixed, -1.0, 1.0)

    def get_data(self, how_many: int, offset: int, background_frequency: float,
                 background_volume_range: float, time_shift: int,
                 mode: str) -> tuple[np.ndarray, np.ndarray]:
        """Featurized batch: (float32 `[n, fingerprint_size]`, int64 labels `[n]`).

        Validation and testing batches (no augmentation in the reference) come from the
        fixed evaluation set of that mode, featurized on first use.
        """
        if mode != "training":
            fingerprints, labels = self.evaluation_set(mode)
            end = len(labels) if how_many == -1 else offset + how_many
            return fingerprints[offset:end], labels[offset:end]
        data, labels = self.get_audio(how_many, offset, background_frequency,
                                      background_volume_range, time_shift, mode)
        return self.featurize(data), labels

    def evaluation_set(self, mode: str, batch_size: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """The whole validation or testing split featurized: ([n, fingerprint_size], [n])."""
        if mode not in self._evaluation_sets:
            rng = np.random.default_rng(EVALUATION_SEED)
            data, labels = self.get_audio(-1, 0, 0.0, 0.0, 0, mode, rng=rng)
            batches = [self.featurize(data[i:i + batch_size])
                       for i in progress.track(range(0, len(data), batch_size),
                                               f"featurizing the {mode} set")]
            fingerprints = (np.concatenate(batches) if batches else
                            np.zeros((0, self.model_settings["fingerprint_size"]), np.float32))
            self._evaluation_sets[mode] = (fingerprints, labels)
        return self._evaluation_sets[mode]

    def get_features_for_wav(self, wav_filename: str) -> np.ndarray:
        """Fingerprint of one file with no augmentation: float32 `[1, fingerprint_size]`."""
        return self.featurize(self.clip(wav_filename)[np.newaxis])

    def get_unprocessed_data(self, how_many: int, mode: str) -> tuple[np.ndarray, list[str]]:
        """Raw clips of a split (silence as zeros) and their label strings.

        `how_many=-1` returns the whole split in order, else that many random picks.
        """
        candidates = self.data_index[mode]
        if how_many == -1:
            picks = list(range(len(candidates)))
        else:
            picks = [int(self.rng.integers(len(candidates))) for _ in range(how_many)]
        data = np.zeros((len(picks), self.model_settings["desired_samples"]), np.float32)
        labels = []
        for row, index in enumerate(picks):
            sample = candidates[index]
            if sample["label"] != SILENCE_LABEL:
                data[row] = self.clip(sample["file"])
            labels.append(sample["label"])
        return data, labels


def few_speakers(entries: list[dict], examples_per_word: int) -> list[dict]:
    """The entries of `examples_per_word` speakers per label, in the given order.

    Speakers are ranked by the SHA1 of their name, so the K kept for a smaller K are a subset
    of those kept for a larger one, and the same speakers are kept for every word they said.
    """
    if examples_per_word <= 0:
        raise ValueError(f"examples_per_word must be > 0, got {examples_per_word}")
    speakers: dict[str, set[str]] = {}
    for entry in entries:
        speakers.setdefault(entry["label"], set()).add(speaker_of(entry["file"]))
    kept = {label: set(sorted(names, key=lambda n: hashlib.sha1(n.encode()).hexdigest())
                       [:examples_per_word])
            for label, names in speakers.items()}
    return [entry for entry in entries if speaker_of(entry["file"]) in kept[entry["label"]]]


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
