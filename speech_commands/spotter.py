"""The whole keyword spotter on the speech embedding, offline and hop by hop.

A trained `embedding_head` model scores 16 speech-embedding vectors, i.e. the last 31600
samples (1.975 s) of audio. Offline, every window is embedded from scratch. Streaming, each
80 ms hop (1280 samples) runs only what the new audio adds: `StreamingEmbedding` turns the
hop into one new embedding, a ring buffer of the last 16 embeddings is part of the state,
and the head (55k weights) scores the ring. The step is exported as a TFLite model with
named state inputs and outputs, so any runtime that can feed outputs back drives it.

Timing: after hop `h` (0-based) the ring holds offline embeddings `h - 24 .. h - 9`, the
window of stream samples `[1280 (h - 24), 1280 h + 880)`. The first full window is at hop
24; earlier hops are not scored. A score is reported at the start of the last 1000 ms of its
window (`window end - clip duration`), the same convention as the reference's streaming
tools use for a 1 s model, so a word's detection lands near the word's start.
"""

from __future__ import annotations


import keras
import numpy as np
import tensorflow as tf

from earshot import progress
from speech_commands import export, features, models
from speech_embedding import streaming as streaming_embedding

HOP_SAMPLES = features.EMBEDDING_HOP_SAMPLES
# Ring buffer fill: hop h holds embeddings up to h - WARMUP_HOPS.
FIRST_FULL_HOP = streaming_embedding.WARMUP_HOPS + features.CONTEXT_EMBEDDINGS - 1  # 24
RING_STATE = "embeddings_state"
SCORES = "scores"
SAMPLES = streaming_embedding.SAMPLES
# Window end of hop h is h * HOP_SAMPLES + WINDOW_END_OFFSET.
WINDOW_END_OFFSET = features.CONTEXT_SAMPLES - FIRST_FULL_HOP * HOP_SAMPLES  # 880
CLIP_DURATION_MS = 1000
MIN_STREAM_SAMPLES = (FIRST_FULL_HOP + 1) * HOP_SAMPLES  # 32000: audio of the first scores


def hop_time_ms(hop: int, sample_rate: int = 16000) -> int:
    """Reported time of hop `hop`'s scores: start of the last second of its window."""
    return int((hop * HOP_SAMPLES + WINDOW_END_OFFSET) * 1000 // sample_rate) - CLIP_DURATION_MS


def split(model: keras.Model, model_settings: dict) -> tuple[keras.Model, keras.Model]:
    """(speech embedding, head on `[batch, 16 * 96]` embeddings) of an `embedding_head` model.

    A model trained with `--train_embedding` holds its own fine-tuned embedding; the head's
    weights are copied into a head-only model. Otherwise the pretrained embedding is used.
    """
    if model_settings["preprocess"] == "embedding":
        return features.embedding_model(), model
    if model_settings["preprocess"] != "waveform":
        raise ValueError(f"not an embedding_head model (front end {model_settings['preprocess']!r})")
    head_settings = features.prepare_model_settings(
        model_settings["label_count"], model_settings["sample_rate"], CLIP_DURATION_MS, 30.0,
        10.0, 40, "embedding")
    head = models.create_model(head_settings, "embedding_head")
    for layer in head.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    embedding = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    return embedding, head


class StreamingSpotter(streaming_embedding.StatefulStep):
    """`step(samples[1280], *state) -> {"scores": [labels], <state name>: new state}`.

    States are the streaming embedding's (`state_names` minus the last) plus the ring of the
    last 16 embeddings `[16, 96]`. Scores are the head's softmax; they are meaningful from
    hop `FIRST_FULL_HOP` on.
    """

    def __init__(self, embedding: keras.Model, head: keras.Model):
        super().__init__(name="streaming_keyword_spotter")
        self._embedding = streaming_embedding.StreamingEmbedding(embedding)
        self._head = head
        self._head_weights = streaming_embedding.constant_weights(head)
        self.state_specs = self._embedding.state_specs + [tf.TensorSpec(
            [features.CONTEXT_EMBEDDINGS, features.EMBEDDING_SIZE], tf.float32, name=RING_STATE)]

    def step(self, samples: tf.Tensor, *state: tf.Tensor) -> dict[str, tf.Tensor]:
        hop = self._embedding.step(samples, *state[:-1])
        ring = tf.concat([state[-1][1:], hop["embedding"][tf.newaxis]], axis=0)
        with keras.StatelessScope(state_mapping=self._head_weights):
            logits = self._head(tf.reshape(ring, [1, -1]), training=False)
        outputs = {name: hop[name] for name in self._embedding.state_names}
        outputs[RING_STATE] = ring
        outputs[SCORES] = tf.nn.softmax(logits)[0]
        return outputs


def to_tflite(embedding: keras.Model, head: keras.Model) -> bytes:
    """The streaming step as a float32 TFLite flatbuffer with named inputs and outputs."""
    return StreamingSpotter(embedding, head).to_tflite()


class TFLiteStream:
    """Drives a streaming spotter TFLite model hop by hop (what `listen` runs).

    `push(samples)` accepts any number of float32 samples and returns the
    [(time_ms, scores [labels])] of every full window completed by them.
    """

    def __init__(self, model_path: str, num_threads: int | None = None):
        interpreter = tf.lite.Interpreter(model_path=model_path, num_threads=num_threads)
        signatures = interpreter.get_signature_list()
        inputs = next(iter(signatures.values()))["inputs"] if len(signatures) == 1 else []
        if SAMPLES not in inputs or RING_STATE not in inputs:
            raise ValueError(f"{model_path} is not a streaming keyword spotter (inputs: "
                             f"{', '.join(sorted(inputs)) or 'no signature'})")
        self._runner = interpreter.get_signature_runner()
        inputs = self._runner.get_input_details()
        self._state_specs = {name: (tuple(d["shape"]), d["dtype"]) for name, d in inputs.items()
                             if name != SAMPLES}
        self.reset()

    def reset(self) -> None:
        self._state = {name: np.zeros(shape, dtype)
                       for name, (shape, dtype) in self._state_specs.items()}
        self._pending = np.zeros(0, np.float32)
        self.hop = 0

    def step(self, samples: np.ndarray) -> np.ndarray:
        """One hop of exactly 1280 samples -> scores `[labels]` (valid from hop 24)."""
        outputs = self._runner(samples=samples, **self._state)
        self._state = {name: outputs[name] for name in self._state}
        self.hop += 1
        return outputs[SCORES]

    def push(self, samples: np.ndarray) -> list[tuple[int, np.ndarray]]:
        self._pending = np.concatenate([self._pending, np.asarray(samples, np.float32)])
        results = []
        while self._pending.size >= HOP_SAMPLES:
            hop = self.hop
            scores = self.step(self._pending[:HOP_SAMPLES])
            self._pending = self._pending[HOP_SAMPLES:]
            if hop >= FIRST_FULL_HOP:
                results.append((hop_time_ms(hop), scores))
        return results


def stream_scores(stream: TFLiteStream, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(times_ms int64 `[n]`, scores float32 `[n, labels]`) of a whole recording, hop by hop."""
    stream.reset()
    results = []
    for start in progress.track(range(0, waveform.size, 16 * HOP_SAMPLES),
                                "streaming the recording"):
        results.extend(stream.push(waveform[start:start + 16 * HOP_SAMPLES]))
    if not results:
        raise ValueError(f"a recording of {waveform.size} samples is shorter than the first "
                         f"full window ({MIN_STREAM_SAMPLES} samples)")
    return (np.array([t for t, _ in results], np.int64),
            np.stack([s for _, s in results]).astype(np.float32))


def offline_scores(module: export.InferenceModule, waveform: np.ndarray,
                   batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The same windows as `stream_scores`, each embedded from scratch by the offline model.

    `module` wraps the trained model with its front end (`export.InferenceModule`).
    """
    settings = module.model_settings
    hops = np.arange(FIRST_FULL_HOP, waveform.size // HOP_SAMPLES)  # hops the stream completes
    if not hops.size:
        raise ValueError(f"a recording of {waveform.size} samples is shorter than the first "
                         f"full window ({MIN_STREAM_SAMPLES} samples)")
    score_fn = tf.function(lambda audio: tf.nn.softmax(module.model(tf.reshape(
        features.compute(audio, tf.constant(16000), settings), [-1, settings["fingerprint_size"]]),
        training=False)))
    scores = []
    for start in progress.track(range(0, hops.size, batch_size), "scoring windows offline"):
        ends = hops[start:start + batch_size] * HOP_SAMPLES + WINDOW_END_OFFSET
        windows = np.stack([waveform[e - features.CONTEXT_SAMPLES:e] for e in ends])
        scores.append(score_fn(tf.constant(windows.T)).numpy())
    return np.array([hop_time_ms(h) for h in hops], np.int64), np.concatenate(scores)
