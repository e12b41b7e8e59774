"""Trained checkpoint -> frozen graph, SavedModel and the Android app's TFLite model.

Contracts kept (see the reference's freeze.py and the Android speech demos):

* Frozen GraphDef: `wav_data` (string scalar, a whole WAV file) -> DecodeWav node
  `decoded_sample_data` (outputs `:0` float32 `[16000, 1]`, `:1` int32 sample rate) ->
  AudioSpectrogram -> Mfcc (fed the live `:1` rate) -> model -> `labels_softmax` `[1, labels]`.
  Callers may feed `wav_data:0`, or `decoded_sample_data:0` and `:1` directly.
* TFLite (`conv_actions_frozen.tflite`): input 0 float32 `[16000, 1]` audio in [-1, 1],
  input 1 int32 `[1]` sample rate, output 0 float32 `[1, labels]` softmax. AudioSpectrogram
  and Mfcc stay in the model as the custom ops the stock TFLite op resolver registers.

`classifier.Classifier` runs either file on audio. `calibration_clips` picks the clips that
calibrate the int8 model's activations. `InferenceModule(architectures.build_model(settings,
architecture), settings).from_wav` is the reference's `freeze.create_inference_graph` (kept
in `freeze`, with the reference's arguments).
"""

from __future__ import annotations

import os
from typing import Iterable

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from tensorflow.python.framework import convert_to_constants

from earshot import fileio, quiet
from earshot.errors import UserError
from speech_commands import batches, c_source, dataset, features
from speech_commands.classifier import (DECODER_NAME, INPUT_NAME, OUTPUT_NAME,
                                        TFLITE_INT8_MODEL_NAME, TFLITE_MODEL_NAME)
from speech_commands.settings import ModelSettings, RunSettings

CALIBRATION_CLIPS = 100
# The micro_speech export: the int8 model, its bytes as a C array, and the labels.
MICRO_MODEL_NAME = "model.tflite"
MICRO_SOURCE_NAME = "model.cc"
MICRO_ARRAY_NAME = "g_model"
MICRO_LABELS_NAME = "labels.txt"
# The fingerprint tensor of the inference graph (the reference's `reshaped_input`).
FINGERPRINT_NAME = "reshaped_input"


class ExportError(UserError, ValueError):
    """A model that cannot be written in the asked form."""


class InferenceModule(tf.Module):
    """The model wrapped with its front end, in the two input forms the apps use."""

    def __init__(self, model: keras.Model, model_settings: ModelSettings):
        super().__init__()
        self.model = model
        self.model_settings = model_settings
        desired = model_settings.desired_samples
        self.from_wav = tf.function(self._from_wav, input_signature=[
            tf.TensorSpec([], tf.string, name=INPUT_NAME)])
        self.from_audio = tf.function(self._from_audio, input_signature=[
            tf.TensorSpec([desired, 1], tf.float32, name="audio"),
            tf.TensorSpec([1], tf.int32, name="sample_rate")])
        self.from_fingerprint = tf.function(self._from_fingerprint, input_signature=[
            tf.TensorSpec([None, model_settings.fingerprint_size], tf.float32, name="input")])

    def _scores(self, audio_tensor: tf.Tensor, sample_rate: tf.Tensor) -> tf.Tensor:
        fingerprint = features.compute(audio_tensor, sample_rate, self.model_settings)
        reshaped = tf.reshape(fingerprint, [-1, self.model_settings.fingerprint_size],
                              name=FINGERPRINT_NAME)
        return tf.nn.softmax(self.model(reshaped, training=False), name=OUTPUT_NAME)

    def _from_wav(self, wav_data):
        decoded = tf.audio.decode_wav(wav_data, desired_channels=1,
                                      desired_samples=self.model_settings.desired_samples,
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


def save_graph_def(file_name: str, frozen_graph_def: tf.compat.v1.GraphDef) -> None:
    """Writes a GraphDef as a binary `.pb` file (atomically): the reference's function (kept
    in `freeze` under its name)."""
    with fileio.atomic_open(file_name, "wb") as out:
        out.write(frozen_graph_def.SerializeToString())
    logging.info("Saved frozen graph to %s", file_name)


def write_frozen_graph(module: InferenceModule, output_file: str) -> None:
    save_graph_def(output_file, frozen_graph_def(module))


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
    if not features.of(module.model_settings).stock_tflite_ops:
        raise ExportError(f"--preprocess={module.model_settings.preprocess} cannot be exported "
                          "for the Android app: its AudioMicrofrontend op is not in the stock "
                          "TFLite op resolver. Use mfcc or average, or feed fingerprints to the "
                          "SavedModel instead")
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
            rate = np.array([module.model_settings.sample_rate], np.int32)
            converter.representative_dataset = lambda: ([clip[:, np.newaxis], rate]
                                                        for clip in clips)
    with quiet.native_stderr_silenced():  # the quantizer's "fully_quantize: 0, ..." line
        return converter.convert()


def write_tflite(module: InferenceModule, tflite_dir: str, words_list: list[str],
                 representative_audio: list[np.ndarray] | None = None) -> dict[str, str]:
    """Writes the float and int8 models and the labels file; returns their paths."""
    os.makedirs(tflite_dir, exist_ok=True)
    paths = {"float": os.path.join(tflite_dir, TFLITE_MODEL_NAME),
             "int8": os.path.join(tflite_dir, TFLITE_INT8_MODEL_NAME),
             "labels": os.path.join(tflite_dir, dataset.TFLITE_LABELS_NAME)}
    for kind in ("float", "int8"):
        content = tflite_model(module, representative_audio, int8=kind == "int8")
        with fileio.atomic_open(paths[kind], "wb") as out:
            out.write(content)
        logging.info("Saved %s TFLite model (%d bytes) to %s", kind, len(content), paths[kind])
    with fileio.atomic_open(paths["labels"], "w") as out:
        out.write("\n".join(words_list))
    logging.info("Saved labels to %s", paths["labels"])
    return paths


def calibration_clips(run: RunSettings, data_dir: str) -> list[np.ndarray]:
    """Up to CALIBRATION_CLIPS training clips of `data_dir` split as the run split its data
    (silence and unknown included), in index order: float32 `[desired_samples]` each."""
    source = batches.BatchSource.from_folder(run.model_settings, data_dir,
                                             dataset.SplitSettings.of(run.training))
    clips, _ = source.unprocessed("training")
    return list(clips[:CALIBRATION_CLIPS])


def micro_tflite_model(model: keras.Model, model_settings: ModelSettings,
                       representative_fingerprints: np.ndarray) -> bytes:
    """The micro_speech contract as a TFLite flatbuffer: everything int8.

    Input int8 `[1, fingerprint_size]`: the fingerprint (micro front end: 49 frames x 40
    channels at 30/20 ms), quantized over the front end's range, (0, 26) for `micro`, so
    scale 26/255 and zero point -128 (the device maps its front end's integer output onto
    that range). Output int8 `[1, labels]`: softmax scores, scale 1/256, zero point -128.
    Activations are calibrated on `representative_fingerprints` float32 `[n,
    fingerprint_size]`.

    Raises:
      ExportError: a front end with no known range (its fingerprints cannot be int8 inputs).
    """
    features_range = features.of(model_settings).features_range
    if features_range is None:
        raise ExportError(f"--preprocess={model_settings.preprocess} has no known feature "
                          "range, so its fingerprints cannot be the int8 input of a micro model")
    size = model_settings.fingerprint_size

    @tf.function(input_signature=[tf.TensorSpec([1, size], tf.float32, name="fingerprint")])
    def serve(fingerprint):
        quantized = tf.quantization.fake_quant_with_min_max_args(fingerprint, *features_range)
        return tf.nn.softmax(model(quantized, training=False), name=OUTPUT_NAME)

    frozen = convert_to_constants.convert_variables_to_constants_v2(serve.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([row[np.newaxis]] for row in
                                                np.asarray(representative_fingerprints,
                                                           np.float32))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with quiet.native_stderr_silenced():  # the quantizer's "fully_quantize: 0, ..." line
        return converter.convert()


def write_micro(model: keras.Model, run: RunSettings, micro_dir: str,
                calibration_audio: list[np.ndarray]) -> dict[str, str]:
    """Writes the micro_speech files: `model.tflite` (`micro_tflite_model`, calibrated on the
    fingerprints of `calibration_audio`), `model.cc` (its bytes as `g_model`, `xxd -i`
    style) and `labels.txt`; returns their paths."""
    fingerprints = features.BatchFeaturizer(run.model_settings)(np.stack(calibration_audio))
    content = micro_tflite_model(model, run.model_settings, fingerprints)
    os.makedirs(micro_dir, exist_ok=True)
    paths = {"model": os.path.join(micro_dir, MICRO_MODEL_NAME),
             "source": os.path.join(micro_dir, MICRO_SOURCE_NAME),
             "labels": os.path.join(micro_dir, MICRO_LABELS_NAME)}
    with fileio.atomic_open(paths["model"], "wb") as out:
        out.write(content)
    with fileio.atomic_open(paths["source"], "w") as out:
        out.write(c_source.model_array(content, MICRO_ARRAY_NAME))
    with fileio.atomic_open(paths["labels"], "w") as out:
        out.write("\n".join(run.labels))
    logging.info("Saved micro model (%d bytes) and its C array to %s", len(content), micro_dir)
    return paths
