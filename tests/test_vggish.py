"""VGGish against the outputs of Google's reference code (`../shared/fixtures/vggish`).

The fixture checkpoint is converted once per session; everything else (the embed API, the
operator, the CLI, downloads, TF Hub exports) is checked against the same reference numbers.
"""

import functools
import gzip
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile
import tensorflow as tf
import tensorflow_hub as hub

import numerics
import onednn
import vggish
from earshot import audio
from export import exporter
from test_short_inputs import check_short_inputs
from vggish import (checkpoint, examples_embedder, features, hub_spec, model,
                    numpy_features, onnx_model, params, postprocess, tflite, weights)
from vggish.operator import AudioFrame

from vggish import embedding

# The project's shared fixtures sit beside the checkout (`<checkout>/../shared`).
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "shared", "fixtures", "vggish")
CASES = sorted(json.load(open(os.path.join(FIXTURES, "manifest.json"))))
# Tolerances of the acceptance criteria (issue 4).
EXAMPLES_ATOL = 2e-3
EMBEDDING_ATOL = 2e-4
MAX_OFF_BY_ONE_FRACTION = 0.01


def wav_path(case):
    return os.path.join(FIXTURES, f"{case}.wav")


def expected(case):
    with np.load(os.path.join(FIXTURES, f"{case}.expected.npz")) as data:
        return dict(data)


def assert_postprocessed_match(actual, reference):
    assert actual.dtype == np.uint8 and actual.shape == reference.shape
    steps = np.abs(actual.astype(int) - reference.astype(int))
    assert steps.max() <= 1
    assert np.mean(steps > 0) <= MAX_OFF_BY_ONE_FRACTION


@pytest.fixture(scope="session")
def fixture_checkpoint(tmp_path_factory):
    """The fixture's V1 checkpoint, gunzipped."""
    path = tmp_path_factory.mktemp("vggish_ckpt") / weights.CHECKPOINT_FILE
    with gzip.open(os.path.join(FIXTURES, "vggish_model.ckpt.gz"), "rb") as source, \
            open(path, "wb") as target:
        shutil.copyfileobj(source, target, length=1 << 24)
    return str(path)


@pytest.fixture(scope="session")
def weights_dir(fixture_checkpoint, tmp_path_factory):
    """The fixture checkpoint and PCA parameters converted by `vggish.convert`."""
    output = tmp_path_factory.mktemp("vggish_weights") / "converted"
    return weights.convert(fixture_checkpoint, os.path.join(FIXTURES, "vggish_pca_params.npz"),
                           str(output))


@pytest.fixture(scope="session")
def embedder(weights_dir):
    return embedding.embedder(weights_dir)


@pytest.fixture(scope="session")
def tone_44k_stereo(tmp_path_factory):
    """3.2 s stereo at 44.1 kHz: a 440 Hz tone left, a 1 kHz tone right, as a 16-bit WAV."""
    t = np.arange(int(3.2 * 44100)) / 44100
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 1000 * t)],
                      axis=1)
    int16 = np.round(stereo * 32767).astype(np.int16)
    path = tmp_path_factory.mktemp("vggish_audio") / "tones.wav"
    soundfile.write(path, int16, 44100, subtype="PCM_16")
    return str(path), int16


# Front end.

@pytest.mark.numerics
def test_mel_matrix_is_the_htk_matrix_of_the_reference():
    matrix = features.mel_matrix()
    assert matrix.shape == (257, 64)
    assert not matrix[0].any()
    nonzero_rows = np.flatnonzero(matrix.any(axis=1))
    assert (nonzero_rows[0], nonzero_rows[-1]) == (5, 239)
    assert np.count_nonzero(matrix[:, 0]) == 1 and np.count_nonzero(matrix[:, 1]) == 2
    # TensorFlow's float32 construction of the same formula. Each triangle's slope divides by
    # its band's width in mel, so a rounding of the mel values (up to mel(7500 Hz)) grows by
    # mel(7500 Hz) / width, 67 here; a few operations (log, divide, subtract, min) add it up.
    tf_matrix = tf.signal.linear_to_mel_weight_matrix(64, 257, 16000, 125.0, 7500.0).numpy()
    top, bottom = (1127.0 * np.log1p(hz / 700.0) for hz in (7500.0, 125.0))
    numerics.assert_float32_rounding(matrix, tf_matrix, terms=4,
                                     condition=top / ((top - bottom) / 65),
                                     what="NumPy's and TensorFlow's mel matrix")


@pytest.mark.numerics
@pytest.mark.parametrize("case", CASES)
def test_examples_match_the_reference(case):
    samples, rate = audio.read_file(wav_path(case))
    examples = vggish.waveform_to_examples(samples, rate)
    reference = expected(case)["examples"]
    assert examples.dtype == np.float32 and examples.shape == reference.shape
    assert np.abs(examples - reference).max() <= EXAMPLES_ATOL


@pytest.mark.parametrize("case", CASES)
@pytest.mark.numerics
def test_numpy_front_end_equals_the_tf_front_end(case):
    samples, rate = audio.read_file(wav_path(case))
    examples = numpy_features.waveform_to_examples(samples, rate)
    assert examples.dtype == np.float32
    numerics.assert_float32_rounding(examples, vggish.waveform_to_examples(samples, rate),
                                     terms=numerics.LOG_MEL_TERMS,
                                     what="NumPy's and TensorFlow's log-mel examples")
    assert np.abs(examples - expected(case)["examples"]).max() <= EXAMPLES_ATOL


@pytest.mark.parametrize("num_samples, num_examples", [(15600, 1), (30959, 1), (30960, 2),
                                                       (48000, 3), (160000, 10)])
def test_example_count_follows_the_reference_framing(num_samples, num_examples):
    waveform = np.random.default_rng(0).uniform(-0.5, 0.5, num_samples).astype(np.float32)
    assert vggish.waveform_to_examples(waveform, 16000).shape == (num_examples, 96, 64)
    assert numpy_features.log_mel_examples(waveform).shape == (num_examples, 96, 64)
    assert numpy_features.log_mel_examples(waveform[:15599]).shape == (0, 96, 64)


def test_int16_and_stereo_inputs_are_scaled_and_averaged_like_the_reference():
    samples, rate = audio.read_file(wav_path(CASES[0]))
    int16 = np.round(samples[:, 0] * 32768).astype(np.int16)
    reference = vggish.waveform_to_examples(samples[:, 0], rate)
    np.testing.assert_array_equal(vggish.waveform_to_examples(int16, rate), reference)
    stereo = np.stack([samples[:, 0], samples[:, 0]], axis=1)
    np.testing.assert_array_equal(vggish.waveform_to_examples(stereo, rate), reference)


@pytest.mark.parametrize("waveform, rate, message", [
    (np.zeros(15599, np.float32), 16000, "too short"),
    (np.zeros(40000, np.float32), 44100, "too short"),
    (np.zeros(0, np.float32), 16000, "zero samples"),
    (np.full(20000, np.nan, np.float32), 16000, "NaN"),
    (np.full(20000, 3.0, np.float32), 16000, "outside"),
    (np.zeros((2, 20000), np.float32), 16000, "channels-first"),
    (np.zeros(20000, np.int32), 16000, "integer"),
])
def test_bad_audio_is_a_clear_error(waveform, rate, message):
    with pytest.raises(audio.AudioError, match=message):
        vggish.waveform_to_examples(waveform, rate)


# Network, checkpoint, postprocessing.

def test_model_has_the_reference_layers_and_parameter_count():
    network = model.vggish(kernel_initializer="zeros")
    assert network.count_params() == model.NUM_PARAMETERS
    for name, (kernel, bias) in model.weight_shapes().items():
        layer = network.get_layer(name)
        assert [tuple(w.shape) for w in layer.weights] == [kernel, bias]
    assert network.get_layer("fc2").activation.__name__ == "linear"
    assert len(network.trainable_weights) == 18


@pytest.mark.numerics
@pytest.mark.parametrize("case", CASES)
def test_embeddings_match_the_reference(case, embedder):
    reference = expected(case)
    from_examples = embedder.model(reference["examples"], training=False).numpy()
    end_to_end = vggish.embed(wav_path(case), weights_path=embedder.weights_path)
    for embeddings in (from_examples, end_to_end):
        assert embeddings.dtype == np.float32 and embeddings.shape == reference["embedding"].shape
        assert np.abs(embeddings - reference["embedding"]).max() <= EMBEDDING_ATOL
    codes = vggish.embed(wav_path(case), postprocess=True, weights_path=embedder.weights_path)
    assert_postprocessed_match(codes, reference["postprocessed"])


@pytest.mark.numerics
def test_training_mode_computes_the_same_function(embedder):
    examples = expected(CASES[0])["examples"]
    np.testing.assert_array_equal(embedder.model(examples, training=True).numpy(),
                                  embedder.model(examples, training=False).numpy())


@pytest.mark.numerics
def test_long_audio_in_slices_equals_one_pass(embedder, monkeypatch):
    waveform = np.random.default_rng(1).uniform(-0.5, 0.5, 16000 * 7).astype(np.float32)
    whole = embedder(waveform)
    monkeypatch.setattr(embedding, "MAX_BATCH_EXAMPLES", 2)
    assert whole.shape == (7, 128)
    numerics.assert_float32_rounding(
        embedder(waveform), whole, terms=numerics.network_terms(embedder.model)
        + numerics.LOG_MEL_TERMS, what="VGGish in batches of 2 examples against one batch")


def test_postprocessor_whitens_clips_and_truncates(tmp_path):
    path = tmp_path / "pca.npz"
    np.savez(path, pca_eigen_vectors=2.0 * np.eye(128), pca_means=np.full(128, 0.5))
    embeddings = np.zeros((1, 128), np.float32)
    embeddings[0, :5] = [0.5, 0.51, 0.2, 5.0, -5.0]
    codes = postprocess.Postprocessor(path)(embeddings)
    # 2 * (x - 0.5) clipped to [-2, 2], then (v + 2) * 63.75 truncated.
    assert codes[0, :5].tolist() == [127, 128, 89, 255, 0]
    assert codes.dtype == np.uint8


def test_bad_pca_parameters_are_named(tmp_path):
    path = tmp_path / "pca.npz"
    np.savez(path, pca_eigen_vectors=np.eye(64), pca_means=np.zeros(64))
    with pytest.raises(postprocess.PCAParamsError, match="expected pca_eigen_vectors"):
        postprocess.load_pca_params(path)
    np.savez(path, eigen=np.eye(128))
    with pytest.raises(postprocess.PCAParamsError, match="missing pca_eigen_vectors, pca_means"):
        postprocess.load_pca_params(path)


def test_v2_checkpoint_reads_like_the_v1_file(fixture_checkpoint, tmp_path):
    v1 = checkpoint.read_checkpoint(fixture_checkpoint)
    names = [f"{checkpoint.SLIM_SCOPES[layer]}/{suffix}" for layer in v1
             for suffix in ("weights", "biases")]
    tensors = [array for arrays in v1.values() for array in arrays]
    prefix = str(tmp_path / "model.ckpt")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=tensors)
    assert os.path.isfile(prefix + ".index")
    v2 = checkpoint.read_checkpoint(prefix)
    for layer, arrays in v1.items():
        for array, reread in zip(arrays, v2[layer]):
            np.testing.assert_array_equal(array, reread)


def test_checkpoint_errors_say_what_is_wrong(fixture_checkpoint, tmp_path):
    with pytest.raises(checkpoint.CheckpointError, match="gunzip"):
        checkpoint.read_checkpoint(os.path.join(FIXTURES, "vggish_model.ckpt.gz"))
    with pytest.raises(checkpoint.CheckpointError, match="no such checkpoint"):
        checkpoint.read_checkpoint(tmp_path / "absent.ckpt")
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint" * 100)
    with pytest.raises(checkpoint.CheckpointError, match="not a readable"):
        checkpoint.read_checkpoint(garbage)
    prefix = str(tmp_path / "other.ckpt")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=["vggish/conv1/weights"],
                      shape_and_slices=[""], tensors=[np.zeros((3, 3, 1, 32), np.float32)])
    with pytest.raises(checkpoint.CheckpointError,
                       match=r"vggish/conv1/weights has shape \(3, 3, 1, 32\).*"
                             r"vggish/conv1/biases missing"):
        checkpoint.read_checkpoint(prefix)


def test_weights_path_that_is_not_converted_names_the_command(tmp_path):
    with pytest.raises(weights.WeightsError, match="python -m vggish.convert"):
        weights.resolve(tmp_path)


# Operator and CLI.

def test_operator_gives_the_same_rows_for_path_waveform_and_frames(weights_dir):
    operator = vggish.VggishOperator(weights_path=weights_dir)
    path = wav_path(CASES[0])
    samples, rate = audio.read_file(path)
    int16 = np.round(samples[:, 0] * 32768).astype(np.int16)
    mono_frames = [AudioFrame(int16[None, start:start + 1024], rate, layout="mono")
                   for start in range(0, int16.size, 1024)]
    from_path = operator(path)
    assert from_path.shape == (expected(CASES[0])["embedding"].shape[0], 128)
    assert np.abs(from_path - expected(CASES[0])["embedding"]).max() <= EMBEDDING_ATOL
    np.testing.assert_array_equal(operator((samples[:, 0], rate)), from_path)
    np.testing.assert_array_equal(operator(mono_frames), from_path)


def test_operator_takes_44k_stereo_as_path_pair_and_frames(weights_dir, tone_44k_stereo):
    operator = vggish.VggishOperator(weights_path=weights_dir)
    path, int16 = tone_44k_stereo
    from_path = operator(path)
    assert from_path.shape == (3, 128) and from_path.dtype == np.float32
    np.testing.assert_array_equal(operator((int16, 44100)), from_path)
    planar = [AudioFrame(int16[start:start + 2048].T, 44100, layout="stereo")
              for start in range(0, len(int16), 2048)]
    packed = [AudioFrame(int16[start:start + 2048].reshape(1, -1), 44100, layout="stereo")
              for start in range(0, len(int16), 2048)]
    np.testing.assert_array_equal(operator(planar), from_path)
    np.testing.assert_array_equal(operator(packed), from_path)
    # The same tones made at 16 kHz give nearly the same embeddings (resampling is benign).
    t = np.arange(int(3.2 * 16000)) / 16000
    tones = 0.5 * (0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1000 * t))
    native = operator((tones.astype(np.float32), 16000))
    numerics.assert_row_cosines(native, from_path, 0.99, what="16 kHz tones against 44.1 kHz")


def test_operator_rejects_frames_without_rate_and_short_audio(weights_dir):
    operator = vggish.VggishOperator(weights_path=weights_dir)
    with pytest.raises(audio.AudioError, match="sample_rate"):
        operator([np.zeros(20000, np.float32)])
    with pytest.raises(audio.AudioError, match="different sample rates"):
        operator([AudioFrame(np.zeros(20000, np.float32), 16000),
                  AudioFrame(np.zeros(20000, np.float32), 8000)])
    with pytest.raises(audio.AudioError, match="too short"):
        operator([AudioFrame(np.zeros(8000, np.float32), 16000)])


def run_module(module, *args, env=None):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)


def test_embed_cli_writes_reference_embeddings(weights_dir, tmp_path):
    output = tmp_path / "out.npz"
    paths = [wav_path(case) for case in CASES]
    result = run_module("vggish.embed", f"--input={','.join(paths)}", f"--output={output}",
                        f"--model_dir={weights_dir}", "--postprocess")
    assert result.returncode == 0, result.stderr
    with np.load(output) as arrays:
        assert sorted(arrays.files) == sorted(paths)
        for case, path in zip(CASES, paths):
            assert_postprocessed_match(arrays[path], expected(case)["postprocessed"])


def test_embed_cli_reports_a_bad_file_and_writes_nothing(weights_dir, tmp_path):
    short = tmp_path / "short.wav"
    audio.write_wav(short, np.zeros(8000, np.float32), 16000)
    output = tmp_path / "out.npz"
    result = run_module("vggish.embed", f"--input={wav_path(CASES[0])},{short}",
                        f"--output={output}", f"--model_dir={weights_dir}")
    assert result.returncode != 0
    assert "short.wav: audio too short for VGGish" in result.stderr
    assert not output.exists()


@pytest.mark.slow
def test_convert_cli_writes_a_loadable_folder(fixture_checkpoint, tmp_path):
    output = tmp_path / "converted"
    result = run_module("vggish.convert", f"--checkpoint={fixture_checkpoint}",
                        f"--pca_params={FIXTURES}/vggish_pca_params.npz", f"--output_dir={output}")
    assert result.returncode == 0, result.stderr
    reference = expected(CASES[0])
    loaded = vggish.load(output)(reference["examples"]).numpy()
    assert np.abs(loaded - reference["embedding"]).max() <= EMBEDDING_ATOL
    again = run_module("vggish.convert", f"--checkpoint={fixture_checkpoint}",
                       f"--pca_params={FIXTURES}/vggish_pca_params.npz", f"--output_dir={output}")
    assert again.returncode != 0 and "--overwrite" in again.stderr


# Downloads.

@pytest.fixture
def weights_server(fixture_checkpoint, tmp_path):
    """An HTTP server on 127.0.0.1 serving the fixture's checkpoint and PCA parameters."""
    root = tmp_path / "served" / "audioset"
    root.mkdir(parents=True)
    os.symlink(fixture_checkpoint, root / weights.CHECKPOINT_FILE)
    shutil.copy(os.path.join(FIXTURES, "vggish_pca_params.npz"), root)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root.parent))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/audioset", root
    server.shutdown()
    server.server_close()


def md5_of(path):
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "md5").hexdigest()


def test_default_weights_are_downloaded_checked_converted_and_cached(weights_server, tmp_path,
                                                                    monkeypatch):
    url, root = weights_server
    monkeypatch.setenv("EARSHOT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(weights.BASE_URL_ENV, url)
    monkeypatch.setenv(weights.MD5_ENV, ",".join(
        f"{name}={md5_of(root / name)}"
        for name in (weights.CHECKPOINT_FILE, weights.PCA_PARAMS_FILE)))
    embedding.embedder.cache_clear()
    try:
        reference = expected(CASES[0])
        codes = vggish.embed(wav_path(CASES[0]), postprocess=True)
        assert_postprocessed_match(codes, reference["postprocessed"])
        cached = weights.cache_path()
        assert cached.startswith(str(tmp_path / "cache")) and weights.is_weights_dir(cached)
        # The 277 MB download is deleted once converted; the cache is used from now on.
        assert os.listdir(os.path.join(tmp_path / "cache", "vggish", "downloads")) == []
        os.remove(root / weights.CHECKPOINT_FILE)
        assert weights.resolve(None) == cached
    finally:
        embedding.embedder.cache_clear()


def test_wrong_digest_and_offline_errors_say_what_to_do(weights_server, tmp_path, monkeypatch):
    url, _ = weights_server
    monkeypatch.setenv("EARSHOT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(weights.BASE_URL_ENV, url)
    with pytest.raises(weights.WeightsError, match="MD5 .* differs from the expected "
                                                   "c80cae691033abe7c7ecd11ea39fc834"):
        weights.resolve(None)
    monkeypatch.setenv(weights.BASE_URL_ENV, "http://127.0.0.1:9/audioset")
    with pytest.raises(weights.WeightsError) as error:
        weights.resolve(None)
    message = str(error.value)
    assert "cannot download http://127.0.0.1:9/audioset/vggish_pca_params.npz" in message
    assert "https://storage.googleapis.com/audioset/vggish_model.ckpt" in message
    assert "python -m vggish.convert --checkpoint=vggish_model.ckpt" in message
    assert not os.listdir(os.path.join(tmp_path / "cache", "vggish", "downloads"))


# TF Hub exports.

@pytest.fixture(scope="session")
def saved_model_2_dir(weights_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("vggish_hub") / "vggish" / "1"
    return exporter.export(hub_spec.hub_spec(weights_dir), "saved_model_2", str(output))


@pytest.fixture(scope="session")
def tf1_hub_dir(weights_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("vggish_tf1") / "vggish" / "1"
    return exporter.export(hub_spec.hub_spec(weights_dir), "tf1_hub", str(output))


# Runs with oneDNN off and on: which conv kernel meets a short clip depends on it.
HUB_LOAD_SNIPPET = """
import tensorflow_hub as hub
from earshot import audio
loaded = hub.load(ARGS["path"])
embeddings = {case: loaded(audio.read_file(path)[0][:, 0]).numpy().tolist()
              for case, path in ARGS["wavs"].items()}
short = [loaded(np.zeros(n, np.float32)).shape.as_list() for n in ARGS["short"]]
report({"embeddings": embeddings, "short": short,
        "trainable_variables": len(loaded.trainable_variables)})
"""


@pytest.mark.numerics
@pytest.mark.parametrize("mode", onednn.MODES)
def test_saved_model_2_export_matches_the_reference_through_hub_load(saved_model_2_dir, mode):
    result = onednn.run_python(HUB_LOAD_SNIPPET, mode, path=saved_model_2_dir,
                               wavs={case: wav_path(case) for case in CASES}, short=[0, 100, 15599])
    for case in CASES:
        embeddings = np.array(result["embeddings"][case], np.float32)
        reference = expected(case)["embedding"]
        assert embeddings.shape == reference.shape
        assert np.abs(embeddings - reference).max() <= EMBEDDING_ATOL
        codes = postprocess.Postprocessor(os.path.join(FIXTURES, "vggish_pca_params.npz"))(
            embeddings)
        assert_postprocessed_match(codes, expected(case)["postprocessed"])
    assert result["short"] == [[0, 128]] * 3
    assert result["trainable_variables"] == 18


@pytest.mark.parametrize("mode", onednn.MODES)
def test_both_formats_give_no_rows_below_one_example(mode, weights_dir, saved_model_2_dir,
                                                     tf1_hub_dir):
    cases = {(samples,): {"default": (rows, 128)} for samples, rows in [
        (0, 0), (100, 0), (params.MIN_SAMPLES - 1, 0), (params.MIN_SAMPLES, 1)]}
    # One copy of the 288 MB of weights per call kind: the TF1 KerasLayer and train graph,
    # which run the same function, are left to the small models of test_short_inputs.py.
    check_short_inputs(mode, "vggish", {"saved_model_2": saved_model_2_dir, "tf1_hub": tf1_hub_dir},
                       cases, weights_path=weights_dir, batch_norm=False,
                       calls=("saved_model_2", "saved_model_2 serving_default", "tf1_hub"))


def test_saved_model_2_export_fine_tunes_through_keras_layer(saved_model_2_dir):
    layer = hub.KerasLayer(saved_model_2_dir, trainable=True)
    waveform = np.random.default_rng(2).uniform(-0.5, 0.5, 32000).astype(np.float32)
    target = tf.zeros([2, 128])
    before = layer(waveform, training=False).numpy()
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(layer(waveform, training=True) - target))
    gradients = tape.gradient(loss, layer.trainable_variables)
    assert len(layer.trainable_variables) == 18
    assert all(gradient is not None for gradient in gradients)
    # A gradient step sized to cut the loss by about 1% to first order.
    gradients = [tf.convert_to_tensor(gradient) for gradient in gradients]
    step = 0.01 * loss / tf.square(tf.linalg.global_norm(gradients))
    for variable, gradient in zip(layer.trainable_variables, gradients):
        variable.assign_sub(step * gradient)
    after = layer(waveform, training=False).numpy()
    loss_before, loss_after = np.mean(np.square(before)), np.mean(np.square(after))
    assert 0.95 * loss_before < loss_after < loss_before


@pytest.mark.slow
def test_tf1_hub_export_serves_both_tag_sets(tf1_hub_dir):
    samples, _ = audio.read_file(wav_path(CASES[0]))
    reference = expected(CASES[0])["embedding"]
    for tags in (set(), {"train"}):
        signature = hub.load(tf1_hub_dir, tags=tags).signatures["default"]
        embeddings = signature(tf.constant(samples[:, 0]))["default"].numpy()
        assert np.abs(embeddings - reference).max() <= EMBEDDING_ATOL


# TFLite.

@pytest.mark.slow
@pytest.mark.parametrize("quantization", ["float32", "dynamic_range"])
def test_tflite_float_and_dynamic_range_follow_the_reference(quantization, embedder, tmp_path):
    path = tmp_path / f"{quantization}.tflite"
    path.write_bytes(tflite.to_tflite(embedder.model, quantization))
    runner = examples_embedder.TfliteEmbedder(str(path), num_threads=2)
    for case in CASES:
        reference = expected(case)["embedding"]
        embeddings = runner(wav_path(case))
        if quantization == "float32":
            assert np.abs(embeddings - reference).max() <= EMBEDDING_ATOL
        else:
            numerics.assert_row_cosines(embeddings, reference, 0.99,
                                        what=f"{quantization} TFLite on {case}")


@pytest.mark.slow
def test_tflite_int8_keeps_cosine_above_0_99(embedder, tmp_path):
    path = tmp_path / "int8.tflite"
    path.write_bytes(tflite.to_tflite(embedder.model, "int8"))
    assert os.path.getsize(path) < 80e6  # int8 weights: a quarter of float32.
    runner = examples_embedder.TfliteEmbedder(
        str(path), num_threads=2, pca_params_path=os.path.join(FIXTURES, "vggish_pca_params.npz"))
    for case in CASES:
        reference = expected(case)["embedding"]
        samples, rate = audio.read_file(wav_path(case))
        embeddings = runner(samples, rate)
        np.testing.assert_array_equal(runner(wav_path(case)), embeddings)
        numerics.assert_row_cosines(embeddings, reference, 0.99, what=f"int8 TFLite on {case}")
        codes = runner(samples, rate, postprocess=True)
        assert codes.dtype == np.uint8 and codes.shape == reference.shape


# ONNX Runtime.

def test_onnx_float32_matches_the_reference(embedder, tmp_path):
    path = onnx_model.write(embedder.model, str(tmp_path / "vggish.onnx"), "float32")
    runner = examples_embedder.OnnxEmbedder(path, num_threads=2)
    for case in CASES:
        embeddings = runner(wav_path(case))
        assert np.abs(embeddings - expected(case)["embedding"]).max() <= EMBEDDING_ATOL


@pytest.mark.numerics
def test_examples_embedder_streams_a_long_file_like_one_pass(embedder, tmp_path):
    path = onnx_model.write(embedder.model, str(tmp_path / "vggish.onnx"), "float32")
    runner = examples_embedder.OnnxEmbedder(path, num_threads=2)
    long_wav, short_wav = tmp_path / "long.wav", tmp_path / "short.wav"
    waveform = np.random.default_rng(0).uniform(-0.5, 0.5, 40 * 16000).astype(np.float32)
    audio.write_wav(long_wav, waveform, 16000)
    audio.write_wav(short_wav, waveform[:15599], 16000)
    whole = runner.embed_examples(numpy_features.waveform_to_examples(*audio.read_file(long_wav)))
    assert whole.shape == (41, 128)  # more than two slices of BATCH_EXAMPLES
    # Slices of BATCH_EXAMPLES against one batch: ONNX Runtime on other shapes.
    numerics.assert_float32_rounding(runner(str(long_wav)), whole,
                                     terms=numerics.network_terms(embedder.model),
                                     what="ONNX slices against one pass")
    with pytest.raises(audio.AudioError, match="short.wav: audio too short for VGGish"):
        runner(str(short_wav))


def test_export_network_cli_writes_a_network_the_runtime_runs(weights_dir, tmp_path):
    output = tmp_path / "vggish.onnx"
    result = run_module("vggish.export_network", f"--output={output}", "--quantization=float32",
                        f"--model_dir={weights_dir}")
    assert result.returncode == 0, result.stderr
    embeddings = examples_embedder.OnnxEmbedder(str(output))(wav_path(CASES[0]))
    assert np.abs(embeddings - expected(CASES[0])["embedding"]).max() <= EMBEDDING_ATOL


@pytest.mark.parametrize("name, flags, message", [
    ("vggish.onnx", ["--quantization=dynamic_range"],
     "--quantization=dynamic_range is not available for --format=onnx; use one of float32, int8"),
    ("vggish.bin", [], "vggish.bin: cannot tell the format from the extension"),
])
def test_export_network_cli_errors_are_one_line(name, flags, message, tmp_path):
    result = run_module("vggish.export_network", f"--output={tmp_path / name}", *flags)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert message in result.stderr
    assert not os.listdir(tmp_path)


def test_tflite_embedder_names_the_tool_for_a_missing_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m vggish.export_network --format=tflite"):
        examples_embedder.TfliteEmbedder(str(tmp_path / "vggish.tflite"))


def test_onnx_int8_keeps_cosine_above_0_99(embedder, tmp_path):
    path = onnx_model.write(embedder.model, str(tmp_path / "vggish_int8.onnx"), "int8")
    assert os.path.getsize(path) < 80e6  # int8 weights: a quarter of float32.
    runner = examples_embedder.OnnxEmbedder(
        path, num_threads=2, pca_params_path=os.path.join(FIXTURES, "vggish_pca_params.npz"))
    for case in CASES:
        samples, rate = audio.read_file(wav_path(case))
        embeddings = runner(samples, rate)
        reference = expected(case)["embedding"]
        numerics.assert_row_cosines(embeddings, reference, 0.99, what=f"int8 ONNX on {case}")
        codes = runner(wav_path(case), postprocess=True)
        assert codes.dtype == np.uint8 and codes.shape == reference.shape
