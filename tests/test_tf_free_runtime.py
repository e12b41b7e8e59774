"""The TFLite runtime without TensorFlow: `earshot.litert` and `earshot.audio` in a fresh venv.

The venv (fixture `tf_free_python`, tests/tf_free_env.py) has only ai-edge-litert, numpy,
soundfile, soxr, absl-py and the project installed without its dependencies. Models and audio
are made here with TensorFlow, run there, and compared with the same calls in this venv.
"""

import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf

import numerics
import vggish
from earshot import audio, litert
from vggish import examples_embedder, params, tflite

STATE_SHAPE = (4, 8)
HOP = 32
# The project's shared fixtures sit beside the checkout (`<checkout>/../shared`).
VGGISH_FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "shared", "fixtures", "vggish")
VGGISH_WAV = os.path.join(VGGISH_FIXTURES, "chirp_noise_2p5s_16k.wav")
VGGISH_PCA = os.path.join(VGGISH_FIXTURES, "vggish_pca_params.npz")

# Runs in the TF-free venv: argv[1] is the folder with the models and inputs.
TF_FREE_RUN = """
import importlib.util, os, sys
import numpy as np
from earshot import audio, litert

folder = sys.argv[1]
assert importlib.util.find_spec("tensorflow") is None
inputs = np.load(os.path.join(folder, "inputs.npz"))
results = {"earshot_file": np.array(audio.__file__)}
dense = litert.load(os.path.join(folder, "dense.tflite"), num_threads=1)
for batch in ("one", "three"):
    results[f"dense_{batch}"] = litert.invoke(dense, inputs[batch])[0]
runner = litert.signature_runner(litert.load(os.path.join(folder, "step.tflite"), num_threads=1),
                                 required=("samples", "state"))
state = np.zeros_like(inputs["state"])
for hop in inputs["hops"]:
    outputs = runner(samples=hop, state=state)
    state = outputs["state"]
results["scores"], results["state"] = outputs["scores"], state
results["audio"] = audio.load(os.path.join(folder, "stereo.wav"), 16000)
results["has_tensorflow"] = np.array("tensorflow" in sys.modules)
np.savez(os.path.join(folder, "results.npz"), **results)
"""

# Runs in the TF-free venv: argv[1] the stand-in network, argv[2] a wav, argv[3] PCA
# parameters, argv[4] the .npz to write.
TF_FREE_VGGISH = """
import sys
import numpy as np
import vggish
from earshot import audio
from vggish import examples_embedder, numpy_features

network, wav, pca, output = sys.argv[1:]
runner = examples_embedder.TfliteEmbedder(network, num_threads=1, pca_params_path=pca)
np.savez(output, examples=numpy_features.waveform_to_examples(*audio.read_file(wav)),
         embeddings=runner(wav), codes=runner(wav, postprocess=True),
         has_tensorflow=np.array("tensorflow" in sys.modules))
"""


class Step(tf.Module):
    """A toy streaming step: a named sample input and a state carried between calls."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.kernel = tf.constant(rng.normal(size=(HOP, STATE_SHAPE[1])), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([HOP], tf.float32, name="samples"),
                                  tf.TensorSpec(STATE_SHAPE, tf.float32, name="state")])
    def step(self, samples, state):
        features = tf.tanh(tf.linalg.matvec(self.kernel, samples, transpose_a=True))
        state = tf.concat([state[1:], features[tf.newaxis]], axis=0)
        return {"scores": tf.nn.softmax(tf.reduce_mean(state, axis=0)), "state": state}


def _dense_model() -> tf.keras.Model:
    """A batch-agnostic conv net, so `invoke` has to resize its input."""
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((20, 6))
    hidden = tf.keras.layers.Conv1D(8, 3, activation="relu")(inputs)
    outputs = tf.keras.layers.Dense(5)(tf.keras.layers.Flatten()(hidden))
    return tf.keras.Model(inputs, outputs)


def _step_tflite(tmp_path) -> bytes:
    step = Step()
    tf.saved_model.save(step, str(tmp_path / "step_saved"), signatures=step.step)
    return tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "step_saved")).convert()


@pytest.fixture(scope="module")
def models_and_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tf_free_models")
    dense = _dense_model()
    (folder / "dense.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(dense).convert())
    (folder / "step.tflite").write_bytes(_step_tflite(folder))
    rng = np.random.default_rng(1)
    inputs = {"one": rng.normal(size=(1, 20, 6)).astype(np.float32),
              "three": rng.normal(size=(3, 20, 6)).astype(np.float32),
              "hops": rng.normal(size=(6, HOP)).astype(np.float32),
              "state": np.zeros(STATE_SHAPE, np.float32)}
    np.savez(folder / "inputs.npz", **inputs)
    stereo = np.stack([np.sin(np.arange(44100) * 0.05), rng.uniform(-0.5, 0.5, 44100)], axis=1)
    audio.write_wav(folder / "stereo.wav", (stereo * 0.5).astype(np.float32), 44100)
    return folder, dense, inputs


@pytest.fixture(scope="module")
def tf_free_results(tf_free_python, models_and_inputs):
    folder = models_and_inputs[0]
    # From the model folder, so that the working tree's packages are not importable.
    subprocess.run([tf_free_python, "-c", TF_FREE_RUN, str(folder)], check=True, cwd=folder)
    return dict(np.load(folder / "results.npz"))


def test_the_environment_has_no_tensorflow_and_the_installed_project(tf_free_python,
                                                                      tf_free_results):
    result = subprocess.run([tf_free_python, "-c", "import tensorflow"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 1 and "No module named 'tensorflow'" in result.stderr
    venv = os.path.dirname(os.path.dirname(tf_free_python))
    assert str(tf_free_results["earshot_file"]).startswith(venv)
    assert not tf_free_results["has_tensorflow"]


@pytest.mark.numerics
def test_positional_models_run_alike_without_tensorflow(models_and_inputs, tf_free_results):
    folder, dense, inputs = models_and_inputs
    interpreter = litert.load(folder / "dense.tflite", num_threads=1)
    for batch in ("one", "three"):
        here = litert.invoke(interpreter, inputs[batch])[0]
        assert here.shape == (len(inputs[batch]), 5)
        # LiteRT in either environment (its version may differ), and TFLite against Keras.
        terms = numerics.network_terms(dense)
        numerics.assert_float32_rounding(tf_free_results[f"dense_{batch}"], here, terms=terms,
                                         what=f"LiteRT without and with TensorFlow, {batch}")
        numerics.assert_float32_rounding(here, dense(inputs[batch]).numpy(), terms=terms,
                                         what=f"TFLite and Keras, {batch}")


@pytest.mark.numerics
def test_signature_models_run_alike_without_tensorflow(models_and_inputs, tf_free_results):
    folder, _, inputs = models_and_inputs
    runner = litert.signature_runner(litert.load(folder / "step.tflite", num_threads=1))
    step, state = Step(), inputs["state"]
    tf_state = tf.constant(state)
    for hop in inputs["hops"]:
        outputs = runner(samples=hop, state=state)
        state = outputs["state"]
        tf_outputs = step.step(hop, tf_state)
        tf_state = tf_outputs["state"]
    # A matvec of HOP terms per hop, a mean over the state's rows, then softmax.
    terms = HOP + STATE_SHAPE[0]
    numerics.assert_float32_rounding(tf_free_results["state"], state, terms=terms,
                                     what="state without and with TensorFlow")
    for name, scores, expected in [
            ("scores without and with TensorFlow", tf_free_results["scores"], outputs["scores"]),
            ("TFLite and TensorFlow scores", outputs["scores"], tf_outputs["scores"].numpy())]:
        numerics.assert_float32_rounding(scores, expected, terms=terms,
                                         scale=numerics.logit_scale(expected), what=name)


@pytest.mark.numerics
def test_audio_loads_alike_without_tensorflow(models_and_inputs, tf_free_results):
    here = audio.load(models_and_inputs[0] / "stereo.wav", 16000)
    assert here.shape == (16000,)
    np.testing.assert_array_equal(tf_free_results["audio"], here)


def test_load_refuses_missing_and_corrupt_models(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such TFLite model"):
        litert.load(tmp_path / "missing.tflite")
    with pytest.raises(ValueError):
        litert.load(b"not a flatbuffer")


def test_signature_runner_names_the_inputs_it_misses(models_and_inputs):
    interpreter = litert.load(models_and_inputs[0] / "step.tflite")
    with pytest.raises(ValueError, match="inputs: samples, state"):
        litert.signature_runner(interpreter, required=("samples", "ring_state"))


def _stand_in_vggish() -> tf.keras.Model:
    """A small network with VGGish's contract, log-mel `[N, 96, 64]` -> `[N, 128]`: the path
    around it (NumPy front end, LiteRT, postprocessor) is what runs without TensorFlow."""
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((params.NUM_FRAMES, params.NUM_BANDS))
    pooled = tf.keras.layers.AveragePooling1D(8)(inputs)
    outputs = tf.keras.layers.Dense(params.EMBEDDING_SIZE)(tf.keras.layers.Flatten()(pooled))
    return tf.keras.Model(inputs, outputs)


@pytest.mark.numerics
def test_vggish_tflite_runs_without_tensorflow(tf_free_python, tmp_path):
    network = _stand_in_vggish()
    path = tflite.write(network, str(tmp_path / "vggish.tflite"), "float32")
    output = tmp_path / "vggish.npz"
    subprocess.run([tf_free_python, "-c", TF_FREE_VGGISH, path, VGGISH_WAV, VGGISH_PCA,
                    str(output)], check=True, cwd=tmp_path)
    tf_free = dict(np.load(output))
    assert not tf_free["has_tensorflow"]
    # The NumPy front end there equals the TF one here, and the network and postprocessor
    # give what they give here.
    examples = vggish.waveform_to_examples(*audio.read_file(VGGISH_WAV))
    assert examples.shape == (2, params.NUM_FRAMES, params.NUM_BANDS)
    numerics.assert_float32_rounding(tf_free["examples"], examples, terms=numerics.LOG_MEL_TERMS,
                                     what="NumPy and TensorFlow log-mel examples")
    terms = numerics.network_terms(network) + numerics.LOG_MEL_TERMS
    numerics.assert_float32_rounding(tf_free["embeddings"], network(examples).numpy(),
                                     terms=terms, what="TFLite without TensorFlow and Keras")
    here = examples_embedder.TfliteEmbedder(path, num_threads=1, pca_params_path=VGGISH_PCA)
    numerics.assert_float32_rounding(tf_free["embeddings"], here(VGGISH_WAV), terms=terms,
                                     what="TFLite without and with TensorFlow")
    np.testing.assert_array_equal(tf_free["codes"], here(VGGISH_WAV, postprocess=True))
