"""The whole keyword spotter on the speech embedding, hop by hop, and its export.

A trained `embedding_head` model scores 16 speech-embedding vectors, i.e. the last 31600
samples (1.975 s) of audio. Streaming and offline scoring are speech_embedding's `ring_head`,
shared with the wake word: each 80 ms hop (1280 samples) runs only what the new audio adds,
a ring of the last 16 embeddings is part of the state, and the head (55k weights) scores the
ring. The step is exported as a TFLite model with named state inputs and outputs, so any
runtime that can feed outputs back drives it (`spotter_runtime`, without TensorFlow).

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

import speech_embedding
from earshot import fileio
from speech_commands import architectures, features, inference_export, spotter_runtime
from speech_commands.settings import ModelSettings, RunSettings
from speech_embedding import ring_head

ARCHITECTURE = "embedding_head"


def score_windows(head: keras.Model) -> ring_head.ScoreWindows:
    """float32 `[n, 16, 96]` windows -> `[n, labels]`: the head's softmax (the head takes the
    16 embeddings flattened, `[n, 1536]`)."""
    return lambda batch: tf.nn.softmax(head(tf.reshape(
        batch, [-1, features.CONTEXT_EMBEDDINGS * speech_embedding.EMBEDDING_SIZE]),
        training=False))


def streaming_step(embedding: keras.Model, head: keras.Model) -> ring_head.RingHeadStep:
    """`step(samples[1280], *state) -> {"scores": [labels], <state name>: new state}`, scores
    meaningful from hop `ring_head.FIRST_SCORED_HOP` on."""
    return ring_head.RingHeadStep(embedding, head, score_windows(head),
                                  name="streaming_keyword_spotter",
                                  ring_state=spotter_runtime.RING_STATE,
                                  scores=spotter_runtime.SCORES)


def stream_timing(model_settings: ModelSettings) -> spotter_runtime.StreamTiming:
    """The timing of the streaming step of a model trained with `model_settings`."""
    return spotter_runtime.StreamTiming(
        hop_samples=ring_head.HOP_SAMPLES, first_full_hop=ring_head.FIRST_SCORED_HOP,
        window_end_offset=ring_head.WINDOW_END_OFFSET,
        clip_duration_ms=clip_duration_ms(model_settings),
        sample_rate=speech_embedding.SAMPLE_RATE)


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
    content = streaming_step(*split(model, model_settings)).to_tflite()
    with fileio.atomic_open(path, "wb") as out:
        out.write(content)
    stream_timing(model_settings).write(spotter_runtime.timing_path(path))
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
                   timing: spotter_runtime.StreamTiming) -> tuple[np.ndarray, np.ndarray]:
    """The scores `spotter_runtime.recording_scores` streams, offline: (times_ms int64 `[n]`,
    scores float32 `[n, labels]`) from one pass of the model's embedding over the recording
    (`module` wraps the trained model with its settings)."""
    hops = ring_head.scored_hops(waveform.size)
    if not hops.size:
        raise spotter_runtime.SpotterModelError(
            f"a recording of {waveform.size} samples is shorter than the first full window "
            f"({timing.min_stream_samples} samples)")
    embedding, head = split(module.model, module.model_settings)
    scores = ring_head.offline_scores(score_windows(head), ring_head.embed(embedding, waveform),
                                      hops)
    return np.array([timing.time_ms(h) for h in hops], np.int64), scores
