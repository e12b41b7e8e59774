r"""Trains the small AudioSet-style classifier (`corpus.classifier`) on a job's float rows.

    python -m corpus.train_classifier --records='features/embeddings-*.tfrecord' \
        --num_classes=527 --output=classifier.keras

The records' labels are the targets (from the manifest of `python -m corpus.embed`).
"""

from __future__ import annotations

from absl import flags

from corpus import classifier
from earshot import cli, fileio

FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    del argv
    fileio.check_output(FLAGS.output, extensions=(".keras",))
    trained = classifier.train(FLAGS.records, FLAGS.num_classes, epochs=FLAGS.epochs,
                               seed=FLAGS.seed)
    with fileio.atomic_file(FLAGS.output) as staging:
        trained.model.save(staging)
    print(f"loss {trained.losses[0]:.4f} -> {trained.losses[-1]:.4f}, per-label accuracy "
          f"{trained.accuracies[-1]:.3f} after {len(trained.losses)} epochs; wrote "
          f"{FLAGS.output}")


if __name__ == "__main__":
    flags.DEFINE_string("records", None, "Float-rows records: a glob such as "
                        "'OUTPUT_DIR/embeddings-*.tfrecord'.", required=True)
    flags.DEFINE_integer("num_classes", None, "Classes (labels are 0 .. num_classes - 1).",
                         required=True)
    flags.DEFINE_integer("epochs", 30, "Passes over the clips.")
    flags.DEFINE_integer("seed", 0, "Seed of the initial weights and the shuffle.")
    flags.DEFINE_string("output", None, "The trained Keras model (.keras).", required=True)
    cli.run(main)
