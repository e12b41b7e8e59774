"""What a numeric comparison in these tests claims, in one place (rule: tests/README.md#numerics).

Three claims, one function each:

* `assert_bit_exact`: the same kernels ran on the same shapes (or the code only moves, slices
  or copies values), so every bit agrees, on every CPU.
* `assert_float32_rounding`: the same mathematical function computed twice in float32 with
  other kernels, shapes, batch sizes or summation orders (oneDNN or Eigen, TFLite, NumPy,
  chunked or in one pass). The results differ by rounding only, which grows with the values'
  scale and with the number of roundings that reach one output, so the bound is
  `EPS * scale * condition * sqrt(terms)` (plus half a stated quantum, when the result was
  also printed), never a bare absolute number.
* `assert_row_cosines` / `assert_within_steps`: different computations that are meant to be
  close, not equal (int8 models, resampled audio, 16-bit PCM): a model-level bound (cosine)
  or a stated quantization step.

`network_terms(model)` counts the `terms` of a Keras model, so a bound follows the network
rather than one run on one CPU.
"""

from __future__ import annotations

import math

import numpy as np

# float32 machine epsilon, 2**-23: twice the unit roundoff u of one float32 operation.
EPS = float(np.finfo(np.float32).eps)


def assert_bit_exact(actual, expected, what: str = "") -> None:
    """Asserts two arrays are equal in shape and in every value (NaNs in the same places).

    Claims: both sides ran the same kernels on the same shapes, or only moved values, so no
    CPU, thread count or oneDNN setting can change a bit.
    """
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected),
                                  err_msg=f"not bit-exact: {what}")


def float32_rounding_bound(scale: float, terms: int, condition: float = 1) -> float:
    """The largest float32 rounding difference between two computations of one function.

    Args:
      scale: the magnitude of the values compared, `max |expected|`, in their own units.
      terms: how many roundings reach one output: the summed lengths of the reductions
        (dot products, convolutions, FFTs) on its longest path; 1 for an elementwise op.
      condition: how much the computation amplifies a relative error of its inputs (its
        condition number), when it subtracts nearly equal values; 1 when it does not.

    Returns:
      `EPS * scale * condition * sqrt(terms)`. Each side's rounding errors add like a random walk
      (Higham & Mary, "A new approach to probabilistic rounding error analysis", 2019): n
      roundings of unit roundoff u = EPS / 2 move a result of scale s by about u * s * sqrt(n),
      so two computations differ by at most 2 u s sqrt(n). Any other ordering of the same sums
      (another CPU's SIMD width, FMA or not, other blocking) stays inside it; a real error
      (a misplaced chunk, a wrong weight) is of the order of `scale` itself.
    """
    return EPS * float(scale) * condition * math.sqrt(terms)


def front_end_terms(window_samples: int, coefficients: int = 0) -> int:
    """The terms of a spectral front end, for `float32_rounding_bound`.

    Args:
      window_samples: samples in one analysis window, each summed into every FFT bin.
      coefficients: mel bands summed into each DCT coefficient (MFCC); 0 without a DCT.

    Returns:
      window samples + FFT bins (each summed into a mel band) + coefficients, the FFT being
      the next power of two at or above the window.
    """
    fft_length = 1 << (window_samples - 1).bit_length()
    return window_samples + fft_length // 2 + 1 + coefficients


# The 25 ms log-mel or filterbank front end at 16 kHz: 400 + 257 terms.
LOG_MEL_TERMS = front_end_terms(400)


def assert_float32_rounding(actual, expected, *, terms: int, condition: float = 1,
                            scale: float | None = None, quantum: float = 0,
                            what: str = "") -> None:
    """Asserts `actual` equals `expected` up to float32 rounding (`float32_rounding_bound`).

    A float64 computation of the same function is held to the same bound (it rounds less).

    Args:
      actual, expected: arrays of one shape (any float dtype); a scalar `expected` stands
        for every element.
      terms: roundings that reach one output (see `float32_rounding_bound`); derive it from
        the computation, e.g. `network_terms(model)`, never from a measured difference.
      condition: as for `float32_rounding_bound`.
      scale: the magnitude of the values the computation rounded; `max |expected|` unless
        given (a mean of zero or a norm of one is rounded at the scale of what it sums).
      quantum: a stated quantization of `actual` on top of the rounding (1e-6 for numbers
        printed with 6 decimals): half of it adds to the bound.
      what: the claim, shown when it fails.
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if expected.ndim == 0:
        expected = np.broadcast_to(expected, actual.shape)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    difference = float(np.abs(actual - expected).max()) if actual.size else 0.0
    if scale is None:
        scale = float(np.abs(expected).max()) if expected.size else 0.0
    assert_rounding_difference(difference, scale, terms=terms, condition=condition,
                               quantum=quantum, what=what)


def assert_rounding_difference(difference: float, scale: float, *, terms: int,
                               condition: float = 1, quantum: float = 0,
                               what: str = "") -> None:
    """`assert_float32_rounding` for figures measured elsewhere (a `onednn.run_python` snippet).

    Args:
      difference: `max |actual - expected|`.
      scale: `max |expected|`.
      terms, condition: as for `float32_rounding_bound`.
      quantum: as for `assert_float32_rounding`.
      what: the claim, shown when it fails.
    """
    bound = float32_rounding_bound(scale, terms, condition) + quantum / 2
    in_eps = difference / (EPS * scale) if scale else math.inf
    assert difference <= bound, (
        f"{what}: differs by {difference:.3g} = {in_eps:.3g} EPS * scale (scale {scale:.3g}), "
        f"more than float32 rounding over {terms} terms (condition {condition:.3g}) "
        f"and half a quantum of {quantum:.3g} allow: {bound:.3g}")


def network_terms(model) -> int:
    """The summed fan-in of every kernel in a Keras model: its `terms` for a rounding bound.

    Args:
      model: a built `keras.Model` (nested models are walked).

    Returns:
      sum over Conv/Dense-like layers of the length of the dot product behind one output
      value (kernel size x input channels; kernel size alone for depthwise kernels), which
      over-counts a path through a branching network rather than under-counting it.
    """
    total = 0
    for layer in _layers(model):
        kernel = getattr(layer, "depthwise_kernel", None)
        if kernel is not None:
            total += math.prod(kernel.shape[:-2])
            continue
        kernel = getattr(layer, "kernel", None)
        if kernel is not None and len(kernel.shape) >= 2:
            total += math.prod(kernel.shape[:-1])
    return total


def batch_norm_terms(model, reduced: int) -> int:
    """The terms batch statistics add: `reduced` values summed per channel in each batch norm.

    Args:
      model: a built `keras.Model` (nested models are walked).
      reduced: values per channel each statistic sums, at most batch x the largest feature
        map (an upper bound for every layer, as feature maps only shrink).
    """
    return reduced * sum(1 for layer in _layers(model)
                         if "BatchNormalization" in type(layer).__name__)


def _layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _layers(layer)
        else:
            yield layer


def logit_scale(scores) -> float:
    """The scale at which the logits behind softmax or sigmoid `scores` were rounded.

    Returns `max(|log p|, |log(1 - p)|)`. Softmax forgets the logits' shift; `log p` are the
    logits shifted so that their log-sum-exp is 0, about where a trained head leaves them; a
    sigmoid's logit is `log p - log(1 - p)`. A score moves by at most the logits' difference,
    so `assert_float32_rounding(..., scale=logit_scale(expected))` bounds scores computed on
    two runtimes. Scores of 0 or 1 count as float32's smallest normal number away (|log| 87).
    """
    p = np.asarray(scores, np.float64)
    tiny = np.finfo(np.float32).tiny
    return float(np.abs(np.log(np.clip(np.concatenate([p.ravel(), 1 - p.ravel()]), tiny, 1)))
                 .max())


def row_cosines(a, b) -> np.ndarray:
    """Cosine similarity of matching rows of two `[N, D]` arrays, as float64 `[N]`."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def assert_row_cosines(actual, expected, minimum: float, what: str = "") -> None:
    """Asserts every row of `actual` points where the same row of `expected` points.

    Claims closeness at model level, for computations that are not the same function (int8
    against float32, audio resampled on another path): `minimum` is the model's stated
    figure (e.g. 0.99 for an int8 VGGish), independent of the CPU.
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    worst = float(row_cosines(actual, expected).min())
    assert worst >= minimum, f"{what}: lowest row cosine {worst:.6f} < {minimum}"


def assert_within_steps(actual, expected, step: float, steps: float = 1,
                        what: str = "") -> None:
    """Asserts `|actual - expected| <= steps * step` everywhere.

    Claims: the two differ by a stated quantization only (16-bit PCM's 1/32768, int8
    softmax's 1/256), which no CPU changes. A float32 result that was also printed is
    `assert_float32_rounding(..., quantum=...)` instead.
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    difference = float(np.abs(actual - expected).max()) if actual.size else 0.0
    assert difference <= steps * step, (
        f"{what}: differs by {difference:.3g}, more than {steps} x the step {step:.3g}")
