r"""Writes a synthetic Speech Commands dataset (v0.02 layout) spoken by espeak-ng.

    python -m speech_commands.synthesize --output_dir=/tmp/speech_dataset --speakers=40

See `speech_commands.synthetic_dataset` for the layout, the speakers and the noise.
"""

from __future__ import annotations

from absl import flags

from earshot import cli
from speech_commands import synthetic_dataset

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The CLI flags (defined only when run as a program, so importing stays side-effect free)."""
    flags.DEFINE_string("output_dir", None, "Folder to create with the dataset.", required=True)
    flags.DEFINE_list("words", list(synthetic_dataset.DEFAULT_WORDS),
                      "Words to record (the usual --wanted_words).")
    flags.DEFINE_list("unknown_words", list(synthetic_dataset.DEFAULT_UNKNOWN_WORDS),
                      "Other words, for the _unknown_ class.")
    flags.DEFINE_integer("speakers", 40, "Number of synthetic speakers.")
    flags.DEFINE_integer("repetitions", 1,
                         "Clips per speaker and word (`_nohash_0` .. `_nohash_<n-1>`).")
    flags.DEFINE_float("background_seconds", 90.0, "Length of each background noise file.")
    flags.DEFINE_integer("validation_percentage", 10, "Percentage of speakers for validation.")
    flags.DEFINE_integer("testing_percentage", 10, "Percentage of speakers for testing.")
    flags.DEFINE_integer("seed", 0, "Seed for speakers, clip placement and noise.")
    flags.DEFINE_bool("overwrite", False, "Replace --output_dir if it exists.")


def main(argv):
    del argv
    synthetic_dataset.synthesize(
        FLAGS.output_dir, FLAGS.words, FLAGS.unknown_words, FLAGS.speakers, FLAGS.repetitions,
        FLAGS.background_seconds, FLAGS.validation_percentage, FLAGS.testing_percentage,
        FLAGS.seed, FLAGS.overwrite)
    print(f"wrote {FLAGS.output_dir}")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
