"""VGGish constants, named as in the reference `vggish_params.py` of tensorflow/models."""

from earshot.audio import SAMPLE_RATE  # vggish_params.SAMPLE_RATE, under the reference's name

# Architecture.
NUM_FRAMES = 96  # STFT frames per log-mel example (0.96 s).
NUM_BANDS = 64  # Mel bands per example.
EMBEDDING_SIZE = 128

# Feature and example generation.
STFT_WINDOW_LENGTH_SECONDS = 0.025
STFT_HOP_LENGTH_SECONDS = 0.010
NUM_MEL_BINS = NUM_BANDS
MEL_MIN_HZ = 125
MEL_MAX_HZ = 7500
LOG_OFFSET = 0.01  # log(mel + LOG_OFFSET) keeps silence finite.
EXAMPLE_WINDOW_SECONDS = 0.96
EXAMPLE_HOP_SECONDS = 0.96  # No overlap between examples.

# Postprocessing (PCA, whitening, 8-bit quantization as in the released AudioSet features).
PCA_EIGEN_VECTORS_NAME = "pca_eigen_vectors"
PCA_MEANS_NAME = "pca_means"
QUANTIZE_MIN_VAL = -2.0
QUANTIZE_MAX_VAL = +2.0

# Training.
INIT_STDDEV = 0.01
LEARNING_RATE = 1e-4
ADAM_EPSILON = 1e-8

# Derived sizes, in samples at SAMPLE_RATE.
STFT_WINDOW_LENGTH = int(round(SAMPLE_RATE * STFT_WINDOW_LENGTH_SECONDS))  # 400
STFT_HOP_LENGTH = int(round(SAMPLE_RATE * STFT_HOP_LENGTH_SECONDS))  # 160
FFT_LENGTH = 512  # Next power of two above STFT_WINDOW_LENGTH.
EXAMPLE_HOP_FRAMES = int(round(EXAMPLE_HOP_SECONDS / STFT_HOP_LENGTH_SECONDS))  # 96
# One example needs NUM_FRAMES STFT frames: 15600 samples, 0.975 s.
MIN_SAMPLES = STFT_WINDOW_LENGTH + (NUM_FRAMES - 1) * STFT_HOP_LENGTH
