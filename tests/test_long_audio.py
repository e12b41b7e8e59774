"""Long recordings in bounded memory: block decoding, overlapping chunks, and chunked models
whose rows equal one pass over the whole clip."""

import gzip
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile

import numerics
import onednn
from earshot import audio
from speaker_embedding import embedder as speaker_embedder
from speaker_embedding import features as speaker_features
from speech_embedding import embedding as speech_embed
from speech_embedding import model as speech_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VGGISH_FIXTURES = os.path.join(os.path.dirname(REPO), "shared", "fixtures", "vggish")


def _noise(seconds: float, rate: int = 16000, channels: int = 1, seed: int = 0) -> np.ndarray:
    samples = np.random.default_rng(seed).uniform(-0.8, 0.8, (int(seconds * rate), channels))
    return samples.astype(np.float32)


# --- earshot.audio.stream ------------------------------------------------------------------

@pytest.mark.numerics
@pytest.mark.parametrize("rate, channels, extension, subtype", [
    (44100, 2, "wav", "PCM_16"),
    (16000, 1, "wav", "FLOAT"),
    (48000, 1, "flac", "PCM_24"),
    (8000, 3, "wav", "PCM_16"),
    (22050, 1, "ogg", None),
    (44100, 2, "mp3", None),
])
def test_stream_gives_the_samples_load_gives(tmp_path, rate, channels, extension, subtype):
    path = tmp_path / f"clip.{extension}"
    soundfile.write(path, _noise(2.3, rate, channels), rate, subtype=subtype)
    whole = audio.load(path, 16000)
    # Blocks of 1000 frames: many resampler calls, none aligned with anything.
    blocks = list(audio.stream(path, 16000, block_frames=1000))
    assert len(blocks) > 10
    assert all(block.dtype == np.float32 and block.ndim == 1 for block in blocks)
    # soxr's streaming resampler gives the one-shot numbers exactly.
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_stream_of_an_array_is_load_in_slices():
    stereo = _noise(1.3, 8000, 2)
    blocks = list(audio.stream(stereo, 16000, source_rate=8000, block_frames=4096))
    np.testing.assert_array_equal(np.concatenate(blocks), audio.load(stereo, 16000, 8000))
    assert max(block.size for block in blocks) == 4096


def _write(path, samples, subtype="FLOAT"):
    soundfile.write(path, samples, 16000, subtype=subtype)
    return path


def _write_junk(path):
    path.write_bytes(b"RIFF0000WAVEjunk")
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.wav", "no such file"),
    (lambda d: d, "is a directory"),
    (lambda d: _write_junk(d / "junk.wav"), "cannot decode"),
    (lambda d: _write(d / "empty.wav", np.zeros(0, np.float32)), "zero samples"),
    (lambda d: _write(d / "nan.wav", np.insert(np.zeros(6000, np.float32), 5000, np.nan)),
     "NaN or Inf samples, first at index 5000"),
    (lambda d: _write(d / "loud.wav", np.insert(np.zeros(6000, np.float32), 4321, 3.0)),
     "outside [-1, 1]"),
])
def test_stream_refuses_bad_files_like_load(tmp_path, make, message):
    path = make(tmp_path)
    for read in (lambda: audio.load(path, 16000),
                 lambda: list(audio.stream(path, 16000, block_frames=1000))):
        with pytest.raises(audio.AudioError) as error:
            read()
        assert message in str(error.value) and os.fspath(path) in str(error.value)


# --- earshot.audio.overlapping_chunks ------------------------------------------------------

def _expected_chunks(samples: np.ndarray, size: int, step: int) -> list[np.ndarray]:
    """Chunk k is samples[k * step : k * step + size]; stop once a chunk reached the end."""
    chunks = []
    for start in range(0, samples.size, step):
        chunks.append(samples[start:start + size])
        if start + size >= samples.size:
            break
    return chunks


@pytest.mark.parametrize("size, step", [(10, 3), (7, 7), (12, 4), (5, 1)])
def test_overlapping_chunks_are_slices_of_the_whole_stream(size, step):
    for length in range(0, 45):
        samples = np.arange(length, dtype=np.float32)
        expected = _expected_chunks(samples, size, step)
        for block in (1, 3, 8, 50):
            blocks = [samples[i:i + block] for i in range(0, length, block)]
            chunks = [chunk.copy() for chunk in audio.overlapping_chunks(iter(blocks), size, step)]
            assert len(chunks) == len(expected), (length, block)
            for chunk, want in zip(chunks, expected):
                np.testing.assert_array_equal(chunk, want)


def test_progress_counts_the_chunks_of_a_recording_on_stderr(capsys):
    chunks = [np.zeros(4)] * 3
    assert len(list(audio.log_progress(iter(chunks), "long.wav", 60, every_seconds=0))) == 3
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines[:3]] == [
        f"long.wav (60 s chunks): {done}" for done in (1, 2, 3)]
    assert lines[3].startswith("long.wav (60 s chunks): 3 in ") and len(lines) == 4
    list(audio.log_progress(iter(chunks), "short.wav", 60))
    assert capsys.readouterr().err == ""


# --- speaker_embedding: chunked filterbanks and windows (NumPy) -----------------------------

# Frames 1 .. 479 around window (160-frame) boundaries, and a waveform shorter than a hop.
SPEAKER_LENGTHS = [1, 300, 401, 25840, 26000, 51440, 51600, 76880, 16000 * 20 + 999]


@pytest.mark.numerics
@pytest.mark.parametrize("chunk_windows", [1, 2, 3])
def test_speaker_filterbanks_and_windows_in_chunks_equal_the_whole(chunk_windows):
    waveform = _noise(21)[:, 0]
    for length in SPEAKER_LENGTHS:
        clip = waveform[:length]
        blocks = [clip[i:i + 777] for i in range(0, length, 777)]
        whole = speaker_features.fbank(clip)
        chunked = np.concatenate(list(speaker_embedder.fbank_chunks(
            blocks, chunk_windows * speaker_features.NUM_FRAMES)))
        assert chunked.shape == whole.shape, length
        # NumPy's FFT on other batch shapes: rounding over the 512-point FFT and 257 bins.
        numerics.assert_float32_rounding(chunked, whole, terms=numerics.LOG_MEL_TERMS,
                                         what=f"filterbanks of {length} samples in chunks")
        windows = np.concatenate(list(speaker_embedder._window_chunks(blocks, chunk_windows)))
        expected = speaker_features.windows(whole)
        assert windows.shape == expected.shape, length
        # Windows only slice the filterbank rows: equal up to the rows' own rounding.
        numerics.assert_float32_rounding(windows, expected, terms=numerics.LOG_MEL_TERMS,
                                         what=f"windows of {length} samples in chunks")


# --- chunked models == one pass, with oneDNN off and on -------------------------------------

# Around the first embedding (12400), the second (13680), the third (14960), and 9 s: 104
# embeddings, so the last chunk of 2, 3 or 7 holds 1 or 2 new ones.
SPEECH_LENGTHS = [12400, 13679, 13680, 14960, 16000 * 9 + 333]


@pytest.mark.numerics
@pytest.mark.parametrize("mode", onednn.MODES)
def test_speech_embedding_in_chunks_equals_one_pass(mode):
    reports = onednn.run_python("""
        import speech_embedding
        from speech_embedding import embedding as embed
        model = speech_embedding.load()
        one_pass = tf.function(lambda x: model(x, training=False))
        waveform = np.random.default_rng(0).uniform(-0.8, 0.8, 16000 * 10).astype(np.float32)
        terms = numerics.network_terms(model) + numerics.LOG_MEL_TERMS
        result = []
        for length in ARGS["lengths"]:
            clip = waveform[:length]
            whole = one_pass(clip[np.newaxis]).numpy()[0, :, 0, :]
            blocks = [clip[i:i + 1000] for i in range(0, length, 1000)]
            for rows in (2, 3, 7):
                chunked = embed.embed_blocks(blocks, chunk_embeddings=rows)
                result.append([length, rows, list(chunked.shape), list(whole.shape),
                               float(np.abs(chunked - whole).max()), float(np.abs(whole).max())])
        report({"terms": terms, "rows": result})
    """, mode, lengths=SPEECH_LENGTHS)
    for length, rows, chunked_shape, whole_shape, difference, scale in reports["rows"]:
        assert chunked_shape == whole_shape == [speech_model.num_embeddings(length), 96]
        # Chunks run the convs on other shapes, so other kernels and summation orders. On an
        # AMD EPYC (AVX2, FMA, no AVX-512) chunks differ by up to 2.7e-5 = 4.3 EPS * scale with
        # oneDNN off, 5.0e-5 = 8.1 EPS * scale with it on, 3.8e-5 = 6.2 EPS * scale with it
        # held to SSE4.1 (scale: values up to 51.5, at 144333 samples); the bound is
        # sqrt(terms) = sqrt(4626) = 68 EPS * scale = 4.2e-4.
        numerics.assert_rounding_difference(difference, scale, terms=reports["terms"],
                                            what=f"{length} samples in chunks of {rows} rows")


@pytest.fixture(scope="module")
def vggish_weights(tmp_path_factory):
    """The parity fixture's checkpoint converted by `vggish.convert`."""
    from vggish import weights
    folder = tmp_path_factory.mktemp("vggish")
    checkpoint = folder / "vggish_model.ckpt"
    with gzip.open(os.path.join(VGGISH_FIXTURES, "vggish_model.ckpt.gz"), "rb") as source, \
            open(checkpoint, "wb") as target:
        shutil.copyfileobj(source, target, length=1 << 24)
    return weights.convert(str(checkpoint), os.path.join(VGGISH_FIXTURES,
                                                         "vggish_pca_params.npz"),
                           str(folder / "converted"))


@pytest.mark.numerics
@pytest.mark.parametrize("mode", onednn.MODES)
def test_vggish_in_chunks_equals_one_pass(mode, vggish_weights, tmp_path):
    # Around the first example (15600), the second (30960), and 8 s.
    lengths = [15600, 30959, 30960, 16000 * 8 + 3]
    path = tmp_path / "stereo_44k.wav"
    soundfile.write(path, _noise(8, 44100, 2), 44100, subtype="PCM_16")
    reports = onednn.run_python("""
        from earshot import audio
        from vggish import embedding as embed, features
        embedder = embed.embedder(ARGS["weights"])
        one_pass = tf.function(lambda w: embedder.model(features.log_mel_examples(w),
                                                        training=False))
        waveform = np.random.default_rng(0).uniform(-0.8, 0.8, 16000 * 9).astype(np.float32)
        terms = numerics.network_terms(embedder.model) + numerics.LOG_MEL_TERMS
        result = []
        for length in ARGS["lengths"]:
            clip = waveform[:length]
            whole = one_pass(tf.constant(clip)).numpy()
            blocks = [clip[i:i + 1000] for i in range(0, length, 1000)]
            for examples in (1, 2, 3):
                chunked = embedder.embed_blocks(blocks, batch_examples=examples)
                result.append([length, list(chunked.shape), list(whole.shape),
                               float(np.abs(chunked - whole).max()), float(np.abs(whole).max())])
        # A file streams through slices of 3 examples; postprocessing works row by row.
        embed.MAX_BATCH_EXAMPLES = 3
        from_file = embedder(ARGS["path"])
        whole = one_pass(tf.constant(audio.load(ARGS["path"], 16000))).numpy()
        codes_equal = np.array_equal(embedder(ARGS["path"], postprocess=True),
                                     embedder.postprocessor(from_file))
        report({"terms": terms, "chunks": result,
                "file": [list(from_file.shape), list(whole.shape),
                         float(np.abs(from_file - whole).max()), float(np.abs(whole).max())],
                "codes_equal": codes_equal})
    """, mode, weights=vggish_weights, lengths=lengths, path=str(path))
    # Batches of 1, 2 or 3 examples against one batch: other GEMM shapes, same function.
    for length, chunked_shape, whole_shape, difference, scale in reports["chunks"]:
        assert chunked_shape == whole_shape == [1 + (length - 15600) // 15360, 128]
        numerics.assert_rounding_difference(difference, scale, terms=reports["terms"],
                                            what=f"VGGish of {length} samples in batches")
    file_shape, whole_shape, difference, scale = reports["file"]
    assert file_shape == whole_shape == [8, 128]
    numerics.assert_rounding_difference(difference, scale, terms=reports["terms"],
                                        what="VGGish of a file in slices of 3 examples")
    assert reports["codes_equal"]


@pytest.mark.numerics
@pytest.mark.parametrize("mode", onednn.MODES)
def test_speaker_vectors_in_chunks_equal_one_pass(mode):
    reports = onednn.run_python("""
        import keras
        from speaker_embedding import embedder, features, model
        keras.utils.set_random_seed(0)
        network = model.build(config=model.ResCNNConfig((8, 16), 1))
        speaker = embedder.Embedder(network)
        waveform = np.random.default_rng(0).uniform(-0.8, 0.8, 16000 * 21).astype(np.float32)
        terms = numerics.network_terms(network) + numerics.LOG_MEL_TERMS
        result = []
        for length in ARGS["lengths"]:
            clip = waveform[:length]
            whole = speaker.embed_inputs(features.windows(features.fbank(clip)))
            for windows in (1, 2, 3):
                chunked = speaker.embed_windows(clip, chunk_windows=windows)
                result.append([length, list(chunked.shape), list(whole.shape),
                               float(np.abs(chunked - whole).max()), float(np.abs(whole).max())])
        report({"terms": terms, "rows": result})
    """, mode, lengths=SPEAKER_LENGTHS)
    for length, chunked_shape, whole_shape, difference, scale in reports["rows"]:
        assert chunked_shape == whole_shape, length
        numerics.assert_rounding_difference(difference, scale, terms=reports["terms"],
                                            what=f"speaker vectors of {length} samples in chunks")


@pytest.mark.numerics
def test_speaker_vector_of_a_file_equals_that_of_its_waveform(tmp_path):
    import keras
    from speaker_embedding import model
    keras.utils.set_random_seed(0)
    network = model.build(config=model.ResCNNConfig((8, 16), 1))
    speaker = speaker_embedder.Embedder(network)
    path = tmp_path / "stereo_44k.wav"
    soundfile.write(path, _noise(3.7, 44100, 2), 44100, subtype="PCM_16")
    # A file is embedded in chunks, its waveform in one batch: the same function.
    numerics.assert_float32_rounding(
        speaker.embed(path), speaker.embed(speaker_embedder.load_waveform(path)),
        terms=numerics.network_terms(network) + numerics.LOG_MEL_TERMS,
        what="speaker vector of a file and of its waveform")
    short = _write(tmp_path / "short.wav", _noise(0.3)[:, 0])
    with pytest.raises(audio.AudioError, match="short.wav: 0.30 s of audio is too short"):
        speaker.embed(short)


@pytest.mark.numerics
def test_speech_embedding_of_a_file_equals_that_of_its_waveform(tmp_path):
    path = tmp_path / "stereo_44k.wav"
    soundfile.write(path, _noise(5.3, 44100, 2), 44100, subtype="PCM_16")
    np.testing.assert_array_equal(speech_embed.embed(path),
                                  speech_embed.embed(audio.load(path, 16000)))
    short = _write(tmp_path / "short.wav", _noise(0.7)[:, 0])
    with pytest.raises(audio.AudioError, match="short.wav: 11200 samples at 16 kHz is too short"):
        speech_embed.embed(short)


# --- a long recording ----------------------------------------------------------------------

def _write_long_wav(path, minutes: float) -> int:
    """A tone over noise, 16 kHz 16-bit, written a minute at a time; returns its samples."""
    rng = np.random.default_rng(0)
    total = int(minutes * 60 * 16000)
    with soundfile.SoundFile(path, "w", 16000, 1, "PCM_16") as sink:
        for start in range(0, total, 16000 * 60):
            t = (start + np.arange(min(16000 * 60, total - start))) / 16000
            sink.write(0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size))
    return total


@pytest.mark.numerics
@pytest.mark.slow
@pytest.mark.parametrize("mode", onednn.MODES)
def test_ten_minutes_in_chunks_equal_one_pass(mode, tmp_path):
    path = tmp_path / "ten_minutes.wav"
    samples = _write_long_wav(path, 10)
    reports = onednn.run_python("""
        import speech_embedding
        from earshot import audio
        chunked = speech_embedding.embed(ARGS["path"])
        model = speech_embedding.load()
        waveform = audio.load(ARGS["path"], 16000)
        whole = tf.function(lambda x: model(x, training=False))(waveform[np.newaxis])
        whole = whole.numpy()[0, :, 0, :]
        report([list(chunked.shape), list(whole.shape), float(np.abs(chunked - whole).max()),
                float(np.abs(whole).max()),
                numerics.network_terms(model) + numerics.LOG_MEL_TERMS])
    """, mode, path=str(path))
    chunked_shape, whole_shape, difference, scale, terms = reports
    assert chunked_shape == whole_shape == [speech_model.num_embeddings(samples), 96]
    numerics.assert_rounding_difference(difference, scale, terms=terms,
                                        what="10 minutes in chunks against one pass")


# What the CLI may hold on 20 minutes: one pass over them took 2.5 GB, the chunks about 0.9 GB
# (TensorFlow and the weights).
CLI_PEAK_BOUND_BYTES = 1.5e9
PEAK_REPORT = "peak resident bytes: "


@pytest.mark.slow
def test_embedding_cli_on_twenty_minutes_stays_in_bounded_memory(tmp_path):
    wav, output = tmp_path / "twenty_minutes.wav", tmp_path / "out.npz"
    samples = _write_long_wav(wav, 20)
    # The child reports its own high-water mark: a child's ru_maxrss counts the parent's
    # resident set at the fork, and this test process holds TensorFlow.
    program = (
        "import runpy, sys\n"
        f"sys.argv = ['speech_embedding.embed', '--input={wav}', '--output={output}']\n"
        "try:\n"
        "    runpy.run_module('speech_embedding.embed', run_name='__main__', alter_sys=True)\n"
        "finally:\n"
        "    peak = [line.split()[1] for line in open('/proc/self/status')\n"
        "            if line.startswith('VmHWM:')][0]\n"
        f"    print({PEAK_REPORT!r} + str(int(peak) * 1024), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True,
                            text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    peak = int(result.stderr.split(PEAK_REPORT)[1].split()[0])
    assert peak <= CLI_PEAK_BOUND_BYTES, f"peak {peak / 1e9:.2f} GB"
    with np.load(output) as arrays:
        assert arrays[str(wav)].shape == (speech_model.num_embeddings(samples), 96)
