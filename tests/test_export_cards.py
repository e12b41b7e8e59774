"""export.conformance: every model card and archive earshot writes passes tfhub.dev's rules.

The first half checks the checks (a page or archive breaking one rule is caught, naming the
rule); the second runs `python -m export.hub --archive` for each model the project exports
and checks what lands on disk: the card beside the folder, its metadata ids, its handle, the
archive its asset-path names, and the archive's file list.
"""

import dataclasses
import gzip
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
from tensorflow.core.protobuf import saved_model_pb2

from earshot import fileio
from export import archive, card, conformance, exporter, spec
from test_export import REPO, TESTS, TINY_CARD, tiny_hub_spec

# A page in the current tfhub.dev form, as a publisher writes it by hand.
VALID_PAGE = """# Module someone/speech_embedding/1
Embedding vectors from spoken audio.

<!-- asset-path: https://example.com/speech_embedding/1.tar.gz -->
<!-- task: audio-embedding -->
<!-- fine-tunable: true -->
<!-- format: hub -->
<!-- network-architecture: keywordspottingnet -->
<!-- language: en -->
<!-- license: apache-2.0 -->

## Overview

Free text.
"""

TF1_FILES = ["saved_model.pb", "tfhub_module.pb", "variables/variables.data-00000-of-00001",
             "variables/variables.index"]
SM2_FILES = ["fingerprint.pb", "saved_model.pb", "variables/variables.data-00000-of-00001",
             "variables/variables.index"]


def page_problems(text: str) -> list[str]:
    return conformance.metadata_problems(conformance.parse_page(text).metadata)


# --- the checks ----------------------------------------------------------------------------


def test_a_current_page_passes():
    page = conformance.check_page(VALID_PAGE)
    assert page.handle == "someone/speech_embedding/1"
    assert page.description == "Embedding vectors from spoken audio."
    assert page.metadata["network-architecture"] == ["keywordspottingnet"]


@pytest.mark.parametrize("old, new, problem", [
    ("<!-- task: audio-embedding -->", "<!-- module-type: audio-embedding -->",
     "missing required metadata 'task'"),
    ("<!-- task: audio-embedding -->", "<!-- module-type: audio-embedding -->",
     "metadata 'module-type' is not accepted"),
    ("<!-- asset-path: https://example.com/speech_embedding/1.tar.gz -->\n", "",
     "missing required metadata 'asset-path'"),
    ("keywordspottingnet", "5 convolutional blocks, 19 batch norms, 330k weights",
     "not an id of tfhub.dev's tags/network_architecture.yaml"),
    ("<!-- language: en -->", "<!-- dataset: YouTube (about 200 million clips) -->",
     "not an id of tfhub.dev's tags/dataset.yaml"),
    ("apache-2.0", "Apache-2.0", "license 'Apache-2.0' is not an id"),
    ("audio-embedding", "speech-embedding", "does not start with one of"),
    ("format: hub", "format: tf1_hub", "format 'tf1_hub' is not one of"),
    ("fine-tunable: true", "fine-tunable: yes", "fine-tunable 'yes' is not true or false"),
    ("<!-- format: hub -->", "<!-- format: hub -->\n<!-- format: saved_model_2 -->",
     "metadata 'format' is given 2 times"),
    ("1.tar.gz", "1.zip", "does not end in .tar.gz"),
    ("https://example.com/speech_embedding/1.tar.gz",
     "https://github.com/someone/models/releases/download/v1/model.tar.gz",
     "GitHub release download"),
])
def test_each_rule_is_checked(old, new, problem):
    assert old in VALID_PAGE
    problems = page_problems(VALID_PAGE.replace(old, new))
    assert any(problem in found for found in problems), problems


def test_repeatable_tags_may_repeat():
    text = VALID_PAGE.replace("<!-- language: en -->", "<!-- language: en -->\n<!-- language: de -->")
    assert page_problems(text) == []


@pytest.mark.parametrize("old, new, message", [
    ("# Module someone/", "# Module Some One/", "is not '# Module"),
    ("# Module someone/speech_embedding/1", "# Module someone/speech_embedding/v1",
     "is not '# Module"),
    ("Embedding vectors from spoken audio.\n", "", "short description"),
    ("<!-- format: hub -->", "format: hub", "is not '<!-- key: value -->'"),
])
def test_page_structure_is_checked(old, new, message):
    with pytest.raises(conformance.NonConformingError, match=message):
        conformance.check_page(VALID_PAGE.replace(old, new))


def write_folder(folder, files: dict[str, bytes]) -> str:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return archive.write(str(folder), str(folder) + ".tar.gz")


SAVED_MODEL = saved_model_pb2.SavedModel(saved_model_schema_version=1).SerializeToString()


@pytest.mark.parametrize("extra, problem", [
    ({"README.md": b"# card"}, "README.md: a SavedModel does not read this file"),
    ({"variables/notes.txt": b"x"}, "variables/notes.txt: a SavedModel does not read this file"),
    ({"assets/.hidden": b"x"}, "assets/.hidden: not a plain file name"),
    ({"saved_model.pb": b"\xff\xff\xff\xff"}, "saved_model.pb does not parse as a SavedModel"),
    ({"tfhub_module.pb": b"\x08\x03"}, "format 'saved_model_2' but the archive holds"),
])
def test_archive_rules(tmp_path, extra, problem):
    files = {"saved_model.pb": SAVED_MODEL, "variables/variables.index": b"",
             "assets/vocab.txt": b"yes\nno\n", **extra}
    path = write_folder(tmp_path / "m", files)
    problems = conformance.archive_problems(path, "saved_model_2")
    assert any(problem in found for found in problems), problems
    clean = write_folder(tmp_path / "clean", {"saved_model.pb": SAVED_MODEL,
                                              "assets/vocab.txt": b"yes\n"})
    assert conformance.archive_problems(clean, "saved_model_2") == []


def test_archive_needs_a_saved_model_and_plain_members(tmp_path):
    path = write_folder(tmp_path / "m", {"variables/variables.index": b""})
    assert "no saved_model.pb" in " ".join(conformance.archive_problems(path))
    linked = str(tmp_path / "linked.tar.gz")
    with tarfile.open(linked, "w:gz") as tar:
        tar.add(str(tmp_path / "m" / "variables" / "variables.index"), "./saved_model.pb")
        link = tarfile.TarInfo("./variables/variables.index")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    problems = conformance.archive_problems(linked)
    assert "variables/variables.index: neither a file nor a folder" in problems
    (tmp_path / "broken.tar.gz").write_bytes(b"not gzip")
    assert "not a readable tar.gz" in conformance.archive_problems(
        str(tmp_path / "broken.tar.gz"))[0]


def test_export_refuses_a_nonconforming_card_before_writing(tmp_path):
    bad = dataclasses.replace(tiny_hub_spec(),
                              card=dataclasses.replace(TINY_CARD, dataset="my recordings"))
    with pytest.raises(conformance.NonConformingError, match="'my recordings' is not an id"):
        exporter.export(bad, "saved_model_2", str(tmp_path / "m" / "1"), archive=True)
    assert not os.path.exists(tmp_path / "m")


def test_every_model_and_format_has_its_own_handle():
    from speaker_embedding import hub_spec as speaker_spec
    from speech_commands import hub_spec as spotter_spec
    from speech_embedding import hub_spec as embedding_spec
    from vggish import hub_spec as vggish_spec
    cards = [embedding_spec.CARD, vggish_spec.CARD, speaker_spec.CARD, spotter_spec.CARD]
    handles = [card.handle(model_card, fmt) for model_card in cards
               for fmt in exporter.WRITERS]
    assert len(set(handles)) == len(handles) == 8
    assert card.handle(embedding_spec.CARD, "tf1_hub") == "earshot/speech_embedding/1"
    assert card.handle(embedding_spec.CARD, "saved_model_2", 3) == "earshot/speech_embedding_tf2/3"


# --- what export.hub --archive writes -------------------------------------------------------


def export_cli(output_dir, *args, env=None) -> None:
    """`python -m export.hub ... --archive`, as a publisher runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "export.hub", f"--output_dir={output_dir}", "--archive", *args],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([TESTS, REPO]), **(env or {})})
    assert result.returncode == 0, result.stderr[-3000:]


def check_export(output_dir: str, fmt: str, handle: str, tags: dict[str, str],
                 asset_url: str | None = None) -> str:
    """Checks the card `output_dir.md` and the archive it names; returns the card text."""
    assert not os.path.exists(os.path.join(output_dir, "README.md"))
    with open(output_dir + ".md", encoding="utf-8") as page_file:
        text = page_file.read()
    page = conformance.check_page(text)
    assert page.handle == handle
    optional = {key: values for key, values in page.metadata.items()
                if key not in ("asset-path", "fine-tunable", "format")}
    assert optional == {key: [value] for key, value in tags.items()}
    assert page.metadata["format"] == [spec.CARD_FORMATS[fmt]]
    archive_path = output_dir + ".tar.gz"
    assert page.metadata["asset-path"] == [asset_url or card.file_url(archive_path)]
    if asset_url is None:
        assert conformance.local_asset(page.metadata["asset-path"][0]) == archive_path
    assert conformance.archive_problems(archive_path, page.metadata["format"][0]) == []
    files = conformance.archive_files(archive_path)
    assert sorted(files) == (TF1_FILES if fmt == "tf1_hub" else SM2_FILES)
    on_disk = sorted(os.path.relpath(os.path.join(parent, name), output_dir)
                     for parent, _, names in os.walk(output_dir) for name in names)
    assert on_disk == sorted(files)
    return text


SPEECH_EMBEDDING_TAGS = {"task": "audio-embedding", "network-architecture": "keywordspottingnet",
                         "language": "en", "license": "apache-2.0"}


def test_tiny_model_cli_with_asset_url(tmp_path):
    output = str(tmp_path / "tiny_tf2" / "4")
    url = "https://models.example.com/tiny_tf2/4.tar.gz"
    export_cli(output, "--model=test_export:tiny_hub_spec", "--format=saved_model_2",
               "--version=4", f"--asset_url={url}")
    check_export(output, "saved_model_2", "earshot/tiny_tf2/4",
                 {"task": "audio-embedding", "license": "apache-2.0"}, asset_url=url)


@pytest.mark.parametrize("fmt, handle", [("tf1_hub", "earshot/speech_embedding/1"),
                                         ("saved_model_2", "earshot/speech_embedding_tf2/1")])
def test_speech_embedding_exports_conform(speech_embedding_model, tmp_path, fmt, handle):
    output = str(tmp_path / handle.split("/")[1] / "1")
    export_cli(output, "--model=speech_embedding", f"--format={fmt}")
    text = check_export(output, fmt, handle, SPEECH_EMBEDDING_TAGS)
    assert "### Architecture\n\n5 convolutional blocks" in text


@pytest.mark.parametrize("fmt, handle", [("tf1_hub", "earshot/speaker_embedding/1"),
                                         ("saved_model_2", "earshot/speaker_embedding_tf2/1")])
def test_speaker_embedding_exports_conform(tmp_path, fmt, handle):
    from speaker_embedding import embedder, model as model_lib
    model_dir = str(tmp_path / "speaker_model")
    os.makedirs(model_dir)
    config = model_lib.ResCNNConfig(filters=(8, 16), blocks=1)
    embedder.write_config(model_dir, config)
    embedder.save_weights(model_lib.build(config=config), model_dir)
    output = str(tmp_path / handle.split("/")[1] / "1")
    export_cli(output, "--model=speaker_embedding", f"--format={fmt}",
               f"--model_dir={model_dir}")
    check_export(output, fmt, handle, {"task": "audio-embedding", "network-architecture": "resnet",
                                       "language": "en", "license": "apache-2.0"})


@pytest.mark.slow
def test_vggish_export_conforms(tmp_path):
    from test_vggish import FIXTURES
    from vggish import weights
    checkpoint = tmp_path / weights.CHECKPOINT_FILE
    with gzip.open(os.path.join(FIXTURES, "vggish_model.ckpt.gz"), "rb") as source, \
            open(checkpoint, "wb") as target:
        shutil.copyfileobj(source, target, length=1 << 24)
    converted = weights.convert(str(checkpoint), os.path.join(FIXTURES, "vggish_pca_params.npz"),
                                str(tmp_path / "converted"))
    output = str(tmp_path / "vggish_tf2" / "1")
    export_cli(output, "--model=vggish", "--format=saved_model_2", f"--model_dir={converted}")
    check_export(output, "saved_model_2", "earshot/vggish_tf2/1",
                 {"task": "audio-embedding", "network-architecture": "vgg-style",
                  "dataset": "youtube-8m", "license": "apache-2.0"})


@pytest.mark.slow
def test_keyword_spotter_export_conforms(speech_embedding_model, tmp_path):
    # A private cache for the training's embeddings, sharing the fetched weights.
    cache = tmp_path / "cache"
    cache.mkdir()
    os.symlink(fileio.cache_dir("speech_embedding"), cache / "speech_embedding")
    env = {"EARSHOT_CACHE": str(cache)}
    data_dir, train_dir = str(tmp_path / "speech"), str(tmp_path / "train")
    for module, *args in (
            ("speech_commands.synthesize", f"--output_dir={data_dir}", "--words=yes,no",
             "--unknown_words=cat", "--speakers=4", "--background_seconds=4",
             "--validation_percentage=25", "--testing_percentage=25"),
            ("speech_commands.train", f"--data_dir={data_dir}", "--wanted_words=yes,no",
             "--model_architecture=embedding_head", "--how_many_training_steps=4",
             "--learning_rate=0.01",
             "--batch_size=4", "--eval_step_interval=4", "--save_step_interval=4",
             "--validation_percentage=25", "--testing_percentage=25",
             f"--train_dir={train_dir}", f"--summaries_dir={train_dir}/logs")):
        result = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO,
                                capture_output=True, text=True, timeout=1800,
                                env={**os.environ, **env})
        assert result.returncode == 0, result.stderr[-3000:]
    output = str(tmp_path / "keyword_spotter_tf2" / "1")
    export_cli(output, "--model=keyword_spotter", "--format=saved_model_2",
               f"--model_dir={train_dir}", env=env)
    text = check_export(output, "saved_model_2", "earshot/keyword_spotter_tf2/1",
                        {"task": "audio-command-detection",
                         "network-architecture": "keywordspottingnet", "language": "en",
                         "license": "apache-2.0"})
    assert "Labels: _silence_, _unknown_, yes, no." in text
