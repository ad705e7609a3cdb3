"""Cookies on an https deployment carry the ``__Host-`` prefix (Secure, Path=/, no Domain); on the
embedded defaults (http on 127.0.0.1) they keep their plain names, which browsers require there."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.db.engine import create_engine
from backend.db.migrate import upgrade
from backend.identity.sessions import session_config
from tests.support import make_settings


async def test_https_cookies_are_host_prefixed(tmp_path: Path) -> None:
    settings = dataclasses.replace(make_settings(tmp_path), public_url="https://balie.example.nl")
    engine = create_engine(settings.database)
    await upgrade(engine)
    await engine.dispose()
    config = session_config(settings)
    assert config.key == "__Host-balie_session" and config.secure and config.path == "/"
    assert config.domain is None
    async with AsyncTestClient(app=create_app(settings), base_url="https://balie.example.nl") as client:
        page = await client.get("/balie/inloggen")
    set_cookies = [v for k, v in page.headers.multi_items() if k == "set-cookie"]
    csrf = next(c for c in set_cookies if c.startswith("__Host-balie_csrf="))
    attributes = {part.strip().split("=")[0].lower() for part in csrf.split(";")}
    assert "secure" in attributes and "domain" not in attributes and "Path=/" in csrf


async def test_plain_names_on_plain_http(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert session_config(settings).key == "balie_session"
