r"""Audio files -> VGGish embeddings, the command-line tool over `vggish.embedding`.

    python -m vggish.embed --input=a.wav,b.flac --output=out.npz [--postprocess] \
        [--model_dir=DIR]

writes one `[N, 128]` array per input file (float32, or uint8 with --postprocess), keyed by
the path as given. Files of any length are decoded in blocks and embedded in slices of
examples, so memory does not grow with the recording.
"""

from __future__ import annotations

import functools
import os

from absl import app, flags

from earshot import cli, embed_files, fileio
from vggish import embedding, weights


FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    fileio.check_output(FLAGS.output)
    model = embedding.embedder(FLAGS.model_dir and os.path.abspath(FLAGS.model_dir))
    embed_files.embed_to_npz(FLAGS.input, functools.partial(model, postprocess=FLAGS.postprocess),
                             FLAGS.output)


if __name__ == "__main__":
    flags.DEFINE_list("input", None, "Comma-separated audio files (WAV, FLAC, OGG, MP3).",
                      required=True)
    flags.DEFINE_string("output", None, "The file to write, an .npz archive whatever its name: "
                        "one [N, 128] array per input.",
                        required=True)
    flags.DEFINE_bool("postprocess", False, "Write uint8 PCA-quantized embeddings, the "
                      "AudioSet release format, instead of float32.")
    flags.DEFINE_string("model_dir", None, "Folder from `python -m vggish.convert`; default: "
                        "the cache, downloaded and converted on first use.")
    weights.define_flags()
    cli.run(main)
