"""Scores 1 s clips with an exported model: a frozen graph (`.pb`) or the Android TFLite.

The TFLite model runs on LiteRT (`earshot.litert`), which registers the AudioSpectrogram and
Mfcc custom ops the Android contract keeps inside the model. A frozen graph needs TensorFlow
(imported on first use), and is loaded in one place (`load_frozen_graph`) for `label_wav`,
the streaming tools and the tests.
"""

from __future__ import annotations

import numpy as np

from earshot import audio, litert, quiet
from earshot.errors import UserError, require_file

# The files of the Android speech app's contract (written by `inference_export`).
TFLITE_MODEL_NAME = "conv_actions_frozen.tflite"
TFLITE_INT8_MODEL_NAME = "conv_actions_frozen_int8.tflite"
# Node names of the reference's frozen graph.
INPUT_NAME = "wav_data"
DECODER_NAME = "decoded_sample_data"
OUTPUT_NAME = "labels_softmax"


class ModelFileError(UserError, ValueError):
    """A model file that is not what the tool expects (not a frozen graph, wrong inputs)."""


def load_frozen_graph(path: str):
    """A `tf.Graph` holding the GraphDef of `path`, imported with no name prefix.

    Raises:
      ModelFileError: `path` is empty, or not a GraphDef TensorFlow can import.
    """
    import tensorflow as tf  # Only frozen graphs need it; TFLite models run without it.
    require_file(path, "model file")
    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as graph_file:
        try:
            graph_def.ParseFromString(graph_file.read())
        except Exception as error:  # protobuf raises its own DecodeError
            raise ModelFileError(f"{path}: not a frozen GraphDef ({error})") from error
    if not graph_def.node:  # zero bytes parse as a GraphDef without nodes
        raise ModelFileError(f"{path}: empty model file, not a frozen GraphDef")
    graph = tf.Graph()
    with graph.as_default():
        try:
            tf.compat.v1.import_graph_def(graph_def, name="")
        except ValueError as error:  # ops or inputs TensorFlow does not know
            raise ModelFileError(f"{path}: not a frozen GraphDef TensorFlow can import "
                                 f"({error})") from error
    return graph


def tensor(graph, name: str, path: str):
    """The tensor `name` of `graph` (loaded from `path`); ModelFileError if it has none."""
    try:
        return graph.get_tensor_by_name(name)
    except (KeyError, ValueError) as error:
        raise ModelFileError(f"{path}: no tensor {name} in the graph") from error


def frozen_graph_scores(path: str, feeds: dict, output_name: str) -> np.ndarray:
    """Runs `output_name` of the frozen graph `path` on `feeds` ({tensor name: value});
    the first row."""
    import tensorflow as tf
    graph = load_frozen_graph(path)
    feeds = {tensor(graph, name, path): value for name, value in feeds.items()}
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run(tensor(graph, output_name, path), feeds)[0]


class Classifier:
    """Scores one clip at a time with a frozen graph (`.pb`) or a TFLite model (`.tflite`).

    Audio goes in as the apps feed it: float32 `[clip_samples, 1]` plus the sample rate.
    """

    def __init__(self, path: str, input_names: tuple[str, str] = (f"{DECODER_NAME}:0",
                                                                  f"{DECODER_NAME}:1"),
                 output_name: str = f"{OUTPUT_NAME}:0", num_threads: int | None = None):
        self.path = require_file(path, "model file")
        self.is_tflite = path.endswith(".tflite")
        if self.is_tflite:
            try:
                with quiet.native_stderr_silenced():  # LiteRT announces its delegate on fd 2
                    self._interpreter = litert.load(path, num_threads=num_threads)
            except ValueError as error:
                raise ModelFileError(f"{path}: not a TFLite model ({error})") from error
            inputs = self._interpreter.get_input_details()
            if len(inputs) != 2:
                raise ModelFileError(
                    f"{path}: expected 2 inputs (audio, sample rate), got {len(inputs)}")
            self.clip_samples = int(inputs[0]["shape"][0])
        else:
            import tensorflow as tf
            graph = load_frozen_graph(path)
            self._session = tf.compat.v1.Session(graph=graph)
            self._feeds = [tensor(graph, name, path) for name in input_names]
            self._output = tensor(graph, output_name, path)
            self.clip_samples = int(self._feeds[0].shape[0])

    def scores(self, clip: np.ndarray, sample_rate: int) -> np.ndarray:
        """float32 `[clip_samples]` or `[clip_samples, 1]` audio -> float32 `[labels]` softmax."""
        clip = np.asarray(clip, np.float32).reshape(-1, 1)
        if clip.shape[0] != self.clip_samples:
            raise ValueError(f"{self.path} takes clips of {self.clip_samples} samples, got "
                             f"{clip.shape[0]}")
        if self.is_tflite:
            return litert.invoke(self._interpreter, clip,
                                 np.array([sample_rate], np.int32))[0][0]
        return self._session.run(self._output, {self._feeds[0]: clip,
                                                self._feeds[1]: sample_rate})[0]

    def scores_for_file(self, path: str, sample_rate: int = audio.SAMPLE_RATE) -> np.ndarray:
        """Scores a file: decoded, resampled to `sample_rate`, padded or cut to one clip."""
        waveform = audio.load(path, sample_rate)
        clip = np.zeros(self.clip_samples, np.float32)
        clip[:min(waveform.size, self.clip_samples)] = waveform[:self.clip_samples]
        return self.scores(clip, sample_rate)
