"""backend/ and signalling/ read "now" only through the one clock (backend/clock.py), so that a test
can set the time of the whole app with ``create_app(settings, clock=...)``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THE_CLOCK = ROOT / "backend" / "clock.py"
OTHER_SIDE = ROOT / "backend" / "identity" / "dev_provider"
"""The development identity provider stands in for another party's server, with its own clock."""
WALL_CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
}


def wall_clock_reads(path: Path) -> list[str]:
    """``datetime.now()``, ``dt.date.today()``, ``time.time()``... in one module, as ``file:line``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if (owner_name, node.func.attr) in WALL_CLOCK_READS:
            found.append(f"{path.relative_to(path.parents[1])}:{node.lineno}")
    return found


def test_only_the_clock_reads_the_wall_clock() -> None:
    modules = [
        path
        for folder in ("backend", "signalling")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != THE_CLOCK and OTHER_SIDE not in path.parents
    ]
    assert len(modules) > 50
    assert [read for path in modules for read in wall_clock_reads(path)] == []


def test_the_check_sees_each_way_of_reading_the_wall_clock(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import datetime as dt\nimport time\nfrom datetime import datetime, date\n"
        "a = dt.datetime.now(dt.UTC)\nb = datetime.now()\nc = date.today()\nd = time.time()\n"
        "e = time.monotonic()\nf = dt.datetime(2027, 1, 1)\n"
    )
    assert [line.rsplit(":", 1)[1] for line in wall_clock_reads(sample)] == ["4", "5", "6", "7"]
