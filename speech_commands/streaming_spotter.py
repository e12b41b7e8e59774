"""The whole keyword spotter on the speech embedding, hop by hop, and its export.

A trained `embedding_head` model scores 16 speech-embedding vectors, i.e. the last 31600
samples (1.975 s) of audio. Offline, every window is embedded from scratch. Streaming, each
80 ms hop (1280 samples) runs only what the new audio adds: `StreamingEmbedding` (a
`StatefulStep` of speech_embedding) turns the hop into one new embedding, a ring buffer of the
last 16 embeddings is part of the state, and the head (55k weights) scores the ring. The
step is exported as a TFLite model with named state inputs and outputs, so any runtime that
can feed outputs back drives it (`spotter_runtime`, without TensorFlow).

Timing: after hop `h` (0-based) the ring holds offline embeddings `h - 24 .. h - 9`, the
window of stream samples `[1280 (h - 24), 1280 h + 880)`. The first full window is at hop
24; earlier hops are not scored. A score is reported at the start of the last 1000 ms of its
window (`window end - clip duration`), the same convention as the reference's streaming
tools use for a 1 s model, so a word's detection lands near the word's start.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from earshot import fileio, progress
from speech_commands import architectures, features, inference_export, spotter_runtime
from speech_commands.settings import ModelSettings, RunSettings
from speech_embedding import streaming as streaming_embedding

ARCHITECTURE = "embedding_head"


class StreamingSpotter(streaming_embedding.StatefulStep):
    """`step(samples[1280], *state) -> {"scores": [labels], <state name>: new state}`.

    States are the streaming embedding's plus the ring of the last 16 embeddings `[16, 96]`.
    Scores are the head's softmax; they are meaningful from hop `timing.first_full_hop` on.
    """

    def __init__(self, embedding: keras.Model, head: keras.Model, clip_duration_ms: int):
        self._embedding = streaming_embedding.StreamingEmbedding(embedding)
        super().__init__(self._embedding.hop_samples, name="streaming_keyword_spotter")
        self._head = head
        self._head_weights = streaming_embedding.ConstantWeights(head)
        self._embedding_states = len(self._embedding.state_specs)
        self.state_specs = self._embedding.state_specs + [tf.TensorSpec(
            [features.CONTEXT_EMBEDDINGS, self._embedding.embedding_size], tf.float32,
            name=spotter_runtime.RING_STATE)]
        first_full_hop = self._embedding.warmup_hops + features.CONTEXT_EMBEDDINGS - 1
        self.timing = spotter_runtime.StreamTiming(
            hop_samples=self.hop_samples, first_full_hop=first_full_hop,
            window_end_offset=features.CONTEXT_SAMPLES - first_full_hop * self.hop_samples,
            clip_duration_ms=clip_duration_ms, sample_rate=features.speech_embedding.SAMPLE_RATE)

    def step(self, samples: tf.Tensor, *state: tf.Tensor) -> dict[str, tf.Tensor]:
        hop = self._embedding.step(samples, *state[:self._embedding_states])
        ring = tf.concat([state[-1][1:], hop[streaming_embedding.EMBEDDING][tf.newaxis]], axis=0)
        with self._head_weights.scope():
            logits = self._head(tf.reshape(ring, [1, -1]), training=False)
        outputs = {name: hop[name] for name in self._embedding.state_names}
        outputs[spotter_runtime.RING_STATE] = ring
        outputs[spotter_runtime.SCORES] = tf.nn.softmax(logits)[0]
        return outputs


def split(model: keras.Model, model_settings: ModelSettings) -> tuple[keras.Model, keras.Model]:
    """(speech embedding, head on `[batch, 16 * 96]` embeddings) of an `embedding_head` model.

    A model trained with `--train_embedding` holds its own fine-tuned embedding; the head's
    weights are copied into a head-only model. Otherwise the pretrained embedding is used.
    """
    frontend = features.of(model_settings)
    if frontend.frozen_embedding:
        return features.embedding_model(), model
    if not frontend.embedding_in_model:
        raise inference_export.ExportError(
            f"not an {ARCHITECTURE} model (front end {model_settings.preprocess!r})")
    head_settings = features.with_preprocess(model_settings, "embedding")
    head = architectures.build_model(head_settings, ARCHITECTURE)
    for layer in head.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    embedding = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    return embedding, head


def clip_duration_ms(model_settings: ModelSettings) -> int:
    return model_settings.desired_samples * 1000 // model_settings.sample_rate


def write_streaming_model(model: keras.Model, model_settings: ModelSettings,
                          path: str) -> str:
    """Writes the streaming step of an `embedding_head` model as TFLite at `path`, and its
    timing beside it (`spotter_runtime.timing_path`); returns the model path."""
    embedding, head = split(model, model_settings)
    spotter = StreamingSpotter(embedding, head, clip_duration_ms(model_settings))
    content = spotter.to_tflite()
    with fileio.atomic_open(path, "wb") as out:
        out.write(content)
    spotter.timing.write(spotter_runtime.timing_path(path))
    logging.info("Saved streaming TFLite model (%d bytes) to %s", len(content), path)
    return path


def export_spotter(model: keras.Model, run: RunSettings, output_dir: str,
                   data_dir: str = "") -> dict[str, str]:
    """Writes the Android files and the streaming model of a run; returns their paths by kind.

    Args:
      data_dir: dataset whose training clips calibrate the int8 model's activations; without
        it only the weights are int8.
    """
    if run.model_architecture != ARCHITECTURE:
        raise inference_export.ExportError(
            f"export_kws exports {ARCHITECTURE} runs; this run trained {run.model_architecture} "
            "(use `python -m speech_commands.freeze` for it)")
    clips = inference_export.calibration_clips(run, data_dir) if data_dir else None
    module = inference_export.InferenceModule(model, run.model_settings)
    paths = inference_export.write_tflite(module, output_dir, list(run.labels), clips)
    paths["streaming"] = write_streaming_model(
        model, run.model_settings,
        os.path.join(output_dir, spotter_runtime.STREAMING_MODEL_NAME))
    return paths


def offline_scores(module: inference_export.InferenceModule, waveform: np.ndarray,
                   timing: spotter_runtime.StreamTiming,
                   batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The same windows as `spotter_runtime.recording_scores`, each embedded from scratch by
    the offline model (`module` wraps it with its front end)."""
    settings = module.model_settings
    hops = np.arange(timing.first_full_hop, waveform.size // timing.hop_samples)
    if not hops.size:
        raise spotter_runtime.SpotterModelError(
            f"a recording of {waveform.size} samples is shorter than the first full window "
            f"({timing.min_stream_samples} samples)")
    rate = tf.constant(settings.sample_rate)
    score_fn = tf.function(lambda audio: tf.nn.softmax(module.model(tf.reshape(
        features.compute(audio, rate, settings), [-1, settings.fingerprint_size]),
        training=False)))
    scores = []
    for start in progress.track(range(0, hops.size, batch_size), "scoring windows offline"):
        ends = hops[start:start + batch_size] * timing.hop_samples + timing.window_end_offset
        windows = np.stack([waveform[e - features.CONTEXT_SAMPLES:e] for e in ends])
        scores.append(score_fn(tf.constant(windows.T)).numpy())
    return np.array([timing.time_ms(h) for h in hops], np.int64), np.concatenate(scores)
