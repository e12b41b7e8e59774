r"""A synthetic Speech Commands dataset (v0.02 layout) spoken by espeak-ng.

The real dataset cannot be downloaded where earshot is developed, so this stands in for it:

    DIR/<word>/<speaker>_nohash_<k>.wav    16 kHz, 16-bit mono, exactly 1 s
    DIR/_background_noise_/<kind>.wav      minutes of white, pink, brown noise, hum,
                                           running tap and babble
    DIR/validation_list.txt, DIR/testing_list.txt   `word/file.wav` lines, from `which_set`

A speaker is one espeak-ng accent, voice variant, pitch and speed (`earshot.tts.Speaker`),
used for every word it says, so the hash of its id puts all its clips in one split, as for
real speakers. Speakers are picked so that each split gets its share of them (at least one
in validation and testing), which a handful of speakers would otherwise leave to luck.
Repetitions `k > 0` jitter pitch and speed slightly; every clip gets its own loudness,
position inside the second and a faint noise floor.

`python -m speech_commands.synthesize` writes one; `demo_dataset` is the demo's, made once
per cache.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import random
import zlib

import numpy as np
from absl import logging

from earshot import audio, fileio, progress, tts
from earshot.audio import SAMPLE_RATE
from earshot.errors import UserError
from speech_commands import dataset
from speech_commands.settings import DEFAULT_WANTED_WORDS
from speech_commands.split import which_set

CLIP_SAMPLES = SAMPLE_RATE  # 1 s clips, as in the real dataset.
DEFAULT_WORDS = DEFAULT_WANTED_WORDS
# The other 25 words of Speech Commands v0.02.
DEFAULT_UNKNOWN_WORDS = ("bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house",
                         "marvin", "nine", "one", "seven", "sheila", "six", "three", "tree", "two",
                         "wow", "zero", "backward", "follow", "forward", "learn", "visual")
BACKGROUND_KINDS = ("white_noise", "pink_noise", "brown_noise", "hum", "running_tap", "babble")
# Clips: peak level range, noise floor range (RMS), and the level that counts as speech.
PEAK_RANGE = (0.25, 0.9)
NOISE_FLOOR_RANGE = (0.0005, 0.003)
VOICED_THRESHOLD = 0.02
# Repetition jitter of pitch (0-99 scale) and speed (words per minute).
PITCH_JITTER = 6
SPEED_JITTER = 12
BABBLE_TEXT = ("the quick brown fox jumps over the lazy dog while people talk about the weather, "
               "the news, their work and what they plan to cook for dinner tonight")
BABBLE_VOICES = 6


class SynthesisError(UserError, ValueError):
    """Synthesis settings that cannot make a dataset."""


# The demo's dataset: 60 speakers x 35 words, 1 take each; ~48 train, ~6 validate, ~6 test.
DEMO_SPEAKERS = 60
DEMO_SEED = 0


def pick_speakers(count: int, validation_percentage: float, testing_percentage: float,
                  seed: int = 0) -> list[tts.Speaker]:
    """`count` speakers whose `which_set` splits hold their share of the speakers.

    Validation and testing each get `round(count * pct / 100)` speakers (at least one when the
    percentage is positive); the rest are training speakers.
    """
    quotas = {}
    for mode, percentage in (("validation", validation_percentage),
                             ("testing", testing_percentage)):
        quotas[mode] = max(1, round(count * percentage / 100)) if percentage > 0 else 0
    quotas["training"] = count - quotas["validation"] - quotas["testing"]
    if quotas["training"] < 1:
        raise SynthesisError(f"--speakers={count} leaves no training speaker after "
                         f"{quotas['validation']} validation and {quotas['testing']} testing "
                         "speakers")
    chosen = []
    for speaker in tts.speakers(count * 50, seed):
        mode = which_set(f"{speaker.id}_nohash_0.wav", validation_percentage,
                                    testing_percentage)
        if quotas[mode] > 0:
            quotas[mode] -= 1
            chosen.append(speaker)
        if len(chosen) == count:
            return chosen
    raise SynthesisError(f"could not fill the splits with {count} speakers: {quotas} left")


def repetition_voice(speaker: tts.Speaker, repetition: int) -> tts.Speaker:
    """The speaker's voice for repetition k: itself for k = 0, slightly varied after."""
    if repetition == 0:
        return speaker
    rng = random.Random(f"{speaker.id}/{repetition}")
    return dataclasses.replace(
        speaker,
        pitch=int(np.clip(speaker.pitch + rng.randint(-PITCH_JITTER, PITCH_JITTER), 0, 99)),
        speed=max(80, speaker.speed + rng.randint(-SPEED_JITTER, SPEED_JITTER)))


def fit_clip(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Speech -> float32 `[CLIP_SAMPLES]`: voiced part at a random position and loudness.

    The voiced span (above VOICED_THRESHOLD of the peak) is kept whole when it fits in one
    second and cut at the end otherwise; a faint noise floor stands in for the microphone.
    """
    level = np.abs(speech)
    peak = float(level.max())
    if peak <= 0:
        raise tts.TTSError("espeak-ng returned silence")
    voiced = np.nonzero(level > VOICED_THRESHOLD * peak)[0]
    word = speech[voiced[0]:voiced[-1] + 1][:CLIP_SAMPLES] / peak
    start = int(rng.integers(0, CLIP_SAMPLES - word.size + 1))
    clip = rng.normal(0, rng.uniform(*NOISE_FLOOR_RANGE), CLIP_SAMPLES)
    clip[start:start + word.size] += word * rng.uniform(*PEAK_RANGE)
    return np.clip(clip, -1, 1).astype(np.float32)


def _clip_rng(seed: int, name: str) -> np.random.Generator:
    """An RNG per clip file, so a clip does not change when other words or speakers are added."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _colored_noise(rng: np.random.Generator, samples: int, exponent: float) -> np.ndarray:
    """Noise whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.normal(size=samples))
    frequencies = np.fft.rfftfreq(samples, 1 / SAMPLE_RATE)
    frequencies[0] = frequencies[1]
    noise = np.fft.irfft(spectrum / frequencies ** (exponent / 2), samples)
    return noise / np.abs(noise).max()


def background_noise(kind: str, seconds: float, seed: int) -> np.ndarray:
    """One kind of background noise, float32 `[seconds * 16000]` with peak 0.5-0.9."""
    rng = np.random.default_rng([seed, zlib.crc32(kind.encode())])
    samples = int(seconds * SAMPLE_RATE)
    t = np.arange(samples) / SAMPLE_RATE
    if kind == "white_noise":
        noise = _colored_noise(rng, samples, 0.0)
    elif kind == "pink_noise":
        noise = _colored_noise(rng, samples, 1.0)
    elif kind == "brown_noise":
        noise = _colored_noise(rng, samples, 2.0)
    elif kind == "hum":
        mains = rng.choice([50.0, 60.0])
        noise = sum(np.sin(2 * np.pi * mains * h * t + rng.uniform(0, 2 * np.pi)) / h
                    for h in range(1, 8)) + 0.05 * _colored_noise(rng, samples, 1.0)
    elif kind == "running_tap":
        hiss = np.diff(_colored_noise(rng, samples + 1, 0.0))  # High-passed: splashing water.
        flutter = 1 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 8) * t) * _colored_noise(
            rng, samples, 2.0)
        noise = hiss * flutter
    elif kind == "babble":
        noise = _babble(rng, samples)
    else:
        raise SynthesisError(f"unknown background kind {kind!r}; one of "
                             f"{', '.join(BACKGROUND_KINDS)}")
    noise = noise / np.abs(noise).max() * rng.uniform(0.5, 0.9)
    return noise.astype(np.float32)


def _babble(rng: np.random.Generator, samples: int) -> np.ndarray:
    """Several espeak-ng voices talking over each other, looped to length."""
    voices = tts.speakers(BABBLE_VOICES, int(rng.integers(1 << 30)))
    mix = np.zeros(samples)
    for voice in voices:
        speech = tts.speak(BABBLE_TEXT, voice, SAMPLE_RATE)
        track = np.roll(np.resize(speech, samples), int(rng.integers(samples)))
        mix += track / max(np.abs(track).max(), 1e-6)
    return mix


def synthesize(output_dir: str, words: list[str], unknown_words: list[str], speakers: int,
               repetitions: int = 1, background_seconds: float = 90.0,
               validation_percentage: float = 10, testing_percentage: float = 10,
               seed: int = 0, overwrite: bool = False) -> dict[str, int]:
    """Writes the dataset; returns how many clips went to each split."""
    all_words = list(dict.fromkeys(w.strip().lower() for w in list(words) + list(unknown_words)))
    if not all_words or not all(all_words):
        raise SynthesisError("--words and --unknown_words name no words (or an empty one)")
    if dataset.BACKGROUND_NOISE_DIR_NAME in all_words:
        raise SynthesisError(f"{dataset.BACKGROUND_NOISE_DIR_NAME} cannot be a word")
    if repetitions < 1:
        raise SynthesisError(f"--repetitions must be at least 1, got {repetitions}")
    if background_seconds * SAMPLE_RATE <= CLIP_SAMPLES:
        raise SynthesisError(
            f"--background_seconds must exceed one clip (1 s), got {background_seconds}")
    tts.require_espeak()
    voices = pick_speakers(speakers, validation_percentage, testing_percentage, seed)
    jobs = [(word, speaker, k) for speaker in voices for word in all_words
            for k in range(repetitions)]
    counts = {mode: 0 for mode in dataset.MODES}
    lists: dict[str, list[str]] = {"validation": [], "testing": []}
    with fileio.atomic_dir(output_dir, overwrite=overwrite) as staging:
        def record(job):
            word, speaker, k = job
            name = f"{speaker.id}_nohash_{k}.wav"
            speech = tts.speak(word, repetition_voice(speaker, k), SAMPLE_RATE)
            clip = fit_clip(speech, _clip_rng(seed, f"{word}/{name}"))
            audio.write_wav(os.path.join(staging, word, name), clip, SAMPLE_RATE)
            return f"{word}/{name}"

        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for relative in progress.track(pool.map(record, jobs), "speaking", total=len(jobs)):
                mode = which_set(relative, validation_percentage, testing_percentage)
                counts[mode] += 1
                if mode in lists:
                    lists[mode].append(relative)
        noise_dir = os.path.join(staging, dataset.BACKGROUND_NOISE_DIR_NAME)
        for kind in progress.track(BACKGROUND_KINDS, "background noise"):
            audio.write_wav(os.path.join(noise_dir, f"{kind}.wav"),
                            background_noise(kind, background_seconds, seed), SAMPLE_RATE)
        for mode, entries in lists.items():
            with open(os.path.join(staging, f"{mode}_list.txt"), "w") as listing:
                listing.writelines(f"{entry}\n" for entry in sorted(entries))
    logging.info("Wrote %d clips of %d words by %d speakers to %s (%s)", len(jobs), len(all_words),
                 len(voices), output_dir, ", ".join(f"{m}: {n}" for m, n in counts.items()))
    return counts


def demo_dataset() -> str:
    """The demo's synthesized dataset (`DEMO_SPEAKERS` speakers, every v0.02 word), made once
    into the earshot cache; returns its folder."""
    path = os.path.join(fileio.cache_dir("speech_commands"),
                        f"demo_dataset_{DEMO_SPEAKERS}x1_seed{DEMO_SEED}")
    if not os.path.isdir(path):
        logging.info("Synthesizing the dataset into %s (once)", path)
        synthesize(path, list(DEFAULT_WORDS), list(DEFAULT_UNKNOWN_WORDS),
                   speakers=DEMO_SPEAKERS, seed=DEMO_SEED)
    return path
