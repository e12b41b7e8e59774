"""wakeword.voices: the default engines speak, Kokoro blends and speeds, held-out speakers stay
out of training, unknown voices are refused, and the opt-in engines speak where installed.

Every engine runs for real; an opt-in engine that is not installed is skipped with the
command that installs it.
"""

import dataclasses
import os

import numpy as np
import pytest

from earshot import tts
from wakeword import kokoro, voices

PHRASE = "hey jarvis"
U = voices.Utterance


def _f0(waveform: np.ndarray) -> float:
    """Median pitch in Hz of the voiced 64 ms frames of float32 16 kHz speech (autocorrelation)."""
    rate, frame = voices.SAMPLE_RATE, 1024
    shortest, longest = rate // 400, rate // 60
    pitches = []
    for start in range(0, waveform.size - frame, frame // 2):
        chunk = waveform[start:start + frame].astype(np.float64)
        if np.sqrt(np.mean(chunk ** 2)) < 0.02:
            continue
        correlation = np.correlate(chunk, chunk, "full")[frame - 1:]
        pitches.append(rate / (shortest + np.argmax(correlation[shortest:longest])))
    return float(np.median(pitches))


def _assert_speech(waveform: np.ndarray) -> None:
    """Float32 16 kHz mono, not silent, as long as "hey jarvis" is (0.7-1.3 s in every engine)."""
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert 0.4 < waveform.size / voices.SAMPLE_RATE < 1.8
    assert np.sqrt(np.mean(waveform ** 2)) > 0.01
    assert np.abs(waveform).max() <= 1.0


@pytest.mark.parametrize("utterance", [U("espeak-ng", "en-us+m3", PHRASE),
                                       U("kokoro", "af_bella", PHRASE),
                                       U("festival", "ked_diphone", PHRASE)],
                         ids=lambda u: u.engine)
def test_every_default_and_optional_engine_speaks(utterance):
    assert utterance.engine in voices.TRAINING_ENGINES_DEFAULT + voices.TRAINING_ENGINES_OPTIONAL
    _assert_speech(voices.say(utterance))


@pytest.mark.parametrize("utterance", [U("flite", "slt", PHRASE),
                                       U("festival", "kal_diphone", PHRASE)],
                         ids=lambda u: u.engine)
def test_evaluation_engines_speak(utterance):
    _assert_speech(voices.say(utterance))


def test_kokoro_blend_is_a_new_speaker_between_its_parents():
    female = voices.say(U("kokoro", "af_bella", PHRASE))
    male = voices.say(U("kokoro", "am_adam", PHRASE))
    blend = voices.say(U("kokoro", kokoro.blend("af_bella", "am_adam", 0.5), PHRASE))
    _assert_speech(blend)
    assert 150 < _f0(female) < 300  # a woman's voice: also the 24 kHz output was resampled
    assert _f0(male) + 10 < _f0(blend) < _f0(female) - 10
    np.testing.assert_allclose(kokoro.style("af_bella*0.5+am_adam*0.5"),
                               (kokoro.style("af_bella") + kokoro.style("am_adam")) / 2,
                               rtol=1e-6)


def test_kokoro_speed_changes_duration():
    slow = voices.say(U("kokoro", "bm_george", PHRASE, rate=0.7))
    fast = voices.say(U("kokoro", "bm_george", PHRASE, rate=1.4))
    assert slow.size > 1.6 * fast.size


def test_kokoro_is_scaled_into_full_scale():
    """This voice's raw output peaks at 1.19."""
    _assert_speech(voices.say(U("kokoro", "hm_psi", "Hey Jarvis!", rate=1.051)))


def test_kokoro_reads_espeak_phonemes():
    """The phoneme strings that espeak-ng reads (`[[...]]`) are turned into IPA for Kokoro."""
    said = voices.say(U("kokoro", "am_adam", PHRASE))
    phonemes = voices.say(U("kokoro", "am_adam", "[[h'eI dZ'A@vIs]]"))
    _assert_speech(phonemes)
    assert abs(phonemes.size - said.size) < 0.2 * said.size


def test_say_all_mixes_engines_in_order_and_caches():
    utterances = [U("kokoro", "af_heart", "hello there"), U("espeak-ng", "en-gb+f3", PHRASE),
                  U("kokoro", "am_liam*0.7+bf_emma*0.3", PHRASE, rate=1.2),
                  U("festival", "ked_diphone", "hello there", pitch=130, rate=0.9)]
    path = voices.speech_cache_path(utterances)
    if os.path.exists(path):
        os.remove(path)
    spoken = voices.say_all(utterances, "test voices")
    assert os.path.exists(path)
    for utterance, waveform in zip(utterances, spoken):
        np.testing.assert_allclose(waveform, voices.say(utterance), atol=1e-6)
    for cached, waveform in zip(voices.say_all(utterances, "test voices"), spoken):
        np.testing.assert_array_equal(cached, waveform)


def test_say_all_of_nothing_is_nothing():
    assert voices.say_all([], "nothing") == [] and voices.say_all([], "nothing") == []


def test_festival_rate_and_pitch_take_effect():
    """text2wave reads one expression per -eval: rate and pitch each get their own."""
    plain = voices.say(U("festival", "ked_diphone", PHRASE))
    faster = voices.say(U("festival", "ked_diphone", PHRASE, rate=1.4))
    higher = voices.say(U("festival", "ked_diphone", PHRASE, pitch=160))
    assert faster.size < 0.85 * plain.size
    assert _f0(higher) > 1.3 * _f0(plain)


HELD_OUT = [U("flite", voice, PHRASE) for voice in voices.FLITE_VOICES] + [
    U("festival", "kal_diphone", PHRASE), U("festival", "cmu_us_slt_arctic_hts", PHRASE),
    U("festival", "cmu_us_awb_cg", PHRASE), U("festival", "cmu_us_rms_arctic_clunits", PHRASE),
    U("festival", "cmu_us_kal_com_hts", PHRASE), U("rhvoice", "slt", PHRASE),
    U("rhvoice", "alan", PHRASE), U("piper", "en_US-joe-medium", PHRASE)]


@pytest.mark.parametrize("utterance", HELD_OUT, ids=lambda u: f"{u.engine}-{u.voice}")
def test_training_refuses_evaluation_voices(utterance):
    assert voices.is_held_out(utterance)
    with pytest.raises(ValueError, match=utterance.voice):
        voices.check_training(voices.kokoro_voices(5, seed=0) + [utterance])
    with pytest.raises(ValueError, match=utterance.voice):
        voices.check_calibration([utterance])


@pytest.mark.parametrize("voice", ["bf_isabella", "af_bella*0.6+am_eric*0.4"])
def test_training_refuses_calibration_voices(voice):
    with pytest.raises(ValueError, match=r"am_eric|bf_isabella"):
        voices.check_training([U("kokoro", voice, PHRASE)])


def test_default_voice_lists_are_allowed_where_they_are_used():
    training = (voices.kokoro_voices(500, seed=1) + voices.espeak_voices(tts.VARIANTS, 200, 1)
                + voices.festival_voices(50, seed=1)
                + [t for e in voices.OPT_IN_ENGINES for t in voices.opt_in_voices(e, 50, 1)])
    voices.check_training(training)
    for engine in (voices.TRAINING_ENGINES_DEFAULT + voices.TRAINING_ENGINES_OPTIONAL
                   + voices.OPT_IN_ENGINES):
        templates = voices.training_voices(engine, 40, seed=1)
        assert len(templates) == 40 and {t.engine for t in templates} == {engine}
    calibration = voices.kokoro_voices(100, seed=1, names=voices.KOKORO_CALIBRATION_VOICES)
    assert all(voices.is_calibration(u) for u in calibration)
    voices.check_calibration(calibration)
    evaluation = voices.eval_voices(1, engines=voices.ENGINES)
    assert {u.engine for u in evaluation} == {"flite", "festival", "rhvoice", "piper"}
    assert all(voices.is_held_out(u) for u in evaluation)
    assert not set(voices.KOKORO_CALIBRATION_VOICES) & set(voices.KOKORO_TRAINING_VOICES)


@pytest.mark.parametrize("engines", [("flite",), ("espeak-ng", "piper"), ("festivox",)])
def test_training_engines_exclude_evaluation_engines(engines):
    with pytest.raises(ValueError, match="no training voices in"):
        voices.check_training_engines(engines)
    with pytest.raises(ValueError, match="no training voices in"):
        voices.training_voices(engines[-1], 5, seed=0)


def test_kokoro_voices_vary_voice_blend_and_speed():
    templates = voices.kokoro_voices(200, seed=3)
    blends = [t for t in templates if "+" in t.voice]
    assert 0.3 < len(blends) / len(templates) < 0.7
    assert len({t.voice for t in templates if "+" not in t.voice}) > 20
    assert all(voices.KOKORO_SPEED_RANGE[0] <= t.rate <= voices.KOKORO_SPEED_RANGE[1]
               for t in templates)
    assert templates == voices.kokoro_voices(200, seed=3)


@pytest.mark.parametrize("utterance, message", [
    (U("festival", "nobody_diphone", PHRASE), "Festival has no voice 'nobody_diphone'"),
    (U("rhvoice", "nobody", PHRASE), "RHVoice has no voice 'nobody'"),
    (U("kokoro", "af_nobody", PHRASE), "unknown Kokoro voice 'af_nobody'"),
    (U("kokoro", "af_bella*x+am_adam", PHRASE), "the weight of af_bella"),
    (U("pico", "de-DE", PHRASE), "Pico speaks English as"),
    (U("mbrola", "us1", PHRASE), "not an MBROLA voice"),
    (U("piper", "en_US-lessac-medium", PHRASE), "no Piper voice 'en_US-lessac-medium'"),
], ids=lambda value: value.engine if isinstance(value, U) else None)
def test_unknown_voices_are_refused(utterance, message):
    with pytest.raises(voices.UnknownVoice, match=message):
        voices.say(utterance)
    with pytest.raises(voices.UnknownVoice, match=message):  # before anything is said
        voices.say_all([U("espeak-ng", "en-us+m3", PHRASE), utterance], "refused")


@pytest.mark.parametrize("engine, voice", [("festival", "ked_diphone"), ("flite", "slt")])
def test_phonemes_are_refused_by_engines_that_read_words(engine, voice):
    with pytest.raises(ValueError, match="reads words, not espeak-ng phonemes"):
        voices.say(U(engine, voice, "[[h'eI dZ'A@vIs]]"))


def test_kokoro_worker_reports_errors():
    with kokoro.Workers() as workers:
        with pytest.raises(tts.TTSError, match="nothing to say"):
            workers.synthesize("af_bella", " ", 1.0)
        _assert_speech(workers.synthesize("af_bella", PHRASE, 1.0))


OPT_IN = ([U("mbrola", voice, PHRASE) for voice in voices.MBROLA_VOICES]
          + [U("rhvoice", voice, PHRASE) for voice in voices.RHVOICE_TRAINING_VOICES]
          + [U("pico", voice, PHRASE) for voice in voices.PICO_VOICES]
          + [U("festival", voice, PHRASE) for voice in voices.FESTIVAL_OPT_IN_VOICES]
          + [U(engine, voice, PHRASE) for engine, names in voices.EVALUATION_OPT_IN_VOICES.items()
             for voice in names])


@pytest.mark.parametrize("utterance", OPT_IN, ids=lambda u: f"{u.engine}-{u.voice}")
def test_opt_in_engines_speak(utterance):
    try:
        voices.check_voice(utterance.engine, utterance.voice)
    except voices.EngineMissing as missing:
        pytest.skip(str(missing))
    _assert_speech(voices.say(utterance))
    _assert_speech(voices.say(dataclasses.replace(utterance, pitch=90, rate=1.2)))
