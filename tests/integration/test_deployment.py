"""docker-compose.yml stays a valid, production-like description (checked without a Docker engine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "BALIE_SECRET_KEY": "s" * 32,
    "BALIE_IDENTITY_KEYS": "k1:a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
    "BALIE_OFFICIAL_OIDC_CLIENT_SECRET": "o",
    "BALIE_CITIZEN_OIDC_CLIENT_SECRET": "c",
    "BALIE_DOCUMENTS_KEYS": "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "POSTGRES_PASSWORD": "p",
    "TURN_SECRET": "t",
    "IDP_ADMIN_PASSWORD": "i",
}


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if shutil.which("docker-compose") is None:
        pytest.fail(
            "docker-compose is not installed: apt-get install -y --no-install-recommends docker-compose"
        )
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_the_app_nodes_environment_is_accepted_by_balie_run_in_production() -> None:
    """What compose hands an app node passes every check ``balie run`` makes before it starts."""
    from backend.cli import refusals
    from backend.settings import Settings

    result = compose_config(SECRETS)
    assert result.returncode == 0, result.stderr
    app = yaml.safe_load(result.stdout)["services"]["app1"]["environment"]
    settings, problems = Settings.with_problems({k: str(v) for k, v in app.items()})
    assert problems + refusals(settings) == []


def test_compose_file_is_valid_and_has_every_part() -> None:
    result = compose_config(SECRETS)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"app1", "app2", "worker", "postgres", "redis", "coturn", "mailpit", "idp"} <= set(services)
    app = services["app1"]["environment"]
    assert app["BALIE_ENV"] == "production"
    assert app["BALIE_CHANNELS"] == "redis"
    assert app["BALIE_DEV_IDP"] == "false" and app["BALIE_OFFICIAL_OIDC_ISSUER"].startswith("https://")
    assert app["BALIE_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert services["worker"]["command"] == ["balie", "worker"]
    for node in ("app1", "app2", "worker"):  # one document store for every node
        assert "documents:/data/documents:rw" in services[node]["volumes"]
        assert services[node]["environment"]["BALIE_DOCUMENTS_DIR"] == "/data/documents"
    for node in ("app1", "app2", "worker"):
        assert services[node]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    turn = " ".join(services["coturn"]["command"])
    assert "--use-auth-secret" in turn and "--no-loopback-peers" in turn
    assert "--static-auth-secret=t" in turn and app["BALIE_TURN_SECRET"] == "t"  # one secret, both sides
    assert app["BALIE_TURN_URLS"].startswith("turn:")
    assert "--denied-peer-ip=10.0.0.0-10.255.255.255" in turn and "allow-loopback-peers" not in turn


def test_compose_refuses_to_run_without_secrets() -> None:
    result = compose_config({})
    assert result.returncode != 0
    assert "BALIE_SECRET_KEY" in result.stderr or "POSTGRES_PASSWORD" in result.stderr


def test_the_installed_package_carries_templates_static_files_and_migrations(tmp_path: Path) -> None:
    """The image installs with `pip install .` (not editable): all the app reads must be in the wheel."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "web/templates/base.html",
        "web/templates/email/confirmation.txt",
        "web/static/js/call.js",
        "web/static/css/app.css",
        "web/locales/en.json",
        "backend/db/migrations/alembic.ini",
        "backend/db/migrations/env.py",
    ):
        assert needed in names, f"{needed} is missing from the wheel"
    assert any(n.startswith("backend/db/migrations/versions/") and n.endswith(".py") for n in names)
