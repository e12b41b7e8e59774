r"""What each training source of `wakeword.train` buys, and what it costs: a leave-one-out table.

For the default engines of Debian main, for all sources (the opt-in engines too), for all but
one (each default engine, and the real speech of `real_speech.TRAINING_SOURCES`) and for all
and one more (each of `voices.TRAINING_ENGINES_OPTIONAL`), trains the phrase
(`python -m wakeword.train`, one run after another so later runs reuse the cached groups of
the others) and evaluates it on the held-out set (`python -m wakeword.evaluate`, voices never
trained on). Prints one Markdown row per run: recall per condition and false accepts per
hour of ordinary speech at the manifest threshold, near-misses fired, recall at 0.5 FA/h of
ordinary speech, and the wall time the source left out (or added) took to build (in the first
run that built it). Run it from an empty cache (`EARSHOT_CACHE=...`) for the costs to mean anything, or
give `--build_times` the `metrics.json` of a `wakeword.train` run from an empty cache with every
source: its seconds per source are then the costs, and the runs may reuse a warm cache.

    python -m benchmarks.wakeword_ablation [--phrase="hey jarvis"] [--output_dir=DIR] \
        [--data_dir=EVALUATION_SET] [--train_flags=--steps=1500] [--build_times=metrics.json]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from absl import flags

from earshot import cli
from earshot.errors import InvalidInput
from wakeword import evaluation, voices

FLAGS = flags.FLAGS
REAL = "real speech"


def define_flags() -> None:
    flags.DEFINE_string("phrase", "hey jarvis", "The wake phrase.")
    flags.DEFINE_string("output_dir", None, "Where the model folders go (default: a temp folder).")
    flags.DEFINE_string("data_dir", None, "wakeword.evaluate's --data_dir (default: its own).")
    flags.DEFINE_list("opt_in", list(voices.OPT_IN_ENGINES),
                      "Opt-in engines of the full run (installed with `make voices-opt-in`).")
    flags.DEFINE_list("train_flags", [], "More wakeword.train flags for every run.")
    flags.DEFINE_string("build_times", None, "metrics.json of a wakeword.train run from an empty "
                        "cache: the build time of each source (default: measured in these runs).")


def runs(opt_in: list[str]) -> dict[str, list[str]]:
    """Run name -> `wakeword.train` flags choosing its sources: the engines of Debian main
    (what a plain `wakeword.train` speaks with where no opt-in engine is installed; first, so
    that from an empty cache its time is that run's), all sources (the opt-in engines too),
    all but one source of Debian main, and all sources with each optional engine added."""
    default = voices.TRAINING_ENGINES_DEFAULT
    every = [*default, *opt_in]
    out = {"Debian main engines": [f"--engines={','.join(default)}"],
           "all sources": [f"--engines={','.join(every)}"]}
    for engine in default:
        out[f"without {engine}"] = [f"--engines={','.join(e for e in every if e != engine)}"]
    for engine in voices.TRAINING_ENGINES_OPTIONAL:
        out[f"with {engine}"] = [f"--engines={','.join([*every, engine])}"]
    out[f"without {REAL}"] = [f"--engines={','.join(every)}", "--real_speech="]
    return out


def _run(*args: str) -> None:
    """Runs a tool, its progress shown; its own `error:` line says why when it fails."""
    result = subprocess.run([sys.executable, "-m", *args], stdout=subprocess.DEVNULL,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"python -m {' '.join(args)} exited with {result.returncode}")


def _source_seconds(metrics_path: str) -> dict[str, float]:
    """Source name -> seconds its groups took to build, from a `wakeword.train` metrics.json."""
    try:
        with open(metrics_path, encoding="utf-8") as saved:
            return dict(json.load(saved)["seconds"]["sources"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InvalidInput(f"{metrics_path}: not a wakeword.train metrics.json ({e})") from e


def row(name: str, folder: str, costs: dict[str, float]) -> list[str]:
    with open(os.path.join(folder, "evaluation.json"), encoding="utf-8") as saved:
        m = json.load(saved)["models"]["earshot"]
    print(f"{name}: {json.dumps(m['own'])}", file=sys.stderr)
    own, target = m["own"], m[evaluation.AT_TARGET]
    source = name.removeprefix("without ").removeprefix("with ")
    cost = f"{costs.get(source, 0.0):.0f} s" if source != name else "-"
    if name == "all sources":
        cost = " + ".join(f"{costs.get(e, 0.0):.0f} s" for e in FLAGS.opt_in) + " (opt-in)"
    return ([name, f"{own['threshold']:.3f}"] + [f"{v:.3f}" for v in own["recall"].values()]
            + [f"{own['fa_per_hour']:.2f}", f"{own['near_misses_fired']}/{m['near_misses']}"]
            + [f"{v:.3f}" for v in target["recall"].values()] + [cost])


def main(argv: list[str]) -> None:
    del argv
    costs = _source_seconds(FLAGS.build_times) if FLAGS.build_times else {}
    work = FLAGS.output_dir or tempfile.mkdtemp(prefix="wakeword_ablation_")
    rows = []
    for name, train_flags in runs(FLAGS.opt_in).items():
        folder = os.path.join(work, name.replace(" ", "_"))
        _run("wakeword.train", f"--phrase={FLAGS.phrase}", f"--output_dir={folder}",
             "--overwrite", *FLAGS.train_flags, *train_flags)
        _run("wakeword.evaluate", f"--model_dir={folder}",
             *([f"--data_dir={FLAGS.data_dir}"] if FLAGS.data_dir else []))
        seconds = _source_seconds(os.path.join(folder, "metrics.json"))
        costs.update({k: v for k, v in seconds.items() if k not in costs})
        rows.append(row(name, folder, costs))
        print(f"{name}: done", file=sys.stderr)
    conditions = ("clean", "speech", "noise", "reverberant")
    header = (["run", "threshold"] + [f"recall {c}" for c in conditions]
              + ["FA/h speech", "near-misses fired"] + [f"recall {c} @0.5 FA/h" for c in conditions]
              + ["build time of the source left out (or added)"])
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
