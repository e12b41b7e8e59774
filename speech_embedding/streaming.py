"""Streaming speech embedding: each 80 ms hop computes only what the new audio adds.

A hop of 1280 samples brings 8 new log-mel frames. Every time-kernel-3 conv keeps the last 2
frames of its input as state, so it only convolves the new ones; pools and mel-only layers
need no state. The front end keeps 640 samples back, so hop `h` delivers the offline pass's
frames `8h - 4 .. 8h + 3`: with that phase every 2x2 pool sees the same frame pairs as the
offline pass, and hop `h` emits exactly the offline embedding `h - 9`, the newest one the audio
so far allows (no added latency). Outputs of hops 0..8 depend on the zero initial state and are
flagged not valid.

The step function has explicit state inputs and outputs, so it converts to a TFLite model an
app can drive hop by hop. `StatefulStep` is that contract for any model run hop by hop (the
keyword spotter of speech_commands builds on it with this embedding inside), and
`ConstantWeights` lets a step read a Keras model's weights as constants.
"""

from __future__ import annotations

import tempfile

import keras
import numpy as np
import tensorflow as tf

from speech_embedding import features, model as model_lib

HOP_SAMPLES = model_lib.HOP_SAMPLES  # 1280: 80 ms
AUDIO_CONTEXT_SAMPLES = 640  # 4 frames back, the phase that aligns every pool with the offline pass
# Samples spanned by one hop's 8 frames; the rest of the buffer waits for the next hop.
HOP_FRAME_SPAN = features.STFT_WINDOW_SAMPLES + (model_lib.HOP_FRAMES - 1) * features.STFT_HOP_SAMPLES
WARMUP_HOPS = 9  # hop h emits offline embedding h - 9
SAMPLES = "samples"  # name of the hop's audio input
EMBEDDING = "embedding"  # name of the hop's embedding output


def _time_kernel(layer: keras.layers.Layer) -> int:
    return layer.kernel_size[0] if isinstance(layer, keras.layers.Conv2D) else 1


class ConstantWeights:
    """A Keras model's weights frozen as constants of their values now.

    Run under `scope()`, a step reads no variables, so its TFLite model needs no
    initialisation, and later changes to the model do not reach an exported step.
    """

    def __init__(self, model: keras.Model):
        self.mapping = [(weight, tf.constant(weight.numpy())) for weight in model.weights]

    def scope(self) -> keras.StatelessScope:
        return keras.StatelessScope(state_mapping=self.mapping)


class StatefulStep(tf.Module):
    """A model run hop by hop with its state as explicit inputs and outputs.

    Each call of `step(samples, *state)` takes `hop_samples` new float32 samples (input name
    `SAMPLES`) and the state tensors (in `state_names` order) and returns a dict that holds
    each new state under its input's name, so a caller (or an app driving the TFLite model)
    feeds each output back to the input of the same name. Subclasses set `state_specs`
    (named `tf.TensorSpec`s) and define `step`; a step can hold another step and pass it
    part of its state, as the keyword spotter holds `StreamingEmbedding`.
    """

    state_specs: list[tf.TensorSpec]

    def __init__(self, hop_samples: int, name: str):
        super().__init__(name=name)
        self.hop_samples = hop_samples

    @property
    def state_names(self) -> list[str]:
        return [spec.name for spec in self.state_specs]

    def initial_state(self) -> dict[str, np.ndarray]:
        return {spec.name: np.zeros(spec.shape, np.float32) for spec in self.state_specs}

    def step(self, samples: tf.Tensor, *state: tf.Tensor) -> dict[str, tf.Tensor]:
        raise NotImplementedError

    def function(self) -> tf.types.experimental.ConcreteFunction:
        """`step` as a concrete function with named inputs, ready for TFLite conversion."""
        specs = [tf.TensorSpec([self.hop_samples], tf.float32, name=SAMPLES)] + self.state_specs
        return tf.function(self.step).get_concrete_function(*specs)

    def to_tflite(self) -> bytes:
        """`step` as a float32 TFLite flatbuffer with named inputs (samples, states) and outputs."""
        # Through a SavedModel the converter keeps the signature's input and output names, which
        # is how an app finds the state tensors.
        with tempfile.TemporaryDirectory() as saved_model:
            tf.saved_model.save(self, saved_model, signatures=self.function())
            return tf.lite.TFLiteConverter.from_saved_model(saved_model).convert()


class StreamingEmbedding(StatefulStep):
    """Hop-by-hop twin of a speech embedding Keras model, sharing its layers and weights.

    `step(samples, *state) -> {EMBEDDING: [96], <state name>: new state, ...}` with samples
    float32 `[1280]`; the new state comes back under the names of the state inputs
    (`state_names`), so a caller feeds each output back to the input of the same name.
    `initial_state()` gives the zero state. Hop `h`'s embedding is the offline pass's
    embedding `h - warmup_hops`.
    """

    warmup_hops = WARMUP_HOPS
    embedding_size = model_lib.EMBEDDING_SIZE

    def __init__(self, model: keras.Model):
        super().__init__(HOP_SAMPLES, name="streaming_speech_embedding")
        self._backbone = model.get_layer("backbone")
        self._layers = [layer for layer in self._backbone.layers
                        if not isinstance(layer, keras.layers.InputLayer)]
        self._weights = ConstantWeights(self._backbone)
        self.state_specs = [tf.TensorSpec([AUDIO_CONTEXT_SAMPLES], tf.float32, name="audio_state")]
        width, channels = features.NUM_MEL_BINS, 1
        for layer in self._layers:
            if isinstance(layer, keras.layers.ZeroPadding2D):
                width += 2
            if _time_kernel(layer) > 1:
                self.state_specs.append(tf.TensorSpec(
                    [_time_kernel(layer) - 1, width, channels], tf.float32, name=f"{layer.name}_state"))
            if isinstance(layer, keras.layers.Conv2D):
                channels = layer.filters
                width = width - layer.kernel_size[1] + 1 if layer.padding == "valid" else width
            if isinstance(layer, keras.layers.MaxPooling2D):
                width //= layer.pool_size[1]

    def step(self, samples: tf.Tensor, *state: tf.Tensor) -> dict[str, tf.Tensor]:
        """One hop: float32 `[1280]` new samples and the state, in `state_names` order."""
        with self._weights.scope():
            return self._step(samples, *state)

    def _step(self, samples: tf.Tensor, *state: tf.Tensor) -> dict[str, tf.Tensor]:
        audio = tf.concat([state[0], samples], axis=0)
        new_state = [audio[-AUDIO_CONTEXT_SAMPLES:]]
        x = features.log_mel(audio[tf.newaxis, :HOP_FRAME_SPAN])[..., tf.newaxis]  # [1, 8, 32, 1]
        conv_states = iter(state[1:])
        for layer in self._layers:
            if _time_kernel(layer) > 1:
                x = tf.concat([next(conv_states)[tf.newaxis], x], axis=1)
                new_state.append(x[0, -(_time_kernel(layer) - 1):])
            x = layer(x, training=False)
        return {EMBEDDING: x[0, 0, 0], **dict(zip(self.state_names, new_state))}


def to_tflite(model: keras.Model) -> bytes:
    """The streaming embedding of `model` as TFLite (inputs: samples, states; outputs: embedding, states)."""
    return StreamingEmbedding(model).to_tflite()
