"""speech_commands is the right way up: its typed core never imports the reference facade.

`speech_commands/reference/` holds the reference's API (`models`, `input_data`) on top of the
typed core (`settings`, `dataset`, `batches`, `features`, `architectures`, `training`, the
export modules, the tools). Every other module of `speech_commands` is checked here, on its
source with `ast`, imports inside functions included: none may import the facade, in any
spelling (`from speech_commands.reference import x`, `from speech_commands import reference`,
`import speech_commands.reference.x`, relative imports).
"""

import ast
import os

import pytest

import import_syntax

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "speech_commands")
FACADE = "speech_commands.reference"


def _module_name(path: str) -> str:
    dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
    return dotted.removesuffix(".__init__")


def _sources() -> dict[str, str]:
    """Dotted module name -> path, for every module of the speech_commands package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                found[_module_name(path)] = path
    return found


def _imported_names(module: str, path: str) -> set[str]:
    """Every dotted name an import of `path` can bind: `from a.b import c` gives `a.b` and
    `a.b.c`; relative imports are resolved against `module`."""
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read(), path)
    names = set()
    for base, imported in import_syntax.statements(module, tree, path.endswith("__init__.py")):
        names.add(base)
        names.update(f"{base}.{name}" for name in imported)
    return names


def _imports_facade(names: set[str]) -> list[str]:
    return sorted(name for name in names if name == FACADE or name.startswith(FACADE + "."))


SOURCES = _sources()
CORE = sorted(name for name in SOURCES if not (name == FACADE or name.startswith(FACADE + ".")))


def test_the_scan_sees_the_core_and_the_facade():
    assert {"speech_commands.settings", "speech_commands.batches", "speech_commands.training",
            "speech_commands.c_source", "speech_commands.train"} <= set(CORE)
    facade = {name for name in SOURCES if name.startswith(FACADE + ".")}
    assert {"speech_commands.reference.models", "speech_commands.reference.input_data"} <= facade
    # The facade stands on the core (were it empty of core imports, the check would be idle).
    assert "speech_commands.batches" in _imported_names(
        "speech_commands.reference.input_data", SOURCES["speech_commands.reference.input_data"])


def test_the_check_sees_every_spelling_of_a_facade_import(tmp_path):
    spellings = ["from speech_commands.reference import models",
                 "from speech_commands import reference",
                 "import speech_commands.reference.input_data",
                 "from .reference import models",
                 "def f():\n    from speech_commands.reference.models import create_model"]
    for index, text in enumerate(spellings):
        path = tmp_path / f"m{index}.py"
        path.write_text(text + "\n")
        assert _imports_facade(_imported_names(f"speech_commands.m{index}", str(path))), text


@pytest.mark.parametrize("module", CORE)
def test_no_core_module_imports_the_reference_facade(module):
    found = _imports_facade(_imported_names(module, SOURCES[module]))
    assert not found, (f"{module} imports {found}: the reference facade sits on top of the "
                       "typed core; call settings/dataset/batches/features/architectures instead")
