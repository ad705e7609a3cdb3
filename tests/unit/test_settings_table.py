"""README.md's settings table is the one the declaration renders."""

from __future__ import annotations

import re

import pytest

from backend.cli import main
from backend.settings import ROOT, Settings
from backend.settings.reader import declared
from backend.settings.table import in_readme, markdown_table, with_table

README = ROOT / "README.md"
REGENERATE = "regenerate it with: python -m backend.cli settings --readme README.md"
VARIABLE = re.compile(r"\bBALIE_[A-Z0-9_]*[A-Z0-9]\b")


def test_the_readme_table_is_rendered_from_the_declaration() -> None:
    assert in_readme(README.read_text()) == markdown_table(), (
        f"README.md's settings table differs from what backend/settings/ declares; {REGENERATE}"
    )


def test_every_variable_named_in_the_readme_or_compose_file_is_declared() -> None:
    names = {item.name for item in declared(Settings())}
    known = names | {f"{name}_FILE" for name in names}  # every setting can come from a file
    for path in (README, ROOT / "docker-compose.yml"):
        unknown = set(VARIABLE.findall(path.read_text())) - known
        assert not unknown, f"{path.name} names settings that backend/settings/ does not declare: {unknown}"


def test_rendering_into_the_readme_keeps_the_rest() -> None:
    unmarked = "# Title\n\n| variable | default | meaning |\n"
    with pytest.raises(ValueError, match="no settings table"):
        with_table(unmarked)
    readme = README.read_text()
    broken = readme.replace("| `BALIE_SMTP_PORT` | `8025` |", "| `BALIE_SMTP_PORT` | `25` |")
    assert broken != readme and with_table(broken) == readme


def test_balie_settings_prints_the_table_without_reading_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BALIE_SMTP_PORT", "not a number")  # would stop any other command
    assert main(["settings", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown_table()
