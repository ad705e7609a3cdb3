"""Envelopes over PostgreSQL's NOTIFY limit are compressed, split and joined again."""

from __future__ import annotations

import base64
import json
import os
import random

import pytest
from litestar.channels.backends.memory import MemoryChannelsBackend

from backend.settings import ChannelsSettings, Settings
from signalling.chunking import FRAME_LIMIT, NOTIFY_LIMIT, Reassembler, pack_frames
from signalling.hub import Envelope, Hub, LiveChannels, appointment_channel, hub_for, team_channel


def sdp_offer(size: int = 6500) -> str:
    """An SDP-like text of about ``size`` bytes, about as compressible as a real offer."""
    lines = ["v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0"]
    rng = random.Random(7)
    while sum(len(line) + 2 for line in lines) < size:
        port = rng.randint(1024, 65535)
        lines.append(
            f"a=candidate:{rng.getrandbits(32)} 1 udp {rng.getrandbits(31)} 127.0.0.1 {port} typ host"
        )
        lines.append(f"a=fingerprint:sha-256 {':'.join(f'{rng.getrandbits(8):02X}' for _ in range(32))}")
    return "\r\n".join(lines) + "\r\n"


def envelope_json(payload: str) -> str:
    return Envelope(
        origin="abc", to="p1", event={"type": "signal", "from": "x", "data": {"sdp": payload}}
    ).dump()


def test_small_envelopes_pass_unchanged() -> None:
    raw = envelope_json("v=0")
    assert pack_frames(raw) == [raw]
    assert Reassembler().feed(raw) == raw


@pytest.mark.parametrize("size", [6500, 7500, 12_000])
def test_offers_fit_one_notify(size: int) -> None:
    raw = envelope_json(sdp_offer(size))
    frames = pack_frames(raw)
    assert len(frames) == 1 and len(frames[0].encode()) <= FRAME_LIMIT < NOTIFY_LIMIT
    assert Reassembler().feed(frames[0]) == raw


def test_a_large_offer_is_compressed_into_one_frame() -> None:
    raw = envelope_json(sdp_offer(9000))
    assert len(raw.encode()) > FRAME_LIMIT
    frames = pack_frames(raw)
    assert len(frames) == 1 and frames[0].startswith("z:")
    assert len(frames[0].encode()) <= FRAME_LIMIT < NOTIFY_LIMIT
    assert Reassembler().feed(frames[0]) == raw


def test_incompressible_envelopes_are_split_into_numbered_parts() -> None:
    raw = envelope_json(base64.b64encode(os.urandom(30_000)).decode())
    frames = pack_frames(raw)
    assert len(frames) == 6
    assert all(len(f.encode()) <= FRAME_LIMIT for f in frames)
    ids = {f.split(":")[1] for f in frames}
    assert len(ids) == 1
    assert [f.split(":")[2:4] for f in frames] == [[str(i), "6"] for i in range(6)]
    joiner = Reassembler()
    assert [joiner.feed(f) for f in frames[:-1]] == [None] * 5
    assert joiner.feed(frames[-1]) == raw
    assert joiner.pending == 0


def test_parts_of_messages_from_two_nodes_may_interleave_and_arrive_out_of_order() -> None:
    one = envelope_json(base64.b64encode(os.urandom(15_000)).decode())
    two = envelope_json(base64.b64encode(os.urandom(15_000)).decode())
    a, b = pack_frames(one), pack_frames(two)
    joiner = Reassembler()
    results = [joiner.feed(f) for f in [b[1], a[2], a[0], b[0], a[1], b[2]]]
    assert [r for r in results if r is not None] == [one, two]


def test_unfinished_messages_are_forgotten() -> None:
    now = [0.0]
    joiner = Reassembler(ttl=30, max_pending=2, clock=lambda: now[0])
    frames = [pack_frames(envelope_json(base64.b64encode(os.urandom(15_000)).decode())) for _ in range(3)]
    for parts in frames:
        joiner.feed(parts[0])
    assert joiner.pending == 2  # the oldest was dropped
    now[0] = 31
    joiner.feed(pack_frames(envelope_json(base64.b64encode(os.urandom(15_000)).decode()))[0])
    assert joiner.pending == 1  # the expired ones are gone


@pytest.mark.parametrize(
    "frame",
    [
        "z:not base64!",
        "z:" + base64.b64encode(b"not zlib").decode(),
        "p:id:x:2:abc",
        "p:id:3:2:abc",
        "p:only",
    ],
)
def test_broken_frames_raise_value_error(frame: str) -> None:
    with pytest.raises(ValueError):
        Reassembler().feed(frame)


def test_channel_names_fit_postgres_identifiers() -> None:
    import uuid

    some = uuid.uuid4()
    assert appointment_channel(some) == f"appt.{some.hex}"
    assert team_channel(some) == f"team.{some.hex}"
    assert len(appointment_channel(some).encode()) < 64


async def test_hub_round_trip_with_packing_and_origin_and_address_filters() -> None:
    plugin = LiveChannels(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
    hub = Hub(plugin, frame_limit=FRAME_LIMIT)
    assert (
        hub_for(Settings(channels=ChannelsSettings(backend="memory")), plugin).frame_limit is None
    )  # memory needs no packing
    assert hub_for(Settings(channels=ChannelsSettings(backend="postgres")), plugin).frame_limit == FRAME_LIMIT
    received: list[Envelope] = []
    big = base64.b64encode(os.urandom(20_000)).decode()
    async with plugin:
        import asyncio

        done = asyncio.Event()

        async def deliver(envelope: Envelope) -> None:
            received.append(envelope)
            if envelope.event.get("last"):
                done.set()

        async with hub.listen(["appt.x"], deliver, origin="me", peer_id="p1"):
            await hub.emit("appt.x", {"n": 1}, origin="me")  # own: dropped
            await hub.emit("appt.x", {"n": 2}, to="p2")  # someone else's: dropped
            await hub.emit("appt.x", {"n": 3, "sdp": big}, to="p1")
            await hub.emit("appt.x", {"n": 4, "last": True})
            await asyncio.wait_for(done.wait(), 5)
        assert "appt.x" not in plugin._channels  # no empty subscriber sets left behind
    assert [e.event["n"] for e in received] == [3, 4]
    assert received[0].event["sdp"] == big and received[0].to == "p1"
    assert json.loads(received[1].dump())["origin"] == "server"
