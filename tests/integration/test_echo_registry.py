"""The echo registry: its limits, and that the app's lifespan closes every echo peer when it stops."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import VideoStreamTrack
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import CheckSettings
from signalling.peers.echo import EchoBusy, EchoRegistry
from signalling.peers.probe import pin_to_loopback, rtc_configuration
from tests.support import make_settings


async def test_limits_per_node_and_per_visitor() -> None:
    registry = EchoRegistry(CheckSettings(max_sessions=3, max_sessions_per_client=2))
    first = registry.open("10.0.0.1", [])
    registry.open("10.0.0.1", [])
    with pytest.raises(EchoBusy):
        registry.open("10.0.0.1", [])  # a third for the same visitor
    registry.open("10.0.0.2", [])
    with pytest.raises(EchoBusy):
        registry.open("10.0.0.3", [])  # the node is full
    await registry.close(first)
    assert len(registry) == 2
    registry.open("10.0.0.3", [])
    await registry.close_all()
    assert len(registry) == 0
    with pytest.raises(EchoBusy):
        registry.open("10.0.0.4", [])  # a stopping app takes no new sessions


async def test_the_app_closes_every_echo_peer_when_it_stops(tmp_path: Path) -> None:
    pin_to_loopback()
    app = create_app(make_settings(tmp_path))
    client = RTCPeerConnection(rtc_configuration([]))
    try:
        async with AsyncTestClient(app=app):
            registry: EchoRegistry = app.state.echo
            session = registry.open("127.0.0.1", [])
            client.addTrack(VideoStreamTrack())
            await client.setLocalDescription(await client.createOffer())
            answer = await session.peer.answer(client.localDescription.sdp)
            assert "a=sendrecv" in answer  # the picture goes back on the same transceiver
            assert len(registry) == 1
        assert len(registry) == 0
        assert session.ended.is_set() and session.reason == "shutdown"
        assert session.peer.connection_state == "closed"
    finally:
        await client.close()


async def test_an_unusable_offer_is_refused_not_crashed_on() -> None:
    from signalling.peers.echo import EchoError

    registry = EchoRegistry(CheckSettings(max_sessions=9, max_sessions_per_client=9))
    try:
        for offer in ("", "v=0\r\nthis is not an offer\r\n", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"):
            with pytest.raises(EchoError):
                await registry.open("10.0.0.1", []).peer.answer(offer)
        session = registry.open("10.0.0.1", [])
        with pytest.raises(EchoError):
            await session.peer.answer("garbage")
        with pytest.raises(EchoError):  # one offer per session, even after a bad one
            await session.peer.answer("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n")
        await session.peer.add_candidate({"candidate": "candidate:garbage", "sdpMid": "0"})  # ignored
    finally:
        await registry.close_all()
