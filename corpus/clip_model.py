"""What every corpus model is: many clips in, per clip an `Embedding` or its bad-input error.

`corpus.models` holds the models and picks one by name; `corpus.keyword_spotter` is one of
them; `corpus.pipeline` runs any of them. All three import this interface, none another's.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from corpus.clips import Clip
from earshot.errors import UserError

# What counts as bad input (dead letter) rather than a bug (which fails the job).
BAD_INPUT_ERRORS = (UserError, OSError)


@dataclasses.dataclass
class Embedding:
    """What a model makes of one clip.

    Attributes:
      rows: float32 `[n, size]`.
      offsets: float32 `[n]`, seconds from the clip's start to the start of each row's window.
      seconds: length of the clip's audio.
      window_seconds: audio one row sees (a speaker vector: the whole clip).
      codes: uint8 `[n, 128]` AudioSet codes (VGGish only), else None.
    """

    rows: np.ndarray
    offsets: np.ndarray
    seconds: float
    window_seconds: float
    codes: np.ndarray | None = None


Result = Embedding | Exception


class ClipModel:
    """A loaded model; subclasses set the class attributes and implement `embed_clips`."""

    name: str = ""
    size: int = 0  # floats per row

    def embed_clips(self, batch: Sequence[tuple[Clip, str]]) -> list[Result]:
        """[(clip, local path)] -> per clip an Embedding, or the bad-input error it raised."""
        raise NotImplementedError
