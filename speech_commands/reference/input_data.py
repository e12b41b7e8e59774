"""The reference's `input_data` module: `AudioProcessor`, the WAV helpers and its constants.

`AudioProcessor` keeps the reference's constructor and methods, with their argument orders
(`get_data(how_many, offset, model_settings, ..., mode, sess)`), over earshot's typed
`batches.BatchSource` (which it is: `batch`, `fingerprint_for_wav`, `evaluation_set` are
inherited). It differs from the reference as `BatchSource` does (NumPy batches, one seeded
RNG, fixed evaluation sets).

The reference's per-clip processing graph is kept too (`processing_graph`,
`clip_graph.processing_graph`, a `tf.function` with the reference's six inputs):
`get_features_for_wav` runs it, as the reference does. TF1 sessions are not needed: a `sess`
argument is accepted where the reference takes one, and ignored.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import tensorflow as tf

from earshot import audio
from earshot import tensorboard as summaries
from speech_commands import batches, clip_graph, dataset, features
from speech_commands.clip_graph import load_wav as load_wav_file  # noqa: F401  (reference name)
from speech_commands.dataset import (  # noqa: F401  (the reference's names, kept here)
    BACKGROUND_NOISE_DIR_NAME, RANDOM_SEED, SILENCE_INDEX, SILENCE_LABEL, UNKNOWN_WORD_INDEX,
    UNKNOWN_WORD_LABEL, maybe_download_and_extract_dataset, prepare_words_list)
from speech_commands.reference.models import ModelSettingsLike, typed_settings
from speech_commands.settings import ModelSettings
from speech_commands.split import MAX_NUM_WAVS_PER_CLASS, which_set  # noqa: F401

# Fingerprints written as images per `get_data` call when a summaries_dir is given.
SUMMARY_IMAGES = 1


def get_features_range(model_settings: ModelSettingsLike) -> tuple[float, float]:
    """(min, max) of the front end's output (`features.features_range`); a dict needs only
    its `preprocess`."""
    preprocess = (model_settings.preprocess if isinstance(model_settings, ModelSettings)
                  else model_settings["preprocess"])
    return features.features_range(preprocess)


def save_wav_file(filename: str, wav_data: np.ndarray, sample_rate: int) -> None:
    """Writes float audio in [-1, 1] (any shape, flattened) as 16-bit PCM WAV, atomically."""
    audio.write_wav(filename, np.reshape(np.asarray(wav_data, np.float32), -1), sample_rate)


class AudioProcessor(batches.BatchSource):
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

    Attributes: those of `batches.BatchSource`.
    """

    def __init__(self, data_url: str | None, data_dir: str | None, silence_percentage: float,
                 unknown_percentage: float, wanted_words: list[str],
                 validation_percentage: float, testing_percentage: float,
                 model_settings: ModelSettingsLike, summaries_dir: str | None = None, *,
                 seed: int = 0, examples_per_word: int = 0):
        super().__init__(typed_settings(model_settings), seed=seed)
        self.data_dir = data_dir
        if data_dir:
            dataset.maybe_download_and_extract_dataset(data_url, data_dir)
            self.prepare_data_index(silence_percentage, unknown_percentage, wanted_words,
                                    validation_percentage, testing_percentage,
                                    examples_per_word=examples_per_word)
            self.prepare_background_data()
        self.prepare_processing_graph(self.model_settings, summaries_dir)

    def prepare_data_index(self, silence_percentage: float, unknown_percentage: float,
                           wanted_words: list[str], validation_percentage: float,
                           testing_percentage: float, *, examples_per_word: int = 0) -> None:
        """Splits the folder (`dataset.DataIndex.build`)."""
        self.index = dataset.DataIndex.build(self.data_dir, dataset.SplitSettings(
            silence_percentage, unknown_percentage, tuple(wanted_words), validation_percentage,
            testing_percentage, examples_per_word))

    def prepare_background_data(self) -> None:
        """Loads every `_background_noise_/*.wav`; none if the folder is absent."""
        self.background_data = dataset.load_background_data(
            self.data_dir, self.model_settings.desired_samples, self.model_settings.sample_rate)

    def prepare_processing_graph(self, model_settings: ModelSettingsLike,
                                 summaries_dir: str | None) -> None:
        """Makes `processing_graph`, the reference's per-clip graph
        (`clip_graph.processing_graph`), whose inputs are named as the reference's
        placeholders; it is traced on first use (the `*_placeholder_` attributes, `output_`,
        `get_features_for_wav`)."""
        self.__dict__.pop("_processing_function", None)  # traced for the previous settings
        self.processing_graph = clip_graph.processing_graph(
            typed_settings(model_settings))
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
        given = typed_settings(model_settings)
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

    def get_features_for_wav(self, wav_filename: str,
                             model_settings: ModelSettingsLike | None = None,
                             sess=None) -> list[np.ndarray]:
        """The reference's: one WAV file through the processing graph, no augmentation
        (`clip_graph.wav_features`).

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
        return [clip_graph.wav_features(self.processing_graph, self.model_settings,
                                        wav_filename)]

    def get_unprocessed_data(self, how_many: int, model_settings: ModelSettingsLike,
                             mode: str) -> tuple[np.ndarray, list[str]]:
        """Raw clips of a split (silence as zeros) and their labels (`_unknown_` for words
        outside the wanted ones), as the reference returns them (`BatchSource.unprocessed`).

        `how_many=-1` returns the whole split in order, else that many random picks.

        Returns:
          (float32 `[n, desired_samples]`, n label strings).
        """
        self._check_settings(model_settings)
        picks = None if how_many == -1 else [
            int(self.rng.integers(len(self.data_index[mode]))) for _ in range(how_many)]
        return self.unprocessed(mode, picks)
