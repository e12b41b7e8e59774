"""The embedding job as an Apache Beam pipeline: clips in, records and dead letters out.

    clips (file pattern | manifest rows) -> Reshuffle -> RunInference(ClipModelHandler)
        -> embeddings-*.tfrecord    float rows, every model (`corpus.records`)
        -> audioset-*.tfrecord      AudioSet feature format, VGGish only
        -> dead_letters-*.jsonl     one JSON object per bad input: what it was and the error

The same pipeline runs on any Beam runner: the DirectRunner on this machine
(`--direct_num_workers=2 --direct_running_mode=multi_processing` for two processes), or
Dataflow, Flink and Spark with their options. RunInference loads the model once per worker
process and hands it batches of up to `batch_clips` clips (`corpus.models` says how each
model batches them). Bad input (undecodable, empty, too short, a bad manifest row) becomes a
dead letter and never fails the job; anything else is a bug and does.

Sinks write to temporary files and rename them when the job commits (Beam's file sinks),
so a failed job leaves no half-written shard under the final names.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from typing import Any, Iterable, Sequence

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import Metrics, MetricsFilter
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from absl import logging

from corpus import clips as clips_lib
from corpus import clip_model, models
from corpus.clips import Clip
from earshot import progress
from earshot.errors import InvalidInput, UserError

NAMESPACE = "corpus"
EMBEDDINGS_PREFIX = "embeddings"
AUDIOSET_PREFIX = "audioset"
DEAD_LETTERS_PREFIX = "dead_letters"
RECORD_SUFFIX = ".tfrecord"
DEAD_LETTER_SUFFIX = ".jsonl"
DEAD = "dead"
# Clips per RunInference batch: enough 1 s clips for one speech_embedding pass of 60 s.
DEFAULT_BATCH_CLIPS = 64


@dataclasses.dataclass(frozen=True)
class EmbedJob:
    """What to embed, with which model, and where the records go.

    Attributes:
      model: one of `models.MODELS`.
      output: folder (any Beam filesystem) for the records and dead letters.
      input_pattern: files to embed whole (a Beam glob: local, gs://, s3://, ...).
      input_manifest: a CSV of clips (`corpus.clips`); exactly one of the two inputs is set.
      model_path: the weights or run folder `models.load` takes.
      class_labels: an AudioSet `class_labels_indices.csv` mapping label names to indices.
      batch_clips: most clips per RunInference batch.
      tf_threads: TensorFlow threads per worker process (0: TensorFlow's default).
      model_options: model-specific options for `models.load`.
    """

    model: str
    output: str
    input_pattern: str = ""
    input_manifest: str = ""
    model_path: str | None = None
    class_labels: str | None = None
    batch_clips: int = DEFAULT_BATCH_CLIPS
    tf_threads: int = 0
    model_options: tuple[tuple[str, Any], ...] = ()

    def output_path(self, prefix: str) -> str:
        return FileSystems.join(self.output, prefix)


@dataclasses.dataclass(frozen=True)
class Summary:
    """What a finished job did, from the pipeline's counters."""

    clips: int
    rows: int
    audio_seconds: float
    dead_letters: int


def _counter(name: str):
    return Metrics.counter(NAMESPACE, name)


class ClipModelHandler(ModelHandler[Clip, PredictionResult, clip_model.ClipModel]):
    """RunInference's view of a `corpus.models` model: batches of clips in, per-clip results.

    Each result's `inference` is a `clip_model.Embedding` or the bad-input error of that clip,
    so one bad file never fails the batch it shares with good ones.
    """

    def __init__(self, job: EmbedJob):
        # Fixed-size batches: memory follows each model's per-pass budget, not the batch, so
        # BatchElements' adaptive sizing (which starts at one clip) would only cost batching.
        super().__init__(min_batch_size=job.batch_clips, max_batch_size=job.batch_clips)
        self._job = job
        self._progress: _Progress | None = None

    def load_model(self) -> clip_model.ClipModel:
        if self._job.tf_threads:
            _set_tf_threads(self._job.tf_threads)
        return models.load(self._job.model, self._job.model_path, **dict(self._job.model_options))

    def run_inference(self, batch: Sequence[Clip], model: clip_model.ClipModel,
                      inference_args: dict[str, Any] | None = None
                      ) -> Iterable[PredictionResult]:
        results: list[clip_model.Result | None] = [None] * len(batch)
        with contextlib.ExitStack() as local_files:
            readable = []
            for index, clip in enumerate(batch):
                try:
                    readable.append((index, clip, local_files.enter_context(
                        clips_lib.local_file(clip.path))))
                except clip_model.BAD_INPUT_ERRORS as error:
                    results[index] = error
            embedded = model.embed_clips([(clip, path) for _, clip, path in readable])
            for (index, _, _), result in zip(readable, embedded):
                results[index] = result
        if self._progress is None:
            self._progress = _Progress()
        self._progress.add(results)
        return [PredictionResult(clip, result, model.name) for clip, result in zip(batch,
                                                                                   results)]

    def get_metrics_namespace(self) -> str:
        return f"{NAMESPACE}_{self._job.model}"

    def get_num_bytes(self, batch: Sequence[Clip]) -> int:
        return sum(len(clip.path) + len(clip.id) for clip in batch)


class _Progress:
    """A line on the worker's stderr every `progress.LOG_EVERY_SECONDS`: what it has done."""

    def __init__(self):
        self.start = self.last = time.monotonic()
        self.clips = self.dead = 0
        self.seconds = 0.0

    def add(self, results: Sequence[clip_model.Result]) -> None:
        for result in results:
            if isinstance(result, clip_model.Embedding):
                self.clips += 1
                self.seconds += result.seconds
            else:
                self.dead += 1
        now = time.monotonic()
        if now - self.last >= progress.LOG_EVERY_SECONDS:
            self.last = now
            progress.say(f"corpus worker {os.getpid()}: {self.clips} clips "
                         f"({self.seconds / 60:.1f} min of audio), {self.dead} dead letters, "
                         f"{now - self.start:.0f}s")


def _set_tf_threads(threads: int) -> None:
    """TensorFlow's intra-op threads in this worker; set before its first op, or ignored."""
    import tensorflow as tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        logging.warning("TensorFlow already running in this worker: --tf_threads ignored")


class _ParseManifest(beam.DoFn):
    """Manifest lines -> Clips; a bad line -> a dead letter."""

    def __init__(self, class_labels: dict[str, int] | None):
        self._class_labels = class_labels

    def process(self, line: str):
        try:
            yield clips_lib.parse_manifest_line(line, self._class_labels)
        except InvalidInput as error:
            _counter("dead_letters").inc()
            yield beam.pvalue.TaggedOutput(DEAD, json.dumps({"line": line.strip(),
                                                             "error": str(error)}))


class _SplitResults(beam.DoFn):
    """PredictionResults -> (clip, Embedding) on the main output; errors -> dead letters."""

    def process(self, result: PredictionResult):
        clip, outcome = result.example, result.inference
        if isinstance(outcome, Exception):
            _counter("dead_letters").inc()
            message = " ".join(str(outcome).split()) or type(outcome).__name__
            yield beam.pvalue.TaggedOutput(DEAD, json.dumps({
                "path": clip.path, "id": clip.id, "start": clip.start, "end": clip.end,
                "error": message}))
            return
        _counter("clips").inc()
        _counter("rows").inc(len(outcome.rows))
        _counter("audio_milliseconds").inc(round(outcome.seconds * 1000))
        yield clip, outcome


# The records are TensorFlow protos: `corpus.records` (and TensorFlow) load in the workers that
# write them, so the launching process starts the workers without loading TensorFlow (2-3 s).
def _float_record(embedded: tuple[Clip, clip_model.Embedding], model_name: str) -> bytes:
    from corpus import records
    clip, embedding = embedded
    return records.float_example(clip, model_name, embedding.window_seconds, embedding.seconds,
                                 embedding.rows, embedding.offsets)


def _audioset_record(clip: Clip, embedding: clip_model.Embedding) -> bytes:
    from corpus import records
    return records.audioset_example(clip, embedding.seconds, embedding.codes)


def _read_clips(pipeline: beam.Pipeline, job: EmbedJob,
                class_labels: dict[str, int] | None):
    """(clips, dead letters of the manifest) PCollections."""
    if job.input_pattern:
        found = (pipeline | "Pattern" >> beam.Create([job.input_pattern])
                 | "Match" >> fileio.MatchAll())
        return found | "Clips" >> beam.Map(lambda metadata: Clip.of_file(metadata.path)), None
    lines = (pipeline | "Manifest" >> beam.io.ReadFromText(job.input_manifest)
             | "Rows" >> beam.Filter(clips_lib.is_manifest_data))
    parsed = lines | "Parse" >> beam.ParDo(_ParseManifest(class_labels)).with_outputs(
        DEAD, main="clips")
    return parsed.clips, parsed[DEAD]


def build(pipeline: beam.Pipeline, job: EmbedJob,
          class_labels: dict[str, int] | None = None) -> None:
    """Adds the embedding job's transforms to `pipeline` (see the module docstring)."""
    clips, bad_rows = _read_clips(pipeline, job, class_labels)
    results = (clips | "Spread" >> beam.Reshuffle()
               | "Embed" >> RunInference(ClipModelHandler(job))
               | "Split" >> beam.ParDo(_SplitResults()).with_outputs(DEAD, main="embedded"))
    (results.embedded
     | "FloatRecords" >> beam.Map(_float_record, job.model)
     | "WriteEmbeddings" >> beam.io.WriteToTFRecord(job.output_path(EMBEDDINGS_PREFIX),
                                                    file_name_suffix=RECORD_SUFFIX))
    if job.model == "vggish":
        (results.embedded
         | "AudioSetRecords" >> beam.MapTuple(_audioset_record)
         | "WriteAudioSet" >> beam.io.WriteToTFRecord(job.output_path(AUDIOSET_PREFIX),
                                                      file_name_suffix=RECORD_SUFFIX))
    dead = [results[DEAD]] + ([bad_rows] if bad_rows is not None else [])
    (dead | "DeadLetters" >> beam.Flatten()
     | "WriteDeadLetters" >> beam.io.WriteToText(job.output_path(DEAD_LETTERS_PREFIX),
                                                 file_name_suffix=DEAD_LETTER_SUFFIX))


def check(job: EmbedJob) -> None:
    """Raises UserError for a job that cannot start: inputs, model, or a used output folder.

    Checked before the pipeline is built, so the user gets one line, not a worker traceback.
    """
    models.check(job.model, job.model_path)
    if bool(job.input_pattern) == bool(job.input_manifest):
        raise InvalidInput("give exactly one of --input_pattern and --input_manifest")
    if job.batch_clips < 1:
        raise InvalidInput(f"--batch_clips must be at least 1, got {job.batch_clips}")
    source = job.input_pattern or job.input_manifest
    if not FileSystems.match([source], limits=[1])[0].metadata_list:
        raise FileNotFoundError(f"{source}: no such file" if job.input_manifest
                                else f"{source}: no files match (no such file)")
    for prefix in (EMBEDDINGS_PREFIX, AUDIOSET_PREFIX, DEAD_LETTERS_PREFIX):
        pattern = job.output_path(prefix) + "-*"
        if FileSystems.match([pattern], limits=[1])[0].metadata_list:
            raise UserError(f"{job.output} already holds {prefix} records of a job; give an "
                            "empty or new --output_dir folder")


def run(job: EmbedJob, pipeline_args: Sequence[str] = ()) -> Summary:
    """Checks, builds and runs the job to the end; returns its counts.

    Args:
      pipeline_args: Beam pipeline options (`--runner`, `--direct_num_workers`, Dataflow's
        `--project`, `--region`, `--temp_location`, ...).
    """
    check(job)
    options = pipeline_options(pipeline_args)
    class_labels = clips_lib.read_class_labels(job.class_labels) if job.class_labels else None
    pipeline = beam.Pipeline(runner=local_runner(options), options=options)
    build(pipeline, job, class_labels)
    result = pipeline.run()
    result.wait_until_finish()
    return _summary(result)


def local_runner(options: PipelineOptions):
    """The FnApiRunner for a DirectRunner job (no `--runner`, or `--runner=DirectRunner`), set
    up as the DirectRunner sets it up; None (the `--runner` named) for any other.

    Beam's DirectRunner first offers a batch job to the Prism runner, which it downloads from
    GitHub and which runs Python workers as threads of the launching process, ignoring
    `--direct_running_mode=multi_processing`; only where Prism cannot start (offline, as on
    this machine, after translating the job and starting a worker pool for it) does it fall
    back to the FnApiRunner, which runs the worker processes those options ask for. Going to
    the FnApiRunner directly runs the job the same way, online or not, without that detour.
    """
    runner = options.view_as(StandardOptions).runner
    if runner is not None and runner.lower() not in ("direct", "directrunner"):
        return None
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    provision = beam_provision_api_pb2.ProvisionInfo(
        pipeline_options=JobServiceHandle.encode_pipeline_options(options.get_all_options()))
    return fn_runner.FnApiRunner(provision_info=fn_runner.ExtendedProvisionInfo(provision))


def pipeline_options(args: Sequence[str]) -> PipelineOptions:
    """Beam's options from `args`; an argument no options class knows is an error (Beam itself
    would drop it with a warning, and a mistyped flag would silently change nothing)."""
    options = PipelineOptions(list(args))
    unknown = sorted(set(options.get_all_options(retain_unknown_options=True))
                     - set(options.get_all_options()))
    if unknown:
        raise InvalidInput(f"unknown flag{'s' * (len(unknown) > 1)} "
                           f"{', '.join('--' + name for name in unknown)}: neither this tool's "
                           "nor a Beam pipeline option")
    return options


def _summary(result) -> Summary:
    totals = {}
    for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        name = counter.key.metric.name
        totals[name] = totals.get(name, 0) + (counter.committed or 0)
    return Summary(clips=totals.get("clips", 0), rows=totals.get("rows", 0),
                   audio_seconds=totals.get("audio_milliseconds", 0) / 1000,
                   dead_letters=totals.get("dead_letters", 0))
