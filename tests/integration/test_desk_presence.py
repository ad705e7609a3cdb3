"""The desk shows who is there: a waiting citizen whose page closed keeps their place but is shown
as gone (backend/presence.py), at once when the socket closes, by running out when a node died."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import update

from backend.db.models import Participant
from tests.integration.signalling_support import Balie, start_balie


def citizen_in(queue: dict[str, Any], balie: Balie) -> dict[str, Any]:
    (entry,) = queue["appointments"]
    return next(p for p in entry["participants"] if p["id"] == str(balie.world.citizen_id))


def there(balie: Balie, expected: bool) -> Any:
    return lambda queue: citizen_in(queue, balie)["present"] is expected


async def test_a_citizen_whose_page_closed_is_no_longer_shown_as_there(balie: Balie) -> None:
    desk = await balie.official("/ws/desk")
    await desk.receive("welcome")
    assert citizen_in(await desk.receive("queue"), balie)["present"] is False  # never came

    citizen = await balie.citizen()
    await citizen.enter()
    person = citizen_in(await desk.receive_until("queue", there(balie, True)), balie)
    assert person["state"] == "waiting" and person["gone_since"] is None

    await citizen.ws.close()
    person = citizen_in(await desk.receive_until("queue", there(balie, False)), balie)
    # Their place is kept (a reload brings them back), but the desk sees nobody is there.
    assert person["state"] == "waiting" and person["gone_since"][-6:] in ("+01:00", "+02:00")

    again = await balie.citizen()
    assert (await again.receive("welcome"))["state"] == "waiting"
    person = citizen_in(await desk.receive_until("queue", there(balie, True)), balie)
    assert person["gone_since"] is None


async def test_an_old_socket_closing_late_does_not_hide_the_page_that_came_back(balie: Balie) -> None:
    first = await balie.citizen(session="page-1")
    await first.enter()
    second = await balie.citizen(session="page-1")  # the page reconnected; the old socket lingers
    await second.receive("welcome")
    desk = await balie.official("/ws/desk")
    await desk.receive("welcome")
    await desk.receive_until("queue", there(balie, True))

    await first.ws.close()
    (row,) = await balie.rows(Participant.__table__.select().where(Participant.id == balie.world.citizen_id))
    assert row.present_until > dt.datetime.now(dt.UTC)  # still held by the second socket
    await second.ws.close()
    await desk.receive_until("queue", there(balie, False))


async def test_the_presence_of_a_node_that_died_runs_out_on_the_desk(tmp_path: Path) -> None:
    # A node killed with its sockets gives nothing up; the lease (idle timeout + one heartbeat)
    # runs out and the desk reads the queue again by itself.
    node, _ = await start_balie(tmp_path, idle_timeout_seconds=3.0, heartbeat_seconds=0.3)
    async with node.serving():
        async with node.app.state.sessionmaker() as db:
            await db.execute(
                update(Participant)
                .where(Participant.id == node.world.citizen_id)
                .values(
                    state="waiting",
                    waiting_since=dt.datetime.now(dt.UTC),
                    present_until=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1),
                    present_socket="socket-on-a-dead-node",
                )
            )
            await db.commit()
        desk = await node.official("/ws/desk")
        await desk.receive("welcome")
        assert citizen_in(await desk.receive("queue"), node)["present"] is True
        await desk.send({"type": "ping"})  # the page's heartbeat (the idle timeout is short here)
        person = citizen_in(await desk.receive_until("queue", there(node, False)), node)
        assert person["state"] == "waiting" and person["gone_since"] is not None
