"""export.serve: TF Hub's compressed protocol over a real HTTP server on 127.0.0.1.

Models are the tiny exports of test_export.py; the server runs in a thread of this process
(so the tests can read its build and download counters) or as `python -m export.serve`.
"""

import concurrent.futures
import http.client
import io
import json
import os
import shutil
import signal
import tarfile
import threading
import urllib.request

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

import numerics
from export import exporter, model_server
from test_export import start_serve_cli, tiny_hub_spec, tiny_model, tiny_terms, waveforms


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A served folder: two models, a half-written export, and symlinks leading out."""
    base = tmp_path_factory.mktemp("serve")
    root = base / "root"
    spec = tiny_hub_spec()
    exporter.export(spec, "tf1_hub", str(root / "tiny" / "1"))
    exporter.export(spec, "saved_model_2", str(root / "tiny_tf2" / "1"))
    staging = root / "tiny" / ".2.abc.tmp"
    staging.mkdir()
    (staging / "saved_model.pb").write_bytes(b"half written")
    outside = base / "outside_model"
    outside.mkdir()
    (outside / "saved_model.pb").write_bytes(b"secret")
    os.symlink(outside, root / "outside")
    os.symlink("/etc", root / "etc")
    return str(root)


@pytest.fixture
def server(root):
    server = model_server.make_server(root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    shutil.rmtree(server.archives.directory, ignore_errors=True)


def request(server, path, method="GET", headers=None):
    """(status, body, headers) of one request, the path sent byte for byte (no normalising)."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            connection.putheader(key, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


def test_lists_models_as_json_and_html(server):
    status, body, headers = request(server, "/?format=json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["models"] == ["tiny/1", "tiny_tf2/1"]
    _, body, _ = request(server, "/", headers={"Accept": "application/json"})
    assert json.loads(body)["models"] == ["tiny/1", "tiny_tf2/1"]
    status, body, headers = request(server, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'<a href="/tiny/1">' in body and b'<a href="/tiny_tf2/1">' in body


def test_model_url_without_query_returns_the_model_card(server, root):
    status, body, _ = request(server, "/tiny/1")
    assert status == 200
    with open(os.path.join(root, "tiny", "1.md"), "rb") as card:
        assert body == card.read()
    assert body.startswith(b"# Module earshot/tiny/1\n")
    _, body, _ = request(server, "/models/earshot/tiny/TensorFlow2/tiny-tf2/1")
    assert body.startswith(b"# Module earshot/tiny_tf2/1\n")


@pytest.mark.parametrize("path", [
    "/nope", "/tiny", "/tiny/2?tf-hub-format=compressed", "/tiny/1/variables", "/tiny/1.md",
    "/models/earshot/tiny/TensorFlow2/tiny/1",  # tiny/1 is a TF1 Hub module
    "/models/earshot/tiny/TensorFlow1/tiny_tf2/1", "/models/earshot/tiny/TFLite/tiny/1",
    "/models/earshot/tiny/TensorFlow1/tiny/1/extra", "/models/tiny/TensorFlow1/tiny/1"])
def test_unknown_paths_are_404(server, path):
    assert request(server, path)[0] == 404


@pytest.mark.parametrize("path", [
    "/../etc/passwd", "/tiny/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/tiny/..%2f..%2fetc?tf-hub-format=compressed", "/etc/passwd", "/etc",
    "/outside?tf-hub-format=compressed", "/tiny/.2.abc.tmp?tf-hub-format=compressed",
    "/models/p/m/TensorFlow1/outside/..%2f..%2fetc", "/models/p/m/TensorFlow1/tiny/.2.abc.tmp"])
def test_paths_leaving_the_root_are_refused(server, path):
    status, body, _ = request(server, path)
    assert status == 403, body
    assert b"secret" not in body and b"root:" not in body


def test_uncompressed_protocol_is_refused_with_advice(server):
    status, body, _ = request(server, "/tiny/1?tf-hub-format=uncompressed")
    assert status == 501 and b"TFHUB_MODEL_LOAD_FORMAT" in body


def test_head_gives_the_size_of_the_archive(server):
    _, body, _ = request(server, "/tiny/1?tf-hub-format=compressed")
    status, head_body, headers = request(server, "/tiny/1?tf-hub-format=compressed", "HEAD")
    assert status == 200 and head_body == b"" and int(headers["Content-Length"]) == len(body)


def test_32_concurrent_downloads_are_identical_and_built_once(server, root):
    url = f"{server.url}tiny/1?tf-hub-format=compressed"

    def download(_):
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.status, response.read()

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = list(pool.map(download, range(32)))
    assert {status for status, _ in results} == {200}
    assert len({body for _, body in results}) == 1
    assert server.archives.builds == 1
    assert server.download_counts()["tiny/1"] == 32
    with tarfile.open(fileobj=io.BytesIO(results[0][1])) as tar:
        names = sorted(tar.getnames())
        with open(os.path.join(root, "tiny", "1", "saved_model.pb"), "rb") as model:
            assert tar.extractfile("./saved_model.pb").read() == model.read()
    assert names == [".", "./saved_model.pb", "./tfhub_module.pb", "./variables",
                     "./variables/variables.data-00000-of-00001", "./variables/variables.index"]


@pytest.mark.numerics
def test_hub_load_from_url_then_from_cache(server, tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    url = f"{server.url}tiny_tf2/1"
    x = tf.constant(waveforms())
    model = tiny_model()
    expected = model(x, training=False)
    numerics.assert_float32_rounding(hub.load(url)(x), expected, terms=tiny_terms(model),
                                     what="served export and Keras")
    assert server.download_counts()["tiny_tf2/1"] == 1
    numerics.assert_float32_rounding(hub.load(url)(x), expected, terms=tiny_terms(model),
                                     what="cached export and Keras")
    assert server.download_counts()["tiny_tf2/1"] == 1
    assert hub.resolve(url).startswith(str(tmp_path / "cache"))


def test_hub_load_of_kaggle_handles_equals_loading_the_path(server, root, tmp_path, monkeypatch):
    """Kaggle Models URLs (`/models/<publisher>/<model>/<framework>/<variation>/<version>`)."""
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    x = tf.constant(waveforms(seed=3))
    tf2 = hub.load(f"{server.url}models/earshot/tiny/TensorFlow2/tiny-tf2/1")
    np.testing.assert_array_equal(tf2(x), hub.load(os.path.join(root, "tiny_tf2", "1"))(x))
    tf1 = hub.load(f"{server.url}models/earshot/tiny/tensorFlow1/tiny/1")
    from_path = hub.load(os.path.join(root, "tiny", "1"))
    np.testing.assert_array_equal(tf1.signatures["default"](default=x)["default"],
                                  from_path.signatures["default"](default=x)["default"])
    assert server.download_counts()["tiny_tf2/1"] == 1
    assert server.download_counts()["tiny/1"] == 1
    assert server.archives.builds == 2


def test_reexported_model_gets_a_new_archive(tmp_path):
    model_dir = str(tmp_path / "root" / "m" / "1")
    exporter.export(tiny_hub_spec(), "tf1_hub", model_dir)
    server = model_server.make_server(str(tmp_path / "root"), "127.0.0.1", 0,
                                      archive_dir=str(tmp_path / "archives"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _, first, _ = request(server, "/m/1?tf-hub-format=compressed")
        exporter.export(tiny_hub_spec(), "saved_model_2", model_dir, overwrite=True)
        _, second, _ = request(server, "/m/1?tf-hub-format=compressed")
    finally:
        server.shutdown()
        server.server_close()
    assert server.archives.builds == 2
    assert len(os.listdir(tmp_path / "archives")) == 1  # the replaced version's tarball is gone
    with tarfile.open(fileobj=io.BytesIO(second)) as tar:
        assert "./tfhub_module.pb" not in tar.getnames()
    assert first != second


def test_cli_serves_until_terminated(root):
    process, base = start_serve_cli(root)
    try:
        with urllib.request.urlopen(base + "?format=json", timeout=60) as reply:
            assert json.load(reply)["models"] == ["tiny/1", "tiny_tf2/1"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr[-2000:]
    assert "stopped" in stderr
