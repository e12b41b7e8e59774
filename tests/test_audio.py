"""earshot.audio: decoding, mixing down, resampling, and the errors for bad input."""

import os

import numpy as np
import pytest
import soundfile

import numerics
from earshot import audio, fileio, tts


def _tone(seconds=0.5, rate=16000, amplitude=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_int16_wav_is_scaled_by_1_over_32768(tmp_path):
    path = tmp_path / "a.wav"
    soundfile.write(path, np.array([16384, -32768, 1], np.int16), 16000, subtype="PCM_16")
    np.testing.assert_array_equal(audio.load(path, 16000), [0.5, -1.0, 1 / 32768])


@pytest.mark.parametrize("extension", ["wav", "flac", "ogg", "mp3"])
def test_every_supported_format_decodes(tmp_path, extension):
    tone = _tone()
    path = tmp_path / f"tone.{extension}"
    soundfile.write(path, tone, 16000)
    decoded = audio.load(path, 16000)
    assert decoded.dtype == np.float32
    # Lossy codecs pad and delay a little; the tone's energy is what must survive.
    assert abs(decoded.size - tone.size) < 0.1 * tone.size
    assert np.sqrt(np.mean(decoded ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


@pytest.mark.numerics
def test_stereo_is_mixed_down_by_channel_mean(tmp_path):
    left, right = _tone(amplitude=0.8), np.zeros(8000, np.float32)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    # float32 samples, (left + 0) / 2: exact in float32.
    numerics.assert_bit_exact(audio.load(path, 16000), left / 2, what="stereo mixed down")


def test_resampling_keeps_duration_and_pitch(tmp_path):
    path = tmp_path / "44k.wav"
    soundfile.write(path, _tone(seconds=1.0, rate=44100), 44100)
    waveform = audio.load(path, 16000)
    assert waveform.size == 16000
    spectrum = np.abs(np.fft.rfft(waveform))
    assert np.argmax(spectrum) == 440  # 1 Hz bins over one second


def test_array_source_with_its_own_rate():
    waveform = audio.load(_tone(seconds=1.0, rate=8000), 16000, source_rate=8000)
    assert waveform.size == 16000


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.wav", "no such file"),
    (lambda d: d, "is a directory"),
    (lambda d: _write(d / "junk.wav", b"RIFF0000WAVEjunk"), "cannot decode"),
    (lambda d: _write_audio(d / "empty.wav", np.zeros(0, np.float32)), "zero samples"),
    (lambda d: _write_audio(d / "nan.wav", np.array([0.1, np.nan, 0.2], np.float32)), "NaN or Inf"),
    (lambda d: _write_audio(d / "inf.wav", np.array([0.1, np.inf], np.float32)), "NaN or Inf"),
    (lambda d: _write_audio(d / "loud.wav", np.array([0.1, 3.0], np.float32)), "outside [-1, 1]"),
])
def test_bad_files_get_clear_errors(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(audio.AudioError, match=message.replace("[", r"\[").replace("]", r"\]")) as error:
        audio.load(path, 16000)
    assert os.fspath(path) in str(error.value)


@pytest.mark.parametrize("waveform, message", [
    (np.zeros(0, np.float32), "zero samples"),
    (np.array([0.0, np.nan], np.float32), "NaN or Inf"),
    (np.array([0, 20000], np.int16), "integer samples"),
    (np.array([0.5, -1.5], np.float32), "outside"),
    (np.zeros((2, 3, 4), np.float32), "rank 1 or 2"),
])
def test_bad_arrays_get_clear_errors(waveform, message):
    with pytest.raises(audio.AudioError, match=message):
        audio.load(waveform, 16000)


@pytest.mark.numerics
def test_write_wav_round_trips_at_16_bits(tmp_path):
    tone = _tone()
    path = tmp_path / "out" / "tone.wav"
    audio.write_wav(path, tone, 16000)
    assert soundfile.info(path).subtype == "PCM_16"
    numerics.assert_within_steps(audio.load(path, 16000), tone, step=1 / 32768,
                                 what="a tone through 16-bit PCM")
    assert sorted(os.listdir(path.parent)) == ["tone.wav"]


def test_atomic_dir_leaves_nothing_when_the_job_fails(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with fileio.atomic_dir(target) as staging:
            open(os.path.join(staging, "half.bin"), "w").close()
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []


def test_atomic_dir_needs_overwrite_to_replace(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old").write_text("old")
    with pytest.raises(FileExistsError, match="--overwrite"):
        with fileio.atomic_dir(target):
            pass
    with fileio.atomic_dir(target, overwrite=True) as staging:
        open(os.path.join(staging, "new"), "w").close()
    assert os.listdir(target) == ["new"]
    assert os.listdir(tmp_path) == ["model"]


def test_synthetic_speakers_are_stable_and_distinct():
    speakers = tts.speakers(20, seed=3)
    assert speakers == tts.speakers(20, seed=3)
    assert len({s.id for s in speakers}) == 20
    waveform = tts.speak("yes", speakers[0])
    assert waveform.dtype == np.float32 and 2000 < waveform.size < 32000
    assert np.max(np.abs(waveform)) > 0.1


def test_espeak_synthesis_and_phonemes_share_one_caller():
    """A speaker is espeak-ng options; phonemes come one per line, in its alphabet or IPA, and
    its alphabet read back as `[[...]]` is spoken."""
    speaker = tts.speakers(1, seed=4)[0]
    numerics.assert_bit_exact(tts.speak("yes", speaker), tts.synthesize(
        "yes", f"{speaker.accent}+{speaker.variant}", speaker.pitch, speaker.speed),
        what="speak as synthesize")
    assert tts.phonemes("hey jarvis.\nhello.", "en-us") == ["h'eI dZ'A@vIs", "h@l'oU"]
    assert tts.phonemes("hey jarvis", "en-us", ipa=True) == ["hˈeɪ dʒˈɑːɹvɪs"]
    spoken = tts.synthesize("[[h'eI dZ'A@vIs]]", "en-us+m3", gap=5)
    assert spoken.size > tts.synthesize("[[h'eI dZ'A@vIs]]", "en-us+m3").size
    with pytest.raises(tts.TTSError, match="nothing to say"):
        tts.synthesize(" ", "en-us")


def _write(path, data):
    path.write_bytes(data)
    return path


def _write_audio(path, samples):
    soundfile.write(path, samples, 16000, subtype="FLOAT")
    return path
