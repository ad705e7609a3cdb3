"""Bad input hurts only its own socket: garbage, oversized frames and idle sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.integration.signalling_support import Balie, start_balie


async def test_garbage_closes_only_that_socket(balie: Balie) -> None:
    good, bad = await balie.citizen("partner"), await balie.citizen()
    await good.receive("welcome")
    await bad.receive("welcome")
    await bad.ws.send(b"\x00\x01")
    for frame in ("not json", '{"type": "dance"}', '{"type": "signal", "to": "x"}'):
        await bad.ws.send(frame)
    assert [(await bad.receive("error"))["code"] for _ in range(4)] == ["bad_message"] * 4
    await good.send({"type": "ping"})
    assert await good.receive() == {"type": "pong"}
    await bad.ws.send("[]")  # the fifth in a row
    assert (await bad.receive("error"))["code"] == "bad_message"
    assert await bad.closed_with() == 4400
    await good.send({"type": "enter"})
    assert await good.receive() == {"type": "state", "state": "waiting"}


async def test_a_valid_message_resets_the_bad_message_count(balie: Balie) -> None:
    ws = await balie.citizen()
    await ws.receive("welcome")
    for _ in range(3):
        for _ in range(4):
            await ws.ws.send("nope")
            assert (await ws.receive("error"))["code"] == "bad_message"
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}


async def test_oversized_frame_closes_only_that_socket(balie: Balie) -> None:
    good, big = await balie.citizen("partner"), await balie.citizen()
    await good.receive("welcome")
    await big.receive("welcome")
    await big.send(
        {"type": "signal", "to": "x", "data": {"description": {"type": "offer", "sdp": "a" * 5000}}}
    )
    assert (await big.receive("error"))["code"] == "too_large"
    assert await big.closed_with() == 1009
    await good.send({"type": "ping"})
    assert await good.receive() == {"type": "pong"}


async def test_idle_socket_is_closed(tmp_path: Path) -> None:
    node, _ = await start_balie(tmp_path, idle_timeout_seconds=0.5)
    async with node.serving():
        ws = await node.citizen()
        await ws.receive("welcome")
        for _ in range(3):  # pings keep it open
            await asyncio.sleep(0.3)
            await ws.send({"type": "ping"})
            assert await ws.receive() == {"type": "pong"}
        assert (await ws.receive("error"))["code"] == "timeout"
        assert await ws.closed_with() == 4408
