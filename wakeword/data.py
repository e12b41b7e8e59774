"""Training and calibration material for one phrase, as cached speech embeddings.

The phrase is spoken by several engines (`voices.TRAINING_ENGINES_DEFAULT`: espeak-ng's formant
voices, Kokoro's neural voices and their blends; festival's diphone voice when asked), because
a head that hears one engine learns that engine. Ordinary speech is real people too: the dialogue of
Debian's game packages (`real_speech.TRAINING_SOURCES`) and any folder of recordings
(`Sources.negatives_dir`). Voices are split: `CALIBRATION_VARIANTS` of espeak-ng and
`voices.KOKORO_CALIBRATION_VOICES` speak only the held-out audio the threshold is calibrated
on, and a fifth of the real clips (`real_speech.is_calibration`) are heard only there.
No voice of `voices.HELD_OUT` (the evaluation voices) is heard at all.

* Clips (3.2 s): a positive or a confusable utterance, often given another voice (warped
  and equalized, `augment`: one engine's voices share a formant signature that other
  speakers lack), trimmed to its words, maybe through a room, placed so that it ends 1.9-2.8 s in, over a background (silence, coloured noise,
  babble or speech at a random SNR, sometimes a sentence just before it), at a random level.
  Each clip gives 16 windows of 16 embeddings. A positive clip's windows that hold the whole
  phrase and end within 0.32 s of its end are positives; windows ending 0.3 s or more before
  its end hold only part of it and are negatives (the model must wait for the whole phrase);
  the rest are not trained on. Every window of a confusable clip is a negative.
* Streams (about a minute): ordinary sentences by one voice, real dialogue clips one after
  another, or non-speech (coloured and modulated noise, tones, chords, near silence), with
  voices, rooms and noise like the clips; every window is a negative.

Embeddings are cached per group (`fileio.cache_dir("wakeword", "embeddings")`) under a key
of everything that made them, so a rerun or a second phrase reuses every group that does
not depend on the phrase (ordinary speech, real speech, non-speech), and leaving a source
out (`Sources`) reuses the others.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import random
import time
from typing import Iterator

import numpy as np

import speech_embedding
from earshot import cache, progress, tts
from earshot.audio import SAMPLE_RATE
from earshot.errors import InvalidInput
from speech_embedding import embedding as embedding_lib, pretrained
from wakeword import augment, model as model_lib, phonemes, real_speech, text, voices

CALIBRATION_VARIANTS = ("f5", "m7", "klatt4", "steph", "travis", "zac")
TRAINING_VARIANTS = tuple(v for v in tts.VARIANTS if v not in CALIBRATION_VARIANTS)
CLIP_SAMPLES = 40 * model_lib.HOP_SAMPLES  # 3.2 s: 31 embeddings, 16 windows
PHRASE_END_RANGE = (int(1.9 * SAMPLE_RATE), int(2.8 * SAMPLE_RATE))
POSITIVE_REACH = int(0.32 * SAMPLE_RATE)  # a positive window ends at most this long after the phrase
PARTIAL_MARGIN = int(0.3 * SAMPLE_RATE)  # a window ending this long before the phrase's end is negative
STREAM_SENTENCES = 12  # sentences per ordinary-speech stream (about a minute)
REAL_STREAM_S = 60.0  # real clips are joined into streams of about this long
REAL_PAUSE_S = (0.2, 1.2)  # between two joined clips
ENGINE_CLIP_S = 7.0  # two sentences, as `engine_speech` has an engine say them
BACKGROUND_CLIPS = 400  # real clips per source that also serve as background speech
NOISE_STREAM_S = 30.0
ROOMS = 200  # rooms drawn per group, each used for many clips
PHRASE_ROOM_P = 0.7  # share of phrases heard through a room: reverberant phrases are the hard ones
STREAM_ROOM_P = 0.5  # share of negative streams (more left clean speech's false accepts uncaught)
EMBED_BATCH = 64
VOICE_WARP_P, EQUALIZE_P = 0.8, 0.7  # share of utterances and streams given another voice
CACHE_VERSION = "4"  # of the code that makes a group; its settings are in the key (`AUGMENTATION`)
POSITIVE, NEGATIVE, IGNORED = 1, 0, -1
# Every setting augmentation draws from, part of each group's cache key: a changed setting
# rebuilds the groups instead of reusing clips augmented the old way.
AUGMENTATION = (ROOMS, PHRASE_ROOM_P, STREAM_ROOM_P, VOICE_WARP_P, EQUALIZE_P, augment.RT60_RANGE,
                augment.MAX_IMAGE_ORDER, augment.VOICE_WARP_RANGE, augment.EQ_RANGE_DB)


@dataclasses.dataclass(frozen=True)
class Scale:
    """How much audio: the defaults are the real run; tests use a few of each."""

    positives: int = 3000  # espeak-ng utterances
    kokoro_positives: int = 340  # Kokoro utterances, each placed `PLACEMENTS` times
    festival_positives: int = 120  # festival utterances, each placed `PLACEMENTS` times
    confusable_speakers: int = 12  # voices per confusable string
    speech_minutes: float = 45.0  # espeak-ng ordinary speech
    noise_minutes: float = 12.0
    engine_speech_minutes: float = 4.0  # ordinary speech by each other engine
    calibration_minutes: float = 30.0  # espeak-ng held-out speech (real speech comes on top)
    calibration_positives: int = 300


@dataclasses.dataclass(frozen=True)
class Sources:
    """Where the audio comes from; leaving one out is the ablation of `wakeword.train`."""

    engines: tuple[str, ...] = voices.TRAINING_ENGINES_DEFAULT
    real_speech: tuple[str, ...] = real_speech.TRAINING_SOURCES
    negatives_dir: str | None = None  # a folder of the user's own negative recordings


def check_sources(sources: Sources) -> None:
    """Refuses, before any work, an engine with no training voices or not installed, a
    real-speech source that is not a training one, and a missing negatives folder."""
    try:
        voices.check_training_engines(sources.engines)
    except ValueError as error:
        raise InvalidInput(f"--engines: {error}") from None
    wrong = [s for s in sources.real_speech if s not in real_speech.TRAINING_SOURCES]
    if wrong:
        raise InvalidInput(f"--real_speech: {', '.join(wrong)} is not a training source (of "
                           f"{', '.join(real_speech.TRAINING_SOURCES)}; "
                           f"{', '.join(real_speech.EVALUATION_SOURCES)} are evaluation-only)")
    if sources.negatives_dir:
        real_speech.folder_files(sources.negatives_dir)


PLACEMENTS = 4  # a slow engine's utterance is placed this many times, each time augmented anew


@dataclasses.dataclass
class Group:
    """Embeddings of one kind of audio.

    Attributes:
      embeddings: float32 `[rows, 96]`, all clips or streams one after another.
      ends: int64 `[n]` row index of the newest embedding of each window.
      labels: int8 `[n]` POSITIVE / NEGATIVE / IGNORED per window.
      stream_rows: int64 `[streams + 1]` first row of each clip or stream (and the end).
      stream_samples: int64 `[streams]` samples of each clip or stream.
    """

    embeddings: np.ndarray
    ends: np.ndarray
    labels: np.ndarray
    stream_rows: np.ndarray
    stream_samples: np.ndarray

    def stream_embeddings(self, index: int) -> np.ndarray:
        return self.embeddings[self.stream_rows[index]:self.stream_rows[index + 1]]


def _weights_digest() -> str:
    return pretrained.weights_digest()[:12]


def embed_clips(clips: np.ndarray, description: str) -> np.ndarray:
    """float32 `[n, samples]` clips -> `[n, T, 96]`, in batches."""
    out = [embedding_lib.compiled()(clips[i:i + EMBED_BATCH]).numpy()
           for i in progress.track(range(0, len(clips), EMBED_BATCH), f"embedding {description}")]
    return np.concatenate(out) if out else np.zeros((0, 0, 96), np.float32)


@dataclasses.dataclass
class Background:
    """The speech that babble and background talk are made of, and a key naming it for caches."""

    key: str
    speech: list[np.ndarray]


class Backgrounds:
    """Sources of background sound for augmentation: noise colours, babble, speech."""

    def __init__(self, background: Background, seed: int):
        self.speech = [s for s in background.speech if s.size > SAMPLE_RATE]
        self.rng = np.random.default_rng(seed)
        self.rooms = [augment.room_impulse_response(self.rng) for _ in range(ROOMS)]

    def speech_piece(self, samples: int) -> np.ndarray:
        source = self.speech[self.rng.integers(len(self.speech))]
        if source.size <= samples:
            return np.resize(source, samples)
        start = self.rng.integers(source.size - samples)
        return source[start:start + samples]

    def noise(self, samples: int) -> np.ndarray:
        kind = self.rng.choice(["white", "pink", "brown", "babble", "speech"],
                               p=[0.15, 0.2, 0.15, 0.25, 0.25])
        if kind == "babble" and self.speech:
            talkers = [augment.set_peak(self.speech_piece(samples), 0) for _ in range(
                self.rng.integers(3, 7))]
            return np.sum(talkers, axis=0)
        if kind == "speech" and self.speech:
            return self.speech_piece(samples)
        return augment.coloured_noise(self.rng, samples, kind if kind in augment.NOISE_COLOURS
                                      else "pink")

    def room(self, waveform: np.ndarray) -> np.ndarray:
        response = self.rooms[self.rng.integers(len(self.rooms))]
        padded = np.concatenate([waveform, np.zeros(response.size // 2, np.float32)])
        return augment.reverberate(padded, response)

    def voice(self, waveform: np.ndarray) -> np.ndarray:
        """Another voice from this one, often: warped (VTLP) and equalized (`augment`)."""
        if self.rng.random() < VOICE_WARP_P:
            waveform = augment.warp_voice(waveform, self.rng)
        if self.rng.random() < EQUALIZE_P:
            waveform = augment.equalize(waveform, self.rng)
        return waveform

    def finish(self, waveform: np.ndarray, room_p: float = STREAM_ROOM_P, noise_p: float = 0.75
               ) -> np.ndarray:
        """A room (maybe), noise at 0-25 dB SNR (maybe, else a faint floor), a random peak level."""
        if self.rng.random() < room_p:
            waveform = self.room(waveform)
        floor = augment.coloured_noise(self.rng, waveform.size, "white")
        if self.rng.random() < noise_p:
            waveform = augment.mix(waveform, self.noise(waveform.size), self.rng.uniform(0, 25))
        else:
            waveform = augment.mix(waveform, floor, self.rng.uniform(45, 70))
        return augment.set_peak(waveform, self.rng.uniform(-30, -1))


def place(utterance: np.ndarray, backgrounds: Backgrounds) -> tuple[np.ndarray, int, int]:
    """A 3.2 s clip with the utterance's words ending 1.9-2.8 s in: (clip, start, end)."""
    rng = backgrounds.rng
    first, last = augment.speech_extent(utterance)
    words = utterance[first:last]
    if rng.random() < PHRASE_ROOM_P:
        words = backgrounds.room(words)  # the tail rings on past the words' end
    end = int(rng.integers(*PHRASE_END_RANGE))
    length = last - first
    start = max(0, end - length)
    clip = np.zeros(CLIP_SAMPLES, np.float32)
    piece = words[start - (end - length):][:CLIP_SAMPLES - start]
    clip[start:start + piece.size] = piece
    if rng.random() < 0.25 and start > 8000:  # someone was talking just before
        before = backgrounds.speech_piece(start - int(rng.integers(1600, 6400)))
        clip[:before.size] += augment.set_peak(before, 20 * np.log10(
            np.max(np.abs(piece)) + 1e-9) + rng.uniform(-6, 3))
    return backgrounds.finish(clip, room_p=0.0), start, end


def window_labels(start: int, end: int, positive: bool) -> np.ndarray:
    """Labels of a clip's 16 windows (newest embedding 15..30) for words at [start, end)."""
    newest = np.arange(model_lib.WINDOW - 1, 1 + (CLIP_SAMPLES - speech_embedding.MIN_SAMPLES)
                       // model_lib.HOP_SAMPLES)
    window_end = newest * model_lib.HOP_SAMPLES + speech_embedding.MIN_SAMPLES
    window_start = (newest - model_lib.WINDOW + 1) * model_lib.HOP_SAMPLES
    if not positive:
        return np.full(newest.size, NEGATIVE, np.int8)
    labels = np.full(newest.size, IGNORED, np.int8)
    labels[(window_start <= start) & (window_end >= end - model_lib.HOP_SAMPLES)
           & (window_end <= end + POSITIVE_REACH)] = POSITIVE
    labels[window_end < end - PARTIAL_MARGIN] = NEGATIVE
    return labels


def _cache_path(name: str, parts: list) -> str:
    return cache.cache_path(("wakeword", "embeddings"),
                            [CACHE_VERSION, AUGMENTATION, _weights_digest(), *parts], ".npz",
                            name=name, digits=16)


def _cached(path: str, build) -> Group:
    return Group(**cache.cached_npz(path, lambda: vars(build())))


def clip_group(name: str, utterances: list[voices.Utterance], positive: bool,
               background: Background, seed: int, placements: int = 1) -> Group:
    """Clips of `utterances` (positives or confusables), each placed `placements` times
    (augmented anew each time), embedded, labelled."""

    def build() -> Group:
        spoken = voices.say_all(utterances, name) if utterances else []
        backgrounds = Backgrounds(background, seed)
        clips, labels = [], []
        for waveform in progress.track([w for w in spoken for _ in range(placements)],
                                       f"augmenting {name}"):
            clip, start, end = place(backgrounds.voice(waveform), backgrounds)
            clips.append(clip)
            labels.append(window_labels(start, end, positive))
        rows = embed_clips(np.stack(clips), name) if clips else np.zeros((0, 31, 96), np.float32)
        per_clip = rows.shape[1] if clips else 31
        offsets = np.arange(len(clips)) * per_clip
        ends = (offsets[:, None] + np.arange(model_lib.WINDOW - 1, per_clip)[None]).ravel()
        return Group(rows.reshape(-1, 96), ends.astype(np.int64),
                     np.concatenate(labels) if labels else np.zeros(0, np.int8),
                     np.arange(len(clips) + 1, dtype=np.int64) * per_clip,
                     np.full(len(clips), CLIP_SAMPLES, np.int64))

    return _cached(_cache_path(name, [[u.key for u in utterances], positive, seed, placements,
                                      background.key]), build)


def _ahead(function, items: list) -> Iterator:
    """`function(item)` for each of `items` in order, the next one made in a thread while the
    caller works on this one: augmentation (numpy, soxr) and embedding (TensorFlow) release
    the GIL, so they share the two cores instead of taking turns. One result waits at a time,
    so memory stays that of two streams; `function` runs on one item at a time, in order, so
    random draws in it come out as they would in a loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = None
        for item in items:
            future = pool.submit(function, item)
            if pending is not None:
                yield pending.result()
            pending = future
        if pending is not None:
            yield pending.result()


def stream_group(name: str, streams, seed: int, key: list, background: Background,
                 augmented: bool = True) -> Group:
    """Long negative streams, augmented, embedded whole; every window a negative.

    `streams`: a list of float32 `[samples]` waveforms, or a function returning one (called
    only when the group is not cached yet).
    """

    def build() -> Group:
        backgrounds = Backgrounds(background, seed)

        def heard(stream: np.ndarray) -> np.ndarray:
            audio = backgrounds.finish(backgrounds.voice(stream)) if augmented else stream
            return audio[:audio.size // model_lib.HOP_SAMPLES * model_lib.HOP_SAMPLES]

        rows, ends, bounds, samples = [], [], [0], []
        waveforms = streams() if callable(streams) else streams
        for audio in progress.track(_ahead(heard, waveforms), f"augmenting and embedding {name}",
                                    total=len(waveforms)):
            if audio.size < speech_embedding.MIN_SAMPLES + model_lib.WINDOW * model_lib.HOP_SAMPLES:
                continue
            # `speech_embedding.embed` without re-checking audio made here (a fifth of its time).
            embedded = embedding_lib.embed_blocks([audio], name)
            ends.append(bounds[-1] + np.arange(model_lib.WINDOW - 1, len(embedded)))
            rows.append(embedded)
            bounds.append(bounds[-1] + len(embedded))
            samples.append(audio.size)
        ends_all = np.concatenate(ends).astype(np.int64) if ends else np.zeros(0, np.int64)
        return Group(np.concatenate(rows) if rows else np.zeros((0, 96), np.float32), ends_all,
                     np.zeros(ends_all.size, np.int8), np.array(bounds, np.int64),
                     np.array(samples, np.int64))

    return _cached(_cache_path(name, [key, seed, augmented, augmented and background.key]), build)


def speech_streams(sentences: list[str], variants: tuple[str, ...], minutes: float, seed: int
                   ) -> tuple[list[voices.Utterance], list[np.ndarray]]:
    """About `minutes` of ordinary sentences, STREAM_SENTENCES per espeak-ng voice."""
    count = max(1, int(round(minutes * 60 / 50)))
    rng = random.Random(seed)
    templates = voices.espeak_voices(variants, count, seed)
    utterances = [dataclasses.replace(t, text=" ".join(rng.sample(sentences, STREAM_SENTENCES)),
                                      gap=0) for t in templates]
    return utterances, voices.say_all(utterances, "ordinary speech")


def noise_streams(minutes: float, seed: int) -> list[np.ndarray]:
    """Non-speech: coloured noise (steady or modulated), tones and chords, near silence."""
    rng = np.random.default_rng(seed)
    samples = int(NOISE_STREAM_S * SAMPLE_RATE)
    t = np.arange(samples) / SAMPLE_RATE
    streams = []
    for index in range(max(1, int(round(minutes * 60 / NOISE_STREAM_S)))):
        kind = index % 4
        if kind == 0:
            stream = augment.coloured_noise(rng, samples, rng.choice(list(augment.NOISE_COLOURS)))
        elif kind == 1:
            envelope = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(0.2, 4) * t)
            stream = augment.coloured_noise(rng, samples, "pink") * envelope
        elif kind == 2:
            notes = rng.uniform(110, 1800, size=rng.integers(1, 5))
            gate = (np.sin(2 * np.pi * rng.uniform(0.3, 2) * t) > rng.uniform(-0.5, 0.5))
            stream = np.sum([np.sin(2 * np.pi * f * t) for f in notes], axis=0) * gate
        else:
            stream = augment.coloured_noise(rng, samples, "white") * 1e-3
        streams.append(augment.set_peak(stream.astype(np.float32), -6))
    return streams


def joined(clips, seed: int) -> list[np.ndarray]:
    """Clips (an iterable of float32 `[samples]`) joined in order into streams of about
    `REAL_STREAM_S`, with short pauses: conversation, and windows long enough to hold 16
    embeddings."""
    rng = np.random.default_rng(seed)
    streams, pieces, length = [], [], 0
    for clip in clips:
        pause = np.zeros(int(rng.uniform(*REAL_PAUSE_S) * SAMPLE_RATE), np.float32)
        pieces += [clip, pause]
        length += clip.size + pause.size
        if length >= REAL_STREAM_S * SAMPLE_RATE:
            streams.append(np.concatenate(pieces))
            pieces, length = [], 0
    if pieces:
        streams.append(np.concatenate(pieces))
    return streams


def real_streams(collection: real_speech.Collection, seed: int) -> list[np.ndarray]:
    """`collection`'s clips joined into streams (`joined`)."""
    return joined((collection.clip(i) for i in range(len(collection.names))), seed)


def engine_speech(engine: str, sentences: list[str], minutes: float, seed: int
                  ) -> tuple[list[voices.Utterance], list[np.ndarray]]:
    """About `minutes` of ordinary sentences by one engine's training voices, two sentences
    per voice (neural engines read a bounded number of phonemes at once), joined into streams:
    without them an engine's voice would be heard only saying the phrase or its near-misses."""
    rng = random.Random(seed)
    templates = voices.training_voices(engine, max(1, int(round(minutes * 60 / ENGINE_CLIP_S))),
                                       seed)
    utterances = [dataclasses.replace(t, text=" ".join(rng.sample(sentences, 2)))
                  for t in templates]
    return utterances, joined(voices.say_all(utterances, f"{engine} ordinary speech"), seed)


def real_group(name: str, collection: real_speech.Collection, seed: int, augmented: bool,
               background: Background) -> Group:
    """Real speech as negative streams (augmented for training, as heard for calibration)."""
    key = cache.digest([collection.names, int(collection.samples.size)])
    return stream_group(name, lambda: real_streams(collection, seed), seed, [key], background,
                        augmented)


def real_collections(sources: Sources, split: str) -> dict[str, real_speech.Collection]:
    """The real speech of `sources` (packages and the user's folder), one split."""
    collections = {source: real_speech.load(source, split) for source in sources.real_speech}
    if sources.negatives_dir:
        collections["negatives"] = real_speech.folder(sources.negatives_dir, split)
    return {name: c for name, c in collections.items() if len(c.names)}


@dataclasses.dataclass
class TrainingData:
    """Every group, by role; each role is a list of groups (one per source)."""

    positives: list[Group]
    confusables: list[Group]
    negatives: list[Group]  # ordinary speech (synthesized and real), non-speech
    calibration_positives: list[Group]  # held-out voices
    calibration: list[Group]  # held-out ordinary speech: synthesized voices and real clips
    calibration_confusables: list[Group]  # held-out voices
    seconds: dict[str, float]  # wall time spent on each source in this run (0 when cached)


def positive_utterances(phrase: str, accents: dict[str, str], variants: tuple[str, ...],
                        count: int, seed: int) -> list[voices.Utterance]:
    """The phrase by `count` espeak-ng voices: half as text (each accent's own reading), half
    as phonemes (a variant of some accent's phonemes), in varied punctuation."""
    rng = random.Random(seed)
    strings = sorted({v for p in accents.values() for v in phonemes.positive_variants(p)})
    out = []
    for template in voices.espeak_voices(variants, count, seed):
        said = rng.choice(phrase_texts(phrase)) if rng.random() < 0.5 \
            else f"[[{rng.choice(strings)}]]"
        out.append(dataclasses.replace(template, text=said))
    return out


def phrase_texts(phrase: str) -> list[str]:
    """The phrase in varied punctuation (engines read a question, a call, a pause differently)."""
    return [phrase, phrase.capitalize() + ".", phrase + "!", phrase.replace(" ", ", ", 1) + "?"]


def said_by(templates: list[voices.Utterance], texts: list[str], seed: int
            ) -> list[voices.Utterance]:
    """Each template saying one of `texts` (in turn, from a shuffled start)."""
    offset = random.Random(seed).randrange(len(texts))
    return [dataclasses.replace(t, text=texts[(i + offset) % len(texts)])
            for i, t in enumerate(templates)]


def confusable_utterances(strings: list[str], speakers: int, variants: tuple[str, ...],
                          seed: int) -> list[voices.Utterance]:
    templates = voices.espeak_voices(variants, max(1, speakers) * len(strings), seed)
    return [dataclasses.replace(t, text=f"[[{s}]]")
            for t, s in zip(templates, [s for s in strings for _ in range(max(1, speakers))])]


def text_near_misses(phrase: str) -> list[str]:
    """Near-miss texts for engines that read only text: the phrase's words alone and texts of
    near words from the training sentences' vocabulary, none of them a text `evaluate` says."""
    words = text.vocabulary(evaluation=False)
    evaluated = set(phonemes.text_confusables(phrase, text.vocabulary()))
    parts = [w for w in phrase.lower().split() if len(phrase.split()) > 1]
    near = phonemes.text_confusables(phrase, words, per_word=24)
    return sorted(set(parts) | {t for t in near if t not in evaluated})


def _engine_groups(phrase: str, accents: dict[str, str], strings: list[str], texts: list[str],
                   engine: str, scale: Scale, speech: Background, seed: int
                   ) -> tuple[Group, Group]:
    """(positives, confusables) of one training engine; `strings` are the phoneme near-misses,
    `texts` the text ones (`text_near_misses`)."""
    if engine == "espeak-ng":
        return (clip_group("positives", positive_utterances(
                    phrase, accents, TRAINING_VARIANTS, scale.positives, seed), True, speech, seed),
                clip_group("confusables", confusable_utterances(
                    strings, scale.confusable_speakers, TRAINING_VARIANTS, seed + 1), False,
                    speech, seed + 1))
    count = {"kokoro": scale.kokoro_positives, "festival": scale.festival_positives}.get(
        engine, scale.festival_positives)
    near = list(texts)
    if engine in voices.PHONEME_ENGINES:  # it can also say the phoneme-level near-misses
        near += [f"[[{s}]]" for s in random.Random(seed).sample(strings, len(strings))]
    near_count = min(len(near), max(count // 2, len(texts)))
    return (clip_group(f"{engine} positives", said_by(
                voices.training_voices(engine, count, seed), phrase_texts(phrase), seed),
                True, speech, seed, PLACEMENTS),
            clip_group(f"{engine} confusables", said_by(
                voices.training_voices(engine, near_count, seed + 1), near[:near_count], seed + 1),
                False, speech, seed + 1, 2))


@contextlib.contextmanager
def _timed(timings: dict[str, float], source: str) -> Iterator[None]:
    """Adds the wall time of the block to `timings[source]` (seconds)."""
    started = time.monotonic()
    yield
    timings[source] = timings.get(source, 0.0) + time.monotonic() - started


def build(phrase: str, scale: Scale, seed: int = 0, sources: Sources = Sources()
          ) -> TrainingData:
    """All embedding groups for `phrase` (from the cache when made before)."""
    check_sources(sources)
    timings: dict[str, float] = {}
    accents = phonemes.phrase_phonemes(phrase)
    kinds = phonemes.confusables(accents["en-us"], list(accents.values()), seed=seed)
    strings = sorted({s for v in kinds.values() for s in v})
    sentences = text.split(evaluation=False)
    rng = random.Random(seed)
    rng.shuffle(sentences)
    calibration_sentences, training_sentences = sentences[:len(sentences) // 4], \
        sentences[len(sentences) // 4:]
    with _timed(timings, "espeak-ng"):
        speech_utterances, speech = speech_streams(training_sentences, TRAINING_VARIANTS,
                                                   scale.speech_minutes, seed)
    with _timed(timings, "real speech"):
        real = real_collections(sources, "train")
        backgrounds = Background(
            repr([[u.key for u in speech_utterances], sorted(real)]),
            speech + [s for c in real.values() for s in real_streams(
                c.subset(np.arange(len(c.names)) < BACKGROUND_CLIPS), seed)])
    texts = text_near_misses(phrase)
    positives, confusables, negatives = [], [], []
    for engine in sources.engines:
        with _timed(timings, engine):
            engine_positives, engine_confusables = _engine_groups(
                phrase, accents, strings, texts, engine, scale, backgrounds, seed)
            if engine != "espeak-ng":
                utterances, streams = engine_speech(engine, training_sentences,
                                                    scale.engine_speech_minutes, seed)
                negatives.append(stream_group(f"{engine} ordinary speech", streams, seed,
                                              [u.key for u in utterances], backgrounds))
        positives.append(engine_positives)
        confusables.append(engine_confusables)
    with _timed(timings, "espeak-ng"):
        negatives.append(stream_group("ordinary speech", speech, seed,
                                      [u.key for u in speech_utterances], backgrounds))
    with _timed(timings, "non-speech"):
        negatives.append(stream_group("non-speech", lambda: noise_streams(scale.noise_minutes,
                                                                          seed),
                                      seed, ["noise", scale.noise_minutes], backgrounds))
    with _timed(timings, "real speech"):
        negatives += [real_group(f"{name} speech", c, seed, True, backgrounds)
                      for name, c in real.items()]
    with _timed(timings, "calibration"):
        calibration_positives = [clip_group("held-out positives", positive_utterances(
            phrase, accents, CALIBRATION_VARIANTS, scale.calibration_positives, seed + 2), True,
            backgrounds, seed + 2)]
        if "kokoro" in sources.engines:
            templates = voices.kokoro_voices(scale.calibration_positives // 4, seed + 2,
                                             voices.KOKORO_CALIBRATION_VOICES)
            calibration_positives.append(clip_group(
                "held-out kokoro positives", said_by(templates, phrase_texts(phrase), seed + 2),
                True, backgrounds, seed + 2, 2))
        held_out_utterances, held_out = speech_streams(
            calibration_sentences, CALIBRATION_VARIANTS, scale.calibration_minutes, seed + 3)
        calibration = [stream_group("held-out speech", held_out, seed + 3,
                                    [u.key for u in held_out_utterances], backgrounds)]
        calibration += [real_group(f"held-out {name} speech", c, seed + 3, False, backgrounds)
                        for name, c in real_collections(sources, "calibration").items()]
        calibration_confusables = [clip_group("held-out confusables", confusable_utterances(
            strings, max(1, scale.confusable_speakers // 4), CALIBRATION_VARIANTS, seed + 4),
            False, backgrounds, seed + 4)]
    return TrainingData(positives, confusables, negatives, calibration_positives, calibration,
                        calibration_confusables, timings)
