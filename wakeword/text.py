"""Ordinary English sentences to speak as negative audio, and the vocabulary they use.

No text corpus can be downloaded where earshot is developed, so ordinary speech comes from
the prose every Python installation carries: the docstrings of the standard library (tens
of thousands of plain English sentences), plus the Harvard sentences of `earshot.tts`. A
sentence goes to training or to evaluation by a hash of its text, so evaluation speech says
sentences the head never heard.
"""

from __future__ import annotations

import ast
import functools
import glob
import hashlib
import json
import os
import re
import sysconfig

from earshot import fileio, tts

# A sentence to speak: starts upper-case, plain words and light punctuation, 4-30 words.
_SENTENCE = re.compile(r"[A-Z][A-Za-z ,;'\-]{20,200}[.!?]")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
EVAL_PERCENT = 30  # share of sentences (by hash) kept for evaluation
CACHE_NAME = "sentences-v1.json"


def _docstring_sentences(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as source:
            tree = ast.parse(source.read())
    except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
        return []
    sentences = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            for paragraph in (ast.get_docstring(node) or "").split("\n\n"):
                for sentence in re.split(r"(?<=[.!?])\s+", " ".join(paragraph.split())):
                    if _SENTENCE.fullmatch(sentence):
                        sentences.append(sentence)
    return sentences


@functools.cache
def sentences() -> tuple[str, ...]:
    """Every distinct sentence, sorted; computed once and cached on disk (a few seconds)."""
    path = os.path.join(fileio.cache_dir("wakeword"), CACHE_NAME)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as cached:
            return tuple(json.load(cached))
    found = set(tts.HARVARD_SENTENCES)
    pattern = os.path.join(sysconfig.get_paths()["stdlib"], "**", "*.py")
    for source in sorted(glob.glob(pattern, recursive=True)):
        if "site-packages" not in source:
            found.update(_docstring_sentences(source))
    result = tuple(sorted(found))
    with fileio.atomic_open(path, "w", encoding="utf-8") as out:
        json.dump(result, out)
    return result


def is_eval(text: str) -> bool:
    """Whether `text` belongs to the evaluation share (stable: a hash of the text)."""
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) % 100 < EVAL_PERCENT


def split(evaluation: bool) -> list[str]:
    """The training (False) or evaluation (True) sentences."""
    return [s for s in sentences() if is_eval(s) == evaluation]


def vocabulary(evaluation: bool | None = None) -> list[str]:
    """Distinct lower-case words of all sentences (or of one split's), sorted."""
    chosen = sentences() if evaluation is None else split(evaluation)
    return sorted({w for s in chosen for w in _WORD.findall(s.lower()) if len(w) > 1})
