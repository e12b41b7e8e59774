"""Streaming speech embedding: hop by hop, in TF and in the TFLite interpreter, equals the offline pass."""

import numpy as np
import pytest
import tensorflow as tf

import numerics
from earshot import litert
from speech_embedding import streaming


@pytest.fixture(scope="module")
def stream(spoken_phrase):
    hops = spoken_phrase.size // streaming.HOP_SAMPLES
    return spoken_phrase[:hops * streaming.HOP_SAMPLES]


@pytest.fixture(scope="module")
def offline(speech_embedding_model, stream):
    return speech_embedding_model(stream[np.newaxis], training=False).numpy()[0, :, 0]


def _hops(stream):
    return stream.reshape(-1, streaming.HOP_SAMPLES)


@pytest.mark.numerics
def test_tf_step_emits_offline_embedding_h_minus_9(speech_embedding_model, stream, offline):
    model = streaming.StreamingEmbedding(speech_embedding_model)
    step = tf.function(model.step)
    state = model.initial_state()
    emitted = []
    for samples in _hops(stream):
        outputs = step(samples, *[state[name] for name in model.state_names])
        emitted.append(outputs["embedding"].numpy())
        state = {name: outputs[name] for name in model.state_names}
    emitted = np.array(emitted[streaming.WARMUP_HOPS:])
    # Hop by hop runs the convs on one column at a time: the offline function, reordered.
    numerics.assert_float32_rounding(
        emitted, offline,
        terms=numerics.network_terms(speech_embedding_model) + numerics.LOG_MEL_TERMS,
        what="TF streaming step against the offline pass")


@pytest.mark.numerics
def test_tflite_step_with_state_inputs_and_outputs(speech_embedding_model, stream, offline, tmp_path):
    path = tmp_path / "streaming.tflite"
    path.write_bytes(streaming.to_tflite(speech_embedding_model))
    runner = litert.signature_runner(litert.load(path))
    model = streaming.StreamingEmbedding(speech_embedding_model)
    assert set(runner.get_input_details()) == {"samples", *model.state_names}
    assert set(runner.get_output_details()) == {"embedding", *model.state_names}
    state = model.initial_state()
    emitted = []
    for samples in _hops(stream):
        outputs = runner(samples=samples, **state)
        emitted.append(outputs["embedding"])
        state = {name: outputs[name] for name in model.state_names}
    emitted = np.array(emitted[streaming.WARMUP_HOPS:])
    numerics.assert_float32_rounding(
        emitted, offline,
        terms=numerics.network_terms(speech_embedding_model) + numerics.LOG_MEL_TERMS,
        what="TFLite streaming step against the offline pass")
