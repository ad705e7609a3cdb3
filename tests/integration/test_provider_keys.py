"""The provider's key set over real HTTP: cached as long as the provider says, fetched again for an
unknown key id at most once per interval (a key set that lags behind a rotation is picked up), and
a withdrawn key no longer trusted after the next refresh."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from backend.identity.provider import MIN_KEYS_SECONDS, UNKNOWN_KID_SECONDS, OpenIdProvider
from tests.oidc import TestProvider


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def op() -> AsyncIterator[TestProvider]:
    provider = TestProvider()
    async with provider.running():
        yield provider


def kids(keys: object) -> set[str]:
    return {str(k.kid) for k in keys.keys}  # type: ignore[attr-defined]


async def test_a_key_set_that_lagged_behind_the_rotation_is_picked_up_seconds_later(op: TestProvider) -> None:
    ticks = Ticks()
    provider = OpenIdProvider(op.issuer, monotonic=ticks)
    old = op.signing_key
    assert old is not None
    assert kids(await provider.keys_for(str(old.kid))) == {str(old.kid)}
    new = op.new_key()
    op.keys.remove(new)  # tokens are signed with the new key, the key set does not have it yet
    assert str(new.kid) not in kids(await provider.keys_for(str(new.kid)))
    assert op.jwks_fetches == 2
    op.keys.append(new)  # 15 s later the key set catches up
    await provider.keys_for(str(new.kid))
    assert op.jwks_fetches == 2  # not within the interval, whatever the key id
    ticks.now += UNKNOWN_KID_SECONDS + 5
    assert str(new.kid) in kids(await provider.keys_for(str(new.kid)))
    assert op.jwks_fetches == 3


async def test_the_cache_follows_the_providers_max_age_and_drops_withdrawn_keys(op: TestProvider) -> None:
    ticks = Ticks()
    op.jwks_cache_control = "public, max-age=300"
    provider = OpenIdProvider(op.issuer, monotonic=ticks)
    old = op.signing_key
    assert old is not None
    await provider.keys_for(None)
    new = op.new_key()
    op.keys.remove(old)  # the provider withdrew the old key
    ticks.now += 299
    assert str(old.kid) in kids(await provider.keys_for(str(old.kid)))  # still cached
    assert op.jwks_fetches == 1
    ticks.now += 2
    assert kids(await provider.keys_for(None)) == {str(new.kid)}  # refreshed: the old key is gone
    assert op.jwks_fetches == 2


async def test_no_store_still_caches_for_the_minimum(op: TestProvider) -> None:
    ticks = Ticks()
    op.jwks_cache_control = "no-store"
    provider = OpenIdProvider(op.issuer, monotonic=ticks)
    await provider.keys_for(None)
    await provider.keys_for(None)
    assert op.jwks_fetches == 1
    ticks.now += MIN_KEYS_SECONDS
    await provider.keys_for(None)
    assert op.jwks_fetches == 2
