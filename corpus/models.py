"""The models a corpus job runs, each behind one interface: many clips in, rows per clip out.

`ClipModel.embed_clips` (the interface, `corpus.clip_model`) takes a batch of clips (with
local paths) and returns, per clip, an `Embedding` or the error that made it bad input.
Loading happens once per worker (the pipeline's model handler keeps the instance), and each
model batches across clips where that leaves its numbers as they are:

* speech_embedding: every clip is cut into the passes `speech_embedding.embed` makes
  (`speech_embedding.embedding.passes`: the same chunks, the same rows kept of each), and
  passes of many clips are laid end to end in 60 s rows, one forward pass a row. Embedding
  `t` sees samples `[1280 t, 1280 t + 12400)` only, so the rows between two passes are
  dropped and none that are kept change: 58 clips of 1 s cost one forward pass.
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

from corpus import clips as clips_lib
from corpus.clip_model import BAD_INPUT_ERRORS, ClipModel, Embedding, Result
from corpus.clips import Clip
from earshot.audio import SAMPLE_RATE
from earshot.errors import InvalidInput


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


@dataclasses.dataclass
class _Pass:
    """One forward pass of a clip (`speech_embedding.embedding.passes`), waiting for a row."""

    key: int
    index: int  # the pass's place among its clip's passes
    samples: np.ndarray
    shared: int  # leading rows that the clip's previous pass made already


class _PackedPasses:
    """The passes of many clips, laid end to end in rows of one width, one forward pass a row.

    Embedding `t` sees samples `[1280 t, 1280 t + 12400)` only, so a pass laid into a longer
    waveform at a multiple of 1280 samples gets there the rows it gets alone; the rows that
    straddle two passes are computed and dropped. A pass so costs its own samples (rounded
    up to 1280), where a zero-padded batch costs the longest of its group, and full rows
    all have one shape, for which TensorFlow's oneDNN kernels are built once (about 6 ms
    for each new shape, which `embed` pays per clip).

    `add` queues a pass; once PACK_ROWS rows' worth are queued they are packed first-fit
    decreasing, and every row but the emptiest runs (its passes wait for more). `flush` runs
    the rest, each row cut to what it holds. `rows(key)` then gives a key's rows in order.
    """

    PACK_ROWS = 4

    def __init__(self, network: Callable[[np.ndarray], np.ndarray], width: int, hop: int,
                 rows_of: Callable[[int], int]):
        """`network`: float32 `[1, samples]` -> `[rows_of(samples), size]`; `width`: samples
        per row, a multiple of `hop`, the samples between rows."""
        self._network, self._width, self._hop, self._rows_of = network, width, hop, rows_of
        self._queue: list[_Pass] = []
        self._queued = 0
        self._done: dict[tuple[int, int], np.ndarray] = {}
        self._count: dict[int, int] = {}

    def _span(self, item: _Pass) -> int:
        return -(-item.samples.size // self._hop) * self._hop

    def add(self, key: int, samples: np.ndarray, shared: int) -> None:
        index = self._count.get(key, 0)
        self._count[key] = index + 1
        self._queue.append(_Pass(key, index, np.array(samples, np.float32), shared))
        self._queued += self._span(self._queue[-1])
        if self._queued >= self.PACK_ROWS * self._width:
            *full, emptiest = self._pack()
            for row in full:
                self._run(row, self._width)
            self._queue = emptiest
            self._queued = sum(self._span(item) for item in emptiest)

    def flush(self) -> None:
        for row in self._pack():
            self._run(row, sum(self._span(item) for item in row))
        self._queue, self._queued = [], 0

    def rows(self, key: int) -> list[np.ndarray]:
        return [self._done.pop((key, index)) for index in range(self._count.pop(key, 0))]

    def _pack(self) -> list[list[_Pass]]:
        """The queued passes in rows of at most `width` samples, fullest row first."""
        rows: list[list[_Pass]] = []
        free: list[int] = []
        for item in sorted(self._queue, key=lambda item: -item.samples.size):
            span = self._span(item)
            fits = next((row for row, space in enumerate(free) if span <= space), None)
            if fits is None:
                rows.append([])
                free.append(self._width)
                fits = len(rows) - 1
            rows[fits].append(item)
            free[fits] -= span
        return [rows[row] for row in sorted(range(len(rows)), key=free.__getitem__)]

    def _run(self, row: list[_Pass], width: int) -> None:
        waveform = np.zeros((1, width), np.float32)
        starts, offset = [], 0
        for item in row:
            waveform[0, offset:offset + item.samples.size] = item.samples
            starts.append(offset // self._hop)
            offset += self._span(item)
        outputs = self._network(waveform)
        for item, start in zip(row, starts):
            self._done[item.key, item.index] = outputs[
                start + item.shared:start + self._rows_of(item.samples.size)]


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
        from speech_embedding import embedding, model as model_lib

        self._embedding, self._model_lib = embedding, model_lib
        self.size = speech_embedding.EMBEDDING_SIZE
        self.window_seconds = model_lib.MIN_SAMPLES / SAMPLE_RATE
        self.hop_seconds = model_lib.HOP_SAMPLES / SAMPLE_RATE
        # A row holds one full chunk of `embed`'s (60 s), or many shorter passes.
        chunk = model_lib.MIN_SAMPLES + (embedding.CHUNK_EMBEDDINGS - 1) * model_lib.HOP_SAMPLES
        self.row_samples = -(-chunk // model_lib.HOP_SAMPLES) * model_lib.HOP_SAMPLES
        forward = embedding.compiled()
        self._network = lambda waveform: forward(waveform).numpy()[0]

    def embed_clips(self, batch: Sequence[tuple[Clip, str]]) -> list[Result]:
        passes = _PackedPasses(self._network, self.row_samples, self._model_lib.HOP_SAMPLES,
                               self._model_lib.num_embeddings)
        results: list[Result | _Counted] = []
        for key, (clip, path) in enumerate(batch):
            stream = _Counted(clips_lib.blocks(path, clip, SAMPLE_RATE))
            try:
                for samples, shared in self._embedding.passes(stream, name=clip.path):
                    passes.add(key, samples, shared)
                results.append(stream)
            except BAD_INPUT_ERRORS as error:
                results.append(error)
        passes.flush()
        for key, stream in enumerate(results):
            rows = passes.rows(key)
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
        raise InvalidInput(f"--model={name} needs --model_dir ({NEEDS_FOLDER[name]})")
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
