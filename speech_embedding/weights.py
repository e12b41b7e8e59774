"""Fetches Google's pretrained speech embedding weights into the cache.

    python -m speech_embedding.weights fetch [--force] [--wheel=openwakeword-0.5.1-py3-none-any.whl]

Downloads the openwakeword 0.5.1 wheel from PyPI (or uses `--wheel`), checks its
`embedding_model.tflite`, converts it to Keras weights (`speech_embedding.pretrained`) and
prints their path.
"""

from __future__ import annotations

from absl import app, flags

from earshot import cli
from speech_embedding import pretrained


def main(argv: list[str]) -> None:
    if argv[1:] != ["fetch"]:
        raise app.UsageError(f"usage: {pretrained.FETCH_COMMAND} [--force] [--wheel=PATH]")
    print(pretrained.fetch(force=flags.FLAGS.force, wheel=flags.FLAGS.wheel))


if __name__ == "__main__":
    # Defined only when run as a program, so importing this module adds no flags to other tools.
    flags.DEFINE_bool("force", False, "Convert again even if converted weights are cached.")
    flags.DEFINE_string("wheel", None, "A local openwakeword-0.5.1 wheel to use instead of downloading.")
    cli.run(main)
