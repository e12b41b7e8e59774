r"""Embeds a whole audio collection with Apache Beam: TFRecords of every clip, and dead letters.

    python -m corpus.embed --model=vggish --input_pattern='/data/audio/*.wav' \
        --output_dir=/data/features --direct_num_workers=2 --direct_running_mode=multi_processing

    python -m corpus.embed --model=vggish --input_manifest=gs://b/segments.csv \
        --output_dir=gs://b/features --runner=DataflowRunner --project=P --region=R \
        --temp_location=gs://b/tmp --setup_file=./setup.py

writes OUTPUT_DIR/embeddings-*.tfrecord (float rows, every model), OUTPUT_DIR/audioset-*.tfrecord
(VGGish: AudioSet's feature format) and OUTPUT_DIR/dead_letters-*.jsonl (the inputs that were
not audio, with the error), then prints the counts. Flags this tool does not define are
Beam's pipeline options (`--runner`, `--direct_num_workers`, Dataflow's and Flink's, ...).
See corpus/README.md.
"""

from __future__ import annotations

import sys

from absl import flags

from corpus import models, pipeline
from earshot import cli, quiet

FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_enum("model", None, list(models.MODELS), "The model to run.", required=True)
    flags.DEFINE_string("input_pattern", "", "Audio files to embed whole: a glob on any Beam "
                        "filesystem (local, gs://, s3://).")
    flags.DEFINE_string("input_manifest", "", "A CSV of clips instead: path,id,start,end,labels "
                        "(start/end in seconds, labels as AudioSet class indices).")
    flags.DEFINE_string("output_dir", None, "Folder for the records and dead letters (any Beam "
                        "filesystem); must not hold the records of another job.", required=True)
    flags.DEFINE_string("model_dir", None, "vggish: a `vggish.convert` weights folder (default: "
                        "the cache); speaker_embedding: a trained model folder; keyword_spotter: "
                        "a speech_commands.train --train_dir.")
    flags.DEFINE_string("class_labels", None, "AudioSet class_labels_indices.csv, to give "
                        "manifest labels as mids or names instead of indices.")
    flags.DEFINE_integer("batch_clips", pipeline.DEFAULT_BATCH_CLIPS,
                         "Most clips per model batch.")
    flags.DEFINE_integer("tf_threads", 0, "TensorFlow threads per worker process (0: "
                         "TensorFlow's default, all cores; with N local workers, cores / N).")
    flags.DEFINE_float("stride_ms", 500.0, "keyword_spotter: milliseconds between the windows "
                       "it scores.")


def parse_known_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, leaving the flags it does not know (Beam's) in the argv returned."""
    try:
        return FLAGS(argv, known_only=True)
    except flags.Error as error:
        sys.stderr.write(f"FATAL Flags parsing error: {error}\n"
                         "Pass --helpshort or --helpfull to see help on flags.\n")
        sys.exit(1)


# Beam's workers log every bundle at INFO; quiet programs show their errors only.
QUIET_WORKERS = "--default_sdk_harness_log_level=ERROR"


def beam_args(argv: list[str]) -> list[str]:
    """The Beam options of the command line, with quiet workers unless asked otherwise."""
    args = list(argv[1:])
    if not quiet.verbose() and not any(arg.startswith(QUIET_WORKERS.split("=")[0])
                                       for arg in args):
        args.append(QUIET_WORKERS)
    return args


def main(argv: list[str]) -> None:
    model_options = (("stride_ms", FLAGS.stride_ms),) if FLAGS.model == "keyword_spotter" else ()
    job = pipeline.EmbedJob(
        model=FLAGS.model, output=FLAGS.output_dir, input_pattern=FLAGS.input_pattern,
        input_manifest=FLAGS.input_manifest, model_path=FLAGS.model_dir,
        class_labels=FLAGS.class_labels, batch_clips=FLAGS.batch_clips,
        tf_threads=FLAGS.tf_threads, model_options=model_options)
    with quiet.child_logs_dropped():
        summary = pipeline.run(job, beam_args(argv))
    print(f"embedded {summary.clips} clips ({summary.audio_seconds / 3600:.2f} h of audio, "
          f"{summary.rows} rows) into {FLAGS.output_dir}")
    print(f"{summary.dead_letters} dead letters in "
          f"{job.output_path(pipeline.DEAD_LETTERS_PREFIX)}-*{pipeline.DEAD_LETTER_SUFFIX}")


if __name__ == "__main__":
    define_flags()
    cli.run(main, flags_parser=parse_known_flags)
