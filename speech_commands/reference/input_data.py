"""The reference's `input_data` module: `AudioProcessor`, the WAV helpers and its constants.

`AudioProcessor` keeps the reference's constructor and methods, with their argument orders
(`get_data(how_many, offset, model_settings, ..., mode, sess)`), and adds earshot's typed
forms beside them (`batch`, `fingerprint_for_wav`, `evaluation_set`). It is a thin
composition of the dataset pieces (`speech_commands.dataset`: download, split index,
background noise, clip cache, the run's RNG, augmentation) and the batch featurizer
(`features.BatchFeaturizer`). Two things differ from the reference on purpose, both for speed
and reproducibility:

* Batches are built in NumPy and featurized in one op call per batch, instead of one
  session run per clip. Clips are decoded once and kept in memory.
* All randomness comes from one seeded `numpy.random.Generator` whose state can be saved
  and restored, so a resumed training run draws the same batches as an uninterrupted one.
  The validation and testing sets, whose silence clips get random noise, are featurized
  once with their own fixed seed, so successive evaluations score the same inputs.

The reference's per-clip processing graph is kept too (`processing_graph`, a `tf.function`
with the reference's six inputs): `get_features_for_wav` runs it, as the reference does, and
it is the yardstick the batched pipeline is tested against. TF1 sessions are not needed: a
`sess` argument is accepted where the reference takes one, and ignored.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from earshot import audio, progress
from earshot import tensorboard as summaries
from speech_commands import dataset, features
from speech_commands.dataset import (  # noqa: F401  (the reference's names, kept here)
    BACKGROUND_NOISE_DIR_NAME, RANDOM_SEED, SILENCE_INDEX, SILENCE_LABEL, UNKNOWN_WORD_INDEX,
    UNKNOWN_WORD_LABEL, maybe_download_and_extract_dataset, prepare_words_list)
from speech_commands.features import get_features_range  # noqa: F401  (reference name)
from speech_commands.settings import ModelSettings
from speech_commands.split import MAX_NUM_WAVS_PER_CLASS, which_set  # noqa: F401

# Seed of the noise drawn for silence clips of the fixed evaluation sets.
EVALUATION_SEED = 7
# Fingerprints written as images per `get_data` call when a summaries_dir is given.
SUMMARY_IMAGES = 1

ModelSettingsLike = ModelSettings | Mapping[str, Any]


def load_wav_file(filename: str) -> np.ndarray:
    """A WAV file's samples as float32 `[samples]` in [-1, 1], at the file's own rate.

    Channels are averaged (the reference's DecodeWav keeps the first).

    Raises:
      earshot.audio.AudioError: missing, unreadable, empty or NaN audio.
    """
    samples, _ = audio.read_file(filename)
    return audio.check_waveform(audio.to_mono(samples), filename)


def save_wav_file(filename: str, wav_data: np.ndarray, sample_rate: int) -> None:
    """Writes float audio in [-1, 1] (any shape, flattened) as 16-bit PCM WAV, atomically."""
    audio.write_wav(filename, np.reshape(np.asarray(wav_data, np.float32), -1), sample_rate)


def process_clip(settings: ModelSettings, wav_filename: tf.Tensor, foreground_volume: tf.Tensor,
                 time_shift_padding: tf.Tensor, time_shift_offset: tf.Tensor,
                 background_data: tf.Tensor, background_volume: tf.Tensor) -> tf.Tensor:
    """The reference's per-clip processing graph.

    Reads and decodes `wav_filename` (16-bit PCM WAV, padded or cut to `desired_samples`),
    scales it by `foreground_volume`, shifts it by padding `[[before, after], [0, 0]]` and
    slicing at `[offset, 0]`, adds `background_data` `[desired_samples, 1]` times
    `background_volume`, clips to [-1, 1] and featurizes with the file's sample rate.

    Returns:
      float32 `[1, spectrogram_length, fingerprint_width]`.
    """
    decoded = tf.audio.decode_wav(tf.io.read_file(wav_filename), desired_channels=1,
                                  desired_samples=settings.desired_samples)
    scaled = decoded.audio * foreground_volume
    shifted = tf.slice(tf.pad(scaled, time_shift_padding, mode="CONSTANT"), time_shift_offset,
                       [settings.desired_samples, -1])
    mixed = tf.clip_by_value(shifted + background_data * background_volume, -1.0, 1.0)
    return features.compute(mixed, decoded.sample_rate, settings)


class AudioProcessor:
    """Indexes a Speech Commands folder and serves featurized, augmented batches.

    Args (the reference's, in its order):
      data_url: dataset tarball, downloaded if `data_dir` holds no wavs ("" or None: never).
      data_dir: the dataset folder. Empty or None: no dataset, as the reference allows
        (`wav_to_features`): only `get_features_for_wav` and the processing graph work.
      silence_percentage, unknown_percentage: entries added per split, % of its words.
      wanted_words: the words to recognize; others are `_unknown_`.
      validation_percentage, testing_percentage: the split (`which_set`).
      model_settings: the reference's dict or `settings.ModelSettings`.
      summaries_dir: if given, `get_data` writes the first fingerprint of each batch as an
        image under `<summaries_dir>/data` (the reference's per-clip summaries).
      seed: (earshot) seed of every random choice.
      examples_per_word: (earshot) if > 0, the training clips of that many speakers per word.

    Attributes:
      data_index: mode -> list of {'label': word, 'file': path}, silence entries included.
      words_list: output labels, `[_silence_, _unknown_, *wanted_words]`.
      word_to_index: every word seen (and `_silence_`) -> label index.
      background_data: list of float32 `[samples]` noise recordings.
      rng: the run's `numpy.random.Generator` (state: `get_rng_state`).
    """

    def __init__(self, data_url: str | None, data_dir: str | None, silence_percentage: float,
                 unknown_percentage: float, wanted_words: list[str],
                 validation_percentage: float, testing_percentage: float,
                 model_settings: ModelSettingsLike, summaries_dir: str | None = None, *,
                 seed: int = 0, examples_per_word: int = 0):
        self.model_settings = features.model_settings_from(model_settings)
        self._sampler = dataset.SamplerRng(seed)
        self.rng = self._sampler.generator
        self.clip = dataset.ClipCache(self.model_settings.desired_samples,
                                      self.model_settings.sample_rate)
        self.featurize = features.BatchFeaturizer(self.model_settings)
        self._evaluation_sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._index: dataset.DataIndex | None = None
        self.background_data: list[np.ndarray] = []
        self.data_dir = data_dir
        if data_dir:
            dataset.maybe_download_and_extract_dataset(data_url, data_dir)
            self.prepare_data_index(silence_percentage, unknown_percentage, wanted_words,
                                    validation_percentage, testing_percentage,
                                    examples_per_word=examples_per_word)
            self.prepare_background_data()
        self.prepare_processing_graph(self.model_settings, summaries_dir)

    def _dataset(self) -> dataset.DataIndex:
        if self._index is None:
            raise dataset.DatasetError("this AudioProcessor was made without a data_dir: it has "
                                       "no dataset, only featurizes files")
        return self._index

    @property
    def data_index(self) -> dict[str, list[dict]]:
        return self._dataset().data_index

    @property
    def words_list(self) -> list[str]:
        return self._dataset().words_list

    @property
    def word_to_index(self) -> dict[str, int]:
        return self._dataset().word_to_index

    def prepare_data_index(self, silence_percentage: float, unknown_percentage: float,
                           wanted_words: list[str], validation_percentage: float,
                           testing_percentage: float, *, examples_per_word: int = 0) -> None:
        """Splits the folder (`dataset.DataIndex.build`)."""
        self._index = dataset.DataIndex.build(self.data_dir, dataset.SplitSettings(
            silence_percentage, unknown_percentage, tuple(wanted_words), validation_percentage,
            testing_percentage, examples_per_word))

    def prepare_background_data(self) -> None:
        """Loads every `_background_noise_/*.wav`; none if the folder is absent."""
        self.background_data = dataset.load_background_data(
            self.data_dir, self.model_settings.desired_samples, self.model_settings.sample_rate)

    def prepare_processing_graph(self, model_settings: ModelSettingsLike,
                                 summaries_dir: str | None) -> None:
        """Makes `processing_graph`, the reference's per-clip graph (`process_clip`), as a
        `tf.function` whose inputs are named as the reference's placeholders; it is traced on
        first use (the `*_placeholder_` attributes, `output_`, `get_features_for_wav`)."""
        settings = features.model_settings_from(model_settings)
        desired = settings.desired_samples
        self.__dict__.pop("_processing_function", None)  # traced for the previous settings
        self.processing_graph = tf.function(
            functools.partial(process_clip, settings), input_signature=[
                tf.TensorSpec([], tf.string, name="wav_filename"),
                tf.TensorSpec([], tf.float32, name="foreground_volume"),
                tf.TensorSpec([2, 2], tf.int32, name="time_shift_padding"),
                tf.TensorSpec([2], tf.int32, name="time_shift_offset"),
                tf.TensorSpec([desired, 1], tf.float32, name="background_data"),
                tf.TensorSpec([], tf.float32, name="background_volume")])
        self.summaries_dir = summaries_dir
        self._summary_writer = None
        self._summary_step = 0

    @functools.cached_property
    def _processing_function(self):
        return self.processing_graph.get_concrete_function()

    @property
    def wav_filename_placeholder_(self) -> tf.Tensor:
        return self._processing_function.inputs[0]

    @property
    def foreground_volume_placeholder_(self) -> tf.Tensor:
        return self._processing_function.inputs[1]

    @property
    def time_shift_padding_placeholder_(self) -> tf.Tensor:
        return self._processing_function.inputs[2]

    @property
    def time_shift_offset_placeholder_(self) -> tf.Tensor:
        return self._processing_function.inputs[3]

    @property
    def background_data_placeholder_(self) -> tf.Tensor:
        return self._processing_function.inputs[4]

    @property
    def background_volume_placeholder_(self) -> tf.Tensor:
        return self._processing_function.inputs[5]

    @property
    def output_(self) -> tf.Tensor:
        return self._processing_function.outputs[0]

    def set_size(self, mode: str) -> int:
        """Number of entries (silence and unknown included) in a split."""
        return len(self.data_index[mode])

    def get_rng_state(self) -> str:
        """The augmentation RNG state as JSON (saved in checkpoints for an exact resume)."""
        return self._sampler.get_state()

    def set_rng_state(self, state: str) -> None:
        self._sampler.set_state(state)

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
        use_background = bool(self.background_data) and mode == "training"
        pick_deterministically = mode != "training"
        data = np.zeros((sample_count, self.model_settings.desired_samples), np.float32)
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
        """One entry's audio as the reference mixes it (`dataset.augment`): float32
        `[desired_samples]`."""
        is_silence = sample["label"] == SILENCE_LABEL
        foreground = (np.zeros(self.model_settings.desired_samples, np.float32) if is_silence
                      else self.clip(sample["file"]))
        return dataset.augment(foreground, is_silence, self.background_data, use_background,
                               background_frequency, background_volume_range, time_shift, rng)

    def batch(self, how_many: int, offset: int, background_frequency: float,
              background_volume_range: float, time_shift: int,
              mode: str) -> tuple[np.ndarray, np.ndarray]:
        """Featurized batch: (float32 `[n, fingerprint_size]`, int64 labels `[n]`).

        Training batches are drawn and augmented by the run's RNG. Validation and testing
        batches (no augmentation in the reference) come from the fixed evaluation set of that
        mode, featurized on first use.
        """
        if mode != "training":
            fingerprints, labels = self.evaluation_set(mode)
            end = len(labels) if how_many == -1 else offset + how_many
            return fingerprints[offset:end], labels[offset:end]
        data, labels = self.get_audio(how_many, offset, background_frequency,
                                      background_volume_range, time_shift, mode)
        return self.featurize(data), labels

    def get_data(self, how_many: int, offset: int, model_settings: ModelSettingsLike,
                 background_frequency: float, background_volume_range: float, time_shift: int,
                 mode: str, sess=None) -> tuple[np.ndarray, np.ndarray]:
        """The reference's form of `batch`: (float32 `[n, fingerprint_size]`, int64 `[n]`).

        Args:
          model_settings: must be the settings the processor was made with.
          sess: the reference's TF1 session; not needed.
        """
        del sess  # Eager: nothing to run in a session.
        self._check_settings(model_settings)
        fingerprints, labels = self.batch(how_many, offset, background_frequency,
                                          background_volume_range, time_shift, mode)
        self._write_summary(fingerprints)
        return fingerprints, labels

    def _check_settings(self, model_settings: ModelSettingsLike) -> None:
        given = features.model_settings_from(model_settings)
        if given != self.model_settings:
            raise ValueError(f"this AudioProcessor was made for {self.model_settings}, not for "
                             f"{given}")

    def _write_summary(self, fingerprints: np.ndarray) -> None:
        if not self.summaries_dir or not len(fingerprints):
            return
        if self._summary_writer is None:
            self._summary_writer = tf.summary.create_file_writer(
                os.path.join(self.summaries_dir, "data"))
        shape = (self.model_settings.spectrogram_length, self.model_settings.fingerprint_width)
        for fingerprint in fingerprints[:SUMMARY_IMAGES]:
            summaries.image(self._summary_writer, self.model_settings.preprocess,
                            fingerprint.reshape(shape), self._summary_step)
            self._summary_step += 1
        self._summary_writer.flush()

    def evaluation_set(self, mode: str, batch_size: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """The whole validation or testing split featurized: ([n, fingerprint_size], [n])."""
        if mode not in self._evaluation_sets:
            rng = np.random.default_rng(EVALUATION_SEED)
            data, labels = self.get_audio(-1, 0, 0.0, 0.0, 0, mode, rng=rng)
            batches = [self.featurize(data[i:i + batch_size])
                       for i in progress.track(range(0, len(data), batch_size),
                                               f"featurizing the {mode} set")]
            fingerprints = (np.concatenate(batches) if batches else
                            np.zeros((0, self.model_settings.fingerprint_size), np.float32))
            self._evaluation_sets[mode] = (fingerprints, labels)
        return self._evaluation_sets[mode]

    def get_features_for_wav(self, wav_filename: str,
                             model_settings: ModelSettingsLike | None = None,
                             sess=None) -> list[np.ndarray]:
        """The reference's: one WAV file through the processing graph, no augmentation.

        The file is decoded as DecodeWav does (16-bit PCM WAV, padded or cut to the clip
        length, featurized at the file's own rate).

        Args:
          model_settings: if given, must be the processor's.
          sess: the reference's TF1 session; not needed.

        Returns:
          `[features]`, features float32 `[1, spectrogram_length, fingerprint_width]` (the
          reference's list of one fetched value).

        Raises:
          earshot.audio.AudioError: missing, unreadable, empty or NaN audio, or not a WAV
            DecodeWav reads.
        """
        del sess
        if model_settings is not None:
            self._check_settings(model_settings)
        load_wav_file(wav_filename)  # One clear error for a bad file, before TF sees it.
        desired = self.model_settings.desired_samples
        try:
            output = self.processing_graph(
                tf.constant(wav_filename), tf.constant(1.0), tf.zeros([2, 2], tf.int32),
                tf.zeros([2], tf.int32), tf.zeros([desired, 1]), tf.constant(0.0))
        except tf.errors.InvalidArgumentError as error:
            raise audio.AudioError(f"{wav_filename}: {error.message}") from error
        return [output.numpy()]

    def fingerprint_for_wav(self, wav_filename: str) -> np.ndarray:
        """Fingerprint of any audio file (`earshot.audio`: any format, resampled to the
        model's rate, padded or cut), no augmentation: float32 `[1, fingerprint_size]`."""
        return self.featurize(self.clip(wav_filename)[np.newaxis])

    def get_unprocessed_data(self, how_many: int, model_settings: ModelSettingsLike,
                             mode: str) -> tuple[np.ndarray, list[str]]:
        """Raw clips of a split (silence as zeros) and their labels (`_unknown_` for words
        outside the wanted ones), as the reference returns them.

        `how_many=-1` returns the whole split in order, else that many random picks.

        Returns:
          (float32 `[n, desired_samples]`, n label strings).
        """
        self._check_settings(model_settings)
        candidates = self.data_index[mode]
        if how_many == -1:
            picks = list(range(len(candidates)))
        else:
            picks = [int(self.rng.integers(len(candidates))) for _ in range(how_many)]
        data = np.zeros((len(picks), self.model_settings.desired_samples), np.float32)
        labels = []
        for row, index in enumerate(picks):
            sample = candidates[index]
            if sample["label"] != SILENCE_LABEL:
                data[row] = self.clip(sample["file"])
            labels.append(self.words_list[self.word_to_index[sample["label"]]])
        return data, labels
