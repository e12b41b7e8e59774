"""Trained checkpoint -> frozen graph, SavedModel and the Android app's TFLite model.

Contracts kept (see the reference's freeze.py and the Android speech demos):

* Frozen GraphDef: `wav_data` (string scalar, a whole WAV file) -> DecodeWav node
  `decoded_sample_data` (outputs `:0` float32 `[16000, 1]`, `:1` int32 sample rate) ->
  AudioSpectrogram -> Mfcc (fed the live `:1` rate) -> model -> `labels_softmax` `[1, labels]`.
  Callers may feed `wav_data:0`, or `decoded_sample_data:0` and `:1` directly.
* TFLite (`conv_actions_frozen.tflite`): input 0 float32 `[16000, 1]` audio in [-1, 1],
  input 1 int32 `[1]` sample rate, output 0 float32 `[1, labels]` softmax. AudioSpectrogram
  and Mfcc stay in the model as the custom ops the stock TFLite op resolver registers.

`Classifier` runs either file on audio, for `label_wav`, streaming tests and live detection.
"""

from __future__ import annotations

import os
from typing import Iterable

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from tensorflow.python.framework import convert_to_constants

from earshot import audio, fileio
from speech_commands import features, models

INPUT_NAME = "wav_data"
DECODER_NAME = "decoded_sample_data"
OUTPUT_NAME = "labels_softmax"
TFLITE_MODEL_NAME = "conv_actions_frozen.tflite"
TFLITE_INT8_MODEL_NAME = "conv_actions_frozen_int8.tflite"
TFLITE_LABELS_NAME = "conv_actions_labels.txt"


def load_model(model_settings: dict, model_architecture: str, checkpoint: str,
               quantize: bool = False) -> keras.Model:
    """The model of a `train.py` checkpoint (`<dir>/<arch>.ckpt-<step>`), weights restored."""
    if not checkpoint:
        raise ValueError("--start_checkpoint is empty: name a training checkpoint, e.g. "
                         "/tmp/speech_commands_train/conv.ckpt-18000")
    model = models.create_model(model_settings, model_architecture, quantize=quantize)
    check_checkpoint(checkpoint, model)
    tf.train.Checkpoint(model_variables=list(model.variables)).read(checkpoint).expect_partial()
    return model


def check_checkpoint(checkpoint: str, model: keras.Model) -> None:
    """Raises a clear error unless `checkpoint` holds variables shaped like `model`'s.

    Without this, restoring another architecture or label count fails deep inside TF.
    """
    if not tf.io.gfile.exists(checkpoint + ".index"):
        raise FileNotFoundError(f"{checkpoint}: no checkpoint there (expected {checkpoint}.index)")
    saved = dict(tf.train.list_variables(checkpoint))
    expected = {f"model_variables/{i}/.ATTRIBUTES/VARIABLE_VALUE": tuple(v.shape)
                for i, v in enumerate(model.variables)}
    mismatched = [key for key, shape in expected.items() if tuple(saved.get(key, ())) != shape]
    if mismatched or len(expected) != sum(k.startswith("model_variables/") for k in saved):
        raise ValueError(
            f"{checkpoint} does not hold a {model.name} model with these settings "
            f"({len(mismatched)} of {len(expected)} variables differ in shape or are missing); "
            "pass the --model_architecture, --wanted_words and feature flags used in training")


class InferenceModule(tf.Module):
    """The model wrapped with its front end, in the two input forms the apps use."""

    def __init__(self, model: keras.Model, model_settings: dict):
        super().__init__()
        self.model = model
        self.model_settings = model_settings
        desired = model_settings["desired_samples"]
        self.from_wav = tf.function(self._from_wav, input_signature=[
            tf.TensorSpec([], tf.string, name=INPUT_NAME)])
        self.from_audio = tf.function(self._from_audio, input_signature=[
            tf.TensorSpec([desired, 1], tf.float32, name="audio"),
            tf.TensorSpec([1], tf.int32, name="sample_rate")])
        self.from_fingerprint = tf.function(self._from_fingerprint, input_signature=[
            tf.TensorSpec([None, model_settings["fingerprint_size"]], tf.float32, name="input")])

    def _scores(self, audio_tensor: tf.Tensor, sample_rate: tf.Tensor) -> tf.Tensor:
        fingerprint = features.compute(audio_tensor, sample_rate, self.model_settings)
        reshaped = tf.reshape(fingerprint, [-1, self.model_settings["fingerprint_size"]])
        return tf.nn.softmax(self.model(reshaped, training=False), name=OUTPUT_NAME)

    def _from_wav(self, wav_data):
        decoded = tf.audio.decode_wav(wav_data, desired_channels=1,
                                      desired_samples=self.model_settings["desired_samples"],
                                      name=DECODER_NAME)
        return self._scores(decoded.audio, decoded.sample_rate)

    def _from_audio(self, audio_tensor, sample_rate):
        return {"labels_softmax": self._scores(audio_tensor, sample_rate)}

    def _from_fingerprint(self, fingerprint):
        return {"output": tf.nn.softmax(self.model(fingerprint, training=False))}


def frozen_graph_def(module: InferenceModule) -> tf.compat.v1.GraphDef:
    """The `wav_data -> labels_softmax` graph with every variable folded into a constant."""
    frozen = convert_to_constants.convert_variables_to_constants_v2(
        module.from_wav.get_concrete_function())
    graph_def = frozen.graph.as_graph_def()
    names = {node.name for node in graph_def.node}
    for required in (INPUT_NAME, DECODER_NAME, OUTPUT_NAME):
        if required not in names:
            raise RuntimeError(f"frozen graph lost its {required!r} node; nodes: {sorted(names)}")
    return graph_def


def write_frozen_graph(module: InferenceModule, output_file: str) -> None:
    graph_def = frozen_graph_def(module)
    with fileio.atomic_open(output_file, "wb") as out:
        out.write(graph_def.SerializeToString())
    logging.info("Saved frozen graph to %s", output_file)


def write_saved_model(module: InferenceModule, output_dir: str, overwrite: bool = True) -> None:
    """SavedModel whose default signature maps fingerprints `input` to softmax `output`,
    as the reference's `--save_format=saved_model`; `from_wav`/`from_audio` are kept too."""
    with fileio.atomic_dir(output_dir, overwrite=overwrite) as staging:
        tf.saved_model.save(module, staging, signatures={
            "serving_default": module.from_fingerprint.get_concrete_function(),
            "from_audio": module.from_audio.get_concrete_function()})
    logging.info("Saved model to %s", output_dir)


def tflite_model(module: InferenceModule,
                 representative_audio: Iterable[np.ndarray] | None = None,
                 int8: bool = False) -> bytes:
    """The Android contract as a TFLite flatbuffer (float, or int8 weights and activations).

    With `int8`, the convolution and dense layers are quantized to int8; given
    `representative_audio` (float32 `[samples]` clips) activations are calibrated on it
    (full integer kernels), otherwise only weights are quantized (dynamic range). Input and
    output stay float32, and the two DSP custom ops stay float, so the app is unchanged.
    """
    if module.model_settings["preprocess"] == "micro":
        raise ValueError("--preprocess=micro cannot be exported for the Android app: its "
                         "AudioMicrofrontend op is not in the stock TFLite op resolver. Use mfcc "
                         "or average, or feed fingerprints to the SavedModel instead")
    # Folding the variables first keeps the weights as constants (Keras 3 variables would
    # otherwise stay resource variables) and the inputs in signature order.
    frozen = convert_to_constants.convert_variables_to_constants_v2(
        module.from_audio.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.allow_custom_ops = True
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if representative_audio is not None:
            clips = list(representative_audio)
            rate = np.array([module.model_settings["sample_rate"]], np.int32)
            converter.representative_dataset = lambda: ([clip[:, np.newaxis], rate]
                                                        for clip in clips)
    return converter.convert()


def write_tflite(module: InferenceModule, tflite_dir: str, words_list: list[str],
                 representative_audio: list[np.ndarray] | None = None) -> dict[str, str]:
    """Writes the float and int8 models and the labels file; returns their paths."""
    os.makedirs(tflite_dir, exist_ok=True)
    paths = {"float": os.path.join(tflite_dir, TFLITE_MODEL_NAME),
             "int8": os.path.join(tflite_dir, TFLITE_INT8_MODEL_NAME),
             "labels": os.path.join(tflite_dir, TFLITE_LABELS_NAME)}
    for kind in ("float", "int8"):
        content = tflite_model(module, representative_audio, int8=kind == "int8")
        with fileio.atomic_open(paths[kind], "wb") as out:
            out.write(content)
        logging.info("Saved %s TFLite model (%d bytes) to %s", kind, len(content), paths[kind])
    with fileio.atomic_open(paths["labels"], "w") as out:
        out.write("\n".join(words_list))
    logging.info("Saved labels to %s", paths["labels"])
    return paths


def read_labels(path: str) -> list[str]:
    """Label lines with trailing whitespace removed (as label_wav reads them)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"labels file {path} not found")
    with open(path) as labels_file:
        labels = [line.rstrip() for line in labels_file]
    if not labels or not all(labels):
        raise ValueError(f"{path}: empty labels file or empty label line")
    return labels


class Classifier:
    """Scores one clip at a time with a frozen graph (`.pb`) or a TFLite model (`.tflite`).

    Audio goes in as the apps feed it: float32 `[clip_samples, 1]` plus the sample rate.
    """

    def __init__(self, path: str, input_names: tuple[str, str] = (f"{DECODER_NAME}:0",
                                                                  f"{DECODER_NAME}:1"),
                 output_name: str = f"{OUTPUT_NAME}:0", num_threads: int | None = None):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"model file {path} not found")
        self.path = path
        self.is_tflite = path.endswith(".tflite")
        if self.is_tflite:
            self._interpreter = tf.lite.Interpreter(model_path=path, num_threads=num_threads)
            self._interpreter.allocate_tensors()
            inputs = self._interpreter.get_input_details()
            if len(inputs) != 2:
                raise ValueError(
                    f"{path}: expected 2 inputs (audio, sample rate), got {len(inputs)}")
            self._audio_index, self._rate_index = inputs[0]["index"], inputs[1]["index"]
            self.clip_samples = int(inputs[0]["shape"][0])
            self._output_index = self._interpreter.get_output_details()[0]["index"]
        else:
            graph_def = tf.compat.v1.GraphDef()
            with open(path, "rb") as graph_file:
                try:
                    graph_def.ParseFromString(graph_file.read())
                except Exception as error:  # protobuf raises its own DecodeError
                    raise ValueError(f"{path}: not a frozen GraphDef ({error})") from error
            graph = tf.Graph()
            with graph.as_default():
                tf.compat.v1.import_graph_def(graph_def, name="")
            self._session = tf.compat.v1.Session(graph=graph)
            self._feeds = [graph.get_tensor_by_name(name) for name in input_names]
            self._output = graph.get_tensor_by_name(output_name)
            self.clip_samples = int(self._feeds[0].shape[0])

    def scores(self, clip: np.ndarray, sample_rate: int) -> np.ndarray:
        """float32 `[clip_samples]` or `[clip_samples, 1]` audio -> float32 `[labels]` softmax."""
        clip = np.asarray(clip, np.float32).reshape(-1, 1)
        if clip.shape[0] != self.clip_samples:
            raise ValueError(f"{self.path} takes clips of {self.clip_samples} samples, got "
                             f"{clip.shape[0]}")
        if self.is_tflite:
            self._interpreter.set_tensor(self._audio_index, clip)
            self._interpreter.set_tensor(self._rate_index, np.array([sample_rate], np.int32))
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output_index)[0].copy()
        return self._session.run(self._output, {self._feeds[0]: clip,
                                                self._feeds[1]: sample_rate})[0]

    def scores_for_file(self, path: str, sample_rate: int = 16000) -> np.ndarray:
        """Scores a file: decoded, resampled to `sample_rate`, padded or cut to one clip."""
        waveform = audio.load(path, sample_rate)
        clip = np.zeros(self.clip_samples, np.float32)
        clip[:min(waveform.size, self.clip_samples)] = waveform[:self.clip_samples]
        return self.scores(clip, sample_rate)
