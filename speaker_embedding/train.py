r"""Trains the speaker embedding network (`speaker_embedding.trainer`): optional softmax
pre-training, then triplet loss.

    python -m speaker_embedding.train --data_dir=/tmp/voices --model_dir=/tmp/spk_model \
        --model_size=small --test_speakers=100 --softmax_steps=100 --triplet_steps=200

`--test_speakers` speakers are held out of training (written to MODEL_DIR/split.json for
`evaluate`). `--distribution_strategy=multi_worker_mirrored` trains on several workers, one
copy of the command each with its TF_CONFIG (`earshot.distribution`). Re-running the same
command resumes from the last checkpoint and produces the same weights as an uninterrupted
run.
"""

from __future__ import annotations

import os
import time
from typing import Sequence

from absl import flags, logging

from earshot import cli, distribution, fileio
from speaker_embedding import embedder, model as model_lib, trainer, triplets

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the command-line flags; called only when run as a program, so that tests
    can import this module next to the other commands, which share flag names."""
    flags.DEFINE_string("data_dir", None, "Dataset root, LibriSpeech or VoxCeleb layout.",
                        required=True)
    flags.DEFINE_string("model_dir", None,
                        "Folder for weights, checkpoints, split and TensorBoard logs.",
                        required=True)
    flags.DEFINE_enum("model_size", "small", list(model_lib.MODEL_SIZES),
                      "full: the paper's 4-stage ResCNN (24 M parameters); small: 3 stages "
                      "for CPUs.")
    flags.DEFINE_integer("test_speakers", 100, "Speakers held out of training for evaluation.",
                         lower_bound=0)
    flags.DEFINE_integer("split_seed", 0, "Chooses the held-out speakers.")
    flags.DEFINE_integer("seed", 0, "Initial weights and every batch.")
    flags.DEFINE_integer("batch_size", triplets.BATCH_SIZE,
                         "Triplets per batch (3x rows); the softmax phase uses 3x rows too.",
                         lower_bound=1)
    flags.DEFINE_float("alpha", triplets.ALPHA, "Triplet margin on cosine similarity.")
    flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate of the softmax phase, and of the "
                       "triplet phase unless --triplet_learning_rate is given.")
    flags.DEFINE_float("triplet_learning_rate", None, "Adam learning rate of the triplet phase.")
    flags.DEFINE_integer("softmax_steps", 0, "Softmax pre-training steps (0: none).")
    flags.DEFINE_integer("triplet_steps", 1000, "Triplet-loss steps after pre-training.")
    flags.DEFINE_bool("hard_negatives", True,
                      "Mine hard triplets from a candidate pool; else random.")
    flags.DEFINE_integer("candidate_speakers", 64, "Speakers in the mining pool (2 crops each).")
    flags.DEFINE_integer("mining_refresh", 5, "Steps between re-embeddings of the mining pool.",
                         lower_bound=1)
    flags.DEFINE_integer("checkpoint_every", 50, "Steps between checkpoints.", lower_bound=1)
    flags.DEFINE_integer("keep_checkpoints", 2, "Checkpoints kept on disk.", lower_bound=1)
    flags.DEFINE_float("max_minutes", None, "Checkpoint and stop once training has run this long; "
                       "the same command resumes it.")
    flags.DEFINE_enum("distribution_strategy", "none", distribution.STRATEGIES,
                      distribution.FLAG_HELP)


def log(message: str, *args) -> None:
    """The training's progress lines, logged from here so they count as this program's own
    (shown without `--verbosity`)."""
    logging.info(message, *args)


def main(argv: Sequence[str]) -> None:
    del argv
    started = time.monotonic()
    fileio.check_output(FLAGS.model_dir, folder=True)
    trainer.train(
        FLAGS.data_dir, FLAGS.model_dir, model_lib.config_for(FLAGS.model_size),
        test_speakers=FLAGS.test_speakers, split_seed=FLAGS.split_seed, seed=FLAGS.seed,
        batch_size=FLAGS.batch_size, alpha=FLAGS.alpha, learning_rate=FLAGS.learning_rate,
        triplet_learning_rate=FLAGS.triplet_learning_rate, softmax_steps=FLAGS.softmax_steps,
        triplet_steps=FLAGS.triplet_steps, hard_negatives=FLAGS.hard_negatives,
        candidate_speakers=FLAGS.candidate_speakers, mining_refresh=FLAGS.mining_refresh,
        checkpoint_every=FLAGS.checkpoint_every, keep_checkpoints=FLAGS.keep_checkpoints,
        max_minutes=FLAGS.max_minutes, strategy=distribution.make(FLAGS.distribution_strategy),
        log=log)
    logging.info("training took %.1f minutes; weights in %s", (time.monotonic() - started) / 60,
                 os.path.join(FLAGS.model_dir, embedder.WEIGHTS_FILE))


if __name__ == "__main__":
    define_flags()
    cli.run(main)
