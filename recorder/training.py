"""Training on the recorded clips from the page: the existing trainer and exporter, run as
subprocesses, their output kept for the page to show as it comes.

The live page's Train button runs, one after the other,

    python -m speech_commands.train <the recording page's command> TRAIN_FLAGS \
        --train_dir=MODEL --summaries_dir=MODEL/logs
    python -m speech_commands.export_kws --model_dir=MODEL

so that MODEL (the recorder's `--model_dir`) is a training run whose `export/` the page then runs
(`live_model` reads a run folder as `speech_commands.listen` does). The tools run as programs,
not imported: the recorder stays free of TensorFlow, and a tool never imports another tool.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
from typing import Any

from earshot.errors import UserError

# speech_commands/README.md's settings for embedding_head (seconds on cached embeddings).
TRAIN_FLAGS = ("--optimizer=adam", "--learning_rate=0.002,0.0005",
               "--how_many_training_steps=800,200", "--batch_size=64",
               "--eval_step_interval=250")
IDLE, RUNNING, DONE, FAILED = "idle", "running", "done", "failed"


class AlreadyRunning(UserError):
    """Training asked for while a training job runs."""


def commands(train_command: str, model_dir: str) -> list[list[str]]:
    """The programs a job runs: the recording page's training command (`Dataset.
    train_command`, `python -m speech_commands.train ...`) into `model_dir`, then the export."""
    train = shlex.split(train_command)
    return [[sys.executable, *train[1:], *TRAIN_FLAGS, f"--train_dir={model_dir}",
             f"--summaries_dir={os.path.join(model_dir, 'logs')}"],
            [sys.executable, "-m", "speech_commands.export_kws", f"--model_dir={model_dir}"]]


class TrainingJob:
    """One training job at a time, on a thread; its output lines as they come."""

    def __init__(self):
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self.state = IDLE

    def start(self, train_command: str, model_dir: str) -> None:
        """Starts training and export in the background.

        Raises:
          AlreadyRunning: a job is running.
        """
        with self._lock:
            if self.state == RUNNING:
                raise AlreadyRunning("training is already running")
            self.state = RUNNING
            self._lines = []
        threading.Thread(target=self._run, args=(commands(train_command, model_dir),),
                         daemon=True).start()

    def _run(self, programs: list[list[str]]) -> None:
        for program in programs:
            self._add("$ " + shlex.join(["python", *program[1:]]))
            process = subprocess.Popen(program, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, text=True, bufsize=1)
            for line in process.stdout:
                self._add(line.rstrip("\n"))
            if process.wait() != 0:
                self._finish(FAILED, f"{program[2]} failed (exit status {process.returncode})")
                return
        self._finish(DONE, "trained and exported: listening with the new model")

    def _add(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    def _finish(self, state: str, line: str) -> None:
        with self._lock:
            self._lines.append(line)
            self.state = state

    def progress(self, since: int = 0) -> dict[str, Any]:
        """{"state", "lines": the lines from number `since` on, "next": the number after}."""
        with self._lock:
            return {"state": self.state, "lines": self._lines[since:], "next": len(self._lines)}
