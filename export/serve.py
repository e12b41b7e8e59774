r"""Serves exported models over HTTP with TF Hub's compressed protocol (`export.model_server`).

    python -m export.serve --root=/srv/models --host=127.0.0.1 --port=8765

then `hub.load("http://127.0.0.1:8765/speech_embedding/1")` loads `/srv/models/speech_embedding/1`.
Each tarball is built on first request and kept in `--archive_dir` (by default a temporary
folder removed on exit) for the server's lifetime; `/` lists the models, and a model URL
without `?tf-hub-format=compressed` returns its model card. Ctrl-C or SIGTERM stops it.
"""

from __future__ import annotations

import os
import signal
import tempfile

from absl import app, flags, logging

from earshot import cli
from export import model_server


def _stop(signum: int, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    options = flags.FLAGS
    with tempfile.TemporaryDirectory(prefix="earshot-serve-") as scratch:
        archive_dir = options.archive_dir or scratch
        os.makedirs(archive_dir, exist_ok=True)
        with model_server.ModelServer(options.root, options.host, options.port,
                                      archive_dir) as server:
            models = model_server.find_models(server.root)
            logging.info("serving %d models from %s at %s", len(models), server.root, server.url)
            for model in models:
                logging.info("  %s%s", server.url, model)
            # SIGTERM unwinds like Ctrl-C, so the temporary archive folder is removed.
            signal.signal(signal.SIGTERM, _stop)
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                logging.info("stopped")


def define_flags() -> None:
    """The CLI's flags, defined only when run as a program."""
    flags.DEFINE_string("root", None, "Folder whose model folders (with saved_model.pb) are "
                        "served, at their path relative to it.", required=True)
    flags.DEFINE_string("host", "127.0.0.1", "Address to listen on.")
    flags.DEFINE_integer("port", 8765, "Port to listen on; 0 picks a free one (logged).")
    flags.DEFINE_string("archive_dir", None, "Where tarballs are built (default: a temporary "
                        "folder removed on exit).")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
