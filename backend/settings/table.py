"""The README's settings table, rendered from the declaration (``balie settings``)."""

from __future__ import annotations

from pathlib import Path

from backend.settings import Secret, Settings
from backend.settings.reader import Declared, declared

BEGIN = "<!-- settings table: generated from backend/settings/ by `balie settings --readme README.md` -->"
END = "<!-- end of the settings table -->"


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [
        f"| `{item.name}` | {_cell(shown_default(item))} | {_cell(item.doc)} |"
        for item in declared(Settings())
    ]
    return "\n".join(rows) + "\n"


def shown_default(item: Declared) -> str:
    if item.spec.shown is not None:
        return item.spec.shown
    value = item.default
    if isinstance(value, bool):
        return f"`{'true' if value else 'false'}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, int):
        return f"`{value}`"
    if isinstance(value, Secret):
        return "empty" if not value else "(secret)"
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if isinstance(value, str | Path | tuple | dict) or value is None:
        return f"`{value}`" if value else "empty"
    raise TypeError(f"{item.name}: say how the README shows its default (shown=)")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def in_readme(readme: str) -> str:
    """The table as it stands in ``readme``, between its markers."""
    start, end = _bounds(readme)
    return readme[start:end]


def with_table(readme: str) -> str:
    """``readme`` with the table between its markers rendered afresh."""
    start, end = _bounds(readme)
    return readme[:start] + markdown_table() + readme[end:]


def _bounds(readme: str) -> tuple[int, int]:
    begin, end = readme.find(BEGIN), readme.find(END)
    if begin < 0 or end < begin:
        raise ValueError(f"the README has no settings table between {BEGIN!r} and {END!r}")
    return begin + len(BEGIN) + 1, end
