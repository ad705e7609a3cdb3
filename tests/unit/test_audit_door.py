"""One door into the audit trail: every event goes through a named function of backend.audit.

The writer (``backend/audit/_writer.py``) is private, so that what every event carries, with the
hash that chains it to the event before (``backend/audit/chain.py``), is decided in one place. This test
reads every Python file of the project outside tests/ and fails on code that goes around the door:
using a name of ``backend.audit`` that it does not export (``_record``, ``_writer``, the old
``record``), importing one of its modules directly, or writing ``audit_event`` rows itself
(building an ``AuditEvent``, ``insert(AuditEvent)``, ``INSERT INTO audit_event``). Reading the
trail (``select(AuditEvent)``) is fine. Only ``_writer.py`` builds rows; the event modules of
the package call its ``_record``.

The scanner itself is tested on small snippets below, so a change that blinds it fails too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend import audit
from backend.settings import ROOT

SKIP_DIRS = {".venv", "venv", ".git", "node_modules", "__pycache__", ".balie", "build", "dist", "tests"}
PACKAGE = "backend.audit"
PACKAGE_DIR = "backend/audit/"
WRITER = "backend/audit/_writer.py"
PUBLIC = frozenset(audit.__all__)
BULK_WRITES = {"insert", "bulk_insert_mappings", "bulk_save_objects"}
SQL_INSERT = re.compile(r"\binsert\s+into\s+[\"'`]?audit_event\b", re.IGNORECASE)


def project_files() -> Iterator[Path]:
    for path in ROOT.rglob("*.py"):
        if SKIP_DIRS.isdisjoint(path.relative_to(ROOT).parts):
            yield path


def _absolute(module: str | None, level: int, path: str) -> str:
    """The absolute module name of an import in the file at ``path`` (``from ..x import y``)."""
    if level == 0:
        return module or ""
    package = path.removesuffix(".py").split("/")[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


def door_findings(source: str, path: str) -> list[str]:
    """What the file at ``path`` (relative to the project, with ``/``) does around the door."""
    inside = path.startswith(PACKAGE_DIR)
    tree = ast.parse(source)
    modules: set[str] = set()  # local names bound to backend.audit
    rows = {"AuditEvent"}  # local names bound to the model
    findings: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = _absolute(node.module, node.level, path)
            for alias in node.names:
                bound = alias.asname or alias.name
                if f"{module}.{alias.name}" == PACKAGE:
                    modules.add(bound)
                elif alias.name == "AuditEvent":
                    rows.add(bound)
                if inside:
                    continue
                if module.startswith(PACKAGE + "."):
                    findings.append(f"imports {alias.name} from {module}")
                elif module == PACKAGE and alias.name not in PUBLIC:
                    findings.append(f"imports {alias.name} from {PACKAGE}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE and alias.asname:
                    modules.add(alias.asname)
                if not inside and alias.name.startswith(PACKAGE + "."):
                    findings.append(f"imports {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not inside and _names_audit(node.value, modules):
            if node.attr not in PUBLIC:
                findings.append(f"uses audit.{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr == "__table__" and _is_row(node.value, rows):
            findings.append("uses AuditEvent.__table__")
        elif isinstance(node, ast.Call) and path != WRITER:
            if _is_row(node.func, rows):
                findings.append("builds an AuditEvent")
            elif _called(node.func) in BULK_WRITES and any(_is_row(a, rows) for a in node.args):
                findings.append(f"{_called(node.func)}(AuditEvent)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_INSERT.search(node.value):
            findings.append("inserts into audit_event in SQL")
    return findings


def _names_audit(node: ast.expr, modules: set[str]) -> bool:
    """``audit`` (as imported here) or ``backend.audit``."""
    if isinstance(node, ast.Name):
        return node.id in modules
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "audit"
        and isinstance(node.value, ast.Name)
        and node.value.id == "backend"
    )


def _is_row(node: ast.expr, rows: set[str]) -> bool:
    return (isinstance(node, ast.Name) and node.id in rows) or (
        isinstance(node, ast.Attribute) and node.attr == "AuditEvent"
    )


def _called(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def test_every_audit_event_goes_through_a_named_function() -> None:
    files = list(project_files())
    names = {str(p.relative_to(ROOT)) for p in files}
    assert {"backend/calls.py", "signalling/official.py", WRITER} <= names, "is ROOT right?"
    findings = {
        name: found
        for path in files
        if (found := door_findings(path.read_text(encoding="utf-8"), name := str(path.relative_to(ROOT))))
    }
    assert findings == {}


def test_the_writer_is_private() -> None:
    assert not hasattr(audit, "record")
    assert all(not name.startswith("_") for name in PUBLIC)


@pytest.mark.parametrize(
    "source",
    [
        "from backend import audit\naudit._record(session, actor='system', action='x')",
        "from backend import audit\naudit.record(session, actor='system', action='x')",
        "from backend import audit as trail\ntrail._record(session)",
        "import backend.audit\nbackend.audit._record(session)",
        "import backend.audit as trail\ntrail._writer._record(session)",
        "from backend.audit._writer import _record",
        "from backend.audit.calls import call_ended",
        "import backend.audit._writer",
        "from backend.audit import _writer",
        "from backend.audit import _record",
        "from .audit import _writer",
        "from .audit._writer import _record",
        "from backend.db.models import AuditEvent\nsession.add(AuditEvent(actor='x'))",
        "from backend.db.models import AuditEvent as Row\nsession.add(Row(actor='x'))",
        "from backend.db import models\nsession.add(models.AuditEvent(actor='x'))",
        "from sqlalchemy import insert\nawait session.execute(insert(AuditEvent).values(actor='x'))",
        "await session.execute(AuditEvent.__table__.insert().values(actor='x'))",
        "session.bulk_insert_mappings(AuditEvent, [{'actor': 'x'}])",
        "await session.execute(text('INSERT INTO audit_event (actor) VALUES (:a)'))",
    ],
)
def test_the_scan_sees_a_way_around_the_door(source: str) -> None:
    assert door_findings(source, "backend/elsewhere.py")


@pytest.mark.parametrize(
    "source",
    [
        "from backend import audit\naudit.call_taken_over(session, appointment, official_id, before=None)",
        "from backend import audit\norigin = audit.origin_of(request)",
        "from backend.audit import access_denied",
        "from backend.db.models import AuditEvent\nrows = select(AuditEvent).where(AuditEvent.action == 'x')",
        "audit = await client.get('/balie/logboek')\nassert audit.status_code == 200",  # not the module
        "text = 'audit_event is append-only'",
    ],
)
def test_the_scan_lets_named_events_and_reads_be(source: str) -> None:
    assert door_findings(source, "backend/elsewhere.py") == []


def test_inside_the_package_events_call_the_writer_and_only_the_writer_builds_rows() -> None:
    event = "from backend.audit._writer import _record\n_record(session, actor='system', action='x')"
    assert door_findings(event, "backend/audit/calls.py") == []
    row = "from backend.db.models import AuditEvent\nsession.add(AuditEvent(actor='x'))"
    assert door_findings(row, WRITER) == []
    assert door_findings(row, "backend/audit/calls.py") == ["builds an AuditEvent"]
