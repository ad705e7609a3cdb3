"""docker-compose.yml stays a valid, production-like description (checked without a Docker engine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SECRET_FILES = {
    "balie_secret_key": "s" * 32,
    "balie_database_url": "postgresql+asyncpg://balie:p@postgres:5432/balie",
    "balie_redis_url": "redis://:r@redis:6379/0",
    "balie_identity_keys": "k1:a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
    "balie_documents_keys": "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "official_oidc_client_secret": "o",
    "citizen_oidc_client_secret": "c",
    "turn_secret": "t",
    "postgres_password": "p",
    "redis_password": "r",
    "mailpit_ui_auth": "beheer:wachtwoord",
    "balie_metrics_token": "m" * 24,
}
ENVIRONMENT = {"IDP_DB_PASSWORD": "i", "IDP_ADMIN_PASSWORD": "a"}
"""Keycloak reads no secret files: its two passwords are the only secrets in an environment."""


def secrets_dir(tmp_path: Path) -> Path:
    """The secret files as an operator makes them (with `echo ... >`: a trailing newline)."""
    folder = tmp_path / "secrets"
    folder.mkdir()
    for name, value in SECRET_FILES.items():
        (folder / name).write_text(value + "\n")
    return folder


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if shutil.which("docker-compose") is None:
        pytest.fail(
            "docker-compose is not installed: apt-get install -y --no-install-recommends docker-compose"
        )
    clean = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT and not k.startswith("BALIE_")}
    return subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def _services(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any], Path]:
    folder = secrets_dir(tmp_path)
    result = compose_config({**ENVIRONMENT, "DEPLOY_SECRETS_DIR": str(folder)})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    return config["services"], config["secrets"], folder


def test_the_app_nodes_environment_is_accepted_by_balie_run_in_production(tmp_path: Path) -> None:
    """What compose hands an app node (its secrets as the files compose mounts) passes every check
    ``balie run`` makes before it starts."""
    from backend.cli import refusals
    from backend.settings import Settings

    services, _secrets, folder = _services(tmp_path)
    app = services["app1"]["environment"]
    mounted = {
        name: str(value).replace("/run/secrets/", f"{folder}/")
        for name, value in app.items()  # where compose mounts each file, here
    }
    settings, problems = Settings.with_problems(mounted)
    assert problems + refusals(settings) == []
    assert settings.secret_key.reveal() == "s" * 32  # the file's value, without its newline
    assert settings.database.url.startswith("postgresql+asyncpg://balie:p@postgres")
    assert settings.identity.official.client_secret.reveal() == "o"


def test_compose_file_is_valid_and_has_every_part(tmp_path: Path) -> None:
    services, _secrets, _folder = _services(tmp_path)
    assert {
        "proxy",
        "app1",
        "app2",
        "worker",
        "postgres",
        "redis",
        "coturn",
        "mailpit",
        "idp",
        "backup",
    } <= set(services)
    app = services["app1"]["environment"]
    assert app["BALIE_ENV"] == "production"
    assert app["BALIE_CHANNELS"] == "redis"
    assert app["BALIE_DEV_IDP"] == "false" and app["BALIE_OFFICIAL_OIDC_ISSUER"].startswith("https://")
    assert app["BALIE_PUBLIC_URL"].startswith("https://")
    assert services["worker"]["command"] == ["balie", "worker"]
    for node in ("app1", "app2", "worker"):  # one document store for every node
        assert "documents:/data/documents:rw" in services[node]["volumes"]
        assert services[node]["environment"]["BALIE_DOCUMENTS_DIR"] == "/data/documents"
    for node in ("app1", "app2", "worker"):
        assert services[node]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    turn = " ".join(services["coturn"]["command"])
    assert "--use-auth-secret" in turn and "--no-loopback-peers" in turn
    assert "/run/secrets/turn_secret" in turn and app["BALIE_TURN_SECRET_FILE"] == "/run/secrets/turn_secret"
    assert app["BALIE_TURN_URLS"].startswith("turn:")
    assert "--denied-peer-ip=10.0.0.0-10.255.255.255" in turn and "allow-loopback-peers" not in turn


def test_secrets_are_files_and_nothing_sensitive_is_published(tmp_path: Path) -> None:
    services, secrets, folder = _services(tmp_path)
    assert {name: Path(spec["file"]) for name, spec in secrets.items()} == {
        name: folder / name for name in SECRET_FILES
    }
    for node in ("migrate", "app1", "app2", "worker"):
        env = services[node]["environment"]
        for name, value in env.items():
            assert not any(secret in str(value) for secret in ("s" * 32, "k1:")), name
        assert not {"BALIE_SECRET_KEY", "BALIE_DATABASE_URL", "BALIE_TURN_SECRET"} & set(env)
        mounted = {entry["source"] for entry in services[node]["secrets"]}
        assert {"balie_secret_key", "balie_database_url", "turn_secret"} <= mounted
        assert "postgres_password" not in mounted  # the app reads its URL, not the superuser's password
        assert "ports" not in services[node]  # only through the proxy
    assert "ports" not in services["mailpit"]  # its UI shows join links
    assert services["mailpit"]["environment"]["MP_UI_AUTH_FILE"] == "/run/secrets/mailpit_ui_auth"
    assert "--requirepass" in " ".join(services["redis"]["command"])
    assert services["idp"]["command"][0] == "start"  # not start-dev
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    for name, service in services.items():  # every image pinned to a version
        image = service.get("image", "")
        assert image and ":" in image and not image.endswith(":latest"), name
    ready = services["app1"]["healthcheck"]["test"]
    assert any("/readyz" in part for part in ready)
    assert "/readyz" in (ROOT / "docs/deploy/Caddyfile").read_text()


def test_compose_refuses_to_run_without_the_idp_passwords_and_the_app_without_its_files(
    tmp_path: Path,
) -> None:
    result = compose_config({"DEPLOY_SECRETS_DIR": str(tmp_path)})
    assert result.returncode != 0 and "IDP_" in result.stderr
    from backend.settings import Settings

    empty = compose_config({**ENVIRONMENT, "DEPLOY_SECRETS_DIR": str(tmp_path)})
    assert empty.returncode == 0, empty.stderr  # compose itself does not open the files
    app = yaml.safe_load(empty.stdout)["services"]["app1"]["environment"]
    missing = {k: str(v).replace("/run/secrets/", f"{tmp_path}/") for k, v in app.items()}
    _settings, problems = Settings.with_problems(missing)
    assert any(p.startswith("BALIE_SECRET_KEY_FILE: cannot read") for p in problems)


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
        "backend/tenancy/data/cbs_municipalities.csv",
    ):
        assert needed in names, f"{needed} is missing from the wheel"
    assert any(n.startswith("backend/db/migrations/versions/") and n.endswith(".py") for n in names)
