"""tfhub.dev's publishing rules for model pages and archives, checked by earshot itself.

tfhub.dev (and the Kaggle Models migration after it) published a model only when the
validator of the `tensorflow/tfhub.dev` repository (`tools/validator.py`) accepted its
Markdown page and the archive the page points to. This module states those rules for the
pages and archives `export.hub` writes, so that an export fails here rather than at
publishing time:

- Page: first line `# Module <publisher>/<name>/<version>`; a description (one empty line
  may come first); then only `<!-- key: value -->` lines and blank lines up to the first
  `#` heading. Keys `asset-path`, `task`, `fine-tunable`, `format` are required; `dataset`,
  `language`, `license`, `network-architecture`, `colab`, `interactive-visualizer` are
  optional; nothing else is allowed. Only `task`, `dataset`, `language` and
  `network-architecture` may repeat. Tag values are ids of the vocabularies below; `format`
  is `hub`, `saved_model` or `saved_model_2`; `asset-path` ends in `.tar.gz` and is not a
  GitHub release download (robots.txt forbids fetching those).
- Archive: a tar.gz whose files are only those a SavedModel reads (`ARCHIVE_FILES`,
  `ARCHIVE_FOLDERS`, `variables/variables.*`), with plain file names, and a top-level
  `saved_model.pb` (or `.pbtxt`) that parses as a SavedModel.

Two checks go beyond the validator: `fine-tunable` must be `true` or `false`, and the
archive must hold the format the page names (`tfhub_module.pb` exactly when `format: hub`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tarfile
import urllib.parse

from google.protobuf import message, text_format
from tensorflow.core.protobuf import saved_model_pb2

from earshot.errors import UserError

# Ids from the tag vocabularies of github.com/tensorflow/tfhub.dev, `tags/<tag>.yaml` (task,
# network_architecture, dataset, language, license), limited to the ones an audio model can
# use; the validator takes exactly the `id` fields of those files.
VOCABULARIES: dict[str, frozenset[str]] = {
    "task": frozenset({
        "audio-command-detection", "audio-embedding", "audio-event-classification",
        "audio-pitch-extraction", "audio-speech-synthesis", "audio-stt", "audio-synthesis"}),
    "network-architecture": frozenset({
        "cnn", "conformer", "keywordspottingnet", "mobilenet", "multiple", "other", "resnet",
        "rnn", "transformer", "vgg-style", "wav2vec2"}),
    "dataset": frozenset({
        "audioset", "librispeech", "ljspeech", "multiple", "other", "youtube-8m"}),
    "language": frozenset((
        "ar as bg bn ca cs da de el en es et fa fi fr gu he hi hr hu id it ja ko kn ks lt lv ml "
        "mr ms multilingual ne nl no or pa pl pt ro ru sa sd sk sl sr sv ta te th tl tr uk ur "
        "vi zh-cn zh-tw").split()),
    "license": frozenset({
        "apache-2.0", "bsd-2-clause", "bsd-3-clause", "cc-by-nc-4.0", "cddl-1.0", "custom",
        "epl-2.0", "gpl-2.0", "gpl-3.0", "lgpl-2.0", "lgpl-2.1", "lgpl-3.0", "mit", "mpl-2.0"}),
}
REQUIRED_KEYS = ("asset-path", "task", "fine-tunable", "format")
OPTIONAL_KEYS = ("network-architecture", "dataset", "language", "license", "colab",
                 "interactive-visualizer")
REPEATABLE_KEYS = frozenset({"task", "network-architecture", "dataset", "language"})
FORMATS = ("hub", "saved_model", "saved_model_2")
TASK_DOMAINS = ("audio-", "image-", "text-", "video-")
ASSET_SUFFIX = ".tar.gz"
GITHUB_RELEASE_DOWNLOAD = re.compile(r"https://github\.com/.*/releases/download/.*")

PUBLISHER = r"[a-z\d-]+"
NAME = r"[\w.-]+(?:/[\w.-]+)*"
HEADING = re.compile(rf"# Module (?P<publisher>{PUBLISHER})/(?P<name>{NAME})/(?P<version>\d+)")
METADATA = re.compile(r"<!--(?P<key>[\w\s-]+):(?P<value>.+)-->")

# What a SavedModel reads; anything else in an archive is refused.
ARCHIVE_FILES = frozenset({"saved_model.pb", "saved_model.pbtxt", "tfhub_module.pb",
                           "keras_metadata.pb", "fingerprint.pb"})
ARCHIVE_FOLDERS = ("assets/", "assets.extra/")
VARIABLES_FILE = re.compile(r"variables/variables\.[^/]+")
FILE_NAME = re.compile(r"[\w-][-!',_\w.=:% ]*")


class NonConformingError(UserError):
    """A model page or archive that tfhub.dev's validator would reject."""


@dataclasses.dataclass(frozen=True)
class Page:
    """A parsed model page: its handle, description and metadata (key -> values, in order)."""

    publisher: str
    name: str
    version: int
    description: str
    metadata: dict[str, list[str]]

    @property
    def handle(self) -> str:
        return f"{self.publisher}/{self.name}/{self.version}"


def parse_page(text: str) -> Page:
    """The handle, description and metadata block of a model page.

    Raises:
      NonConformingError: no `# Module` heading, no description, or a line in the metadata
        block that is neither blank nor `<!-- key: value -->`.
    """
    lines = text.split("\n")
    heading = HEADING.fullmatch(lines[0])
    if heading is None:
        raise NonConformingError(f"first line {lines[0]!r} is not '# Module "
                                 "<publisher>/<name>/<version>'")
    index = 2 if len(lines) > 1 and not lines[1] else 1
    description = []
    while index < len(lines) and lines[index] and not lines[index].startswith("<!--"):
        description.append(lines[index])
        index += 1
    if not description:
        raise NonConformingError("the line after the heading must be a short description")
    metadata: dict[str, list[str]] = {}
    while index < len(lines) and not lines[index].startswith("#"):
        line = lines[index]
        index += 1
        if not line:
            continue
        match = METADATA.fullmatch(line)
        if match is None:
            raise NonConformingError(f"line {index}: {line!r} in the metadata block is not "
                                     "'<!-- key: value -->'")
        metadata.setdefault(match["key"].strip(), []).append(match["value"].strip())
    return Page(heading["publisher"], heading["name"], int(heading["version"]),
                " ".join(description), metadata)


def _asset_problems(values: list[str]) -> list[str]:
    if len(values) != 1:
        return [f"asset-path is given {len(values)} times"]
    url = values[0]
    problems = []
    if not urllib.parse.urlsplit(url).path.endswith(ASSET_SUFFIX):
        problems.append(f"asset-path {url!r} does not end in {ASSET_SUFFIX}")
    if GITHUB_RELEASE_DOWNLOAD.fullmatch(url):
        problems.append(f"asset-path {url!r} is a GitHub release download, which "
                        "github.com's robots.txt forbids fetching")
    return problems


def metadata_problems(metadata: dict[str, list[str]]) -> list[str]:
    """What is wrong with a page's metadata block (empty list: nothing)."""
    problems = [f"missing required metadata {key!r}" for key in REQUIRED_KEYS
                if key not in metadata]
    for key, values in metadata.items():
        if key not in REQUIRED_KEYS + OPTIONAL_KEYS:
            problems.append(f"metadata {key!r} is not accepted (allowed: "
                            f"{', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)})")
            continue
        if len(values) > 1 and key not in REPEATABLE_KEYS:
            problems.append(f"metadata {key!r} is given {len(values)} times")
        vocabulary = VOCABULARIES.get(key)
        for value in values:
            if vocabulary is not None and value not in vocabulary:
                problems.append(f"{key} {value!r} is not an id of tfhub.dev's "
                                f"tags/{key.replace('-', '_')}.yaml")
            if key == "task" and not value.startswith(TASK_DOMAINS):
                problems.append(f"task {value!r} does not start with one of {TASK_DOMAINS}")
    if "format" in metadata and metadata["format"][0] not in FORMATS:
        problems.append(f"format {metadata['format'][0]!r} is not one of {FORMATS}")
    if "fine-tunable" in metadata and metadata["fine-tunable"][0] not in ("true", "false"):
        problems.append(f"fine-tunable {metadata['fine-tunable'][0]!r} is not true or false")
    if "asset-path" in metadata:
        problems += _asset_problems(metadata["asset-path"])
    return problems


def check_page(text: str) -> Page:
    """Parses a model page and checks its metadata; returns it.

    Raises:
      NonConformingError: naming every problem found.
    """
    page = parse_page(text)
    problems = metadata_problems(page.metadata)
    if problems:
        raise NonConformingError(f"model page of {page.handle}: " + "; ".join(problems))
    return page


def _saved_model_problem(tar: tarfile.TarFile, member: tarfile.TarInfo, name: str) -> str | None:
    data = tar.extractfile(member).read()
    try:
        if name == "saved_model.pb":
            saved_model_pb2.SavedModel.FromString(data)
        else:
            text_format.Parse(data.decode("utf-8"), saved_model_pb2.SavedModel())
    except (message.DecodeError, text_format.ParseError, UnicodeDecodeError) as error:
        return f"{name} does not parse as a SavedModel ({error})"
    return None


def _path_problem(path: str) -> str | None:
    if not all(FILE_NAME.fullmatch(part) for part in path.split("/")):
        return f"{path}: not a plain file name"
    if not (path in ARCHIVE_FILES or path.startswith(ARCHIVE_FOLDERS)
            or VARIABLES_FILE.fullmatch(path)):
        return f"{path}: a SavedModel does not read this file"
    return None


def archive_files(path: str) -> list[str]:
    """The regular files of a tar.gz, as normalised relative paths, in archive order."""
    with tarfile.open(path, "r:gz") as tar:
        return [os.path.normpath(member.name) for member in tar if member.isfile()]


def archive_problems(path: str, card_format: str | None = None) -> list[str]:
    """What is wrong with a TF Hub archive (empty list: nothing).

    Args:
      path: the tar.gz.
      card_format: the page's `format`, if known: "hub" requires `tfhub_module.pb`, the
        SavedModel formats forbid it.
    """
    problems = []
    models = 0
    names = set()
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                name = os.path.normpath(member.name)
                if member.isdir():
                    continue
                if not member.isfile():
                    problems.append(f"{name}: neither a file nor a folder")
                    continue
                names.add(name)
                problem = _path_problem(name)
                if problem:
                    problems.append(problem)
                if name in ("saved_model.pb", "saved_model.pbtxt"):
                    models += 1
                    problem = _saved_model_problem(tar, member, name)
                    if problem:
                        problems.append(problem)
    except (tarfile.TarError, EOFError, OSError) as error:
        return [f"{path}: not a readable tar.gz ({error})"]
    if not models:
        problems.append("no saved_model.pb or saved_model.pbtxt at the top of the archive")
    if card_format is not None and ("tfhub_module.pb" in names) != (card_format == "hub"):
        problems.append(f"the page says format {card_format!r} but the archive "
                        f"{'holds' if 'tfhub_module.pb' in names else 'lacks'} tfhub_module.pb")
    return problems


def local_asset(url: str) -> str | None:
    """The file a `file://` asset-path names, or None for a remote URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "file":
        return None
    return urllib.parse.unquote(parts.path)
