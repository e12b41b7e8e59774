"""Training batches of speech embeddings, computed once per clip and cached on disk.

The `embedding_head` model only sees 16 frozen speech-embedding vectors per clip, and the
embedding costs ~12 ms per clip on a CPU core while the head's step costs far less. So
instead of augmenting audio and embedding it at every step, each training clip is embedded
once in `1 + AUGMENTED_VARIANTS` versions (clean, then time-shifted and background-mixed as
`--time_shift_ms`, `--background_frequency` and `--background_volume` ask, each with its own
seeded noise), and silence gets a pool of `SILENCE_VARIANTS` noise-only clips. A step draws
entries as the reference does and one stored version of each.

The cache lives in `earshot.fileio.cache_dir("speech_commands", "embeddings")`, one `.npy`
per clip named by the SHA1 of the clip's bytes, the augmentation settings, the background
files and the embedding weights: a changed file or setting is a new entry, never a stale one.
"""

from __future__ import annotations

import os

import numpy as np
from absl import logging

from earshot import cache, fileio, progress
from speech_commands import batches, dataset, features
from speech_embedding import pretrained
from speech_commands.settings import ModelSettings, TrainConfig

AUGMENTED_VARIANTS = 3
SILENCE_VARIANTS = 64
EMBED_BATCH = 32


class CachedEmbeddingSource(batches.BatchSource):
    """`BatchSource` whose training batches are cached embeddings `[n, 16 * 96]`.

    Validation and testing sets are embedded on first use, exactly like the base class does
    with any front end (no augmentation, fixed silence noise).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not features.of(self.model_settings).frozen_embedding:
            raise ValueError("CachedEmbeddingSource needs a front end of frozen embeddings, "
                             f"got {self.model_settings.preprocess!r}")
        self._table: dict[str, np.ndarray] | None = None
        self._augmentation: tuple | None = None
        self._background_digests = [cache.digest(noise.tobytes()) for noise in self.background_data]
        self._weights = pretrained.weights_digest()

    def _cache_key(self, content: str, augmentation: tuple) -> str:
        background = ",".join(self._background_digests)
        text = f"{content}|{augmentation}|{background}|{self._weights}|{AUGMENTED_VARIANTS}"
        return cache.digest(text)

    def _cache_path(self, key: str) -> str:
        return os.path.join(fileio.cache_dir("speech_commands", "embeddings", key[:2]),
                            key + ".npy")

    def _embed_entries(self, entries: list[tuple[str, dict, int]],
                       augmentation: tuple) -> dict[str, np.ndarray]:
        """Embeds (key, entry, variant) triples; returns key -> `[variants, 16 * 96]`."""
        background_frequency, background_volume, time_shift = augmentation
        rows: dict[str, list[np.ndarray]] = {}
        for start in progress.track(range(0, len(entries), EMBED_BATCH),
                                    "embedding training clips (cached for later runs)"):
            chunk = entries[start:start + EMBED_BATCH]
            batch = np.stack([
                self._variant_audio(entry, variant, background_frequency, background_volume,
                                    time_shift) for _, entry, variant in chunk])
            for (key, _, _), vector in zip(chunk, self.featurize(batch)):
                rows.setdefault(key, []).append(vector)
        return {key: np.stack(vectors) for key, vectors in rows.items()}

    def _variant_audio(self, entry: dict, variant: int, background_frequency: float,
                       background_volume: float, time_shift: int) -> np.ndarray:
        """Variant 0 of a word is the clean clip; others draw shift and noise from a generator
        seeded by (file name, variant), so a cache rebuild gives the same audio."""
        seed_text = f"{os.path.basename(entry['file'])}|{entry['label']}|{variant}"
        rng = np.random.default_rng(int(cache.digest(seed_text)[:15], 16))
        if variant == 0 and entry["label"] != dataset.SILENCE_LABEL:
            return self.clip(entry["file"])
        return self.augment(entry, True, background_frequency, background_volume, time_shift,
                            rng)

    def build_cache(self, background_frequency: float, background_volume: float,
                    time_shift: int) -> None:
        """Loads or computes the stored versions of every training entry."""
        augmentation = (float(background_frequency), float(background_volume), int(time_shift))
        if self._table is not None and self._augmentation == augmentation:
            return
        table: dict[str, np.ndarray] = {}
        missing: list[tuple[str, dict, int]] = []
        wanted: dict[str, str] = {}
        files = sorted({e["file"] for e in self.data_index["training"]
                        if e["label"] != dataset.SILENCE_LABEL})
        for path in files:
            key = self._cache_key(cache.file_digest(path), augmentation)
            wanted[path] = key
            if os.path.exists(self._cache_path(key)):
                table[path] = np.load(self._cache_path(key))
            else:
                entry = {"file": path, "label": os.path.basename(os.path.dirname(path))}
                missing.extend((key, entry, v) for v in range(1 + AUGMENTED_VARIANTS))
        silence_key = self._cache_key(f"silence-{SILENCE_VARIANTS}", augmentation)
        if os.path.exists(self._cache_path(silence_key)):
            table[dataset.SILENCE_LABEL] = np.load(self._cache_path(silence_key))
        else:
            silence = {"file": "", "label": dataset.SILENCE_LABEL}
            missing.extend((silence_key, silence, v) for v in range(SILENCE_VARIANTS))
        logging.info("Embedding cache: %d of %d clips stored, %d versions to compute",
                     len(table), len(files) + 1, len(missing))
        computed = self._embed_entries(missing, augmentation)
        for key, vectors in computed.items():
            with fileio.atomic_open(self._cache_path(key), "wb") as f:
                np.save(f, vectors)
        for path, key in wanted.items():
            if path not in table:
                table[path] = computed[key]
        if dataset.SILENCE_LABEL not in table:
            table[dataset.SILENCE_LABEL] = computed[silence_key]
        self._table, self._augmentation = table, augmentation

    def batch(self, how_many: int, offset: int, background_frequency: float,
              background_volume_range: float, time_shift: int,
              mode: str) -> tuple[np.ndarray, np.ndarray]:
        """As the base class; training draws cached versions: (`[n, 1536]` float32, `[n]`)."""
        if mode != "training":
            return super().batch(how_many, offset, background_frequency,
                                 background_volume_range, time_shift, mode)
        self.build_cache(background_frequency, background_volume_range, time_shift)
        candidates = self.data_index[mode]
        fingerprints = np.zeros((how_many, self.model_settings.fingerprint_size), np.float32)
        labels = np.zeros(how_many, np.int64)
        for i in range(how_many):
            sample = candidates[int(self.rng.integers(len(candidates)))]
            is_silence = sample["label"] == dataset.SILENCE_LABEL
            versions = self._table[dataset.SILENCE_LABEL if is_silence else sample["file"]]
            fingerprints[i] = versions[int(self.rng.integers(len(versions)))]
            labels[i] = self.word_to_index[sample["label"]]
        return fingerprints, labels


def batch_source(config: TrainConfig, model_settings: ModelSettings) -> batches.BatchSource:
    """The batches a run trains on: cached embeddings for a front end of frozen embeddings,
    the reference's per-batch featurizing for others."""
    cls = (CachedEmbeddingSource if features.of(model_settings).frozen_embedding
           else batches.BatchSource)
    return cls.for_run(config, model_settings)
