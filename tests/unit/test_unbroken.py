"""signalling.connection.unbroken: a socket's database read finishes even when the socket closes."""

from __future__ import annotations

import asyncio

import pytest

from signalling.connection import unbroken


async def test_the_work_finishes_although_its_caller_is_cancelled() -> None:
    steps: list[str] = []

    async def read() -> str:
        steps.append("begin")
        await asyncio.sleep(0.05)
        steps.append("commit")  # e.g. the session's connection goes back to the pool
        return "rows"

    caller = asyncio.create_task(unbroken(read()))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.sleep(0.1)
    assert steps == ["begin", "commit"]


async def test_results_and_errors_reach_a_caller_that_waits() -> None:
    async def fine() -> int:
        return 7

    async def broken() -> int:
        raise LookupError("gone")

    assert await unbroken(fine()) == 7
    with pytest.raises(LookupError):
        await unbroken(broken())
