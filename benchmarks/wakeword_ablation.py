r"""What each training source of `wakeword.train` buys, and what it costs: a leave-one-out table.

For the full set of sources and for each source left out (each engine of
`voices.TRAINING_ENGINES_DEFAULT`, and the real speech of `real_speech.TRAINING_SOURCES`), trains the
phrase (`python -m wakeword.train`, one run after another so later runs reuse the cached
groups of the others) and evaluates it on the held-out set (`python -m wakeword.evaluate`,
voices never trained on). Prints one Markdown row per run: recall per condition and false
accepts per hour of ordinary speech at the manifest threshold, near-misses fired, recall at
0.5 FA/h of ordinary speech, and the wall time the source took to build in the first (full)
run. Run it from an empty cache (`EARSHOT_CACHE=...`) for the costs to mean anything.

    python -m benchmarks.wakeword_ablation [--phrase="hey jarvis"] [--work_dir=DIR]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from absl import flags

from earshot import cli
from wakeword import evaluation, voices

FLAGS = flags.FLAGS
REAL = "real speech"


def define_flags() -> None:
    flags.DEFINE_string("phrase", "hey jarvis", "The wake phrase.")
    flags.DEFINE_string("work_dir", None, "Where the model folders go (default: a temp folder).")


def runs() -> dict[str, list[str]]:
    """Run name -> `wakeword.train` flags choosing its sources."""
    engines = voices.TRAINING_ENGINES_DEFAULT
    out = {"all sources": []}
    for engine in engines:
        out[f"without {engine}"] = [f"--engines={','.join(e for e in engines if e != engine)}"]
    out[f"without {REAL}"] = ["--real_speech="]
    return out


def _run(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")


def row(name: str, folder: str, costs: dict[str, float]) -> list[str]:
    with open(os.path.join(folder, "evaluation.json"), encoding="utf-8") as saved:
        m = json.load(saved)["models"]["earshot"]
    own, target = m["own"], m[evaluation.AT_TARGET]
    left_out = name.removeprefix("without ")
    cost = f"{costs.get(left_out, 0.0):.0f} s" if left_out != name else "-"
    return ([name, f"{own['threshold']:.3f}"] + [f"{v:.3f}" for v in own["recall"].values()]
            + [f"{own['fa_per_hour']:.2f}", f"{own['near_misses_fired']}/{m['near_misses']}"]
            + [f"{v:.3f}" for v in target["recall"].values()] + [cost])


def main(argv: list[str]) -> None:
    del argv
    work = FLAGS.work_dir or tempfile.mkdtemp(prefix="wakeword_ablation_")
    costs: dict[str, float] = {}
    rows = []
    for name, train_flags in runs().items():
        folder = os.path.join(work, name.replace(" ", "_"))
        _run("wakeword.train", f"--phrase={FLAGS.phrase}", f"--output_dir={folder}",
             "--overwrite", *train_flags)
        _run("wakeword.evaluate", f"--model={folder}")
        with open(os.path.join(folder, "metrics.json"), encoding="utf-8") as saved:
            seconds = json.load(saved)["seconds"]
        costs = costs or seconds["sources"]
        rows.append(row(name, folder, costs))
        print(f"{name}: done ({seconds['total']:.0f} s)", file=sys.stderr)
    conditions = ("clean", "speech", "noise", "reverberant")
    header = (["run", "threshold"] + [f"recall {c}" for c in conditions]
              + ["FA/h speech", "near-misses fired"] + [f"recall {c} @0.5 FA/h" for c in conditions]
              + ["build time of the source left out"])
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    define_flags()
    cli.run(main)
