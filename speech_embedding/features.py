"""The log-mel front end of Google's speech_embedding/1, in TF ops inside the model.

Recipe (reference §4.2): 25 ms periodic Hann window, 10 ms hop and a 512-point FFT with no
centring or padding, the STFT magnitude, a 32-band HTK mel filterbank over 60-3800 Hz, and
the natural log of (mel + 0.001). Keeping it inside the Keras model means an exported model
takes raw waveforms, exactly like the TF Hub module.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from earshot.audio import SAMPLE_RATE
STFT_WINDOW_SAMPLES = 400  # 25 ms
STFT_HOP_SAMPLES = 160  # 10 ms
FFT_LENGTH = 512
NUM_SPECTROGRAM_BINS = FFT_LENGTH // 2 + 1
NUM_MEL_BINS = 32
MEL_LOWER_EDGE_HZ = 60.0
MEL_UPPER_EDGE_HZ = 3800.0
LOG_OFFSET = 0.001


def num_frames(num_samples: int) -> int:
    """Log-mel frames the front end makes from `num_samples` samples (0 if too short)."""
    return max(0, 1 + (num_samples - STFT_WINDOW_SAMPLES) // STFT_HOP_SAMPLES)


def log_mel(waveform: tf.Tensor) -> tf.Tensor:
    """float32 `[batch, samples]` in [-1, 1] at 16 kHz -> float32 `[batch, frames, 32]`.

    `frames = 1 + (samples - 400) // 160`; natural-log mel magnitudes, roughly in [-7, 5].
    """
    stft = tf.signal.stft(waveform, frame_length=STFT_WINDOW_SAMPLES, frame_step=STFT_HOP_SAMPLES,
                          fft_length=FFT_LENGTH, window_fn=tf.signal.hann_window, pad_end=False)
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=NUM_MEL_BINS, num_spectrogram_bins=NUM_SPECTROGRAM_BINS,
        sample_rate=SAMPLE_RATE, lower_edge_hertz=MEL_LOWER_EDGE_HZ,
        upper_edge_hertz=MEL_UPPER_EDGE_HZ)
    mel = tf.tensordot(tf.abs(stft), mel_matrix, axes=1)
    return tf.math.log(mel + LOG_OFFSET)


class LogMel(keras.layers.Layer):
    """Keras layer for `log_mel`, adding the channel axis the conv stack expects.

    Input float32 `[batch, samples]`; output float32 `[batch, frames, 32, 1]`. It has no weights,
    so fine-tuning never changes the front end.
    """

    def __init__(self, min_samples: int, **kwargs):
        super().__init__(**kwargs)
        self.min_samples = min_samples

    def call(self, waveform):
        tf.debugging.assert_greater_equal(
            tf.shape(waveform)[1], self.min_samples,
            message=f"speech_embedding needs at least {self.min_samples} samples "
                    f"({self.min_samples * 1000 // SAMPLE_RATE} ms at 16 kHz) per clip")
        return log_mel(waveform)[..., tf.newaxis]

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = None if samples is None else num_frames(samples)
        return (input_shape[0], frames, NUM_MEL_BINS, 1)

    def get_config(self):
        return {**super().get_config(), "min_samples": self.min_samples}
