"""Every tool's flags follow the one vocabulary of the top README's "Flags" table (issue 21).

A model folder is `--model_dir`, the audio a tool reads is `--input` (a comma list), the one
file it writes `--output`, the folder it writes `--output_dir`, a dataset `--data_dir`; `--model`
names a model, never a folder; a required flag says so in its DEFINE (`required=True`). The
reference-compatible tools keep the TensorFlow speech_commands example's names, and are
excepted here by name.

The flags are collected as absl sees them, without running any tool: in one subprocess, each
tool module is imported and its `__main__` block run up to, not including, its final
`cli.run(main)`, so the flags defined by shared helpers (`settings.define_flags`,
`speaker_embedding.cli.define_flags`, `vggish.weights.define_flags`) are counted too.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import sys

import pytest

import programs

ROOT = programs.ROOT

# The tools that mirror the TensorFlow speech_commands example (../shared/reference/
# speech_commands.md), with the reference's flag names for what this vocabulary names
# otherwise: they keep them, so the reference's command lines run unchanged.
REFERENCE_TOOLS = {
    "speech_commands.train": {"train_dir", "data_dir", "start_checkpoint"},
    "speech_commands.freeze": {"start_checkpoint", "output_file"},
    "speech_commands.label_wav": {"wav", "graph", "labels"},
    "speech_commands.wav_to_features": {"input_wav", "output_c_file"},
    "speech_commands.wav_to_spectrogram": {"input_wav", "output_image"},
    "speech_commands.generate_streaming_test_wav": {"output_audio_file", "output_labels_file"},
    "speech_commands.streaming_accuracy": {"wav", "graph", "labels", "ground_truth"},
}

# Names the vocabulary replaced, and the name it uses instead.
SYNONYMS = {
    "model_path": "model_dir", "weights_path": "model_dir", "weights": "model_dir",
    "speaker_model": "speaker_model_dir", "train_dir": "model_dir", "checkpoint_dir": "model_dir",
    "wav": "input", "input_wav": "input", "audio": "input", "audio_file": "input",
    "input_file": "input", "inputs": "input",
    "output_file": "output", "output_path": "output", "out": "output",
    "out_dir": "output_dir", "output_folder": "output_dir", "work_dir": "output_dir",
    "dataset_dir": "data_dir", "data_path": "data_dir", "force_overwrite": "overwrite",
}
# Endings that name a path without saying whether it is a file or a folder, or a model
# without saying it is a folder.
SYNONYM_ENDINGS = ("_path", "_folder", "_model", "_wav")

# The vocabulary's names, and the absl type each has in every tool.
TYPES = {"model_dir": "string", "speaker_model_dir": "string", "output": "string",
         "output_dir": "string", "data_dir": "string", "overwrite": "bool", "seed": "int"}
# The tools that read one stream (a file, or '-' for raw PCM on stdin): their --input is a
# string; everywhere else it is a comma list (flags.DEFINE_list).
STREAM_TOOLS = {"speech_commands.listen", "wakeword.listen"}
# A help text that says the flag is a folder (MODEL_DIR/x.json is a file in one).
FOLDER = re.compile(r"(?i:\bfolders?\b|\bdirectory\b)|\bDIR\b")
LIST = "comma separated list of strings"  # absl's type name of a DEFINE_list flag

COLLECT = r"""
import ast, importlib, json, sys
from absl import flags

def collect(tool):
    module = importlib.import_module(tool + ".__main__" if tool == "recorder" else tool)
    with open(module.__file__, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    block = [node for node in tree.body if isinstance(node, ast.If)
             and ast.unparse(node.test) == "__name__ == '__main__'"][0].body
    last = block[-1]
    assert (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and ast.unparse(last.value.func).endswith(".run")), tool + ": no final cli.run(main)"
    before = set(flags.FLAGS)
    exec(compile(ast.Module(block[:-1], []), module.__file__, "exec"), vars(module))
    defined = {}
    for name in set(flags.FLAGS) - before:
        flag = flags.FLAGS[name]
        defined[name] = {"type": flag.flag_type(), "help": flag.help}
        delattr(flags.FLAGS, name)
    return defined

print(json.dumps({tool: collect(tool) for tool in sys.argv[1:]}))
"""


@functools.lru_cache(maxsize=None)
def tool_flags() -> dict[str, dict[str, dict[str, str]]]:
    """tool -> flag name -> {"type": absl's type name, "help": its help text}."""
    tools = sorted(programs.discovered_entry_points())
    result = subprocess.run([sys.executable, "-c", COLLECT, *tools], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def vocabulary_tools() -> list[str]:
    return sorted(programs.discovered_entry_points() - set(REFERENCE_TOOLS))


def naming_problems(tool: str, defined: dict[str, dict[str, str]]) -> list[str]:
    """What in one tool's flags breaks the vocabulary (empty: nothing)."""
    problems = []
    for name, flag in sorted(defined.items()):
        if name in SYNONYMS:
            problems.append(f"--{name}: the vocabulary's name is --{SYNONYMS[name]}")
        elif name.endswith(SYNONYM_ENDINGS):
            problems.append(f"--{name}: a model folder is --model_dir, a file --output or "
                            "--input, a folder --..._dir")
        if name in TYPES and flag["type"] != TYPES[name]:
            problems.append(f"--{name} is a {flag['type']} flag, not a {TYPES[name]}")
        if name == "model" and FOLDER.search(flag["help"]):
            problems.append("--model names a model; a model folder is --model_dir")
        if name == "output" and FOLDER.search(flag["help"]):
            problems.append("--output is one file; a folder to write is --output_dir")
    if "input" in defined:
        wanted = "string" if tool in STREAM_TOOLS else LIST
        if defined["input"]["type"] != wanted:
            problems.append(f"--input is a {defined['input']['type']} flag, not a {wanted}")
    return problems


@pytest.mark.parametrize("tool", vocabulary_tools())
def test_flags_follow_the_vocabulary(tool):
    assert naming_problems(tool, tool_flags()[tool]) == []


def test_the_rules_catch_the_old_names():
    """The names this vocabulary replaced would fail it (the test can fail)."""
    old = {"model": {"type": "string", "help": "Model folder written by wakeword.train."},
           "speaker_model": {"type": "string", "help": "The speaker_embedding model folder."},
           "weights_path": {"type": "string", "help": "Folder from vggish.convert."},
           "audio": {"type": LIST, "help": "Audio files."},
           "input": {"type": "string", "help": "Comma-separated audio files."},
           "output": {"type": "string", "help": "Weights folder to write."}}
    assert len(naming_problems("vggish.embed", old)) == len(old)


@pytest.mark.parametrize("tool", sorted(REFERENCE_TOOLS))
def test_reference_tools_keep_the_reference_names(tool):
    assert REFERENCE_TOOLS[tool] <= set(tool_flags()[tool])


def test_stream_tools_are_tools():
    assert STREAM_TOOLS <= programs.discovered_entry_points()


def test_required_flags_are_declared_in_their_define():
    """`required=True` in the DEFINE, never `flags.mark_flag(s)_as_required` after it."""
    marked = []
    for folder, _, names in os.walk(ROOT):
        relative = os.path.relpath(folder, ROOT)
        if relative.split(os.sep)[0] in (".venv", ".git", "tests"):
            continue
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as source:
                    tree = ast.parse(source.read(), path)
                marked += [f"{os.path.relpath(path, ROOT)}:{node.lineno}"
                           for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                           and node.attr in ("mark_flag_as_required", "mark_flags_as_required")]
    assert marked == []
