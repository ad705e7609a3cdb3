"""Both sign-ins in Chromium against npm's certified ``oidc-provider`` on another origin.

The app's pages keep their strict Content-Security-Policy (``form-action 'self'``, no third-party
origin): a sign-in starts with a link, not with a form whose answer redirects to the provider, which
Chromium would block. The official signs in to the desk with the team from the provider's groups;
the citizen identifies at DigiD Midden from the join link, first with too low a level and then
again; during the call the official asks for DigiD and the citizen comes back into the call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page

from backend.settings import Secret
from tests.e2e.browsing import Site, book, into_waiting_room, mailed_link, site
from tests.e2e.netns import Namespace, loopback_namespace
from tests.e2e.test_browser_identity import _video_both_ways
from tests.interop.op import (
    CITIZEN_CLIENT,
    OFFICIAL_CLIENT,
    InteropProvider,
    app_clients,
    interop_provider,
)
from tests.interop.test_two_municipalities import add_schiedam
from tests.live import LIVE_SECRET
from tests.support import free_port, make_settings

pytestmark = pytest.mark.browser

SECRET = "interop-secret+/="
"""With the characters RFC 6749 2.3.1 makes a client form-urlencode for HTTP Basic."""


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[Namespace]:
    with loopback_namespace(tmp_path) as ns:
        yield ns


def provider_env(provider: InteropProvider) -> dict[str, str]:
    return {
        "BALIE_CITIZEN_OIDC_ISSUER": provider.issuer,
        "BALIE_CITIZEN_OIDC_CLIENT_ID": CITIZEN_CLIENT,
        "BALIE_CITIZEN_OIDC_CLIENT_SECRET": SECRET,
        "BALIE_CITIZEN_OIDC_SCOPE": "openid bsn",
        "BALIE_OFFICIAL_OIDC_ISSUER": provider.issuer,
        "BALIE_OFFICIAL_OIDC_CLIENT_ID": OFFICIAL_CLIENT,
        "BALIE_OFFICIAL_OIDC_CLIENT_SECRET": SECRET,
        "BALIE_OFFICIAL_OIDC_SCOPE": "openid profile email groups",
    }


async def at_provider(page: Page, provider: InteropProvider, account: str, level: str | None = None) -> None:
    """On the provider's own sign-in screen (another origin): pick the account and the level."""
    await page.wait_for_url(re.compile(rf"^{re.escape(provider.issuer)}/interaction/"), timeout=15_000)
    await page.check(f"input[data-account='{account}']")
    if level is not None:
        await page.check(f"input[data-acr$='{level}']")
    await page.click("button[data-action=sign-in]")


async def test_official_and_citizen_sign_in_at_an_external_provider(
    tmp_path: Path, namespace: Namespace
) -> None:
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    with interop_provider(tmp_path, app_clients(app_url, secret=SECRET), prefix=namespace.prefix()) as op:
        async with site(
            namespace, tmp_path, env=provider_env(op), port=app_port, required_loa="midden"
        ) as place:
            try:
                await _scenario(place, op)
            except Exception as exc:
                raise AssertionError(f"{exc}\n{place.state_of()}\nprovider:\n{op.log_tail()}") from exc


async def _scenario(place: Site, op: InteropProvider) -> None:
    official = await place.page("official")
    citizen = await place.page("citizen")
    await place.wait_until_up(official)

    # The official: "Inloggen" goes to the provider, which signs her in with her team from the groups.
    await official.goto("/balie/inloggen")
    await official.click("[data-action=sign-in]")
    await at_provider(official, op, "official-testgemeente")
    await official.wait_for_selector("[data-desk]", timeout=15_000)

    # The citizen books, opens the link: DigiD first, at the provider; too low a level first.
    booked = await book(citizen, place.service_id, "Sanne de Boer", "sanne@example.nl")
    assert booked["reference"]
    link = await mailed_link(citizen, "sanne@example.nl")
    await citizen.goto(link)
    await citizen.click("[data-action=digid]")
    await citizen.wait_for_url(re.compile(r"/interaction/"), timeout=15_000)
    assert await citizen.is_checked("input[data-acr$='MobileTwoFactorContract']"), "Midden was not asked for"
    await at_provider(citizen, op, "999993653", level="PasswordProtectedTransport")
    await citizen.wait_for_selector("[data-level-too-low]", timeout=15_000)
    await citizen.click("[data-action=digid]")
    await at_provider(citizen, op, "999993653", level="MobileTwoFactorContract")
    await citizen.wait_for_selector("[data-digid-done]", timeout=15_000)

    await into_waiting_room(citizen, link)
    badge = official.locator("[data-waiting-list] [data-field=identity]")
    await badge.first.wait_for(timeout=15_000)
    assert "*****3653" in await badge.first.inner_text()
    await official.click("[data-waiting-list] button[data-action=admit]")
    await official.wait_for_url(re.compile(r"/gesprek$"))
    await _video_both_ways(citizen, official, place.log, "after admission")

    # "Vraag om DigiD" during the call: the citizen goes to the provider and comes back to the call.
    await official.click("[data-identity-panel] button[data-action=ask-identity]")
    await citizen.wait_for_selector("[data-identify-request]:visible", timeout=15_000)
    await citizen.click("[data-identify-request] [data-action=identify]")
    await at_provider(citizen, op, "999993653", level="MobileTwoFactorContract")
    await citizen.wait_for_selector("[data-view=call]:visible", timeout=20_000)
    await _video_both_ways(citizen, official, place.log, "after DigiD in the call")


async def test_an_official_of_a_second_municipality_reaches_its_own_provider_by_e_mail(
    tmp_path: Path, namespace: Namespace
) -> None:
    """The e-mail form answers a page that goes on by itself (meta refresh) to the start link, which
    redirects to Schiedam's provider: nothing of it is a form's redirect, so the CSP holds nothing."""
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    accounts = {"eva": {"name": "Eva Jansen", "email": "eva@schiedam.nl", "groups": SCHIEDAM_GROUPS}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    clients = app_clients(app_url, secret=SECRET)
    with (
        interop_provider(tmp_path / "a", clients, prefix=namespace.prefix()) as default_op,
        interop_provider(
            tmp_path / "b", clients, accounts=accounts, prefix=namespace.prefix()
        ) as schiedam_op,
    ):
        async with site(namespace, tmp_path, env=provider_env(default_op), port=app_port) as place:
            live = make_settings(place.workdir, place.database_url, secret_key=Secret(LIVE_SECRET))
            await add_schiedam(live, schiedam_op, SECRET)
            official = await place.page("official")
            await place.wait_until_up(official)
            await official.goto("/balie/inloggen")
            await official.fill("#email", "eva@schiedam.nl")
            await official.click("[data-action=find-provider]")
            try:
                await at_provider(official, schiedam_op, "eva")
                await official.wait_for_selector("[data-desk]", timeout=15_000)
            except Exception as exc:
                raise AssertionError(f"{exc}\n{place.state_of()}\n{schiedam_op.log_tail()}") from exc
            assert "Eva Jansen" in await official.inner_text("body")


SCHIEDAM_GROUPS = ["balie:0606:burgerzaken:official", "balie:0599:burgerzaken:admin"]
