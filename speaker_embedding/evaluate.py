r"""Speaker verification figures on speakers never seen in training, with a ROC plot.

    python -m speaker_embedding.evaluate --data_dir=/tmp/voices --model_dir=/tmp/spk_model
    python -m speaker_embedding.evaluate --data_dir=/tmp/voices --model_dir=/tmp/spk_model \
        --untrained   # the same network with its initial random weights: the baseline

The protocol is the reference one: for each held-out speaker, one anchor utterance is scored
against one other utterance of the same speaker and one utterance of each of 99 other
held-out speakers (fewer if fewer exist); each utterance is one random 1.6 s crop unless
`--whole_utterances`. Writes OUTPUT_DIR/metrics.json, scores.npz and roc.png.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Sequence

import keras
import matplotlib
import numpy as np
from absl import flags, logging

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402  (after choosing the Agg backend)

from earshot import cli, fileio  # noqa: E402
from speaker_embedding import dataset, embedder, features, metrics, model as model_lib  # noqa: E402
from speaker_embedding.triplets import Utterance  # noqa: E402
from speaker_embedding.vectors import mean_vector  # noqa: E402

NUM_NEGATIVES = 99

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the command-line flags; called only when run as a program, so that tests
    can import this module next to the other commands, which share flag names."""
    flags.DEFINE_string("data_dir", None, "Dataset root holding the held-out speakers.",
                        required=True)
    flags.DEFINE_string("model_dir", None, "Trained model folder (config, weights, split.json).",
                        required=True)
    flags.DEFINE_string("split_file", None, "Speaker split (default MODEL_DIR/split.json).")
    flags.DEFINE_enum("speakers", "test", ["test", "train", "all"],
                      "Which speakers of the split to score; 'all' ignores the split.")
    flags.DEFINE_bool("untrained", False, "Score the network with fresh random weights instead.")
    flags.DEFINE_integer("seed", 0, "Chooses crops, utterances, negatives (and untrained weights).")
    flags.DEFINE_bool("whole_utterances", False,
                      "Embed whole utterances (mean of 1.6 s windows) instead of one random crop.")
    flags.DEFINE_string("output_dir", None,
                        "Where to write results (default MODEL_DIR/eval[_untrained][_whole]).")


@dataclasses.dataclass(frozen=True)
class Trials:
    """The score matrix of the protocol: float32 `[speakers, 1 + negatives]`, positive first."""

    scores: np.ndarray
    labels: np.ndarray


def trials(vectors: np.ndarray, speakers: Sequence[str], rng: np.random.Generator,
           num_negatives: int = NUM_NEGATIVES) -> Trials:
    """Builds the 1 positive + N negatives trials from one vector per utterance.

    Args:
      vectors: float `[utterances, d]` unit vectors. speakers: speaker of each row.
    """
    speakers = np.asarray(speakers)
    names = sorted(set(speakers.tolist()))
    rows = {name: np.flatnonzero(speakers == name) for name in names}
    anchors = [n for n in names if rows[n].size >= 2]
    if len(anchors) < 2:
        raise dataset.DatasetError("evaluation needs 2+ speakers with 2+ utterances each")
    negatives_each = min(num_negatives, len(names) - 1)
    if negatives_each < num_negatives:
        logging.warning("only %d other speakers: %d negatives per trial instead of %d",
                        len(names) - 1, negatives_each, num_negatives)
    scores = []
    for name in anchors:
        anchor, positive = rng.choice(rows[name], size=2, replace=False)
        others = rng.choice([n for n in names if n != name], size=negatives_each, replace=False)
        picks = [positive] + [rng.choice(rows[other]) for other in others]
        scores.append(vectors[picks] @ vectors[anchor])
    scores = np.asarray(scores, np.float32)
    labels = np.zeros_like(scores, dtype=bool)
    labels[:, 0] = True
    return Trials(scores, labels)


def embed_utterances(network: keras.Model, utterances: Sequence[Utterance],
                     rng: np.random.Generator, whole: bool) -> np.ndarray:
    """One unit vector per utterance: float32 `[n, 512]`."""
    model = embedder.Embedder(network)
    if whole:
        return np.stack([mean_vector(model.embed_inputs(features.windows(u.features)))
                         for u in utterances])
    crops = np.stack([features.random_crop(u.features, rng) for u in utterances])
    return np.concatenate([model.embed_inputs(crops[i:i + 256]) for i in range(0, len(crops), 256)])


def plot_roc(scores: Trials, result: metrics.Verification, title: str, path: str) -> None:
    tpr, far = metrics.rates(scores.scores, scores.labels)
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot(far, tpr, label="ROC")
    axes.plot([0, 1], [1, 0], ":", color="grey", label="FAR = FRR")
    axes.plot(result.eer, 1 - result.eer, "o", label=f"EER {result.eer:.3f}")
    axes.set_xlabel("false accept rate")
    axes.set_ylabel("true accept rate")
    axes.set_title(title)
    axes.legend(loc="lower right")
    with fileio.atomic_file(path) as staging:
        figure.savefig(staging, dpi=100)
    plt.close(figure)


def evaluate(network: keras.Model, utterances: Sequence[Utterance], seed: int = 0,
             whole_utterances: bool = False) -> tuple[metrics.Verification, Trials]:
    rng = np.random.default_rng(seed)
    vectors = embed_utterances(network, utterances, rng, whole_utterances)
    scored = trials(vectors, [u.speaker for u in utterances], rng)
    return metrics.verification(scored.scores, scored.labels), scored


def default_output_dir(model_dir: str, untrained: bool, whole_utterances: bool) -> str:
    """MODEL_DIR/eval[_untrained][_whole]: one folder per kind of figure, none overwritten."""
    name = "eval" + ("_untrained" if untrained else "") + ("_whole" if whole_utterances else "")
    return os.path.join(model_dir, name)


def main(argv: Sequence[str]) -> None:
    del argv
    output_dir = FLAGS.output_dir or default_output_dir(FLAGS.model_dir, FLAGS.untrained,
                                                        FLAGS.whole_utterances)
    fileio.check_output(output_dir, folder=True)
    config = embedder.read_config(FLAGS.model_dir)
    if FLAGS.untrained:
        keras.utils.set_random_seed(FLAGS.seed)
        network = model_lib.build(config=config)
    else:
        network = embedder.load_model(FLAGS.model_dir)
    paths = dataset.find_utterances(FLAGS.data_dir)
    chosen = None
    if FLAGS.speakers != "all":
        split_file = FLAGS.split_file or os.path.join(FLAGS.model_dir, dataset.SPLIT_FILE)
        chosen = dataset.read_split(split_file)[FLAGS.speakers]
    utterances = dataset.load_utterances(paths, chosen)
    result, scored = evaluate(network, utterances, FLAGS.seed, FLAGS.whole_utterances)
    label = "untrained" if FLAGS.untrained else "trained"
    os.makedirs(output_dir, exist_ok=True)
    summary = dict(dataclasses.asdict(result), network=label, speakers=FLAGS.speakers,
                   num_speakers=int(scored.scores.shape[0]),
                   negatives_per_trial=int(scored.scores.shape[1] - 1),
                   whole_utterances=FLAGS.whole_utterances)
    with fileio.atomic_open(os.path.join(output_dir, "metrics.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with fileio.atomic_file(os.path.join(output_dir, "scores.npz")) as staging:
        np.savez(staging, scores=scored.scores, labels=scored.labels)
    plot_roc(scored, result, f"{label}, {summary['num_speakers']} {FLAGS.speakers} speakers",
             os.path.join(output_dir, "roc.png"))
    logging.info("%s", json.dumps(summary))
    print(f"{label}: EER {result.eer:.4f} at {result.eer_threshold:.3f}; best F "
          f"{result.f_measure:.3f} (acc {result.accuracy:.4f}, TPR {result.tpr:.3f}) at "
          f"{result.f_threshold:.3f}; {summary['num_speakers']} speakers x "
          f"{summary['negatives_per_trial']} negatives; results in {output_dir}")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
