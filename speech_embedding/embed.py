"""Embedding audio files with the pretrained model.

    python -m speech_embedding.embed --input=a.wav,b.flac --output=out.npz

writes one float32 `[T, 96]` array per input, keyed by the path as given, in bounded memory
(`speech_embedding.embedding.embed`).
"""

from __future__ import annotations

from absl import flags

from earshot import cli, embed_files, fileio
from speech_embedding import embedding


def main(argv: list[str]) -> None:
    del argv
    fileio.check_output(flags.FLAGS.output)
    embed_files.embed_to_npz(flags.FLAGS.input, embedding.embed, flags.FLAGS.output)


if __name__ == "__main__":
    flags.DEFINE_list("input", None, "Comma-separated audio files to embed.", required=True)
    flags.DEFINE_string("output", None, "The file to write, an .npz archive whatever its "
                        "name: one [T, 96] array per input.",
                        required=True)
    cli.run(main)
