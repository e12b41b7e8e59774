"""earshot.cache: entries named by what made them, built once, never half-written."""

import hashlib
import os
import pathlib

import numpy as np
import pytest

from earshot import cache


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EARSHOT_CACHE", str(tmp_path))


def test_digest_hashes_bytes_text_and_other_keys_by_repr():
    assert cache.digest(b"\x00\x01") == hashlib.sha1(b"\x00\x01").hexdigest()
    assert cache.digest("hé") == hashlib.sha1("hé".encode("utf-8")).hexdigest()
    key = [3, "abc", ("x", 1.5), True]
    assert cache.digest(key) == hashlib.sha1(repr(key).encode()).hexdigest()
    assert cache.digest([1, 2]) != cache.digest([2, 1])


def test_file_digest_is_the_digest_of_the_content(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"weights")
    assert cache.file_digest(str(path)) == cache.digest(b"weights")


def test_cache_path_names_the_entry_by_namespace_name_and_digest(tmp_path):
    path = cache.cache_path(("wakeword", "speech"), ["a", 1], ".npz", name="group", digits=16)
    assert path == os.path.join(tmp_path, "wakeword", "speech",
                                f"group-{cache.digest(['a', 1])[:16]}.npz")
    assert os.path.isdir(os.path.dirname(path)) and not os.path.exists(path)
    assert os.path.basename(cache.cache_path(("x",), "k")) == cache.digest("k")


def test_cached_npz_builds_once_and_reads_back_the_same_arrays():
    path = cache.cache_path(("test",), "arrays", ".npz")
    builds = []

    def build():
        builds.append(1)
        return {"samples": np.arange(5, dtype=np.float32), "ends": np.array([2, 5])}

    first = cache.cached_npz(path, build)
    second = cache.cached_npz(path, build)
    assert len(builds) == 1 and os.path.isfile(path)
    assert sorted(second) == ["ends", "samples"]
    for name, array in first.items():
        np.testing.assert_array_equal(second[name], array)
        assert second[name].dtype == array.dtype


def test_cached_npy_builds_once():
    path = cache.cache_path(("test",), "scores", ".npy")
    builds = []

    def build():
        builds.append(1)
        return np.linspace(0, 1, 7, dtype=np.float32)

    np.testing.assert_array_equal(cache.cached_npy(path, build), cache.cached_npy(path, build))
    assert len(builds) == 1


def test_a_failed_build_leaves_no_entry():
    path = cache.cache_path(("test",), "broken", ".bin")

    def write(staging):
        with open(staging, "wb") as out:
            out.write(b"half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        cache.cached_file(path, write)
    assert os.listdir(os.path.dirname(path)) == []
    written = cache.cached_file(path, lambda staging: pathlib.Path(staging).write_bytes(b"whole"))
    assert written == path and pathlib.Path(path).read_bytes() == b"whole"
