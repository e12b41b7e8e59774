r"""The HTTP server of exported models, speaking TF Hub's compressed protocol; the program
`python -m export.serve` runs it.

Serving the root `/srv/models` at 127.0.0.1:8765,
`hub.load("http://127.0.0.1:8765/speech_embedding/1")` loads `/srv/models/speech_embedding/1`.
tensorflow_hub asks for `<model URL>?tf-hub-format=compressed` and expects a tar.gz of the
model folder; each tarball is built on first request, once even under concurrent requests,
and kept for the server's lifetime (TF Hub treats a versioned URL as immutable: clients cache
it forever, so replace a model by exporting a new version, not by overwriting one).

Kaggle Models handles work too, so a mirror answers the URLs that tfhub.dev handles moved to:
`/models/<publisher>/<model>/<framework>/<variation>/<version>` serves the folder
`<variation>/<version>` of the root (`<variation>` as written, or with '-' read as '_', since
Kaggle slugs have no '_') if its format is the framework's: `TensorFlow1` a TF1 Hub module
(with `tfhub_module.pb`), `TensorFlow2` a TF2 SavedModel (case does not matter). Publisher
and model name the Kaggle page and select nothing here. A real folder at the same path wins.

`/` lists the models (HTML, or JSON with `?format=json` or `Accept: application/json`); a
model URL without the query returns its model card, the file `<model folder>.md` beside the
folder (where `export.hub` writes it). Paths with `..`, hidden segments, or symlinks leading
out of the root are refused with 403; anything else unknown is 404.
"""

from __future__ import annotations

import collections
import html
import http
import os
import tempfile
import threading
import urllib.parse
from typing import Optional

from absl import logging

from earshot import cache
from earshot import http as http_lib
from earshot.http import Refused
from export import archive

MODEL_FILE = "saved_model.pb"
TF1_HUB_FILE = "tfhub_module.pb"
CARD_SUFFIX = ".md"  # the card of DIR is DIR.md (export.card.card_path)
FORMAT_QUERY = "tf-hub-format"
KAGGLE_PREFIX = "models"
# Kaggle Models' framework of each TF Hub format, lower-cased -> whether it is TF1 Hub.
KAGGLE_FRAMEWORKS = {"tensorflow1": True, "tensorflow2": False}


def find_models(root: str) -> list[str]:
    """Paths (relative, '/'-separated) of the model folders under `root`, sorted.

    Hidden folders are skipped: they are exports still being written (`.NAME.*.tmp`).
    """
    found = []
    for parent, folders, files in os.walk(root):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        if MODEL_FILE in files and parent != root:
            found.append(os.path.relpath(parent, root).replace(os.sep, "/"))
            folders[:] = []  # a model's variables/ and assets/ hold no models
    return sorted(found)


def _segments(url_path: str) -> list[str]:
    """The non-empty segments of a URL path, refused (403) if one could leave the root."""
    segments = [segment for segment in urllib.parse.unquote(url_path).split("/") if segment]
    for segment in segments:
        if segment == ".." or "\\" in segment or "\0" in segment:
            raise Refused(http.HTTPStatus.FORBIDDEN, f"path {url_path!r} tries to leave the root")
        if segment.startswith("."):
            raise Refused(http.HTTPStatus.FORBIDDEN, f"path {url_path!r} names a hidden file")
    return segments


def _model_dir(root: str, segments: list[str], url_path: str) -> Optional[str]:
    """The model folder at `segments` under `root` (a real path), or None if there is none.

    Raises:
      Refused: 403 when a symlink leads out of `root`.
    """
    target = os.path.realpath(os.path.join(root, *segments))
    if os.path.commonpath([root, target]) != root:
        raise Refused(http.HTTPStatus.FORBIDDEN, f"path {url_path!r} leads out of the root")
    return target if os.path.isfile(os.path.join(target, MODEL_FILE)) else None


def _kaggle_model_dir(root: str, segments: list[str], url_path: str) -> Optional[str]:
    """The folder `<variation>/<version>` a Kaggle handle path names, if its format fits."""
    if len(segments) != 6 or segments[0] != KAGGLE_PREFIX:
        return None
    _, _, _, framework, variation, version = segments
    is_tf1_hub = KAGGLE_FRAMEWORKS.get(framework.lower())
    if is_tf1_hub is None:
        raise Refused(http.HTTPStatus.NOT_FOUND,
                      f"framework {framework!r} is not served; this server has TensorFlow1 "
                      "(TF1 Hub) and TensorFlow2 (SavedModel) models")
    for name in dict.fromkeys([variation, variation.replace("-", "_")]):
        target = _model_dir(root, [name, version], url_path)
        if target and os.path.isfile(os.path.join(target, TF1_HUB_FILE)) == is_tf1_hub:
            return target
    return None


def resolve(root: str, url_path: str) -> str:
    """The model folder a URL path names, inside `root` (a real path): the folder at that
    path, or the one a Kaggle handle path maps to.

    Raises:
      Refused: 403 for `..`, hidden segments or a symlink out of `root`; 404 when there is
        no model folder there.
    """
    segments = _segments(url_path)
    target = (_model_dir(root, segments, url_path)
              or _kaggle_model_dir(root, segments, url_path))
    if target is None:
        raise Refused(http.HTTPStatus.NOT_FOUND, f"no model at {url_path!r}")
    return target


class ArchiveCache:
    """Tarballs of model folders, each built once per folder version, safe across threads.

    A folder version is its inode and modification time: re-exporting renames a new folder
    into place, which changes both, so a replaced model is never served stale. The tarball
    of the version it replaced is deleted (a download still sending it keeps its open file).
    """

    def __init__(self, directory: str):
        self.directory = directory
        self.builds = 0
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, int, int], threading.Lock] = {}
        self._built: dict[tuple[str, int, int], str] = {}

    def get(self, model_dir: str) -> str:
        """Path of the tar.gz of `model_dir`, building it if this version has none yet."""
        status = os.stat(model_dir)
        key = (model_dir, status.st_ino, status.st_mtime_ns)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            path = self._built.get(key)
            if path is None:
                name = cache.digest(key) + ".tar.gz"
                path = archive.write(model_dir, os.path.join(self.directory, name))
                logging.info("built %s for %s", path, model_dir)
                with self._lock:
                    self.builds += 1
                    self._built[key] = path
                    stale = [old for old in self._built if old[0] == model_dir and old != key]
                    for old in stale:
                        os.remove(self._built.pop(old))
                        self._key_locks.pop(old, None)
            return path


class Handler(http_lib.Handler):
    """GET/HEAD: `/` lists models; `/<model>?tf-hub-format=compressed` sends its tarball."""

    server: "ModelServer"

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # pylint: disable=invalid-name
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        try:
            if url.path in ("", "/"):
                self._send_listing(query, send_body)
                return
            model_dir = resolve(self.server.root, url.path)
            hub_format = query.get(FORMAT_QUERY, [None])[0]
            if hub_format == "compressed":
                self._send_archive(model_dir, send_body)
            elif hub_format is None:
                self._send_card(model_dir, send_body)
            else:
                raise Refused(http.HTTPStatus.NOT_IMPLEMENTED,
                              f"{FORMAT_QUERY}={hub_format} is not served; this server speaks "
                              "the compressed protocol (unset TFHUB_MODEL_LOAD_FORMAT or set it "
                              "to COMPRESSED)")
        except Refused as refused:
            self.send_refusal(refused, send_body)
        except FileNotFoundError:  # the model folder went away while being served
            self.send_refusal(Refused(http.HTTPStatus.NOT_FOUND, "model removed"), send_body)
        except ValueError as error:  # a model folder that cannot be archived (symlinks)
            self.send_refusal(Refused(http.HTTPStatus.FORBIDDEN, str(error)), send_body)

    def _send_listing(self, query: dict[str, list[str]], send_body: bool) -> None:
        models = find_models(self.server.root)
        wants_json = (query.get("format", [""])[0] == "json"
                      or "application/json" in self.headers.get("Accept", ""))
        if wants_json:
            downloads = self.server.download_counts()
            self.send_json(http.HTTPStatus.OK,
                           {"models": models,
                            "downloads": {model: downloads[model] for model in models}},
                           send_body)
            return
        items = "\n".join(f'<li><a href="/{html.escape(model)}">{html.escape(model)}</a></li>'
                          for model in models)
        body = (f"<!doctype html>\n<title>earshot models</title>\n<h1>Models</h1>\n"
                f"<p>Load one with <code>hub.load(\"http://HOST:PORT/&lt;model&gt;\")</code>.</p>\n"
                f"<ul>\n{items}\n</ul>\n").encode()
        self.send_bytes(http.HTTPStatus.OK, body, "text/html; charset=utf-8", send_body)

    def _send_card(self, model_dir: str, send_body: bool) -> None:
        card = model_dir + CARD_SUFFIX
        if os.path.isfile(card) and not os.path.islink(card):
            with open(card, "rb") as card_file:
                body = card_file.read()
        else:
            body = b"No model card; load this model with hub.load(URL).\n"
        self.send_bytes(http.HTTPStatus.OK, body, "text/markdown; charset=utf-8", send_body)

    def _send_archive(self, model_dir: str, send_body: bool) -> None:
        with open(self.server.archives.get(model_dir), "rb") as tarball:
            self.send_response(http.HTTPStatus.OK)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(os.fstat(tarball.fileno()).st_size))
            self.end_headers()
            if send_body:
                # socket.sendfile: the kernel copies file to socket (os.sendfile) without
                # passing the bytes through Python, so concurrent downloads barely hold the GIL.
                self.connection.sendfile(tarball)
                self.server.count_download(os.path.relpath(model_dir, self.server.root))


class ModelServer(http_lib.Server):
    """A threaded HTTP server over the model folders under `root`."""

    def __init__(self, root: str, host: str, port: int, archive_dir: str):
        if not os.path.isdir(root):
            raise FileNotFoundError(f"--root={root}: no such folder")
        self.root = os.path.realpath(root)
        self.archives = ArchiveCache(archive_dir)
        self._downloads: collections.Counter[str] = collections.Counter()
        self._downloads_lock = threading.Lock()
        super().__init__((host, port), Handler)

    def count_download(self, model: str) -> None:
        """Counts one tarball sent for `model` (path relative to the root)."""
        with self._downloads_lock:
            self._downloads[model.replace(os.sep, "/")] += 1

    def download_counts(self) -> collections.Counter[str]:
        """Tarballs sent so far, per model path."""
        with self._downloads_lock:
            return collections.Counter(self._downloads)


def make_server(root: str, host: str = "127.0.0.1", port: int = 0,
                archive_dir: Optional[str] = None) -> ModelServer:
    """A server bound to (host, port) but not yet serving; call `serve_forever()`.

    `archive_dir` defaults to a temporary folder the caller owns (`server.archives.directory`).
    """
    return ModelServer(root, host, port, archive_dir or tempfile.mkdtemp(prefix="earshot-serve-"))

