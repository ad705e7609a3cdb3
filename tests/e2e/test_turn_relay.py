"""Networks that block peer to peer: two aiortc peers talk through coturn with credentials the app
issued, relay-only, and credentials that expired (or were signed with another secret) get nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack

from backend.settings import Secret, SignallingSettings
from signalling import ice
from signalling.peers.probe import pin_to_loopback, rtc_configuration, selected_candidate_types
from tests.e2e.parties import connect_call, parties
from tests.e2e.turn import Coturn, coturn
from tests.live import live_server

pytestmark = pytest.mark.peer


@pytest.fixture
def turn(tmp_path: Path) -> Iterator[Coturn]:
    with coturn(tmp_path) as server:
        yield server


def turn_entries(servers: list[dict[str, object]]) -> list[dict[str, object]]:
    return [s for s in servers if any(str(u).startswith("turn") for u in list(s["urls"]))]  # type: ignore[call-overload]


async def test_relay_only_call_through_coturn_with_credentials_the_app_issued(
    tmp_path: Path, turn: Coturn
) -> None:
    pin_to_loopback()
    env = {"BALIE_TURN_URLS": turn.url, "BALIE_TURN_SECRET": turn.secret}
    async with live_server(tmp_path, env=env) as server, parties(server, relay_only=True) as people:
        citizen, booked = await people.waiting_citizen("sanne@example.nl")
        assert turn_entries(citizen.welcome["ice_servers"]) == [], "a waiting page gets no TURN credentials"

        await people.sign_in()
        appointment_id = await people.appointment_id(booked["reference"])
        issued_after = dt.datetime.now(dt.UTC)
        await people.admit(appointment_id)
        (granted,) = turn_entries((await citizen.expect("ice-servers"))["ice_servers"])
        await citizen.expect("state", state="admitted")  # credentials come before the admission

        official = await people.call_page(appointment_id)
        (official_turn,) = turn_entries(official.welcome["ice_servers"])
        appointment_length = dt.datetime.fromisoformat(booked["end"]) - dt.datetime.fromisoformat(
            booked["start"]
        )
        for credential in (granted, official_turn):
            assert credential["urls"] == [turn.url]
            expiry, _, who = str(credential["username"]).partition(":")
            assert who.startswith("call-") and "sanne" not in who.lower()
            lifetime = dt.datetime.fromtimestamp(int(expiry), dt.UTC) - issued_after
            assert dt.timedelta(0) < lifetime <= appointment_length + dt.timedelta(seconds=5)

        try:
            await connect_call(official, citizen, within=30)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\ncoturn log:\n{turn.log_tail()}") from None
        for side in (official, citizen):
            assert side.pc is not None
            assert selected_candidate_types(side.pc) == {"relay"}
            assert "typ host" not in side.pc.localDescription.sdp  # relay-only: nothing else offered


async def gathered_candidate_types(servers: list[dict[str, object]]) -> set[str]:
    """Which candidate types a relay-only aiortc peer gathers with ``servers``."""
    pc = RTCPeerConnection(rtc_configuration(servers, relay_only=True))
    try:
        pc.addTrack(AudioStreamTrack())
        await asyncio.wait_for(pc.setLocalDescription(await pc.createOffer()), 20)
        sdp = pc.localDescription.sdp
        return {line.split(" typ ")[1].split()[0] for line in sdp.splitlines() if " typ " in line}
    finally:
        await pc.close()


async def test_expired_or_foreign_credentials_get_no_relay(turn: Coturn) -> None:
    pin_to_loopback()
    settings = SignallingSettings(turn_urls=(turn.url,), turn_secret=Secret(turn.secret))
    now = dt.datetime.now(dt.UTC)
    fresh = ice.ice_servers(settings, purpose="call", lifetime=dt.timedelta(minutes=20), now=now)
    assert await gathered_candidate_types(fresh) == {"relay"}  # the control: these work

    long_ago = now - dt.timedelta(hours=1)
    expired = ice.ice_servers(settings, purpose="call", lifetime=dt.timedelta(minutes=20), now=long_ago)
    assert await gathered_candidate_types(expired) == set()

    other = SignallingSettings(turn_urls=(turn.url,), turn_secret=Secret("not-the-coturn-secret"))
    foreign = ice.ice_servers(other, purpose="call", lifetime=dt.timedelta(minutes=20), now=now)
    assert await gathered_candidate_types(foreign) == set()
    # coturn says why only in its log (an expired name counts as unknown there).
    refused = [line for line in turn.log_tail().splitlines() if "Cannot find credentials" in line]
    for servers in (expired, foreign):
        (entry,) = turn_entries(servers)
        assert any(str(entry["username"]) in line for line in refused), refused
