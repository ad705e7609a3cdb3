"""Every benchmark in bench/ runs in its --quick mode: a change that breaks one fails here, not on
the day someone wants its figures. The figures themselves are not checked (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "script",
    [
        pytest.param("admit_to_media", marks=pytest.mark.peer),
        pytest.param("echo_check", marks=pytest.mark.peer),
        pytest.param("booking_rate", marks=pytest.mark.postgres),
        pytest.param("backup_restore", marks=pytest.mark.postgres),
        pytest.param("continuity_drill", marks=[pytest.mark.postgres, pytest.mark.redis]),
        "slot_search",
        "document_upload",
    ],
)
def test_the_benchmark_runs_and_prints_its_ratio_to_the_baseline(script: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{script}", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ratio" in done.stdout, done.stdout
