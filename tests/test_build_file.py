"""BUILD against the code: every module in a target, every tool a binary, deps follow imports.

BUILD is not run here (its header says why), so this test is what keeps it true. BUILD is
read by executing it with stand-ins for the Bazel functions it calls (for what BUILD uses,
Starlark is Python); every source is parsed with `ast`. An import counts wherever it is
(inside functions too); importing `a.b` runs `a/__init__.py` too, so that file must be in
reach as well. A string that names a project module (`"vggish.embed"` for `python -m`,
`"vggish.hub_spec:hub_spec"` in the export registry) does not make a dep necessary, since it
may only be shown to the user, but it justifies one: the registry binds at the binary.
"""

from __future__ import annotations

import ast
import functools
import glob as globlib
import importlib.metadata
import os
import re
import sys
from typing import NamedTuple

import pytest

import import_syntax

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = "tests"  # Not a package: pytest puts each test's own folder on sys.path.
RULES = ("py_library", "py_binary", "py_test")
REQUIREMENT = "@pypi//"


class Target(NamedTuple):
    rule: str
    name: str
    srcs: tuple[str, ...]
    main: str | None
    deps: tuple[str, ...]  # ":name" labels of this BUILD
    requirements: frozenset[str]  # normalised distribution names


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _glob(include: list[str], exclude: tuple[str, ...] = ()) -> list[str]:
    found = {os.path.relpath(path, ROOT) for pattern in include
             for path in globlib.glob(os.path.join(ROOT, pattern)) if os.path.isfile(path)}
    return sorted(found - set(exclude))


def read_build() -> dict[str, Target]:
    """Label (":name") -> target, for every py_* rule that BUILD declares."""
    targets = {}

    def rule(kind):
        def declare(name, srcs=(), main=None, deps=(), **_):
            assert f":{name}" not in targets, f"BUILD declares {name} twice"
            targets[f":{name}"] = Target(
                kind, name, tuple(srcs), main, tuple(d for d in deps if d.startswith(":")),
                frozenset(_normalise(d[len(REQUIREMENT):]) for d in deps
                          if d.startswith(REQUIREMENT)))
        return declare

    namespace = {kind: rule(kind) for kind in RULES}
    namespace.update(load=lambda *_: None, package=lambda **_: None, glob=_glob,
                     requirement=lambda name: REQUIREMENT + name)
    with open(os.path.join(ROOT, "BUILD"), encoding="utf-8") as build:
        exec(compile(build.read(), "BUILD", "exec"), namespace)  # pylint: disable=exec-used
    return targets


def _project_files() -> list[str]:
    """Every Python file of the project's packages and tests, relative to the root."""
    folders = [name for name in os.listdir(ROOT)
               if os.path.isfile(os.path.join(ROOT, name, "__init__.py"))] + [TESTS]
    return sorted(os.path.relpath(os.path.join(folder, name), ROOT)
                  for top in folders for folder, _, names in os.walk(os.path.join(ROOT, top))
                  for name in names if name.endswith(".py"))


def _is_test_file(path: str) -> bool:
    """What pytest collects: `test_*.py` or `*_test.py` below tests/."""
    return path.startswith(TESTS + os.sep) and bool(
        re.fullmatch(r"test_\w+\.py|\w+_test\.py", os.path.basename(path)))


def _module_index(files: list[str]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Dotted module -> file for the packages; folder -> {module -> file} below tests/."""
    packages, local = {}, {}
    for path in files:
        if path.startswith(TESTS + os.sep):
            local.setdefault(os.path.dirname(path), {})[os.path.basename(path)[:-3]] = path
        else:
            packages[path[:-3].replace(os.sep, ".").removesuffix(".__init__")] = path
    return packages, local


@functools.cache
def _parse(path: str) -> ast.Module:
    with open(os.path.join(ROOT, path), encoding="utf-8") as source:
        return ast.parse(source.read(), path)


def _is_tool(path: str, tree: ast.Module) -> bool:
    """A module with an `if __name__ == "__main__":` block, or a package's `__main__.py`."""
    return os.path.basename(path) == "__main__.py" or any(
        isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__"
                for c in node.test.comparators)
        for node in tree.body)


class Imports(NamedTuple):
    files: set[str]  # project files that importing runs
    third_party: set[str]  # top-level names outside the project and the standard library
    missing: set[str]  # project modules imported that do not exist
    named: set[str]  # project files of modules named by a string


def imports(path: str, index: dict[str, str], local: dict[str, dict[str, str]]) -> Imports:
    """What `path` needs at run time, found in its syntax tree."""
    modules = {**index, **local.get(os.path.dirname(path), {})}
    project_tops = {dotted.split(".")[0] for dotted in modules}
    found = Imports(set(), set(), set(), set())

    def need(dotted: str, into: set[str] = found.files) -> bool:
        """Adds `dotted` (and its parents' __init__) if it is a project module."""
        if dotted not in modules:
            return False
        parts = dotted.split(".")
        into.update(modules[".".join(parts[:i])] for i in range(1, len(parts) + 1)
                    if ".".join(parts[:i]) in modules)
        return True

    def absolute(dotted: str) -> None:
        top = dotted.split(".")[0]
        if need(dotted) or top in sys.stdlib_module_names or top == "__future__":
            return
        (found.missing if top in project_tops else found.third_party).add(
            dotted if top in project_tops else top)

    dotted_self = path[:-3].replace(os.sep, ".")
    if "." in dotted_self:
        need(dotted_self.rsplit(".", 1)[0])  # a module loads with its package (`python -m`)
    if _is_test_file(path):  # pytest imports tests/conftest.py before every test below it
        found.files.add(local[TESTS]["conftest"])
    tree = _parse(path)
    for base, names in import_syntax.statements(dotted_self, tree):
        for name in names:
            need(f"{base}.{name}")
        absolute(base)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            named = re.fullmatch(r"([\w.]+)(:\w+)?", node.value)
            if named:
                need(named.group(1), found.named)
    return found


def _closure(label: str, targets: dict[str, Target]) -> set[str]:
    """`label` and every target it depends on, directly or not."""
    seen, stack = set(), [label]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(targets[current].deps)
    return seen


@functools.cache
def _installed() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _distributions(top_level: str) -> set[str]:
    """Distributions that provide the import name, as installed here; else the name itself."""
    return {_normalise(name) for name in _installed().get(top_level, [top_level])}


@pytest.fixture(scope="module")
def build() -> dict[str, Target]:
    return read_build()


@pytest.fixture(scope="module")
def files() -> list[str]:
    return _project_files()


def test_labels_sources_and_mains_exist(build):
    problems = []
    for label, target in build.items():
        problems += [f"{label}: no file {src}" for src in target.srcs
                     if not os.path.isfile(os.path.join(ROOT, src))]
        problems += [f"{label}: unknown dep {dep}" for dep in target.deps if dep not in build]
        if target.rule != "py_library" and target.main not in target.srcs:
            problems.append(f"{label}: main {target.main} is not in its srcs")
    assert not problems, "\n".join(problems)


def test_every_module_is_in_a_target(build, files):
    covered = {src for target in build.values() for src in target.srcs}
    outside = [path for path in files if path not in covered]
    assert not outside, "in no target:\n" + "\n".join(outside)


def test_every_tool_and_test_file_is_the_main_of_a_binary_or_test(build, files):
    mains = {target.main: target.rule for target in build.values() if target.main}
    expected = {path: "py_test" if _is_test_file(path) else "py_binary" for path in files
                if _is_test_file(path) or _is_tool(path, _parse(path))}
    missing = sorted(set(expected.items()) - set(mains.items()))
    stale = sorted(set(mains.items()) - set(expected.items()))
    assert not missing, "\n".join(f"{path}: not the main of a {rule}" for path, rule in missing)
    assert not stale, "\n".join(f"{path}: the main of a {rule}, but not a tool or test file"
                                 for path, rule in stale)


def test_deps_follow_the_imports(build, files):
    index, local = _module_index(files)
    problems = []
    for label, target in build.items():
        reach = _closure(label, build)
        reachable = {src for dep in reach for src in build[dep].srcs}
        requirements = set().union(*(build[dep].requirements for dep in reach))
        for src in [src for src in target.srcs if src in files]:
            needed = imports(src, index, local)
            problems += [f"{label}: {src} imports {module}, which does not exist"
                         for module in sorted(needed.missing)]
            problems += [f"{label}: {src} needs {path}, in no target it depends on"
                         for path in sorted(needed.files - reachable)]
            problems += [f"{label}: {src} imports {name}, required by no target it depends on"
                         for name in sorted(needed.third_party)
                         if not _distributions(name) & requirements]
    assert not problems, "\n".join(problems)


def test_every_project_dep_is_used(build, files):
    """A `:dep` is there because the target imports one of the dep's files, or something in
    its reach names one (a registry of plugins)."""
    index, local = _module_index(files)
    problems = []
    for label, target in build.items():
        used = set()
        for src in [src for src in target.srcs if src in files]:
            used |= imports(src, index, local).files
        for src in {src for dep in _closure(label, build) for src in build[dep].srcs
                    if src in files}:
            used |= imports(src, index, local).named
        problems += [f"{label}: depends on {dep} but uses none of its files"
                     for dep in target.deps if not used & set(build[dep].srcs)]
    assert not problems, "\n".join(problems)


# Targets the README says run without TensorFlow (the LiteRT runtime's base, the recorder).
TENSORFLOW_FREE = (":earshot", ":recorder")


@pytest.mark.parametrize("label", TENSORFLOW_FREE)
def test_tensorflow_free_targets_reach_no_tensorflow(build, label):
    reach = _closure(label, build)
    required = set().union(*(build[dep].requirements for dep in reach))
    assert not required & {"tensorflow", "keras"}, \
        f"{label} reaches {sorted(d for d in reach if build[d].requirements & {'tensorflow'})}"


def test_the_dependency_graph_has_no_cycle(build):
    assert not [label for label, target in build.items()
                if any(label in _closure(dep, build) for dep in target.deps)]
