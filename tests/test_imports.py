"""The package's modules import in one direction: no module imports one that imports it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "generator"


def imports() -> dict[str, set[str]]:
    """Each module of `generator` and the package modules it imports."""
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] == "generator" and len(parts) > 1:
                    found.add(parts[1])
                elif node.module == "generator":
                    found |= {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "generator" and len(parts) > 1:
                        found.add(parts[1])
        edges[path.stem] = (found & modules) - {path.stem}
    return edges


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle, or None."""
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if not state.get(nxt):
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(edges):
        if start != "__init__" and not state.get(start):
            found = visit(start, [start])
            if found:
                return found
    return None


def test_no_import_circle_in_the_package() -> None:
    edges = imports()
    edges.pop("__init__", None)
    assert cycle(edges) is None


def test_the_circle_finder_finds_one() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_only_the_command_line_knows_click() -> None:
    users = [
        p.stem
        for p in PACKAGE.glob("*.py")
        if any(
            isinstance(n, (ast.Import, ast.ImportFrom))
            and any(
                (getattr(n, "module", None) or a.name).split(".")[0] == "click" for a in n.names
            )
            for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        )
    ]
    assert users == ["cli"]


HEAVY = ("pydantic", "jinja2", "yaml", "dns", "ssl", "weasyprint")


def loaded_after(*args: str) -> list[str]:
    """The heavy libraries (and the check scripts) imported once `runbook ARGS` has run."""
    code = (
        "import json, sys\n"
        "from generator.cli import cli\n"
        "try:\n"
        f"    cli.main({list(args)!r}, standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stderr.splitlines()[-1])
    return [name for name in loaded if name in (*HEAVY, "checks")]


@pytest.mark.parametrize("args", [["--help"], ["values", "--help"], ["check", "--help"]])
def test_help_loads_none_of_the_heavy_libraries(args: list[str]) -> None:
    assert loaded_after(*args) == []


def test_values_loads_neither_the_checks_nor_the_rendering() -> None:
    assert loaded_after("values", "northwind-traders", "--json") == ["pydantic", "yaml"]


def test_the_public_names_stay_importable_from_the_package() -> None:
    code = (
        "from generator.derive import Values\n"  # the submodule first: `derive` stays the function
        "from generator import Client, ClientFileError, Problem, derive, load_client\n"
        "import generator\n"
        "print(callable(derive) and derive is generator.derive and load_client.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "load_client"
