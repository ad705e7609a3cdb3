"""Which of this machine's addresses aiortc peers offer as ICE host candidates.

aioice offers every interface except loopback. That is wrong in two cases this module handles:

- tests on one machine (and an operator with several interfaces) want exactly the addresses they
  name: :func:`only_host_addresses` (``BALIE_ICE_HOST_ADDRESSES``), process-wide;
- a visitor who reached the server over loopback (the same machine, or a loopback-only network
  namespace) can reach the echo peer only on loopback, which aioice leaves out. Without it the
  device check said "a video call does not work from this network" where a call works. By default
  the echo peer therefore also offers the address the visitor's connection arrived at
  (:func:`reached_at`), for the gathering done inside that ``with`` block only (a context
  variable, so two sessions at once do not see each other's address).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_chosen: tuple[str, ...] | None = None
"""The addresses named by :func:`only_host_addresses`; ``None``: every interface."""

_reached: ContextVar[tuple[str, ...]] = ContextVar("balie_ice_reached_at", default=())

_aioice_default: Any = None
"""aioice's own ``get_host_addresses``, kept when ours replaces it."""


def only_host_addresses(addresses: Sequence[str]) -> None:
    """Make aioice offer exactly ``addresses`` (process-wide)."""
    global _chosen
    _install()
    _chosen = tuple(addresses)


@contextmanager
def reached_at(address: str | None) -> Iterator[None]:
    """Inside this block, peers also offer ``address`` (when it is an IP address and no list was
    named): the local address of the visitor's connection to this server."""
    _install()
    token = _reached.set(_ip_or_nothing(address))
    try:
        yield
    finally:
        _reached.reset(token)


def offered(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
    """The addresses aioice gathers host candidates on, here and now."""
    if _chosen is not None:
        addresses = list(_chosen)
    else:
        addresses = list(_aioice_default(use_ipv4=use_ipv4, use_ipv6=use_ipv6))
        addresses += [a for a in _reached.get() if a not in addresses]
    return [a for a in addresses if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


def _ip_or_nothing(address: str | None) -> tuple[str, ...]:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return ()
    if ip.is_unspecified or ip.is_multicast:
        return ()
    return (str(ip),)


def _install() -> None:
    global _aioice_default
    import aioice.ice

    if _aioice_default is None:
        _aioice_default = aioice.ice.get_host_addresses
        aioice.ice.get_host_addresses = offered
