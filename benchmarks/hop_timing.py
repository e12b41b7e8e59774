"""What the streaming benchmarks share: synthesized speech, and CPU time per hop of a stream."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from earshot import tts
from earshot.audio import SAMPLE_RATE
WARMUP_HOPS = 25  # run untimed first: LiteRT and onnxruntime set up on the first calls


def speech(text: str, seconds: float) -> np.ndarray:
    """`text` spoken by the first synthetic speaker, repeated to `seconds`: float32 `[n]`
    in [-1, 1] at 16 kHz."""
    phrase = tts.speak(text, tts.speakers(1)[0])
    samples = int(seconds * SAMPLE_RATE)
    return np.tile(phrase, int(np.ceil(samples / phrase.size)))[:samples]


def cpu_ms_per_hop(step: Callable[[np.ndarray], object], hops: np.ndarray) -> float:
    """Process CPU time in ms per call of `step` on each row of `hops` `[n, hop_samples]`,
    after `WARMUP_HOPS` untimed calls."""
    for hop in hops[:WARMUP_HOPS]:
        step(hop)
    start = time.process_time()
    for hop in hops:
        step(hop)
    return (time.process_time() - start) * 1000 / len(hops)
