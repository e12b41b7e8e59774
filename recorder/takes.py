"""What the recorder does to one take the page sent: decode, check, resample, trim.

The page captures raw float32 PCM at its AudioContext's rate (usually 48 kHz) for
`--clip_seconds + RECORD_MARGIN_SECONDS`, since people start speaking a few hundred ms after
the prompt. Here the samples are checked, resampled to 16 kHz with `earshot.audio`, refused
when silent, and cut to the loudest `--clip_seconds` window (what Speech Commands'
`extract_loudest_section` did to its crowd-sourced clips). Background takes are kept whole.
"""

from __future__ import annotations

import numpy as np

from earshot import audio
from earshot.audio import SAMPLE_RATE
from earshot.errors import UserError
# Extra recording time for the reaction to the prompt; the server keeps the loudest clip.
RECORD_MARGIN_SECONDS = 0.5
# Level frames: 30 ms, the Speech Commands analysis window.
FRAME_SECONDS = 0.03
DEFAULT_MIN_LEVEL_DB = -50.0
# Background may be quiet, but not digitally silent (a muted microphone).
BACKGROUND_MIN_LEVEL_DB = -90.0
# A take is flagged as clipped when this share of its samples sits at full scale.
CLIP_LEVEL, CLIP_FRACTION = 0.999, 0.001
# Speech this close (dB) to the take's loudest frame in the clip's edge frame may be cut off.
EDGE_MARGIN_DB = 10.0


class MalformedTake(UserError):
    """Bytes that are not a capture at all (not whole float32 samples, NaN or Inf)."""


class RejectedTake(UserError):
    """A well-formed take that is no use for training (silent); the page shows why."""


def frame_levels_db(waveform: np.ndarray, frame: int) -> np.ndarray:
    """RMS level in dBFS of consecutive `frame`-sample frames: float64 `[ceil(n / frame)]`."""
    padded = np.pad(waveform.astype(np.float64), (0, -len(waveform) % frame))
    rms = np.sqrt(np.mean(padded.reshape(-1, frame) ** 2, axis=1))
    return 20.0 * np.log10(np.maximum(rms, 1e-10))


def loudest_window(waveform: np.ndarray, length: int) -> np.ndarray:
    """The `length`-sample stretch of `waveform` with the most energy (zero-padded at the end
    when shorter, as `decode_wav` pads Speech Commands clips): float32 `[length]`."""
    if len(waveform) <= length:
        return np.pad(waveform, (0, length - len(waveform))).astype(np.float32)
    energy = np.concatenate([[0.0], np.cumsum(waveform.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[length:] - energy[:-length]))
    return waveform[start:start + length].astype(np.float32)


def decode_take(body: bytes, source_rate: int) -> tuple[np.ndarray, list[str]]:
    """The page's little-endian float32 PCM -> (float32 `[samples]` in [-1, 1], warnings).

    Browsers may hand over samples a hair beyond full scale; those are clipped with a warning
    rather than refused, since the user can do nothing about them but lower the gain.

    Raises:
      MalformedTake: a partial sample, or NaN or Inf samples.
    """
    if len(body) % 4:
        raise MalformedTake(f"body of {len(body)} bytes is not whole float32 samples")
    samples = np.frombuffer(body, dtype="<f4").astype(np.float32)
    bad = ~np.isfinite(samples)
    if bad.any():
        raise MalformedTake(f"take has {int(bad.sum())} NaN or Inf samples (first at "
                            f"{int(np.argmax(bad)) / source_rate:.3f} s): the capture is broken")
    warnings = []
    if samples.size and np.mean(np.abs(samples) >= CLIP_LEVEL) > CLIP_FRACTION:
        warnings.append("the take is clipped (too loud): move back from the microphone or "
                        "lower its input gain")
    return np.clip(samples, -1.0, 1.0), warnings


def prepare_word_clip(samples: np.ndarray, source_rate: int, clip_samples: int,
                      min_level_db: float) -> tuple[np.ndarray, float, list[str]]:
    """A word take -> (float32 `[clip_samples]` at 16 kHz, loudest 30 ms in dBFS, warnings).

    Raises:
      RejectedTake: the take is silent (its loudest frame is below `min_level_db`).
    """
    waveform = audio.load(samples, SAMPLE_RATE, source_rate=source_rate)
    frame = int(FRAME_SECONDS * SAMPLE_RATE)
    level_db = float(frame_levels_db(waveform, frame).max())
    if level_db < min_level_db:
        raise RejectedTake(f"silent take: the loudest 30 ms reached {level_db:.0f} dBFS, below "
                           f"{min_level_db:.0f} dBFS. Check that the microphone is not muted, "
                           "then speak after pressing Record")
    clip = loudest_window(waveform, clip_samples)
    levels = frame_levels_db(clip, frame)
    warnings = []
    if len(waveform) > len(clip) and max(levels[0], levels[-1]) > level_db - EDGE_MARGIN_DB:
        warnings.append("speech reaches the edge of the clip and may be cut off: say the word "
                        "once, shortly after pressing Record")
    return clip, level_db, warnings


def prepare_background(samples: np.ndarray, source_rate: int) -> tuple[np.ndarray, float]:
    """A background take -> (float32 `[samples]` at 16 kHz, kept whole, loudest 30 ms in dBFS).

    Raises:
      RejectedTake: digital silence (a muted microphone).
    """
    waveform = audio.load(samples, SAMPLE_RATE, source_rate=source_rate)
    level_db = float(frame_levels_db(waveform, int(FRAME_SECONDS * SAMPLE_RATE)).max())
    if level_db < BACKGROUND_MIN_LEVEL_DB:
        raise RejectedTake("silent background take: the microphone delivered digital silence "
                           "(is it muted?)")
    return waveform, level_db
