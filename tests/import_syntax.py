"""A module's import statements read from its syntax tree, for the tests that hold the
layers, the BUILD file and speech_commands' facade to the code."""

from __future__ import annotations

import ast
from typing import Iterator


def statements(module: str, tree: ast.AST, is_package: bool = False
               ) -> Iterator[tuple[str, list[str]]]:
    """(base, names) of every import in `tree`, anywhere (functions included): `import a.b`
    gives ("a.b", []), `from a import b, c` gives ("a", ["b", "c"]); relative imports are
    resolved against `module` (dotted; `is_package`: it is a package's `__init__`)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            yield base, [alias.name for alias in node.names]
