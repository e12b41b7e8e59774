"""C source arrays for microcontroller code: a WAV's features, and a TFLite model (`xxd -i`).

On-device feature code (TFLite Micro's micro_speech) is checked against the training
pipeline with a clip's features compiled in as an array (`wav_to_features`, the reference's
tool), and the model itself is compiled in as bytes, as `xxd -i model.tflite` prints them
(`model_array`).
"""

from __future__ import annotations

import os
import re

import numpy as np

from earshot import audio, fileio
from earshot.errors import InvalidInput
from speech_commands import clip_graph, features
from speech_commands.settings import ModelSettings

VALUES_PER_LINE = 10  # the reference's feature array layout
BYTES_PER_LINE = 12  # xxd -i


def variable_base(input_wav: str) -> str:
    """The reference's array name stem (the file name, lower case, without extension), with
    characters C does not allow in names replaced by `_` (`my-clip.wav` -> `my_clip`)."""
    stem = os.path.splitext(os.path.basename(input_wav).lower())[0]
    name = re.sub(r"\W", "_", stem, flags=re.ASCII)
    return name if name and not name[0].isdigit() else f"_{name}"


def quantize_features(values: np.ndarray, features_range: tuple[float, float]) -> np.ndarray:
    """Float features -> uint8 over `features_range`, as the reference's `--quantize` output:
    `round(255 * (v - min) / (max - min))` clamped to [0, 255] (Python's round)."""
    low, high = features_range
    return np.array([min(255, max(0, int(round((255 * (float(v) - low)) / (high - low)))))
                     for v in np.ravel(values)], np.uint8)


def features_source(values: np.ndarray, model_settings: ModelSettings, quantize: bool,
                    name: str, header: list[str]) -> str:
    """The reference's C file: `g_<name>_width`, `g_<name>_height` and `g_<name>_data` (float,
    or unsigned char with `quantize`), 10 values a line.

    Args:
      values: float32 features `[spectrogram_length, fingerprint_width]` (any shape; flattened
        in C order).
      header: lines of the opening comment (the command that made the file).
    """
    lines = ["/* File automatically created by"] + [f" * {line} \\" for line in header]
    lines.append(" */\n")
    lines.append(f"const int g_{name}_width = {model_settings.fingerprint_width};")
    lines.append(f"const int g_{name}_height = {model_settings.spectrogram_length};")
    if quantize:
        body = [f"{value:d}, " for value in quantize_features(values, _range(model_settings))]
        lines.append(f"const unsigned char g_{name}_data[] = {{")
    else:
        body = [f"{value:f}, " for value in np.ravel(values)]
        lines.append(f"const float g_{name}_data[] = {{")
    rows = ["  " + "".join(body[i:i + VALUES_PER_LINE])
            for i in range(0, len(body), VALUES_PER_LINE)]
    return "\n".join(lines + rows) + "\n};\n"


def _range(model_settings: ModelSettings) -> tuple[float, float]:
    features_range = features.of(model_settings).features_range
    if features_range is None:
        raise InvalidInput(f"--quantize needs a front end with a known feature range (mfcc, "
                           f"average, micro), not {model_settings.preprocess}")
    return features_range


def write_features(settings: ModelSettings, quantize: bool, input_wav: str, output_c_file: str,
                   header: list[str]) -> np.ndarray:
    """Writes the features of `input_wav` (no augmentation, the reference's processing graph,
    `clip_graph`) as a C source file (`features_source`), atomically.

    Args:
      header: lines of the file's opening comment (the command that made it).

    Returns:
      the float32 features `[spectrogram_length, fingerprint_width]` written.

    A clip shorter than the clip length is padded with zeros, as the reference does, but one
    shorter than a single analysis window is refused: it has no frame of its own.

    Raises:
      earshot.audio.AudioError: a missing, unreadable, empty, NaN or too short file.
      earshot.errors.InvalidInput: `quantize` for a front end without a known range.
    """
    if quantize:
        _range(settings)
    samples = clip_graph.load_wav(input_wav).size
    if samples < settings.window_size_samples:
        raise audio.AudioError(f"{input_wav}: {samples} samples is shorter than one analysis "
                               f"window ({settings.window_size_samples} samples)")
    values = clip_graph.wav_features(clip_graph.processing_graph(settings), settings,
                                     input_wav)[0]
    source = features_source(values, settings, quantize, variable_base(input_wav), header)
    with fileio.atomic_open(output_c_file, "w") as out:
        out.write(source)
    return values


def model_array(content: bytes, name: str) -> str:
    """`xxd -i` of `content` as array `name`: `unsigned char name[] = {...};` and
    `unsigned int name_len = N;` (12 bytes a line), for compiling a model into firmware."""
    rows = [", ".join(f"0x{byte:02x}" for byte in content[i:i + BYTES_PER_LINE])
            for i in range(0, len(content), BYTES_PER_LINE)]
    return (f"unsigned char {name}[] = {{\n  " + ",\n  ".join(rows) +
            f"\n}};\nunsigned int {name}_len = {len(content)};\n")
