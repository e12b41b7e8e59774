"""Libraries below, thin command-line tools on top: no tool module imports another tool, and
no module imports itself through others.

A tool module is one with an `if __name__ == "__main__":` block. Whatever two tools share
lives in a library module both import; a tool that needs another tool's work runs it as a
program. Two modules that import each other are one idea split in two, or an interface that
belongs in a third module both import. Checked on the source with `ast`, over every package of
the project, imports inside functions included.
"""

import ast
import os

import pytest

import import_syntax

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _packages() -> list[str]:
    return sorted(name for name in os.listdir(ROOT)
                  if os.path.isfile(os.path.join(ROOT, name, "__init__.py")))


def _modules() -> dict[str, ast.Module]:
    """Dotted module name -> parsed source, for every module of every package."""
    modules = {}
    for package in _packages():
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                dotted = dotted.removesuffix(".__init__")
                with open(path, encoding="utf-8") as source:
                    modules[dotted] = ast.parse(source.read(), path)
    return modules


def _is_package(module: str) -> bool:
    return os.path.isfile(os.path.join(ROOT, *module.split("."), "__init__.py"))


def _is_tool(tree: ast.Module) -> bool:
    for node in tree.body:
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
                and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
                and any(isinstance(c, ast.Constant) and c.value == "__main__"
                        for c in node.test.comparators)):
            return True
    return False


def _imported(module: str, tree: ast.Module, known: set[str]) -> set[str]:
    """Project modules `tree` imports (`from package import module` counts as the module)."""
    found = set()
    for base, names in import_syntax.statements(module, tree, _is_package(module)):
        found.update(name for name in [base] + [f"{base}.{n}" for n in names] if name in known)
    return found


def _dependencies(module: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The project modules whose names `tree` uses: `from a import b` counts as `a.b` when
    that is a module, else as `a` (a name defined in `a`)."""
    found = set()
    for base, names in import_syntax.statements(module, tree, _is_package(module)):
        if not names:
            found.update([base] if base in known else [])
        for name in (f"{base}.{n}" for n in names):
            found.update([name] if name in known else [base] if base in known else [])
    return found - {module}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    order, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in order:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], order[successor])
        if low[node] == order[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in order:
            visit(node)
    return cycles


MODULES = _modules()
TOOLS = sorted(name for name, tree in MODULES.items() if _is_tool(tree))


def test_the_scan_sees_the_tools():
    assert {"speech_commands.train", "speech_commands.freeze", "speech_commands.listen",
            "speech_commands.demo", "speech_commands.streaming_accuracy",
            "export.hub"} <= set(TOOLS)
    assert "speech_commands.training" in MODULES and "speech_commands.training" not in TOOLS


@pytest.mark.parametrize("tool", TOOLS)
def test_no_tool_imports_another_tool(tool):
    imported_tools = sorted(_imported(tool, MODULES[tool], set(MODULES)) & set(TOOLS) - {tool})
    assert not imported_tools, f"{tool} imports the tool(s) {imported_tools}: move what they " \
                               "share into a library module"



def test_cycles_are_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_through_others():
    graph = {name: _dependencies(name, tree, set(MODULES)) for name, tree in MODULES.items()}
    assert not _cycles(graph), "modules that import each other (move what they share into " \
                               f"a module both import): {_cycles(graph)}"
