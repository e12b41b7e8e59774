"""Stateful streaming TFLite models driven hop by hop on LiteRT, and the audio fed to them.

The streaming exports (`speech_commands.export_kws`'s `streaming_kws.tflite`,
`wakeword.train`'s `wakeword.tflite`) take one hop of new samples under the input name
`samples` plus their state tensors, and return their scores plus the new states under the
same names. `HopStream` holds those states between calls (zeros at the start of a stream),
cuts audio of any length into hops and says when a stream ended before its first score;
`input_chunks` reads a file, or raw 16-bit PCM on stdin, for it; `Sidecar` is the JSON record
beside a model that its users need. Imports no TensorFlow: this is what the `listen` tools run
on a device.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import BinaryIO, Iterator, TypeVar

import numpy as np

from earshot import audio, fileio, litert, quiet

SAMPLES = "samples"  # the hop's audio input of every streaming export
INT16_SCALE = 32768.0  # raw PCM: int16 / 32768 -> [-1, 1)

SidecarT = TypeVar("SidecarT", bound="Sidecar")


class Sidecar:
    """Base of the frozen dataclasses saved as JSON beside a streaming model (the spotter's
    timing, the wake word's manifest): what a device needs besides the model to use it."""

    def write(self, path: str) -> None:
        with fileio.atomic_open(path, "w") as out:
            json.dump(dataclasses.asdict(self), out, indent=2)

    @classmethod
    def read_file(cls: type[SidecarT], path: str, error: type[Exception], what: str,
                  missing: str) -> SidecarT:
        """The record in `path`; `error(missing)` if there is no file, `error` naming the file
        and `what` it should hold if it is not JSON with this class's fields."""
        if not os.path.isfile(path):
            raise error(missing)
        try:
            with open(path, encoding="utf-8") as record:
                return cls(**json.load(record))
        except (ValueError, TypeError) as problem:
            raise error(f"{path}: unreadable {what} ({problem})") from problem


def load_runner(path: str, required: tuple[str, ...] = (SAMPLES,),
                num_threads: int | None = None) -> litert.SignatureRunner:
    """The signature runner of a streaming model, its inputs including `required`.

    Raises:
      FileNotFoundError: no file at `path`.
      ValueError: not a TFLite model, or not one signature with the `required` inputs.
    """
    with quiet.native_stderr_silenced():  # LiteRT announces its XNNPACK delegate on fd 2
        interpreter = litert.load(path, num_threads=num_threads)
    return litert.signature_runner(interpreter, required=required)


class Hops:
    """Cuts a stream pushed in pieces of any length into hops of `hop_samples` float32
    samples; what is left over waits for the next push.

    Attributes:
      received: samples pushed since the last `clear`.
    """

    def __init__(self, hop_samples: int):
        self.hop_samples = hop_samples
        self.clear()

    def clear(self) -> None:
        self._pending = np.zeros(0, np.float32)
        self.received = 0

    def push(self, samples: np.ndarray) -> list[np.ndarray]:
        """The hops completed by `samples`, in order."""
        samples = np.asarray(samples, np.float32)
        self.received += samples.size
        self._pending = np.concatenate([self._pending, samples])
        size, count = self.hop_samples, self._pending.size // self.hop_samples
        hops = [self._pending[index * size:(index + 1) * size] for index in range(count)]
        self._pending = self._pending[count * size:]
        return hops


class HopStream:
    """Feeds a streaming model's states back hop by hop; the base of the models' streams,
    which turn the outputs into what their tools act on.

    Every input of the runner other than `samples` is a state: zeros at the start of a stream,
    then the output of the same name from the hop before.

    Attributes:
      hop: hops run since the start of the stream.
      first_scored_hop: the first hop whose window holds only audio of the stream; a model
        scores no earlier hop.
    """

    def __init__(self, runner: litert.SignatureRunner, hop_samples: int, first_scored_hop: int,
                 sample_rate: int):
        self._runner = runner
        self.hop_samples = hop_samples
        self.first_scored_hop = first_scored_hop
        self.sample_rate = sample_rate
        self._state_specs = {name: (tuple(d["shape"]), d["dtype"])
                             for name, d in runner.get_input_details().items() if name != SAMPLES}
        self.reset()

    def reset(self) -> None:
        """Back to the start of a stream (zero states, hop 0, no pending samples)."""
        self._state = {name: np.zeros(shape, dtype)
                       for name, (shape, dtype) in self._state_specs.items()}
        self._hops = Hops(self.hop_samples)
        self.hop = 0

    def run_hop(self, samples: np.ndarray) -> dict[str, np.ndarray]:
        """One hop of exactly `hop_samples` float32 samples -> the model's outputs by name."""
        outputs = self._runner(**{SAMPLES: samples}, **self._state)
        self._state = {name: outputs[name] for name in self._state}
        self.hop += 1
        return outputs

    def run(self, samples: np.ndarray) -> list[tuple[int, dict[str, np.ndarray]]]:
        """[(hop, outputs)] of every hop completed by `samples` (any length; the rest waits)."""
        return [(self.hop, self.run_hop(hop)) for hop in self._hops.push(samples)]

    @property
    def min_samples(self) -> int:
        """Samples a stream needs for the model's first score."""
        return (self.first_scored_hop + 1) * self.hop_samples

    def check_scored(self, source: str) -> None:
        """Raises AudioError if the stream (`source`, '-' for stdin) ended before the first
        score: a tool that then reports no detection would say "nothing heard" of audio it
        never judged."""
        if self.hop > self.first_scored_hop:
            return
        name = "stdin" if source == "-" else source
        received = self._hops.received
        raise audio.AudioError(
            f"{name}: {received / self.sample_rate:.4f} s of audio is too short: the model's "
            f"first score needs {self.min_samples / self.sample_rate:.2f} s "
            f"({self.min_samples} samples at {self.sample_rate} Hz)")


def float_samples(pcm: np.ndarray) -> np.ndarray:
    """float32 samples in [-1, 1]: int16 PCM is scaled by 1/32768, floats are kept."""
    pcm = np.asarray(pcm)
    if pcm.dtype.kind == "i" and pcm.dtype.itemsize == 2:
        return pcm.astype(np.float32) / INT16_SCALE
    return pcm.astype(np.float32, copy=False)


def pcm_chunks(stream: BinaryIO, samples: int) -> Iterator[np.ndarray]:
    """float32 chunks in [-1, 1) of raw int16 little-endian mono PCM, until end of stream.

    Each read asks for `samples` samples; an odd trailing byte waits for the next read.
    """
    leftover = b""
    while True:
        data = stream.read(samples * 2)
        if not data:
            return
        data = leftover + data
        usable = len(data) - len(data) % 2
        leftover = data[usable:]
        yield float_samples(np.frombuffer(data[:usable], "<i2"))


def input_chunks(source: str, sample_rate: int, samples: int,
                 stdin: BinaryIO | None = None) -> Iterator[np.ndarray]:
    """float32 audio of `source` at `sample_rate` Hz, in chunks of at most `samples`.

    `source` '-' is raw 16-bit PCM on `stdin` (already at `sample_rate`), read `samples` at a
    time so results print as it arrives; anything else is an audio file, decoded and resampled
    by `earshot.audio.stream` in blocks of varying size, which are cut to `samples`. Either
    way a hop completed by a chunk ends at most `samples` before the chunk's last sample,
    which bounds how much recent audio a tool must keep to look back from a detection.
    """
    if source == "-":
        return pcm_chunks(stdin, samples)
    return (block[start:start + samples] for block in audio.stream(source, sample_rate)
            for start in range(0, block.size, samples))
