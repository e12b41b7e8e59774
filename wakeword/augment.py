"""Rooms, noise and gain: what separates a synthesized phrase from one heard by a device.

* Rooms: shoebox rooms of random size with the source and microphone at random places;
  pyroomacoustics' image-source method gives the early reflections (order capped so a room
  costs tens of ms), and an exponentially decaying noise tail with the room's RT60 (0.2-1.0 s,
  Sabine) gives the late reverberation the capped order leaves out, as hybrid simulators do.
* Noise: white, pink and brown noise, babble (several voices at once), or ordinary speech,
  mixed at a random SNR (dB, by mean power over the active part of the speech).
* Gain: the level of the result, as a peak in dBFS.
* Voice: what one synthesizer's voices share and another's lack. Resampling by a factor
  (played back at 16 kHz) scales formants and pitch together, as a longer or shorter vocal
  tract would (vocal tract length perturbation); a random smooth equalizer changes the
  spectral envelope the way another engine's source, or another microphone, would. Without
  them a head learns espeak-ng's own formant signature and misses other engines' phrases.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.signal
import soxr

from earshot.audio import SAMPLE_RATE
RT60_RANGE = (0.2, 1.0)  # seconds
MAX_IMAGE_ORDER = 12
TAIL_START_S = 0.04  # the stochastic tail takes over from the image sources after this
VOICE_WARP_RANGE = (0.86, 1.16)  # resampling factor; formants scale by its inverse
EQ_BANDS_HZ = (100, 200, 400, 800, 1600, 3200, 6400, 8000)
EQ_RANGE_DB = 8.0  # each band's gain is uniform in +-EQ_RANGE_DB / 2
NOISE_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # power spectrum ~ 1 / f**exponent


def room_impulse_response(rng: np.random.Generator, rt60: float | None = None) -> np.ndarray:
    """float32 `[n]`: a random shoebox room's response from a source to a microphone, peak 1."""
    import pyroomacoustics  # only training and evaluation need it, not scoring or listening
    rt60 = float(rng.uniform(*RT60_RANGE)) if rt60 is None else rt60
    dims = rng.uniform((3.0, 3.0, 2.4), (10.0, 8.0, 4.0))
    absorption, max_order = pyroomacoustics.inverse_sabine(rt60, dims)
    room = pyroomacoustics.ShoeBox(dims, fs=SAMPLE_RATE, materials=pyroomacoustics.Material(
        min(absorption, 1.0)), max_order=min(max_order, MAX_IMAGE_ORDER))
    source, mic = (rng.uniform(0.5, dims - 0.5) for _ in range(2))
    room.add_source(source)
    room.add_microphone(mic)
    room.compute_rir()
    early = np.asarray(room.rir[0][0], np.float64)
    length = int(rt60 * SAMPLE_RATE)
    tail_start = int(np.argmax(np.abs(early))) + int(TAIL_START_S * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    decay = np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail = rng.standard_normal(length) * decay
    # The tail continues the early part's energy where it takes over.
    reference = np.sqrt(np.mean(early[tail_start:tail_start + 400] ** 2) + 1e-12)
    response = np.zeros(tail_start + length)
    response[:early.size] = early[:response.size]
    response[tail_start:] += tail * reference
    return (response / np.max(np.abs(response))).astype(np.float32)


def reverberate(waveform: np.ndarray, response: np.ndarray) -> np.ndarray:
    """`waveform` heard through `response`, same length, aligned on the direct path."""
    delay = int(np.argmax(np.abs(response)))
    wet = scipy.signal.fftconvolve(waveform, response)[delay:delay + waveform.size]
    return wet.astype(np.float32)


def coloured_noise(rng: np.random.Generator, samples: int, colour: str) -> np.ndarray:
    """float32 `[samples]` noise of RMS 1 with the spectrum of `colour`.

    Shaped at a length the FFT is fast at (`next_fast_len`) and cut: a length with a large
    prime factor, as a real recording's has, costs the FFT tens of times more. White noise
    needs no shaping: the same draws, cut, are what the round trip through the FFT gives
    (to 1e-15), at a tenth of the cost (every stream's noise floor is white)."""
    length = scipy.fft.next_fast_len(samples, real=True)
    if NOISE_COLOURS[colour] == 0.0:
        noise = rng.standard_normal(length)[:samples]
        return (noise / (np.std(noise) + 1e-12)).astype(np.float32)
    spectrum = np.fft.rfft(rng.standard_normal(length))
    frequencies = np.maximum(np.fft.rfftfreq(length, 1.0 / SAMPLE_RATE), 20.0)
    spectrum /= frequencies ** (NOISE_COLOURS[colour] / 2)
    noise = np.fft.irfft(spectrum, length)[:samples]
    return (noise / (np.std(noise) + 1e-12)).astype(np.float32)


def active_power(waveform: np.ndarray, frame: int = 400) -> float:
    """Mean power of the frames within 30 dB of the loudest (the speech, not its pauses)."""
    frames = waveform[:waveform.size // frame * frame].reshape(-1, frame)
    if not frames.size:
        return float(np.mean(waveform ** 2) + 1e-12)
    power = np.mean(frames ** 2, axis=1)
    return float(np.mean(power[power >= power.max() * 1e-3]) + 1e-12)


def mix(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """`signal` plus `noise` (tiled or cut to length) scaled to `snr_db` below it."""
    if noise.size < signal.size:
        noise = np.tile(noise, signal.size // noise.size + 1)
    noise = noise[:signal.size]
    scale = np.sqrt(active_power(signal) / (active_power(noise) * 10 ** (snr_db / 10)))
    return (signal + scale * noise).astype(np.float32)


def set_peak(waveform: np.ndarray, peak_dbfs: float) -> np.ndarray:
    """`waveform` scaled so its peak is `peak_dbfs` dB below full scale."""
    peak = np.max(np.abs(waveform)) + 1e-9
    return (waveform * (10 ** (peak_dbfs / 20) / peak)).astype(np.float32)


def speech_extent(waveform: np.ndarray, frame: int = 160, floor_db: float = -40.0
                  ) -> tuple[int, int]:
    """(first, last + 1) sample of the frames within `floor_db` of the loudest: where the words are."""
    frames = waveform[:waveform.size // frame * frame].reshape(-1, frame)
    power = np.mean(frames ** 2, axis=1) + 1e-12
    active = np.flatnonzero(10 * np.log10(power / power.max()) > floor_db)
    if not active.size:
        return 0, waveform.size
    return int(active[0] * frame), int((active[-1] + 1) * frame)


def warp_voice(waveform: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """float32: `waveform` resampled by a factor in VOICE_WARP_RANGE and heard at 16 kHz
    (factor > 1: lower formants and pitch, slower speech)."""
    factor = float(rng.uniform(*VOICE_WARP_RANGE))
    return soxr.resample(waveform, SAMPLE_RATE, SAMPLE_RATE * factor).astype(np.float32)


def equalize(waveform: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """float32: `waveform` through a random smooth equalizer (gains at EQ_BANDS_HZ, linear
    in log frequency between them), same length and peak."""
    length = scipy.fft.next_fast_len(waveform.size, real=True)  # zero-padded: fast (see above)
    spectrum = np.fft.rfft(waveform, length)
    frequencies = np.maximum(np.fft.rfftfreq(length, 1.0 / SAMPLE_RATE), EQ_BANDS_HZ[0])
    gains_db = rng.uniform(-EQ_RANGE_DB / 2, EQ_RANGE_DB / 2, len(EQ_BANDS_HZ))
    gain = 10 ** (np.interp(np.log(frequencies), np.log(EQ_BANDS_HZ), gains_db) / 20)
    out = np.fft.irfft(spectrum * gain, length)[:waveform.size]
    return (out * (np.max(np.abs(waveform)) / (np.max(np.abs(out)) + 1e-12))).astype(np.float32)
