"""The links in emails answer a link checker's HEAD like GET, without changing anything."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.app import create_app
from backend.booking.tokens import new_token
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import Appointment
from tests.support import citizen_appointment, make_settings, seed_agenda


async def test_head_on_join_and_manage_links_answers_like_get(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url)
    engine = create_engine(settings.database)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    join, manage = new_token(), new_token()
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
    async with sessionmaker() as db:
        service = await seed_agenda(db)
        db.add(citizen_appointment(service, start, join_token=join, manage_token=manage))
        await db.commit()
    async with AsyncTestClient(app=create_app(settings), base_url="http://127.0.0.1:8000") as client:
        for link in (f"/j/{join}", f"/afspraak/{manage}/"):
            got, head = await client.get(link), await client.head(link)
            assert (head.status_code, head.content) == (got.status_code, b"") and got.status_code == 200
            assert head.headers["content-type"] == got.headers["content-type"]
            assert head.headers["cache-control"] == "no-store"
        unknown = await client.head(f"/j/{new_token()}")
        assert unknown.status_code == 404  # as GET answers
    async with sessionmaker() as db:
        appointment = (await db.scalars(select(Appointment))).one()
        assert appointment.status == "booked" and appointment.sequence == 0  # nothing changed
        await db.commit()
    await engine.dispose()
