"""``/ws/call/{id}``: the official's call page; and how official sockets are authenticated and scoped
(the desk socket is in signalling.desk)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar.exceptions import ImproperlyConfiguredException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import audit, calls, rooms
from backend.db.models import Appointment, Official
from backend.desk.auth import SIGNED_IN_AT, ended_by_provider
from backend.participants import capacity
from backend.settings import Settings
from backend.tenancy import acting
from backend.tenancy.scope import MANDATE_KEY, scope_of
from signalling import protocol
from signalling.call_member import CALL_TRAFFIC, CallMember
from signalling.connection import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_SERVER_ERROR,
    CLOSE_TAKEN,
    CLOSE_UNAUTHORIZED,
    Connection,
    unbroken,
)
from signalling.hub import Envelope, Hub, team_channel
from signalling.protocol import Chat, ClientMessage, Signal
from signalling.snapshot import official_peer, room_peers

log = logging.getLogger(__name__)

PARTICIPANTS_SETTLE_SECONDS = 0.1


@dataclass(frozen=True)
class OfficialAccess:
    official_id: uuid.UUID
    peer: dict[str, Any]
    team_ids: list[uuid.UUID]
    mandate_id: uuid.UUID | None = None
    """The mandate the official acts under on this socket (backend/tenancy/scope.py)."""
    mandate_ends_at: dt.datetime | None = None

    def ended_by(self, event: dict[str, Any]) -> bool:
        """Whether ``event`` ends this socket's access: the provider signed the official out, a team
        admin took them off a team this socket reaches, or the mandate it acts under was revoked."""
        kind = event.get("type")
        if kind == "signed-out":
            return event.get("official_id") == str(self.official_id)
        if kind == "team-access-ended":
            return event.get("official_id") == str(self.official_id) and any(
                event.get("team_id") == str(team_id) for team_id in self.team_ids
            )
        return (
            kind == "mandate-ended"
            and self.mandate_id is not None
            and (event.get("mandate_id") == str(self.mandate_id))
        )


async def close_when_mandate_ends(conn: Connection, access: OfficialAccess) -> None:
    """Run beside a socket acting under a mandate: at the mandate's end, close it with 4403."""
    if access.mandate_ends_at is None:
        return
    await asyncio.sleep(max((access.mandate_ends_at - conn.clock()).total_seconds(), 0))
    await conn.error("forbidden", "the mandate you worked under has ended")
    conn.finish(CLOSE_FORBIDDEN)


async def end_access(conn: Connection, access: OfficialAccess, event: dict[str, Any]) -> None:
    """Close the socket for an event that :meth:`OfficialAccess.ended_by` names."""
    if event.get("type") == "signed-out":
        await conn.error("unauthorized", "your organisation signed you out")
        conn.finish(CLOSE_UNAUTHORIZED)
    elif event.get("type") == "team-access-ended":
        await conn.error("forbidden", "a team admin took you off this team")
        conn.finish(CLOSE_FORBIDDEN)
    else:
        await conn.error("forbidden", "the mandate you worked under was revoked")
        conn.finish(CLOSE_FORBIDDEN)


async def authenticate(
    conn: Connection, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> OfficialAccess | None:
    """The official of the desk session cookie and their teams; refuses the socket otherwise
    (4403 when another site opened it, 4401 without a desk session)."""
    if not conn.same_origin(settings.public_url):
        await conn.refuse(
            "forbidden", "this socket may only be opened from the desk's own pages", CLOSE_FORBIDDEN
        )
        return None
    try:
        raw = conn.socket.session.get("official_id")
    except ImproperlyConfiguredException:
        raw = None
    try:
        official_id = uuid.UUID(str(raw)) if raw else None
    except ValueError:
        official_id = None
    if official_id is not None:
        acting.begin()
        async with sessionmaker() as db:
            official = await db.get(Official, official_id)
            if official is not None and not ended_by_provider(
                official, conn.socket.session.get(SIGNED_IN_AT)
            ):
                scope = await scope_of(db, official, conn.socket.session.get(MANDATE_KEY), conn.clock())
                mandate = scope.mandate
                return OfficialAccess(
                    official_id,
                    official_peer(official),
                    sorted(scope.team_ids),
                    mandate_id=mandate.id if mandate else None,
                    mandate_ends_at=mandate.ends_at if mandate else None,
                )
    await conn.refuse("unauthorized", "sign in at the desk first", CLOSE_UNAUTHORIZED)
    return None


async def appointment_of_team(
    conn: Connection,
    db: AsyncSession,
    access: OfficialAccess,
    appointment_id: uuid.UUID,
    via: str,
) -> Appointment | None:
    """The appointment if it belongs to one of the official's teams; audits the refusal if not."""
    appointment = await db.get(Appointment, appointment_id, populate_existing=True)
    if appointment is not None and appointment.team_id in access.team_ids:
        return appointment
    await audit.appointment_access_denied(
        db, access.official_id, appointment_id, appointment, via=via, origin=audit.origin_of(conn.socket)
    )
    return None


async def check_appointment(
    conn: Connection,
    sessionmaker: async_sessionmaker[AsyncSession],
    access: OfficialAccess,
    appointment_id: uuid.UUID,
) -> bool:
    """Whether the official may open this call: it belongs to one of their teams (else audited and
    refused with 4404) and no colleague leads it (else refused with 4409: the page offers to take
    it over). A call has one official; the others in the mesh are citizens."""
    async with sessionmaker() as db:
        appointment = await appointment_of_team(conn, db, access, appointment_id, "ws/call")
        if appointment is not None and not calls.led_by_colleague(appointment, access.official_id):
            return True
    if appointment is None:
        await conn.refuse("not_found", "no such appointment", CLOSE_NOT_FOUND)
    else:
        await conn.refuse("taken", "a colleague leads this call", CLOSE_TAKEN)
    return False


@dataclass
class CallSocket:
    conn: Connection
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    hub: Hub
    access: OfficialAccess
    appointment_id: uuid.UUID
    session_id: str
    team_id: uuid.UUID | None = None
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    call: CallMember = field(init=False)

    def __post_init__(self) -> None:
        self.call = CallMember(
            self.conn,
            self.settings.signalling,
            self.sessionmaker,
            self.hub,
            self.appointment_id,
            peer_id=self.peer_id,
            session_id=self.session_id,
            state=rooms.IN_CALL,
        )

    @property
    def peer_id(self) -> str:
        return str(self.access.peer["id"])

    async def run(self) -> None:
        async with self.sessionmaker() as db:
            appointment = await db.get(Appointment, self.appointment_id)
            if appointment is None:  # check_appointment found it
                raise RuntimeError(f"appointment {self.appointment_id} is gone")
            self.team_id = appointment.team_id
        # The team channel says when someone of this appointment waits, is admitted or leaves.
        async with self.call.listen(self.deliver, team_channel(self.team_id)):
            welcome = await self.welcome()
            announced = self.call.state == rooms.IN_CALL
            if announced:  # before the welcome, so the citizens hear of us before our offers
                announce = protocol.announcement(self.access.peer, self.session_id)
                await self.hub.emit(self.call.channel, announce, origin=self.conn.id)
            await self.conn.send(welcome)
            await self.send_participants()
            try:
                await self.call.serve(
                    self.handle, self.refresh(), close_when_mandate_ends(self.conn, self.access)
                )
            finally:
                if announced:
                    # Taken over: this official is gone for good (their page hangs up), not away.
                    await self.call.leave("hangup" if self.conn.close_code == CLOSE_TAKEN else "disconnected")

    async def refresh(self) -> None:
        """One ``participants`` per burst of changes (like the desk's ``queue``)."""
        while True:
            await self.dirty.wait()
            # Let the burst settle first: an admission is followed at once by the citizen's
            # join-call, and on SQLite this read would queue behind (and delay) that write.
            await asyncio.sleep(PARTICIPANTS_SETTLE_SECONDS)
            self.dirty.clear()
            try:
                await self.send_participants()
            except Exception:
                log.warning("participants refresh failed; closing socket %s", self.conn.id, exc_info=True)
                self.conn.finish(CLOSE_SERVER_ERROR)
                return

    async def send_participants(self) -> None:
        people, seats = await unbroken(self.read_participants())
        await self.conn.send(protocol.participants(people, seats))

    async def read_participants(self) -> tuple[list[dict[str, Any]], int]:
        async with self.sessionmaker() as db:
            appointment = await db.get(Appointment, self.appointment_id, populate_existing=True)
            if appointment is None:  # appointments are never deleted while they run
                raise RuntimeError(f"appointment {self.appointment_id} is gone")
            people = [
                {"id": str(p.id), "name": p.name, "role": p.role, "state": p.state}
                for p in appointment.participants
                if p.revoked_at is None
            ]
            return people, capacity(appointment.service)

    async def welcome(self) -> dict[str, Any]:
        async with self.sessionmaker() as db:
            appointment = await db.get(Appointment, self.appointment_id, populate_existing=True)
            if appointment is None:  # appointments are never deleted while they run
                raise RuntimeError(f"appointment {self.appointment_id} is gone")
            self.call.state = rooms.IN_CALL if appointment.is_active else rooms.ENDED
            return self.call.welcome(appointment, you=self.access.peer, peers=room_peers(appointment))

    async def handle(self, message: ClientMessage) -> None:
        if isinstance(message, Chat):
            await self.chat(message)
        elif not isinstance(message, Signal):
            await self.conn.error("not_allowed", f"{type(message).__name__.lower()} is for citizens")
        elif self.call.state != rooms.IN_CALL:
            await self.conn.error("not_allowed", "this appointment has ended")
        else:
            await self.call.relay(message)

    async def chat(self, message: Chat) -> None:
        if message.appointment_id not in (None, self.appointment_id):
            await self.conn.error("not_allowed", "this socket is for one appointment only")
        elif self.call.state != rooms.IN_CALL:
            await self.conn.error("not_allowed", "this appointment has ended")
        else:
            await self.call.say(message.text)

    async def deliver(self, envelope: Envelope) -> None:
        event, kind = envelope.event, envelope.event.get("type")
        message: dict[str, Any] | None = None
        if kind == "refresh":
            if event.get("appointment_id") == str(self.appointment_id):
                self.dirty.set()
        elif kind in CALL_TRAFFIC:
            message = self.call.traffic(envelope)
        elif kind == "chat":
            message = event if event.get("scope") == "call" else None
        elif kind == "ended":
            self.call.state = rooms.ENDED
            message = protocol.ended(str(event.get("outcome", "")))
        elif kind == "identity":
            message = protocol.identity(str(event.get("peer_id", "")), str(event.get("level", "")))
        elif kind in ("document", "payment"):
            message = event
        elif kind == "taken-over" and event.get("official_id") != str(self.access.official_id):
            await self.conn.error("taken", "a colleague took over this call")
            self.conn.finish(CLOSE_TAKEN)
        elif self.access.ended_by(event):
            await end_access(self.conn, self.access, event)
        if message is not None:
            await self.conn.send(message)
