"""Which addresses the server's aiortc peers offer (signalling/peers/hosts.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aioice.ice
import pytest

from signalling.peers import hosts


@pytest.fixture(autouse=True)
def every_interface(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """aioice's own list is this machine's; pin it, and undo any named list afterwards."""
    monkeypatch.setattr(hosts, "_chosen", None)
    monkeypatch.setattr(hosts, "_aioice_default", lambda use_ipv4, use_ipv6: ["192.0.2.2"])
    monkeypatch.setattr(aioice.ice, "get_host_addresses", hosts.offered)
    yield


def test_by_default_every_interface_and_the_address_the_visitor_reached() -> None:
    assert hosts.offered() == ["192.0.2.2"]
    with hosts.reached_at("127.0.0.1"):
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["192.0.2.2", "127.0.0.1"]
        assert hosts.offered(use_ipv4=False) == []
    assert hosts.offered() == ["192.0.2.2"]


def test_an_address_already_offered_or_not_an_address_adds_nothing() -> None:
    for address in ("192.0.2.2", None, "", "testserver", "0.0.0.0", "::"):
        with hosts.reached_at(address):
            assert hosts.offered() == ["192.0.2.2"], address


def test_a_named_list_is_exactly_what_is_offered() -> None:
    hosts.only_host_addresses(["127.0.0.1", "::1"])
    with hosts.reached_at("10.1.2.3"):
        assert hosts.offered() == ["127.0.0.1", "::1"]
    assert hosts.offered(use_ipv6=False) == ["127.0.0.1"]


async def test_two_sessions_at_once_do_not_see_each_others_address() -> None:
    seen: dict[str, list[str]] = {}

    async def gather(address: str) -> None:
        with hosts.reached_at(address):
            await asyncio.sleep(0)  # the other session sets its own address meanwhile
            seen[address] = hosts.offered()

    await asyncio.gather(gather("127.0.0.1"), gather("::1"))
    assert seen == {"127.0.0.1": ["192.0.2.2", "127.0.0.1"], "::1": ["192.0.2.2", "::1"]}
