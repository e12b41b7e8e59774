"""The models a corpus job runs, each behind one interface: many clips in, rows per clip out.

`ClipModel.embed_clips` takes a batch of clips (with local paths) and returns, per clip,
an `Embedding` or the error that made it bad input. Loading happens once per worker (the
pipeline's model handler keeps the instance), and each model batches across clips where
that leaves its numbers as they are:

* speech_embedding: every clip is cut into the chunks `speech_embedding.embed` uses, and
  chunks of many clips go through the network together, zero-padded to the longest in the
  group. Embedding `t` sees samples `[1280 t, 1280 t + 12400)` only, so padding adds rows
  that are dropped and changes none that are kept: many 1 s clips cost one forward pass.
* vggish: each clip runs in the very slices `vggish.embed` uses (16 examples a pass). The
  network's float rows move by up to 1e-6 with the batch they are computed in (TensorFlow's
  CPU kernels pick their blocking by batch size), and the AudioSet codes truncate, so a
  row computed in another batch would flip a code that sits on a quantization boundary;
  per-clip slices keep the codes byte for byte those of `vggish.embed(path,
  postprocess=True)`, and deterministic whatever batches Beam forms.
* speaker_embedding: one unit vector per clip (`Embedder.embed`: the normalised mean of its
  1.6 s windows); the windows of clips under CHUNK_WINDOWS windows go through the network
  together.
* keyword_spotter: the softmax scores of a trained run (`speech_commands.run_folder`) on
  every clip-length window, one every `stride_ms`; windows of many clips share a batch.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import soundfile
import tensorflow as tf

from corpus import clips as clips_lib
from corpus.clips import Clip
from earshot import audio
from earshot.errors import InvalidInput, UserError

# What counts as bad input (dead letter) rather than a bug (which fails the job).
BAD_INPUT_ERRORS = (UserError, OSError)
SAMPLE_RATE = 16000


@dataclasses.dataclass
class Embedding:
    """What a model makes of one clip.

    Attributes:
      rows: float32 `[n, size]`.
      offsets: float32 `[n]`, seconds from the clip's start to the start of each row's window.
      seconds: length of the clip's audio.
      window_seconds: audio one row sees (a speaker vector: the whole clip).
      codes: uint8 `[n, 128]` AudioSet codes (VGGish only), else None.
    """

    rows: np.ndarray
    offsets: np.ndarray
    seconds: float
    window_seconds: float
    codes: np.ndarray | None = None


Result = Embedding | Exception


class ClipModel:
    """A loaded model; subclasses set the class attributes and implement `embed_clips`."""

    name: str = ""
    size: int = 0  # floats per row

    def embed_clips(self, batch: Sequence[tuple[Clip, str]]) -> list[Result]:
        """[(clip, local path)] -> per clip an Embedding, or the bad-input error it raised."""
        raise NotImplementedError


def _guarded(function: Callable[[], Embedding]) -> Result:
    try:
        return function()
    except BAD_INPUT_ERRORS as error:
        return error


class _Counted:
    """Passes blocks through, counting their samples."""

    def __init__(self, blocks: Iterable[np.ndarray]):
        self._blocks = blocks
        self.samples = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for block in self._blocks:
            self.samples += block.size
            yield block


class _PaddedBatches:
    """Pieces of many clips, run through a `[batch, samples]` network in zero-padded groups.

    `add` queues a piece; once the queue holds `batch_samples` samples, it is sorted by
    length and cut into groups whose padded size (count x longest) stays within
    `batch_samples`, one forward pass each. `rows(key)` gives a key's rows in the order its
    pieces were added, once `flush` has run.
    """

    def __init__(self, network: Callable[[np.ndarray], np.ndarray],
                 rows_of: Callable[[int], int], batch_samples: int):
        self._network, self._rows_of, self._budget = network, rows_of, batch_samples
        self._queue: list[tuple[int, int, np.ndarray]] = []
        self._queued = 0
        self._done: dict[tuple[int, int], np.ndarray] = {}
        self._count: dict[int, int] = {}

    def add(self, key: int, piece: np.ndarray) -> None:
        index = self._count.get(key, 0)
        self._count[key] = index + 1
        self._queue.append((key, index, np.array(piece, np.float32)))
        self._queued += piece.size
        if self._queued >= self._budget:
            self.flush()

    def flush(self) -> None:
        queue = sorted(self._queue, key=lambda item: -item[2].size)
        self._queue, self._queued = [], 0
        while queue:
            longest = queue[0][2].size
            count = max(1, min(len(queue), self._budget // longest))
            group, queue = queue[:count], queue[count:]
            padded = np.zeros((count, longest), np.float32)
            for row, (_, _, piece) in enumerate(group):
                padded[row, :piece.size] = piece
            outputs = self._network(padded)
            for row, (key, index, piece) in enumerate(group):
                self._done[key, index] = outputs[row, :self._rows_of(piece.size)]

    def rows(self, key: int) -> list[np.ndarray]:
        return [self._done.pop((key, index)) for index in range(self._count.pop(key, 0))]


def _groups(items: list[tuple[int, np.ndarray]], budget: int
            ) -> Iterator[list[tuple[int, np.ndarray]]]:
    """Consecutive runs of (key, array) whose arrays hold at most `budget` rows in all (or
    one array, if it alone is larger)."""
    group, held = [], 0
    for item in items:
        if group and held + len(item[1]) > budget:
            yield group
            group, held = [], 0
        group.append(item)
        held += len(item[1])
    if group:
        yield group


class SpeechEmbeddingModel(ClipModel):
    """Google's speech_embedding: one 96-d row per 80 ms, each seeing 775 ms."""

    name = "speech_embedding"

    def __init__(self):
        import speech_embedding
        from speech_embedding import model as model_lib
        from speech_embedding.embedding import CHUNK_EMBEDDINGS

        self._model_lib = model_lib
        self.size = speech_embedding.EMBEDDING_SIZE
        self.window_seconds = model_lib.MIN_SAMPLES / SAMPLE_RATE
        self.hop_seconds = model_lib.HOP_SAMPLES / SAMPLE_RATE
        # Passes of CHUNK_EMBEDDINGS rows starting at multiples of 1280 samples: the rows of one
        # pass over the whole clip, up to kernel rounding (unlike `embed_blocks`, chunks share
        # no row, so a one-row last chunk can differ by up to 4e-5 with oneDNN off).
        self.chunk_size = model_lib.MIN_SAMPLES + (CHUNK_EMBEDDINGS - 1) * model_lib.HOP_SAMPLES
        self.chunk_step = CHUNK_EMBEDDINGS * model_lib.HOP_SAMPLES
        network = speech_embedding.load()
        forward = tf.function(lambda waveforms: network(waveforms, training=False),
                              input_signature=[tf.TensorSpec([None, None], tf.float32)])
        self._network = lambda padded: forward(padded).numpy()[:, :, 0, :]

    def embed_clips(self, batch: Sequence[tuple[Clip, str]]) -> list[Result]:
        pieces = _PaddedBatches(self._network, self._model_lib.num_embeddings, self.chunk_size)
        results: list[Result | _Counted] = []
        for key, (clip, path) in enumerate(batch):
            stream = _Counted(clips_lib.blocks(path, clip, SAMPLE_RATE))
            try:
                for chunk in audio.overlapping_chunks(stream, self.chunk_size, self.chunk_step):
                    if chunk.size >= self._model_lib.MIN_SAMPLES:
                        pieces.add(key, chunk)
                if stream.samples < self._model_lib.MIN_SAMPLES:
                    raise audio.AudioError(
                        f"{clip.path}: {stream.samples} samples at 16 kHz is too short: the "
                        f"first embedding needs {self._model_lib.MIN_SAMPLES} (775 ms)")
                results.append(stream)
            except BAD_INPUT_ERRORS as error:
                results.append(error)
        pieces.flush()
        for key, stream in enumerate(results):
            rows = pieces.rows(key)
            if isinstance(stream, _Counted):
                stacked = np.concatenate(rows)
                offsets = np.arange(len(stacked), dtype=np.float32) * self.hop_seconds
                results[key] = Embedding(stacked, offsets, stream.samples / SAMPLE_RATE,
                                         self.window_seconds)
        return results


class VggishModel(ClipModel):
    """VGGish: one 128-d row per 0.96 s, plus the AudioSet uint8 codes (PCA, quantization)."""

    name = "vggish"
    size = 128

    def __init__(self, weights_path: str | None):
        from vggish import params
        from vggish.embedding import MAX_BATCH_EXAMPLES, Embedder

        self._params = params
        self._batch_examples = MAX_BATCH_EXAMPLES
        self.window_seconds = params.MIN_SAMPLES / SAMPLE_RATE
        self.embedder = Embedder(weights_path)

    def _embed(self, clip: Clip, path: str) -> Embedding:
        stream = _Counted(clips_lib.blocks(path, clip, SAMPLE_RATE))
        rows = self.embedder.embed_blocks(stream, self._batch_examples, name=clip.path)
        offsets = np.arange(len(rows), dtype=np.float32) * self._params.EXAMPLE_HOP_SECONDS
        return Embedding(rows, offsets, stream.samples / SAMPLE_RATE, self.window_seconds,
                         codes=self.embedder.postprocessor(rows))

    def embed_clips(self, batch: Sequence[tuple[Clip, str]]) -> list[Result]:
        return [_guarded(lambda clip=clip, path=path: self._embed(clip, path))
                for clip, path in batch]


class SpeakerEmbeddingModel(ClipModel):
    """A trained speaker_embedding model folder: one 512-d unit vector per clip."""

    name = "speaker_embedding"
    # Windows of short clips embedded together (about 10 MB of input). A clip of at most
    # CHUNK_WINDOWS windows (51 s) is decoded whole and joins them.
    BATCH_WINDOWS = 64

    def __init__(self, model_dir: str):
        from speaker_embedding import embedder as embedder_lib, features

        self._features, self._embedder_lib = features, embedder_lib
        self.embedder = embedder_lib.Embedder(embedder_lib.load_model(model_dir))
        self.size = int(self.embedder.network.output_shape[-1])
        self.short_samples = (embedder_lib.CHUNK_WINDOWS * features.NUM_FRAMES
                              * features.HOP_SAMPLES)

    def embed_clips(self, batch: Sequence[tuple[Clip, str]]) -> list[Result]:
        from speaker_embedding.vectors import mean_vector

        results: list[Result] = []
        queued: list[tuple[int, np.ndarray]] = []  # (clip, its windows)
        for clip, path in batch:
            try:
                stream = clips_lib.blocks(path, clip, SAMPLE_RATE)
                pulled, ended = clips_lib.take(stream, self.short_samples)
                if ended:
                    waveform = self._embedder_lib.load_waveform(clips_lib.concatenate(pulled),
                                                                name=clip.path)
                    windows = self._features.windows(self._features.fbank(waveform))
                    queued.append((len(results), windows))
                    seconds = waveform.size / SAMPLE_RATE
                    results.append(Embedding(np.zeros((1, self.size), np.float32),
                                             np.zeros(1, np.float32), seconds, seconds))
                else:
                    results.append(self._embed_long(clip, path, pulled, stream))
            except BAD_INPUT_ERRORS as error:
                results.append(error)
        for group in _groups(queued, self.BATCH_WINDOWS):
            vectors = self.embedder.embed_inputs(np.concatenate([w for _, w in group]))
            for key, windows in group:
                results[key].rows[0] = mean_vector(vectors[:len(windows)])
                vectors = vectors[len(windows):]
        return results

    def _embed_long(self, clip: Clip, path: str, pulled: list[np.ndarray],
                    stream: Iterator[np.ndarray]) -> Embedding:
        """A whole file streams from disk again; a stretch of one is decoded whole."""
        if clip.start == 0 and clip.end is None:
            source, seconds = path, soundfile.info(path).duration
        else:
            source = clips_lib.concatenate([*pulled, *stream])
            seconds = source.size / SAMPLE_RATE
        return Embedding(self.embedder.embed(source)[np.newaxis], np.zeros(1, np.float32),
                         seconds, seconds)


def check(name: str, model_path: str | None) -> None:
    """Raises UserError for an unknown model, or a folder that is missing or not the model's.

    Cheap (the folder's files are looked at, no network is built), so a job checks its model
    before it starts: a worker that fails to load one reports it under a traceback.

    Raises:
      InvalidInput: an unknown model, or no folder for a model that needs one.
      UserError: the model's own error for a folder that is missing or not its kind
        (`vggish.weights.WeightsError`, `speaker_embedding.embedder.ModelFolderError`,
        `speech_commands.settings.SettingsError`, FileNotFoundError).
    """
    if name not in MODELS:
        raise InvalidInput(f"unknown --model={name}: use one of {', '.join(MODELS)}")
    if name in NEEDS_FOLDER and not model_path:
        raise InvalidInput(f"--model={name} needs --model_path ({NEEDS_FOLDER[name]})")
    if name == "vggish" and model_path:
        from vggish import weights
        weights.resolve(model_path)
    elif name == "speaker_embedding":
        from speaker_embedding import embedder
        embedder.read_config(model_path)
    elif name == "keyword_spotter":
        from speech_commands import run_folder
        run_folder.resolve(model_path)


def load(name: str, model_path: str | None, **options) -> ClipModel:
    """The model `name` (see MODELS) from its weights or run folder.

    Args:
      model_path: vggish: a `vggish.convert` folder (None: the cached weights);
        speaker_embedding: a trained model folder; keyword_spotter: a training run folder;
        speech_embedding: unused (the fetched weights).
      options: model-specific (keyword_spotter: `stride_ms`).

    Raises:
      UserError: as `check`.
    """
    check(name, model_path)
    if name == "speech_embedding":
        return SpeechEmbeddingModel()
    if name == "vggish":
        return VggishModel(model_path and os.path.abspath(model_path))
    if name == "speaker_embedding":
        return SpeakerEmbeddingModel(model_path)
    from corpus.keyword_spotter import KeywordSpotterModel
    return KeywordSpotterModel(model_path, **options)


MODELS = ("speech_embedding", "vggish", "speaker_embedding", "keyword_spotter")
NEEDS_FOLDER = {
    "speaker_embedding": "a folder written by python -m speaker_embedding.train",
    "keyword_spotter": "the --train_dir of python -m speech_commands.train",
}
