"""A dataset folder, split as a run splits it, served as featurized and augmented batches.

`BatchSource` composes the dataset pieces (`speech_commands.dataset`: download, split index,
background noise, clip cache, the run's RNG, augmentation) and the batch featurizer
(`features.BatchFeaturizer`). It takes the typed settings: `BatchSource.for_run(config,
model_settings)` for a training run, `BatchSource.from_folder(model_settings, data_dir, split)`
for any other split of a folder. Two things differ from the reference's `AudioProcessor` on
purpose, both for speed and reproducibility:

* Batches are built in NumPy and featurized in one op call per batch, instead of one
  session run per clip. Clips are decoded once and kept in memory.
* All randomness comes from one seeded `numpy.random.Generator` whose state can be saved
  and restored, so a resumed training run draws the same batches as an uninterrupted one.
  The validation and testing sets, whose silence clips get random noise, are featurized
  once with their own fixed seed, so successive evaluations score the same inputs.
"""

from __future__ import annotations

import numpy as np

from earshot import progress
from speech_commands import dataset, features
from speech_commands.settings import ModelSettings, TrainConfig

# Seed of the noise drawn for silence clips of the fixed evaluation sets.
EVALUATION_SEED = 7


class BatchSource:
    """The entries of a split dataset folder as featurized, augmented batches.

    Args:
      model_settings: the front end and clip geometry the batches are made for.
      index: the split entries (`dataset.DataIndex`); None: no dataset, only `featurize`,
        `clip` and `fingerprint_for_wav` work (the reference's processor without a data_dir).
      background_data: float32 `[samples]` noise recordings mixed into training clips.
      seed: seed of every random choice.

    Attributes:
      data_index: mode -> list of {'label': word, 'file': path}, silence entries included.
      words_list: output labels, `[_silence_, _unknown_, *wanted_words]`.
      word_to_index: every word seen (and `_silence_`) -> label index.
      background_data: list of float32 `[samples]` noise recordings.
      rng: the run's `numpy.random.Generator` (state: `get_rng_state`).
      clip: path -> float32 `[desired_samples]` (`dataset.ClipCache`).
      featurize: float32 `[n, desired_samples]` -> `[n, fingerprint_size]`.
    """

    def __init__(self, model_settings: ModelSettings, index: dataset.DataIndex | None = None,
                 background_data: list[np.ndarray] | None = None, *, seed: int = 0):
        self.model_settings = model_settings
        self.index = index
        self.background_data = list(background_data or [])
        self._sampler = dataset.SamplerRng(seed)
        self.rng = self._sampler.generator
        self.clip = dataset.ClipCache(model_settings.desired_samples, model_settings.sample_rate)
        self.featurize = features.BatchFeaturizer(model_settings)
        self._evaluation_sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def from_folder(cls, model_settings: ModelSettings, data_dir: str,
                    split: dataset.SplitSettings, *, data_url: str = "",
                    seed: int = 0) -> "BatchSource":
        """The split entries and background noise of `data_dir` (downloading `data_url` into
        it first if it holds no wavs)."""
        dataset.maybe_download_and_extract_dataset(data_url, data_dir)
        index = dataset.DataIndex.build(data_dir, split)
        background = dataset.load_background_data(data_dir, model_settings.desired_samples,
                                                  model_settings.sample_rate)
        return cls(model_settings, index, background, seed=seed)

    @classmethod
    def for_run(cls, config: TrainConfig, model_settings: ModelSettings) -> "BatchSource":
        """The batches a training run draws: its folder, split, download and seed."""
        return cls.from_folder(model_settings, config.data_dir, dataset.SplitSettings.of(config),
                               data_url=config.data_url, seed=config.seed)

    def _dataset(self) -> dataset.DataIndex:
        if self.index is None:
            raise dataset.DatasetError("made without a data_dir: no dataset, only featurizes "
                                       "files")
        return self.index

    @property
    def data_index(self) -> dict[str, list[dict]]:
        return self._dataset().data_index

    @property
    def words_list(self) -> list[str]:
        return self._dataset().words_list

    @property
    def word_to_index(self) -> dict[str, int]:
        return self._dataset().word_to_index

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
        is_silence = sample["label"] == dataset.SILENCE_LABEL
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

    def fingerprint_for_wav(self, wav_filename: str) -> np.ndarray:
        """Fingerprint of any audio file (`earshot.audio`: any format, resampled to the
        model's rate, padded or cut), no augmentation: float32 `[1, fingerprint_size]`."""
        return self.featurize(self.clip(wav_filename)[np.newaxis])

    def unprocessed(self, mode: str, picks: list[int] | None = None
                    ) -> tuple[np.ndarray, list[str]]:
        """Raw clips of a split (silence as zeros) and their labels (`_unknown_` for words
        outside the wanted ones), as the reference's `get_unprocessed_data` returns them.

        Args:
          picks: entry indices of the split; None: the whole split in order.

        Returns:
          (float32 `[n, desired_samples]`, n label strings).
        """
        candidates = self.data_index[mode]
        picks = list(range(len(candidates))) if picks is None else picks
        data = np.zeros((len(picks), self.model_settings.desired_samples), np.float32)
        labels = []
        for row, index in enumerate(picks):
            sample = candidates[index]
            if sample["label"] != dataset.SILENCE_LABEL:
                data[row] = self.clip(sample["file"])
            labels.append(self.words_list[self.word_to_index[sample["label"]]])
        return data, labels
