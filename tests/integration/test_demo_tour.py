"""The README's tour on the demo data as ``balie run`` loads it: two municipalities and a mandate."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.demo import load_demo
from tests.live import CSRF_FIELD, sign_in_official
from tests.oidc import served_balie
from tests.support import make_settings


async def test_schiedam_stands_in_for_rotterdam_in_the_demo(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = create_engine(settings.database)
    await upgrade(engine)
    async with create_sessionmaker(engine)() as session:
        await load_demo(session)
    await engine.dispose()
    async with served_balie(settings) as (_, sem):
        home = await sem.get("/")
        assert "Gemeente Rotterdam" in home.text and "Gemeente Schiedam" in home.text
        await sign_in_official(sem, "sem")
        desk = await sem.get("/balie/")
        assert "Namens Gemeente Rotterdam" in desk.text and 'href="/balie/mandaten"' in desk.text
        token = CSRF_FIELD.search(desk.text)
        assert token
        offered = re.search(r'<option value="([0-9a-f-]{36})">Namens Gemeente Rotterdam', desk.text)
        assert offered
        mandate_id = offered.group(1)
        switched = await sem.post(
            "/balie/namens", data={"_csrf_token": token.group(1), "mandate": mandate_id}
        )
        assert switched.status_code == 303
        assert "U werkt namens Gemeente Rotterdam" in (await sem.get("/balie/")).text
        async with httpx.AsyncClient(base_url=sem.base_url, timeout=20) as fatima:
            await sign_in_official(fatima, "fatima")
            mandates = await fatima.get("/balie/mandaten")
            assert (
                mandates.status_code == 200
                and "Gemeente Schiedam" in mandates.text
                and "Loopt" in mandates.text
            )
