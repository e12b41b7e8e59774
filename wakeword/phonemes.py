"""The phrase as espeak-ng phonemes, its spoken variants, and the near-misses it must reject.

`espeak-ng -x` writes a text's phonemes in espeak's mnemonics (`hey jarvis` -> `h'eI
dZ'A@vIs`), and espeak-ng speaks such a string back when it is given as `[[...]]`. That makes
variation below the word level cheap:

* positives: each accent's own phonemes, plus changes a listener still hears as the phrase
  (stress moved or dropped, unstressed vowels reduced, long vowels shortened);
* confusables (negatives), as openWakeWord's adversarial texts but from the phonemes:
  *parts* (a word alone, the phrase cut short), *neighbours* (one or two phonemes swapped
  for a similar one: same manner of articulation, voicing partner, nearby vowel), and
  *rhymes* (a word's onset replaced);
* text near-misses for engines that read only text (evaluation): phrases in which a word is
  replaced by a vocabulary word whose phonemes are within one or two edits, or rhyme.
"""

from __future__ import annotations

import functools
import itertools
import random
import re

from earshot import tts

STRESS = ("'", ",")
# espeak-ng's English phoneme mnemonics longer than one character, longest first.
MULTI_CHAR = ("aI@", "aU@", "i@3", "aI3", "A@", "A:", "aI", "aU", "eI", "e@", "i@", "i:", "I#",
              "I2", "3:", "0@", "O:", "O@", "oU", "OI", "o@", "u:", "U@", "@L", "@2", "@5",
              "a#", "aa", "tS", "dZ", "n-", "l/", "r-", "t#", "d#", "z#", "z/")
CONSONANT_NEIGHBOURS = {
    "p": ("b", "t", "k", "f"), "b": ("p", "d", "g", "v", "m"), "t": ("d", "p", "k", "s", "tS"),
    "d": ("t", "b", "g", "z", "dZ"), "k": ("g", "t", "p"), "g": ("k", "d", "b"),
    "f": ("v", "T", "s", "p"), "v": ("f", "D", "b", "z", "w"), "T": ("D", "f", "s"),
    "D": ("T", "v", "z", "d"), "s": ("z", "S", "T", "t"), "z": ("s", "Z", "D"),
    "S": ("Z", "s", "tS"), "Z": ("S", "z", "dZ"), "h": ("f", "k", "S"), "tS": ("dZ", "S", "t"),
    "dZ": ("tS", "Z", "d", "j"), "m": ("n", "b"), "n": ("m", "N", "d"), "N": ("n", "m"),
    "l": ("r", "w", "n"), "r": ("l", "w"), "w": ("r", "l", "v"), "j": ("dZ", "l"),
}
VOICING = dict(zip("p b t d k g f v T D s z S Z".split() + ["tS", "dZ"],
                   "b p d t g k v f D T z s Z S".split() + ["dZ", "tS"]))
# Vowels by region of the mouth; a neighbour is another vowel of the same group.
VOWEL_GROUPS = (("i:", "I", "i", "eI", "E", "e@", "I2"), ("@", "3:", "3", "V", "a", "aa", "A@"),
                ("A:", "A@", "0", "O:", "O@", "aU", "aI"), ("oU", "O:", "U", "u:", "U@", "OI"))
ONSETS = ("", "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "w", "st", "tr",
          "br", "pl", "sk", "tS", "S", "h")
# Changes that keep a vowel the same to a listener (accents say it either way).
SAME_VOWEL = {"A@": ("A:", "A"), "A:": ("A@", "A"), "eI": ("e",), "3:": ("3", "@"),
              "oU": ("o@", "O:"), "i:": ("i",), "u:": ("U",), "aI": ("a#",)}
REDUCED = {"I": ("@", "I2"), "@": ("I", "V"), "I2": ("I", "@"), "E": ("@",), "a": ("@",)}


class PhonemeError(tts.TTSError):
    """espeak-ng gave no phonemes for a text (nothing speakable in it)."""


def tokenize(word: str) -> list[str]:
    """One word's espeak mnemonics -> tokens: phonemes and stress marks (`'` primary, `,`)."""
    tokens, position = [], 0
    while position < len(word):
        match = next((m for m in MULTI_CHAR if word.startswith(m, position)), word[position])
        tokens.append(match)
        position += len(match)
    return tokens


def is_vowel(token: str) -> bool:
    return token[0] in "aeiouAEIOUV@30" and token not in STRESS


def phonemize(texts: list[str], accent: str = "en-us") -> list[str]:
    """espeak-ng's phonemes of each text (words separated by spaces), in one process."""
    clean = [" ".join(re.findall(r"[A-Za-z']+", t)) for t in texts]
    if not clean:
        return []
    lines = tts.phonemes("".join(f"{t}.\n" for t in clean), accent)
    if len(lines) != len(clean):
        raise PhonemeError(f"espeak-ng -x gave {len(lines)} lines for {len(clean)} texts")
    return lines


def phrase_phonemes(phrase: str) -> dict[str, str]:
    """The phrase's phonemes in each English accent of espeak-ng: accent -> `h'eI dZ'A@vIs`."""
    if not re.search(r"[A-Za-z]", phrase):
        raise PhonemeError(f"--phrase {phrase!r} has no letters to speak")
    return {accent: phonemize([phrase], accent)[0] for accent in tts.ACCENTS}


def _words(phonemes: str) -> list[list[str]]:
    return [tokenize(word) for word in phonemes.split()]


def _join(words: list[list[str]]) -> str:
    return " ".join("".join(word) for word in words if word)


def key(phonemes: str) -> str:
    """The phonemes without stress and word breaks: two strings a listener cannot tell apart
    (as far as espeak's mnemonics go) have the same key."""
    return "".join(t for w in _words(phonemes) for t in w if t not in STRESS)


def positive_variants(phonemes: str) -> list[str]:
    """`phonemes` and the changes to it that still say the phrase (stress, reduction, length)."""
    words = _words(phonemes)
    variants = {phonemes}
    for w, word in enumerate(words):
        stressed = any(t == "'" for t in word)
        for i, token in enumerate(word):
            changes = SAME_VOWEL.get(token, ()) + (REDUCED.get(token, ()) if not stressed else ())
            if token in STRESS:
                changes = tuple(s for s in STRESS + ("",) if s != token)
            for change in changes:
                variants.add(_join(words[:w] + [word[:i] + [change] + word[i + 1:]] + words[w + 1:]))
    return sorted(variants)


def _group(vowel: str) -> int | None:
    return next((g for g, members in enumerate(VOWEL_GROUPS) if vowel in members), None)


def _substitutions(words: list[list[str]]) -> list[str]:
    """One phoneme changed so that a listener hears another word: a consonant for a similar
    one (or dropped), a stressed vowel for one of another region of the mouth. Vowels of
    unstressed syllables and swaps within a region are left alone: `I` for `E` in "jarvis"
    is an accent, not a near-miss, and training on it as a negative costs recall."""
    out = []
    for w, word in enumerate(words):
        stressed_vowel = next((i for i, t in enumerate(word) if is_vowel(t)
                               and i and word[i - 1] == "'"), None)
        if stressed_vowel is None:
            stressed_vowel = next((i for i, t in enumerate(word) if is_vowel(t)), None)
        for i, token in enumerate(word):
            if token in STRESS:
                continue
            if is_vowel(token):
                if i != stressed_vowel:
                    continue
                options = {v for g in VOWEL_GROUPS for v in g if _group(token) != _group(v)}
                options = set(sorted(options)[::2])  # every other one: enough, and fewer
            elif i == len(word) - 1:  # a word's last sound: "jarviz" and "jarvi" are "jarvis"
                options = set(CONSONANT_NEIGHBOURS.get(token, ())) - {VOICING.get(token)}
            else:
                options = set(CONSONANT_NEIGHBOURS.get(token, ())) | {""}
            for option in sorted(options):
                out.append(_join(words[:w] + [word[:i] + [option] + word[i + 1:]] + words[w + 1:]))
    return out


def _rhymes(words: list[list[str]]) -> list[str]:
    out = []
    for w, word in enumerate(words):
        first_vowel = next((i for i, t in enumerate(word) if is_vowel(t)), None)
        if first_vowel is None:
            continue
        onset = [t for t in word[:first_vowel] if t not in STRESS]
        stress = [t for t in word[:first_vowel] if t in STRESS]
        for new in ONSETS:
            if tokenize(new) != onset:
                out.append(_join(words[:w] + [tokenize(new) + stress + word[first_vowel:]]
                                 + words[w + 1:]))
    return out


def _parts(words: list[list[str]]) -> list[str]:
    out = []
    for start, end in itertools.combinations(range(len(words) + 1), 2):
        if (start, end) != (0, len(words)):
            out.append(_join(words[start:end]))
    for w, word in enumerate(words):
        phones = [i for i, t in enumerate(word) if t not in STRESS]
        for cut in range(2, len(phones) - 1):  # one phoneme short is still the phrase to many ears
            out.append(_join(words[:w] + [word[:phones[-cut]]]))  # the phrase cut short
            if w == 0:
                out.append(_join([word[phones[cut]:]] + words[1:]))  # its start missing
    return out


def confusables(phonemes: str, accents: list[str] = (), seed: int = 0,
                double_substitutions: int = 40) -> dict[str, list[str]]:
    """Near-misses of `phonemes`: kind ("parts", "neighbours", "rhymes") -> phoneme strings.

    Anything with the `key` of a positive variant of `phonemes` or of `accents` (the phrase
    as other accents say it) is left out.
    """
    words = _words(phonemes)
    forbidden = {key(v) for p in (phonemes, *accents) for v in positive_variants(p)}
    single = _substitutions(words)
    rng = random.Random(seed)
    doubles = []
    for first in rng.sample(single, min(double_substitutions, len(single))):
        doubles.append(rng.choice(_substitutions(_words(first)) or [first]))
    kinds = {"parts": _parts(words), "neighbours": single + doubles, "rhymes": _rhymes(words)}
    result = {}
    for kind, strings in kinds.items():
        kept = {s: None for s in strings if s.strip() and key(s) not in forbidden}
        result[kind] = list(kept)
    return result


def _edit_distance(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


@functools.cache
def _vocabulary_phonemes(words: tuple[str, ...], accent: str) -> tuple[str, ...]:
    return tuple(phonemize(list(words), accent))


def near_words(word_phonemes: str, vocabulary: tuple[str, ...], accent: str = "en-us",
               max_edits: int = 2) -> list[str]:
    """Vocabulary words within `max_edits` phoneme edits of one word's phonemes, or rhyming
    with it (the same phonemes from its stressed vowel on); closest first."""
    target = [t for t in tokenize(word_phonemes) if t not in STRESS]
    stressed = tokenize(word_phonemes)
    tail_start = next((i for i, t in enumerate(stressed) if t == "'"), 0)
    tail = [t for t in stressed[tail_start:] if t not in STRESS]
    scored = []
    for word, phones in zip(vocabulary, _vocabulary_phonemes(vocabulary, accent)):
        tokens = [t for t in tokenize(phones.replace(" ", "")) if t not in STRESS]
        distance = _edit_distance(tokens, target)
        rhymes = len(tokens) >= len(tail) and tokens[-len(tail):] == tail and tokens != target
        if 0 < distance <= max_edits or rhymes:
            scored.append((distance, word))
    return [word for _, word in sorted(scored)]


def text_confusables(phrase: str, vocabulary: list[str], per_word: int = 12,
                     accent: str = "en-us") -> list[str]:
    """Texts that sound like `phrase` but are not it: each word replaced by a near word,
    each word alone, and both words replaced (for two-word phrases)."""
    words = re.findall(r"[A-Za-z']+", phrase.lower())
    vocab = tuple(w for w in vocabulary if w not in words)
    phones = phonemize(words, accent)
    near = [near_words(p, vocab, accent)[:per_word] for p in phones]
    texts = set(words) if len(words) > 1 else set()
    for i, options in enumerate(near):
        for option in options:
            texts.add(" ".join(words[:i] + [option] + words[i + 1:]))
    if len(words) == 2:
        for a, b in zip(near[0][:per_word // 2], near[1][:per_word // 2]):
            texts.add(f"{a} {b}")
    forbidden = {key(p) for p in positive_variants(phonemize([phrase], accent)[0])}
    candidates = sorted(texts)
    spoken = phonemize(candidates, accent) if candidates else []
    return [t for t, p in zip(candidates, spoken) if key(p) not in forbidden]
