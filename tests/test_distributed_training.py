"""Training on two workers: `speech_commands.train --distribution_strategy=multi_worker_mirrored`.

Two processes on 127.0.0.1, each with its TF_CONFIG, train one tiny_conv run: both step in
lockstep on halves of the same global batch, the chief alone writes the run folder, and a
run resumed from its checkpoint on two workers continues it step for step.
"""

import json
import os
import re
import socket
import subprocess
import sys

import numpy as np
import pytest

from earshot import distribution
from speech_commands import synthetic_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 40
SAVE_EVERY = 20
TRAIN_FLAGS = ["--model_architecture=tiny_conv", f"--how_many_training_steps={STEPS}",
               "--learning_rate=0.003", "--optimizer=momentum", "--batch_size=32",
               f"--eval_step_interval={SAVE_EVERY}", f"--save_step_interval={SAVE_EVERY}",
               "--wanted_words=yes,no", "--data_url=", "--seed=1",
               "--validation_percentage=25", "--testing_percentage=25",
               "--distribution_strategy=multi_worker_mirrored"]
STEP_LINE = re.compile(r"Step #(\d+): rate [\d.]+, accuracy [\d.]+%, cross entropy ([\d.]+)")


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def train_on_two_workers(folders: list[str], *flags: str) -> list[dict[int, float]]:
    """Runs `speech_commands.train` as workers 0 and 1, worker i with `--train_dir` and
    `--summaries_dir` in `folders[i]`; returns each one's {step: cross entropy}."""
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index, folder in enumerate(folders):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(config))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "speech_commands.train", *TRAIN_FLAGS, *flags,
             f"--train_dir={os.path.join(folder, 'train')}",
             f"--summaries_dir={os.path.join(folder, 'logs')}"], cwd=ROOT,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = [process.communicate(timeout=900)[0] for process in processes]
    for process, log in zip(processes, logs):
        assert process.returncode == 0, log[-3000:]
    return [{int(step): float(loss) for step, loss in STEP_LINE.findall(log)} for log in logs]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("speech") / "data")
    synthetic_dataset.synthesize(folder, ["yes", "no"], ["cat", "dog"], speakers=12,
                                 repetitions=2, background_seconds=8.0,
                                 validation_percentage=25, testing_percentage=25, seed=2)
    return folder


def files_in(folder: str) -> list[str]:
    return [os.path.join(root, name) for root, _, names in os.walk(folder) for name in names]


def test_two_workers_step_together_write_one_checkpoint_series_and_resume(data_dir, tmp_path):
    # Worker 1 gets folders of its own (a real cluster shares one): they must stay empty.
    chief, worker = str(tmp_path / "chief"), str(tmp_path / "worker")
    losses = train_on_two_workers([chief, worker], f"--data_dir={data_dir}")
    assert [sorted(steps) for steps in losses] == [list(range(1, STEPS + 1))] * 2
    # Each worker prints the loss of the whole global batch, all-reduced: the same numbers.
    assert losses[0] == losses[1]
    curve = np.array([losses[0][step] for step in range(1, STEPS + 1)])
    assert curve[-10:].mean() < 0.8 * curve[:10].mean()
    train_dir = os.path.join(chief, "train")
    checkpoints = sorted(name for name in os.listdir(train_dir) if ".ckpt-" in name)
    assert checkpoints == [f"tiny_conv.ckpt-{step}.{part}" for step in (SAVE_EVERY, STEPS)
                           for part in ("data-00000-of-00001", "index")]
    assert "settings.json" in os.listdir(train_dir)
    assert files_in(os.path.join(chief, "logs"))
    assert not [name for name in os.listdir(train_dir) if name.startswith(".")]
    assert files_in(worker) == []

    resumed = train_on_two_workers(
        [str(tmp_path / "chief2"), str(tmp_path / "worker2")], f"--data_dir={data_dir}",
        f"--start_checkpoint={os.path.join(train_dir, f'tiny_conv.ckpt-{SAVE_EVERY}')}")
    assert sorted(resumed[0]) == list(range(SAVE_EVERY + 1, STEPS + 1))
    assert resumed[0] == resumed[1] == {step: losses[0][step]
                                        for step in range(SAVE_EVERY + 1, STEPS + 1)}


def test_multi_worker_strategy_needs_tf_config(monkeypatch):
    monkeypatch.setenv(distribution.TF_CONFIG, "{\"task\": {}}")
    with pytest.raises(ValueError, match="needs TF_CONFIG with cluster.worker and task"):
        distribution.make("multi_worker_mirrored")
    with pytest.raises(ValueError, match="unknown --distribution_strategy=ring"):
        distribution.make("ring")
