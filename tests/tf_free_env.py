"""Fixture `tf_free_python`: the python of a fresh virtualenv without TensorFlow.

The runtime that deploys earshot's TFLite models (`listen`, the keyword spotter, VGGish TFLite)
is `ai-edge-litert`, numpy, soundfile, soxr and absl-py, with the project installed without its
dependencies, as on a Raspberry Pi. The fixture builds that environment once per test session
and returns the path of its python; a test runs code there in a subprocess:

    def test_something(tf_free_python, tmp_path):
        subprocess.run([tf_free_python, "-m", "speech_commands.listen", ...], check=True)

The project is installed from a copy of its packages (not editable), so a module that the
packaging leaves out, or an import of TensorFlow on the TF-free path, fails there as it would
on the device. pip's own cache (~/.cache/pip) keeps the downloads between sessions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from absl import logging

# What `pip install` brings in besides the project; kept in step with the README's install line.
RUNTIME_REQUIREMENTS = ("ai-edge-litert", "numpy", "soundfile", "soxr", "absl-py")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _project_copy(destination: str) -> str:
    """setup.py and the top-level packages, without caches, virtualenvs or build output."""
    os.makedirs(destination)
    shutil.copy(os.path.join(ROOT, "setup.py"), destination)
    for name in os.listdir(ROOT):
        if os.path.isfile(os.path.join(ROOT, name, "__init__.py")):
            shutil.copytree(os.path.join(ROOT, name), os.path.join(destination, name),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return destination


def build(directory: str) -> str:
    """Creates the TF-free virtualenv in `directory` and returns its python."""
    started = time.monotonic()
    venv = os.path.join(directory, "venv")
    # The running interpreter's pip serves the new venv, which saves bootstrapping its own.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
    subprocess.run([*pip, *RUNTIME_REQUIREMENTS], check=True)
    subprocess.run([*pip, "--no-deps", _project_copy(os.path.join(directory, "project"))],
                   check=True)
    logging.info("built the TF-free environment in %.0f s", time.monotonic() - started)
    return python


@pytest.fixture(scope="session")
def tf_free_python(tmp_path_factory) -> str:
    """Path of the python of a virtualenv with the LiteRT runtime and earshot, no TensorFlow."""
    return build(str(tmp_path_factory.mktemp("tf_free")))
