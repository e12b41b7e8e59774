"""The corpus job's records, written and read back: AudioSet's feature format and float rows.

Both are TFRecord files of `tf.train.SequenceExample`s, one per clip.

AudioSet (VGGish only), exactly the layout of the released `audioset_v1_embeddings`:

    context:      video_id (bytes), start_time_seconds (float), end_time_seconds (float),
                  labels (int64 list)
    feature_list: audio_embedding: one bytes feature per 0.96 s, the 128 uint8 codes

Float rows (every model):

    context:      id (bytes), path (bytes), model (bytes), start_time_seconds,
                  end_time_seconds, window_seconds (floats), labels (int64 list)
    feature_list: embedding: one float list per row, `size` float32 values
                  offset_seconds: one float per row, the start of its window in the clip

`read_audioset` and `read_embeddings` give `tf.data` datasets of dicts for training; read
them inside `named_read_errors` for an error that names a corrupt file.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import numpy as np
import tensorflow as tf

from corpus.clips import Clip
from earshot.errors import InvalidInput

AUDIOSET_EMBEDDING = "audio_embedding"
EMBEDDING = "embedding"
OFFSETS = "offset_seconds"

# The released AudioSet features' spec (tf.io.parse_single_sequence_example).
AUDIOSET_CONTEXT = {
    "video_id": tf.io.FixedLenFeature([], tf.string),
    "start_time_seconds": tf.io.FixedLenFeature([], tf.float32),
    "end_time_seconds": tf.io.FixedLenFeature([], tf.float32),
    "labels": tf.io.VarLenFeature(tf.int64),
}
AUDIOSET_SEQUENCE = {AUDIOSET_EMBEDDING: tf.io.FixedLenSequenceFeature([], tf.string)}

FLOAT_CONTEXT = {
    "id": tf.io.FixedLenFeature([], tf.string),
    "path": tf.io.FixedLenFeature([], tf.string),
    "model": tf.io.FixedLenFeature([], tf.string),
    "start_time_seconds": tf.io.FixedLenFeature([], tf.float32),
    "end_time_seconds": tf.io.FixedLenFeature([], tf.float32),
    "window_seconds": tf.io.FixedLenFeature([], tf.float32),
    "labels": tf.io.VarLenFeature(tf.int64),
}


def _bytes(*values: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))


def _floats(values: Sequence[float]) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def _ints(values: Sequence[int]) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def audioset_example(clip: Clip, seconds: float, codes: np.ndarray) -> bytes:
    """A serialized AudioSet SequenceExample.

    Args:
      clip: gives video_id, labels and the start time.
      seconds: the clip's audio length; end_time_seconds = start + seconds.
      codes: uint8 `[n, 128]`.
    """
    context = tf.train.Features(feature={
        "video_id": _bytes(clip.id.encode()),
        "start_time_seconds": _floats([clip.start]),
        "end_time_seconds": _floats([clip.start + seconds]),
        "labels": _ints(clip.labels),
    })
    rows = [_bytes(np.ascontiguousarray(row, np.uint8).tobytes()) for row in codes]
    lists = tf.train.FeatureLists(feature_list={
        AUDIOSET_EMBEDDING: tf.train.FeatureList(feature=rows)})
    return tf.train.SequenceExample(context=context, feature_lists=lists).SerializeToString()


def float_example(clip: Clip, model: str, window_seconds: float, seconds: float,
                  rows: np.ndarray, offsets: np.ndarray) -> bytes:
    """A serialized float-rows SequenceExample.

    Args:
      rows: float32 `[n, size]` (stored exactly: a float list holds float32).
      offsets: `[n]` seconds from the clip's start.
    """
    context = tf.train.Features(feature={
        "id": _bytes(clip.id.encode()),
        "path": _bytes(clip.path.encode()),
        "model": _bytes(model.encode()),
        "start_time_seconds": _floats([clip.start]),
        "end_time_seconds": _floats([clip.start + seconds]),
        "window_seconds": _floats([window_seconds]),
        "labels": _ints(clip.labels),
    })
    lists = tf.train.FeatureLists(feature_list={
        # Python floats (exactly the float32 values) fill a FloatList 4x faster than NumPy's.
        EMBEDDING: tf.train.FeatureList(feature=[_floats(row) for row in
                                                 np.asarray(rows, np.float32).tolist()]),
        OFFSETS: tf.train.FeatureList(feature=[
            _floats([offset]) for offset in np.asarray(offsets, np.float32).tolist()]),
    })
    return tf.train.SequenceExample(context=context, feature_lists=lists).SerializeToString()


def parse_audioset(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """One AudioSet record -> {video_id, start_time_seconds, end_time_seconds, labels int64
    `[k]`, audio_embedding uint8 `[n, 128]`}."""
    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=AUDIOSET_CONTEXT, sequence_features=AUDIOSET_SEQUENCE)
    parsed = dict(context, labels=tf.sparse.to_dense(context["labels"]))
    codes = tf.io.decode_raw(sequence[AUDIOSET_EMBEDDING], tf.uint8)
    parsed[AUDIOSET_EMBEDDING] = tf.reshape(codes, [-1, 128])
    return parsed


def parse_embeddings(serialized: tf.Tensor, size: int) -> dict[str, tf.Tensor]:
    """One float-rows record -> its context, labels int64 `[k]`, embedding float32
    `[n, size]` and offset_seconds float32 `[n]`."""
    context, sequence = tf.io.parse_single_sequence_example(
        serialized, context_features=FLOAT_CONTEXT, sequence_features={
            EMBEDDING: tf.io.FixedLenSequenceFeature([size], tf.float32),
            OFFSETS: tf.io.FixedLenSequenceFeature([], tf.float32)})
    return dict(context, labels=tf.sparse.to_dense(context["labels"]), **sequence)


def _files(pattern: str) -> list[str]:
    """The record files matching `pattern`, sorted.

    Raises:
      FileNotFoundError: nothing matches.
      InvalidInput: a match is a folder (the pattern must name record files).
    """
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"{pattern}: no record files match (no such file)")
    for path in files:
        if tf.io.gfile.isdir(path):
            raise InvalidInput(f"{path}: a directory, not a TFRecord file (give the records' "
                               "glob, e.g. 'OUTPUT_DIR/embeddings-*.tfrecord')")
    return files


def _first_corrupt(files: Sequence[str]) -> str | None:
    """The first of `files` that does not read to its end as TFRecords, if any."""
    for path in files:
        try:
            tf.data.TFRecordDataset(path).reduce(0, lambda count, _: count + 1)
        except tf.errors.DataLossError:
            return path
    return None


@contextlib.contextmanager
def named_read_errors(pattern: str) -> Iterator[None]:
    """Turns a corrupt record met while the block reads `pattern`'s records into InvalidInput
    naming its file.

    TensorFlow's error names neither the file nor the pattern, so on the error path (only)
    the files are read again, one at a time, to find it.
    """
    try:
        yield
    except tf.errors.DataLossError as error:
        path = _first_corrupt(_files(pattern)) or pattern
        raise InvalidInput(f"{path}: corrupt, or not a TFRecord file") from error


def read_audioset(pattern: str) -> tf.data.Dataset:
    """AudioSet records of all files matching `pattern` (`tf.io.gfile.glob`), parsed.

    A corrupt file fails when its records are read (`named_read_errors` names it).
    """
    return tf.data.TFRecordDataset(_files(pattern)).map(parse_audioset,
                                                        num_parallel_calls=tf.data.AUTOTUNE)


def embedding_size(pattern: str) -> int:
    """Floats per row in the float-rows records matching `pattern` (from the first record
    with rows).

    Raises:
      FileNotFoundError, InvalidInput: as `_files`; a corrupt file; no record with rows.
    """
    with named_read_errors(pattern):
        for serialized in tf.data.TFRecordDataset(_files(pattern)):
            example = tf.train.SequenceExample.FromString(serialized.numpy())
            rows = example.feature_lists.feature_list[EMBEDDING].feature
            if rows:
                return len(rows[0].float_list.value)
    raise InvalidInput(f"{pattern}: empty: no record with embedding rows to take their size "
                       "from")


def read_embeddings(pattern: str, size: int | None = None) -> tf.data.Dataset:
    """Float-rows records in all files matching `pattern`, parsed.

    Args:
      size: floats per row; None reads it from the first record with rows.

    A corrupt file fails when its records are read (`named_read_errors` names it).
    """
    size = embedding_size(pattern) if size is None else size
    return tf.data.TFRecordDataset(_files(pattern)).map(
        lambda serialized: parse_embeddings(serialized, size),
        num_parallel_calls=tf.data.AUTOTUNE)
