"""Imports run one way: backend never imports signalling, except the composition root (ADR 0008).

The contract lives in pyproject.toml (``[tool.importlinter]``), so ``lint-imports`` in CI and this
test read the same list of allowed imports."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]


def contract() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (only,) = config["contracts"]
    assert only["type"] == "forbidden"
    return dict(only)


def allowed_edges() -> list[tuple[str, str]]:
    edges = []
    for line in contract()["ignore_imports"]:  # type: ignore[attr-defined]
        importer, imported = (part.strip() for part in line.split("->"))
        edges.append((importer, imported))
    return edges


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    graph = grimp.build_graph("backend", "signalling", cache_dir=None)
    for importer, imported in allowed_edges():
        graph.remove_import(importer=importer, imported=imported)
    return graph


def test_only_the_composition_root_may_import_signalling() -> None:
    assert {importer for importer, _ in allowed_edges()} == {"backend.app"}


def test_no_backend_module_reaches_signalling(graph: grimp.ImportGraph) -> None:
    chains = graph.find_shortest_chains(importer="backend", imported="signalling", as_packages=True)
    assert chains == set(), f"backend imports signalling: {sorted(chains)}"


def test_the_check_sees_a_new_import(graph: grimp.ImportGraph) -> None:
    graph.add_import(importer="backend.calls", imported="signalling.protocol")
    try:
        chains = graph.find_shortest_chains(importer="backend", imported="signalling", as_packages=True)
        assert ("backend.calls", "signalling.protocol") in chains
    finally:
        graph.remove_import(importer="backend.calls", imported="signalling.protocol")


def test_lint_imports_keeps_the_contract() -> None:
    # In a process of its own: import-linter changes the logging set-up of the process it runs in.
    check = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
