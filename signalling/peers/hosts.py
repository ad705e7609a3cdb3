"""Which of this machine's addresses aiortc peers offer as ICE host candidates."""

from __future__ import annotations

from collections.abc import Sequence


def only_host_addresses(addresses: Sequence[str]) -> None:
    """Make aioice offer exactly ``addresses`` (process-wide).

    aioice offers every interface except loopback. Tests on one machine need 127.0.0.1 only, and a
    server with several interfaces may want its echo peer on the public one (BALIE_ICE_HOST_ADDRESSES).
    """
    import aioice.ice

    chosen = list(addresses)

    def configured(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = configured
