"""export applied to the real speech_embedding: issue 3's acceptance checks.

Every test needs the pretrained weights; the `speech_embedding_model` fixture (tests/conftest.py)
fetches them into the cache when missing, so nothing here is skipped.
"""

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

import numerics
import onednn
import speech_embedding
from export import exporter, model_server
from speech_embedding import hub_spec
from test_export import kill_once_staging, start_serve_cli
from test_short_inputs import check_short_inputs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def spec(speech_embedding_model):
    return hub_spec.hub_spec()


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def tf1_dir(spec, root):
    return exporter.export(spec, "tf1_hub", str(root / "speech_embedding" / "1"))


@pytest.fixture(scope="module")
def sm2_dir(spec, root):
    return exporter.export(spec, "saved_model_2", str(root / "speech_embedding_tf2" / "1"))


@pytest.fixture(scope="module")
def clips(spoken_phrase):
    """Two 1.5 s clips of speech: [2, 24000] float32, 10 embeddings each."""
    return np.stack([spoken_phrase[:24000], spoken_phrase[8000:32000]]).astype(np.float32)


def _terms(model) -> int:
    """Roundings behind one embedding (`numerics.float32_rounding_bound`): an exported graph
    computes the Keras model's function with Grappler's fused and folded kernels."""
    return numerics.network_terms(model) + numerics.LOG_MEL_TERMS


@pytest.mark.numerics
def test_tf1_hub_matches_keras_in_inference_mode(tf1_dir, speech_embedding_model, clips):
    module = hub.load(tf1_dir)
    outputs = module.signatures["default"](default=tf.constant(clips))["default"]
    expected = speech_embedding_model(clips, training=False)
    assert outputs.shape == (2, 10, 1, 96)
    terms = _terms(speech_embedding_model)
    numerics.assert_float32_rounding(outputs, expected, terms=terms, what="TF1 Hub and Keras")
    import tf_keras
    layer_model = tf_keras.Sequential([tf_keras.Input((24000,)), hub.KerasLayer(tf1_dir)])
    numerics.assert_float32_rounding(layer_model.predict(clips, verbose=0), expected,
                                     terms=terms, what="hub.KerasLayer and Keras")


@pytest.mark.parametrize("mode", onednn.MODES)
def test_below_12400_samples_and_empty_batches_give_empty_results(mode, tf1_dir, sm2_dir):
    minimum, hop = speech_embedding.MIN_SAMPLES, speech_embedding.HOP_SAMPLES
    cases = {(batch, samples): {"default": (batch, rows, 1, speech_embedding.EMBEDDING_SIZE)}
             for batch, samples, rows in [(2, 0, 0), (2, minimum - 1, 0), (2, minimum, 1),
                                          (0, minimum, 1), (0, 0, 0), (1, minimum + hop, 2)]}
    assert all(shape["default"][1] == speech_embedding.num_embeddings(samples)
               for (_, samples), shape in cases.items())
    check_short_inputs(mode, "speech_embedding", {"saved_model_2": sm2_dir, "tf1_hub": tf1_dir},
                       cases)


@pytest.mark.numerics
def test_tf1_hub_train_tags_use_batch_statistics(tf1_dir, speech_embedding_model, clips):
    module = hub.load(tf1_dir, tags={"train"})
    outputs = module.signatures["default"](default=tf.constant(clips))["default"].numpy()
    trainable = speech_embedding.load(trainable=True)
    batch_stats = trainable(clips, training=True).numpy()
    # Each batch norm also sums its statistics over the batch's 2 x 148 frames x 32 mel bins.
    numerics.assert_float32_rounding(
        outputs, batch_stats, terms=_terms(trainable) + numerics.batch_norm_terms(
            trainable, clips.shape[0] * 148 * 32), what="TF1 Hub train graph and Keras")
    inference = speech_embedding_model(clips, training=False).numpy()
    assert np.abs(outputs - inference).max() > 1e-2


def test_saved_model_cli_lists_both_tag_sets(tf1_dir):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    result = subprocess.run([cli, "show", "--dir", tf1_dir], capture_output=True, text=True,
                            check=True, timeout=300)
    assert re.search(r"tag-sets:\s*\n''\s*\n'train'\s*$", result.stdout), result.stdout


def test_saved_model_2_fine_tunes_in_tf_keras(sm2_dir, clips):
    import tf_keras
    layer = hub.KerasLayer(sm2_dir, trainable=True)
    model = tf_keras.Sequential([
        tf_keras.Input((24000,)), layer, tf_keras.layers.Reshape((10, 96)),
        tf_keras.layers.GlobalAveragePooling1D(), tf_keras.layers.Dense(2)])
    model.compile(tf_keras.optimizers.Adam(1e-3),
                  tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.concatenate([clips, clips[:, ::-1] * 0.5])
    y = np.array([0, 0, 1, 1])
    moving = [w for w in layer.non_trainable_weights if "moving_" in w.name]
    assert len(moving) == 38 and len(layer.trainable_weights) == 58

    def moving_values():
        return [w.numpy().copy() for w in moving]

    before = moving_values()
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, moving_values()))
    history = model.fit(x, y, epochs=4, batch_size=4, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0], losses
    changed = [not np.array_equal(a, b) for a, b in zip(before, moving_values())]
    assert all(changed)


@pytest.mark.numerics
def test_hub_load_from_served_url_then_from_cache(tf1_dir, root, speech_embedding_model,
                                                  clips, tmp_path, monkeypatch):
    process, base = start_serve_cli(root)
    try:
        monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub_cache"))
        url = base + "speech_embedding/1"
        expected = speech_embedding_model(clips, training=False)
        for _ in range(2):
            module = hub.load(url)
            outputs = module.signatures["default"](default=tf.constant(clips))["default"]
            numerics.assert_float32_rounding(outputs, expected,
                                             terms=_terms(speech_embedding_model),
                                             what="served TF1 Hub and Keras")
        with urllib.request.urlopen(base + "?format=json", timeout=60) as reply:
            assert json.load(reply)["downloads"]["speech_embedding/1"] == 1
        assert os.path.isfile(os.path.join(hub.resolve(url), "tfhub_module.pb"))
        assert hub.resolve(url).startswith(str(tmp_path / "tfhub_cache"))
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def test_killed_export_of_speech_embedding_leaves_no_partial_dir(speech_embedding_model,
                                                                  tmp_path):
    output = tmp_path / "speech_embedding"
    process = subprocess.Popen(
        [sys.executable, "-m", "export.hub", "--model=speech_embedding", "--format=tf1_hub",
         f"--output_dir={output}", "--archive"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Killed once the inference graph's checkpoint is on disk, while the train graph is built.
    kill_once_staging(process, tmp_path, ".speech_embedding.", timeout=180)
    assert not os.path.exists(output) and not os.path.exists(f"{output}.tar.gz")


def test_32_concurrent_downloads_of_speech_embedding(tf1_dir, root, tmp_path):
    server = model_server.make_server(str(root), "127.0.0.1", 0, archive_dir=str(tmp_path))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = server.url + "speech_embedding/1?tf-hub-format=compressed"

    def download(_):
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.read()

    try:
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            bodies = list(pool.map(download, range(32)))
    finally:
        server.shutdown()
        server.server_close()
    assert len(bodies) == 32 and len(set(bodies)) == 1 and len(bodies[0]) > 100_000
    assert server.archives.builds == 1
    assert server.download_counts()["speech_embedding/1"] == 32
