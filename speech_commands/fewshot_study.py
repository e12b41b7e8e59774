r"""Accuracy against examples per word: `embedding_head` vs `conv` from scratch.

    python -m speech_commands.fewshot_study --output_dir=/tmp/fewshot

The analogue of the paper's figure (arXiv:2002.01322, accuracy vs examples per word): on one
synthesized dataset (the demo's, made once and cached), both architectures are trained with
`--examples_per_word=K` for each K of `--examples` (0 = every training speaker) and scored on
the held-out test speakers. Writes `fewshot.csv`, `fewshot.md` (a table, K by architecture)
and `fewshot.png` (accuracy vs K, log scale) into `--output_dir`, plus each run's training
folder under `runs/`.

Both models train with Adam and the same augmentation; `conv` (927k weights on MFCCs) gets
fewer, larger-rate steps than it would need to converge, since one of its steps costs ~100x
one of the head's on a CPU: `--conv_steps` says how many.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from absl import flags, logging  # noqa: E402

from earshot import cli, fileio, progress  # noqa: E402
from speech_commands import dataset, settings, synthetic_dataset, training  # noqa: E402
from speech_commands.settings import DEFAULT_WANTED_WORDS, TrainConfig  # noqa: E402

FLAGS = flags.FLAGS
COLUMNS = ("architecture", "examples_per_word", "training_clips", "steps", "test_accuracy",
           "test_count", "seconds")


def define_flags() -> None:
    flags.DEFINE_string("output_dir", "/tmp/earshot_fewshot", "Where tables, plot and runs go.")
    flags.DEFINE_string("data_dir", "", "Dataset to study; default the demo's synthesized set.")
    flags.DEFINE_list("examples", ["1", "2", "4", "8", "16", "32", "0"],
                      "Training speakers per word to try; 0 keeps all.")
    flags.DEFINE_list("architectures", ["embedding_head", "conv"], "Models to compare.")
    flags.DEFINE_integer("head_steps", 400, "Training steps of embedding_head (batch 64).")
    flags.DEFINE_integer("conv_steps", 250, "Training steps of conv (batch 32).")
    flags.DEFINE_string("wanted_words", settings.flag_text(DEFAULT_WANTED_WORDS),
                        "Keywords, as for train.")
    flags.DEFINE_integer("validation_percentage", 10, "As for train (must match the dataset).")
    flags.DEFINE_integer("testing_percentage", 10, "As for train (must match the dataset).")
    flags.DEFINE_integer("seed", 0, "Seed of every run.")


def run_config(architecture: str, examples: int, data_dir: str, run_dir: str,
               head_steps: int, conv_steps: int, seed: int, **split) -> TrainConfig:
    """One run's settings: the head as in the demo, conv with Adam and fewer steps."""
    if architecture == "embedding_head":
        total, rates, batch = head_steps, (0.002, 0.0005), 64
    else:
        total, rates, batch = conv_steps, (0.001, 0.0003), 32
    steps = (total * 3 // 4, total - total * 3 // 4)  # 3/4 at the first rate
    return TrainConfig(
        data_url="", data_dir=data_dir, train_dir=os.path.join(run_dir, "train"),
        summaries_dir=os.path.join(run_dir, "logs"), model_architecture=architecture,
        optimizer="adam", learning_rate=rates, how_many_training_steps=steps, batch_size=batch,
        eval_step_interval=total, save_step_interval=total, examples_per_word=examples,
        seed=seed, **split)


def training_clips(config: TrainConfig) -> int:
    """Keyword clips a run trains on (silence and unknown entries not counted)."""
    split = dataclasses.replace(dataset.SplitSettings.of(config), silence_percentage=0,
                                unknown_percentage=0)
    return len(dataset.DataIndex.build(config.data_dir, split).data_index["training"])


def write_table(rows: list[dict], output_dir: str) -> dict[str, str]:
    """CSV, Markdown and PNG of the study's rows; returns their paths."""
    paths = {kind: os.path.join(output_dir, f"fewshot.{kind}") for kind in ("csv", "md", "png")}
    with fileio.atomic_open(paths["csv"], "w", newline="") as out:
        writer = csv.DictWriter(out, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    architectures = list(dict.fromkeys(r["architecture"] for r in rows))
    examples = list(dict.fromkeys(r["examples_per_word"] for r in rows))
    by_key = {(r["architecture"], r["examples_per_word"]): r for r in rows}
    label = lambda k: "all" if k == 0 else str(k)
    lines = ["| examples per word | keyword clips | " + " | ".join(architectures) + " |",
             "|---|---|" + "---|" * len(architectures)]
    for k in examples:
        cells = [f"{by_key[(a, k)]['test_accuracy'] * 100:.1f}%" if (a, k) in by_key else "-"
                 for a in architectures]
        clips = next(r["training_clips"] for r in rows if r["examples_per_word"] == k)
        lines.append(f"| {label(k)} | {clips} | " + " | ".join(cells) + " |")
    with fileio.atomic_open(paths["md"], "w") as out:
        out.write("\n".join(lines) + "\n")
    figure, axes = plt.subplots(figsize=(6, 4))
    positions = {k: i for i, k in enumerate(examples)}
    for architecture in architectures:
        points = [(positions[r["examples_per_word"]], r["test_accuracy"] * 100)
                  for r in rows if r["architecture"] == architecture]
        axes.plot(*zip(*points), marker="o", label=architecture)
    axes.set_xticks(range(len(examples)), [label(k) for k in examples])
    axes.set_xlabel("training speakers per word")
    axes.set_ylabel("test accuracy (%)")
    axes.set_ylim(0, 100)
    axes.grid(alpha=0.3)
    axes.legend()
    axes.set_title("Few-shot keyword spotting (held-out speakers)")
    figure.tight_layout()
    with fileio.atomic_file(paths["png"]) as staging:
        figure.savefig(staging, format="png", dpi=120)
    plt.close(figure)
    return paths


def main(argv):
    del argv
    started = time.monotonic()
    data_dir = FLAGS.data_dir or synthetic_dataset.demo_dataset()
    rows = []
    runs = [(a, int(k)) for k in FLAGS.examples for a in FLAGS.architectures]
    for architecture, examples in progress.track(runs, "few-shot runs"):
        run_dir = os.path.join(FLAGS.output_dir, "runs", f"{architecture}_k{examples}")
        config = run_config(architecture, examples, data_dir, run_dir, FLAGS.head_steps,
                            FLAGS.conv_steps, FLAGS.seed, wanted_words=FLAGS.wanted_words,
                            validation_percentage=FLAGS.validation_percentage,
                            testing_percentage=FLAGS.testing_percentage)
        result = training.train(config)
        rows.append({"architecture": architecture, "examples_per_word": examples,
                     "training_clips": training_clips(config), "steps": result.last_step,
                     "test_accuracy": round(result.test_accuracy, 4),
                     "test_count": result.test_count, "seconds": round(result.seconds, 1)})
        logging.info("%s, K=%d: test accuracy %.1f%%", architecture, examples,
                     result.test_accuracy * 100)
        paths = write_table(rows, FLAGS.output_dir)
    with open(paths["md"]) as table:
        print(table.read())
    print(f"CSV: {paths['csv']}\nPlot: {paths['png']}\n"
          f"Wall time: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
