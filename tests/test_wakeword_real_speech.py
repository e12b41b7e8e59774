"""wakeword.real_speech: each package's speech read from tiny files in its real format.

A `queen.1c` resource table with MP3 entries (dialogue, numbered effects, a graphic),
Fish Fillets' per-language Ogg folders, Warzone 2100's `base.wz` zip, Hedgewars' voice
packs and a folder of one's own recordings are made in tmp_path with tones for speech; the
packages' `apt-get download` is a stand-in script handing over a .deb that dpkg-deb built.
No network, no real package, a few seconds.
"""

import io
import os
import shutil
import stat
import struct
import subprocess
import zipfile

import numpy as np
import pytest
import soundfile

from earshot import audio, fileio
from earshot.errors import InvalidInput, UserError
from wakeword import real_speech

RATE = real_speech.SAMPLE_RATE
QUEEN = "usr/share/scummvm/flight-of-the-amazon-queen/queen.1c"
FILLETS = "usr/share/games/fillets-ng/sound"
WARZONE = "usr/share/games/warzone2100/base.wz"
HEDGEWARS = "usr/share/games/hedgewars/Data/Sounds"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """A private EARSHOT_CACHE, and no installed package: SYSTEM_ROOT is an empty folder."""
    monkeypatch.setenv("EARSHOT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(real_speech, "SYSTEM_ROOT", str(tmp_path / "system"))
    return tmp_path / "cache"


def _tone(seconds: float, rate: int, frequency: float = 300.0, amplitude: float = 0.3,
          channels: int = 1) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    wave = (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def _encoded(waveform: np.ndarray, rate: int, format_: str) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, waveform, rate, format=format_)
    return buffer.getvalue()


def _write(path, data: bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(data)
    return str(path)


def _queen_table(entries: list[tuple[str, bytes]], compression: int = 1,
                 count: int | None = None) -> bytes:
    """A queen.1c: QTBL header, 21-byte entries (name, bundle, offset, size), then the data."""
    count = len(entries) if count is None else count
    header = struct.pack(">4s6s2xBH", b"QTBL", b"CEM10\0", compression, count)
    offset = len(header) + 21 * len(entries)
    table, data = b"", b""
    for name, payload in entries:
        table += struct.pack(">12sBII", name.encode(), 1, offset + len(data), len(payload))
        data += payload
    return header + table + data


def _mp3(seconds: float, amplitude: float = 0.3) -> bytes:
    """A 300 Hz tone as MP3 whose header says 11025 Hz, as the game's lines are made."""
    return _encoded(_tone(seconds, 11025, amplitude=amplitude), 11025, "MP3")


def _queen_entries() -> list[tuple[str, bytes]]:
    """Three dialogue lines, two effects, a graphic, and a short and a silent line."""
    return [("020001P2.SB", _mp3(1.0)), ("116BSSSS.SB", _mp3(0.5)), ("JOE02891.SB", _mp3(0.6)),
            ("3SSSSSSS.SB", _mp3(0.5)), ("03SSSSJ1.SB", _mp3(0.8)),
            ("ROOM1.PCX", b"\x0a" * 300), ("C1A__061.SB", _mp3(0.1)),
            ("C2A__131.SB", _mp3(0.5, amplitude=0.0))]


def _ogg(seconds: float, rate: int = 22050, **tone) -> bytes:
    return _encoded(_tone(seconds, rate, **tone), rate, "OGG")


def _dominant_hz(waveform: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(waveform * np.hanning(waveform.size)))
    return float(np.fft.rfftfreq(waveform.size, 1 / RATE)[np.argmax(spectrum)])


def test_queen_reads_the_dialogue_at_its_true_rate_of_11840_hz(tmp_path):
    root = tmp_path / "queen"
    _write(root / QUEEN, _queen_table(_queen_entries()))
    collection = real_speech.read_source("queen", str(root))
    # Effects (numbered, S-padded), the graphic, the 0.1 s line and the silent one are left out.
    assert collection.names == ["020001P2.SB", "03SSSSJ1.SB", "JOE02891.SB"]
    assert collection.samples.dtype == np.float32 and collection.ends.dtype == np.int64
    for index, seconds in enumerate([1.0, 0.8, 0.6]):
        clip = collection.clip(index)
        # 11025 samples a second, played at 11840 Hz: shorter, and higher, than the header says.
        assert clip.size == pytest.approx(seconds * 11025 * RATE / 11840, abs=40)
        assert _dominant_hz(clip) == pytest.approx(300 * 11840 / 11025, abs=2)
    assert collection.ends[-1] == collection.samples.size
    assert collection.hours() == pytest.approx(2.4 * 11025 / 11840 / 3600, rel=0.01)


def _fillets(root) -> None:
    sound = root / FILLETS
    for level, language, name, seconds in [("city", "cs", "vit-m-hlava.ogg", 0.5),
                                           ("city", "cs", "vit-v-proc.ogg", 0.7),
                                           ("airplane", "cs", "air-m-let.ogg", 0.4),
                                           ("city", "nl", "vit-m-hlava.ogg", 0.9)]:
        _write(sound / level / language / name, _ogg(seconds))
    _write(sound / "city" / "bubble.ogg", _ogg(0.5))
    # A file of no samples, as Debian's fillets-ng-data-nl has: like a short clip, left out.
    _write(sound / "city" / "cs" / "vit-m-nic.ogg", _encoded(np.zeros((0, 2), np.float32),
                                                              22050, "OGG"))


def test_fillets_reads_one_language_at_16_khz(tmp_path):
    _fillets(tmp_path)
    czech = real_speech.read_source("fillets-cs", str(tmp_path))
    assert czech.names == ["airplane/cs/air-m-let.ogg", "city/cs/vit-m-hlava.ogg",
                           "city/cs/vit-v-proc.ogg"]
    assert np.diff(czech.ends, prepend=0).tolist() == [6400, 8000, 11200]
    dutch = real_speech.read_source("fillets-nl", str(tmp_path))
    assert dutch.names == ["city/nl/vit-m-hlava.ogg"] and dutch.samples.size == 14400


def _warzone_zip(path, corrupt_member: str | None = None) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("audio/", b"")
        for member, data in [("audio/extra/pcv612.ogg", _ogg(0.5)),
                             ("audio/sfx/boom.ogg", _ogg(0.5)),
                             ("audio/radclick/click.ogg", _ogg(0.4)),
                             ("audio/taunts/taunt1/haha1.ogg", _ogg(0.6)),
                             ("audio/proxmessages/c1prox.fodt", b"<xml/>"),
                             ("sequenceaudio/np1.ogg", _ogg(1.0)), ("images/x.ogg", _ogg(0.5))]:
            archive.writestr(member, data)
    if corrupt_member:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(corrupt_member)
        with open(path, "r+b") as archive_file:  # a byte of the stored member's data, flipped
            archive_file.seek(info.header_offset + 30 + len(info.filename) + 500)
            byte = archive_file.read(1)
            archive_file.seek(-1, os.SEEK_CUR)
            archive_file.write(bytes([byte[0] ^ 0xFF]))


def test_warzone_reads_speech_and_skips_effects(tmp_path):
    _warzone_zip(tmp_path / WARZONE)
    collection = real_speech.read_source("warzone2100", str(tmp_path))
    assert collection.names == ["audio/extra/pcv612.ogg", "audio/taunts/taunt1/haha1.ogg",
                                "sequenceaudio/np1.ogg"]
    assert np.diff(collection.ends, prepend=0).tolist() == [8000, 9600, 16000]


def _hedgewars(root) -> None:
    voices = root / HEDGEWARS / "voices"
    _write(voices / "British" / "Amazing.ogg", _ogg(0.5, 44100, amplitude=0.25, channels=2))
    _write(voices / "Pirate" / "Yarr.ogg", _ogg(0.75, 16000))
    _write(root / HEDGEWARS / "explosion.ogg", _ogg(0.5, 16000))


def test_hedgewars_reads_the_voice_packs_mono_at_their_own_level(tmp_path):
    _hedgewars(tmp_path)
    collection = real_speech.read_source("hedgewars", str(tmp_path))
    assert collection.names == ["British/Amazing.ogg", "Pirate/Yarr.ogg"]
    assert collection.samples.ndim == 1
    assert np.diff(collection.ends, prepend=0).tolist() == [8000, 12000]
    # Stereo mixed down by the mean; no normalisation: a 0.25 peak stays about 0.25.
    assert np.max(np.abs(collection.clip(0))) == pytest.approx(0.25, abs=0.03)


def test_the_split_is_stable_disjoint_and_about_a_fifth():
    names = [f"level{i}/cs/line{i}.ogg" for i in range(2000)]
    held_out = [real_speech.is_calibration(name) for name in names]
    assert held_out == [real_speech.is_calibration(name) for name in names]
    assert 0.17 < np.mean(held_out) < 0.23


def test_load_splits_a_training_source_and_caches_it(tmp_path, cache, monkeypatch):
    sound = tmp_path / "system" / FILLETS
    names = [f"level{i}/cs/line.ogg" for i in range(12)]
    for name in names:
        _write(sound / name, _ogg(0.4, 16000))
    whole = real_speech.load("fillets-cs")
    train = real_speech.load("fillets-cs", "train")
    calibration = real_speech.load("fillets-cs", "calibration")
    assert whole.names == sorted(names)
    assert calibration.names == [n for n in whole.names if real_speech.is_calibration(n)]
    assert train.names == [n for n in whole.names if not real_speech.is_calibration(n)]
    assert calibration.names and train.names
    assert train.samples.size + calibration.samples.size == whole.samples.size
    np.testing.assert_array_equal(calibration.clip(0), whole.clip(whole.names.index(
        calibration.names[0])))

    assert os.listdir(cache / "wakeword" / "real_speech") == ["fillets-cs-v1.npz"]
    monkeypatch.setattr(real_speech, "read_source", lambda *_: pytest.fail("decoded again"))
    cached = real_speech.load("fillets-cs")
    assert cached.names == whole.names
    np.testing.assert_array_equal(cached.samples, whole.samples)
    np.testing.assert_array_equal(cached.ends, whole.ends)


@pytest.mark.parametrize("source", real_speech.EVALUATION_SOURCES)
@pytest.mark.parametrize("split", ["train", "calibration"])
def test_evaluation_sources_never_train_nor_calibrate(source, split):
    with pytest.raises(InvalidInput, match=f"{source} is for evaluation only"):
        real_speech.load(source, split)


@pytest.mark.parametrize("source, split", [("librispeech", "all"), ("queen", "test")])
def test_unknown_sources_and_splits_are_refused(source, split):
    with pytest.raises(InvalidInput, match="librispeech|'test'"):
        real_speech.load(source, split)


def _fake_apt_get(tmp_path, monkeypatch, script: str) -> None:
    """`apt-get` on PATH (before the real one) runs `script`; dpkg stays the real one."""
    bin_dir = tmp_path / "bin"
    path = _write(bin_dir / "apt-get", f"#!/bin/sh\n{script}\n".encode())
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_a_missing_package_is_fetched_with_apt_get_and_unpacked_in_the_cache(
        tmp_path, cache, monkeypatch):
    if not (shutil.which("dpkg-deb") and shutil.which("dpkg")):
        pytest.skip("needs dpkg and dpkg-deb (Debian, Ubuntu)")
    tree = tmp_path / "tree"
    _hedgewars(tree)
    _write(tree / "DEBIAN" / "control", b"Package: hedgewars-data\nVersion: 1.0\n"
           b"Architecture: all\nMaintainer: test <test@example.org>\nDescription: test\n")
    deb = tmp_path / "hedgewars-data_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(tree), str(deb)],
                   check=True, capture_output=True)
    _fake_apt_get(tmp_path, monkeypatch, f'[ "$1 $2" = "download hedgewars-data" ] && cp {deb} .')
    collection = real_speech.load("hedgewars")
    assert collection.names == ["British/Amazing.ogg", "Pirate/Yarr.ogg"]
    assert os.path.isfile(cache / "wakeword" / "debian" / "hedgewars-data" / HEDGEWARS /
                          "voices" / "Pirate" / "Yarr.ogg")
    assert not [n for n in os.listdir(cache / "wakeword" / "debian") if n.startswith(".")]


def test_apt_get_that_cannot_fetch_is_one_error_with_what_to_do(tmp_path, monkeypatch):
    _fake_apt_get(tmp_path, monkeypatch,
                  'echo "E: Unable to locate package $2" >&2; exit 100')
    with pytest.raises(real_speech.NotFound) as error:
        real_speech.load("queen")
    message = str(error.value)
    assert "E: Unable to locate package flight-of-the-amazon-queen" in message
    assert "apt-get update" in message and "--negatives=DIR" in message
    assert not os.listdir(fileio.cache_dir("wakeword", "debian"))


def test_without_apt_get_the_error_names_the_package_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(real_speech.NotFound, match="install fillets-ng-data-nl .*--negatives"):
        real_speech.load("fillets-nl")


def test_an_undecodable_queen_line_is_skipped_and_counted_once(tmp_path, capsys):
    entries = [(n, b"not an mp3 at all" * 20 if n == "JOE02891.SB" else d)
               for n, d in _queen_entries()]
    _write(tmp_path / QUEEN, _queen_table(entries))
    collection = real_speech.read_source("queen", str(tmp_path))
    assert collection.names == ["020001P2.SB", "03SSSSJ1.SB"]
    assert ("1 of 5 clips do not decode and are left out (first: JOE02891.SB: "
            in capsys.readouterr().err)


def _corrupt_cases() -> dict:
    good = _queen_table(_queen_entries())
    mp3_only = [(n, d) for n, d in _queen_entries() if n.endswith(".SB")]
    table_end = 15 + 21 * len(_queen_entries())

    def queen(data):
        return lambda root: ("queen", _write(root / QUEEN, data))

    def warzone(member=None, data=None):
        def make(root):
            _warzone_zip(root / WARZONE, member)
            if data is not None:
                _write(root / WARZONE, data)
            return "warzone2100", str(root / WARZONE)
        return make

    def fillets(root):
        _fillets(root)
        return "fillets-cs", _write(root / FILLETS / "city" / "cs" / "vit-v-proc.ogg",
                                    b"OggS" + b"\0" * 100)

    return {
        "queen.1c missing": lambda root: ("queen", str(root / QUEEN)),
        "queen.1c bad magic": queen(b"QTBX" + good[4:]),
        "queen.1c empty": queen(b""),
        "queen.1c table past the end": queen(good[:table_end - 10]),
        "queen.1c entry past the end": queen(good[:-100]),
        "queen.1c not MP3": queen(_queen_table(_queen_entries(), compression=0)),
        "queen.1c more entries than bytes": queen(_queen_table(_queen_entries(), count=400)),
        "queen.1c no MP3 decodes": queen(_queen_table([(n, b"\0" * 300) for n, _ in mp3_only])),
        "base.wz missing": lambda root: ("warzone2100", str(root / WARZONE)),
        "base.wz not a zip": warzone(data=b"PK\3\4" + b"\x13" * 2000),
        "base.wz truncated": warzone(data=b"PK\3\4"),
        "base.wz member corrupt": warzone(member="audio/taunts/taunt1/haha1.ogg"),
        "fillets ogg corrupt": fillets,
        "fillets folder missing": lambda root: ("fillets-nl", str(root / FILLETS)),
        "hedgewars voices missing": lambda root: ("hedgewars", str(root / HEDGEWARS)),
    }


CORRUPT = _corrupt_cases()


@pytest.mark.parametrize("case", CORRUPT)
def test_a_missing_or_corrupt_package_file_is_one_user_error_naming_it(tmp_path, case):
    source, path = CORRUPT[case](tmp_path)
    with pytest.raises(UserError) as error:
        real_speech.read_source(source, str(tmp_path))
    assert path in str(error.value)
    assert "\n" not in str(error.value)


def _recordings(folder, count: int = 10) -> list[str]:
    names = []
    for index in range(count):
        extension = ("wav", "flac", "ogg", "mp3")[index % 4]
        name = f"day{index % 3}/take{index}.{extension}"
        os.makedirs(folder / f"day{index % 3}", exist_ok=True)
        soundfile.write(folder / name, _tone(0.5, 8000 * (1 + index % 3)), 8000 * (1 + index % 3))
        names.append(name)
    _write(folder / "notes.txt", b"not audio")
    return sorted(names)


def test_folder_reads_every_recording_split_by_its_path(tmp_path):
    names = _recordings(tmp_path / "mine")
    whole = real_speech.folder(str(tmp_path / "mine"))
    assert whole.names == names
    assert np.diff(whole.ends, prepend=0).tolist() == pytest.approx([8000] * 10, abs=1200)
    train = real_speech.folder(str(tmp_path / "mine"), "train")
    calibration = real_speech.folder(str(tmp_path / "mine"), "calibration")
    assert sorted(train.names + calibration.names) == names
    assert calibration.names == [n for n in names if real_speech.is_calibration(n)]


def test_folder_errors_name_the_folder_or_file(tmp_path):
    with pytest.raises(real_speech.NotFound, match=f"{tmp_path / 'nowhere'}: no such folder"):
        real_speech.folder(str(tmp_path / "nowhere"))
    _write(tmp_path / "texts" / "a.txt", b"words")
    with pytest.raises(real_speech.RealSpeechError, match=f"{tmp_path / 'texts'}: no audio"):
        real_speech.folder(str(tmp_path / "texts"))
    _recordings(tmp_path / "mine", 2)
    bad = _write(tmp_path / "mine" / "broken.wav", b"RIFF....WAVEfmt " + b"\0" * 20)
    with pytest.raises(audio.AudioError, match=bad):
        real_speech.folder(str(tmp_path / "mine"))
    with pytest.raises(InvalidInput, match="split 'dev'"):
        real_speech.folder(str(tmp_path / "mine"), "dev")


def test_subset_keeps_the_chosen_clips_in_order():
    collection = real_speech.Collection(["a", "b", "c"], np.arange(6, dtype=np.float32),
                                        np.array([1, 3, 6], np.int64))
    kept = collection.subset(np.array([True, False, True]))
    assert kept.names == ["a", "c"]
    np.testing.assert_array_equal(kept.samples, [0, 3, 4, 5])
    np.testing.assert_array_equal(kept.ends, [1, 4])
    assert collection.subset(np.zeros(3, bool)).samples.size == 0
    with pytest.raises(ValueError, match="expected shape"):
        collection.subset(np.ones(2, bool))
