"""A mandate's state follows from its marks and dates; who holds it; roles from groups."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.db.models import Mandate
from backend.identity.groups import grants_from, managed_from
from backend.settings.parsers import SettingsError, group_map
from backend.tenancy import mandates

T0 = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))


def mandate(**marks: object) -> Mandate:
    values: dict[str, object] = {
        "grantor_id": A,
        "grantee_id": B,
        "team_ids": [str(uuid.UUID(int=9))],
        "official_ids": [],
        "starts_at": T0,
        "ends_at": T0 + dt.timedelta(days=7),
        "reason": "Storing",
        "granted_by": uuid.UUID(int=5),
        "accepted_at": None,
        "declined_at": None,
        "revoked_at": None,
    }
    return Mandate(**{**values, **marks})


def test_the_life_of_a_mandate() -> None:
    proposed = mandate()
    assert mandates.status(proposed, T0 - dt.timedelta(days=1)) == mandates.PROPOSED
    assert mandates.status(proposed, T0 + dt.timedelta(days=8)) == mandates.ENDED  # never answered
    accepted = mandate(accepted_at=T0 - dt.timedelta(days=2))
    assert mandates.status(accepted, T0 - dt.timedelta(seconds=1)) == mandates.SCHEDULED
    assert mandates.status(accepted, T0) == mandates.RUNNING
    assert mandates.status(accepted, T0 + dt.timedelta(days=7)) == mandates.ENDED  # the end is exclusive
    revoked = mandate(accepted_at=T0, revoked_at=T0 + dt.timedelta(hours=1))
    assert mandates.status(revoked, T0 + dt.timedelta(hours=2)) == mandates.REVOKED
    assert mandates.status(mandate(declined_at=T0), T0) == mandates.DECLINED


@given(
    offset=st.integers(min_value=-30 * 24 * 3600, max_value=30 * 24 * 3600),
    accepted=st.booleans(),
    declined=st.booleans(),
    revoked=st.booleans(),
)
def test_only_an_accepted_unrevoked_mandate_inside_its_dates_runs(
    offset: int, accepted: bool, declined: bool, revoked: bool
) -> None:
    m = mandate(
        accepted_at=T0 if accepted else None,
        declined_at=T0 if declined and not accepted else None,
        revoked_at=T0 if revoked else None,
    )
    now = T0 + dt.timedelta(seconds=offset)
    runs = accepted and not revoked and m.starts_at <= now < m.ends_at
    assert (mandates.status(m, now) == mandates.RUNNING) == runs


def test_who_holds_a_mandate() -> None:
    official = uuid.UUID(int=20)
    assert mandates.holds(mandate(), official, {B})
    assert not mandates.holds(mandate(), official, {C})  # another municipality's official
    assert not mandates.holds(mandate(), official, {A})  # the grantor's own officials need none
    named = mandate(official_ids=[str(uuid.UUID(int=21))])
    assert not mandates.holds(named, official, {B})
    assert mandates.holds(named, uuid.UUID(int=21), {B})


def test_municipality_admins_from_groups() -> None:
    groups = [
        "balie:0599:admin",
        "/gemeente/balie:0606:admin",
        "balie:0599:burgerzaken:admin",
        "balie:x:admin",
    ]
    assert managed_from(groups, {}) == ["0599", "0606"]
    assert [g.team_slug for g in grants_from(groups, {})] == ["burgerzaken"]  # team roles stay apart
    table = {"CN=Beheer": ("0599", "admin"), "CN=Balie": ("0599/burgerzaken", "official")}
    assert managed_from(["CN=Beheer", "CN=Balie"], table) == ["0599"]
    assert [g.team_slug for g in grants_from(["CN=Beheer", "CN=Balie"], table)] == ["burgerzaken"]
    assert managed_from("not a list", {}) == [] and managed_from(None, {}) == []


def test_a_group_map_names_a_team_role_or_a_municipality_admin() -> None:
    assert group_map('{"beheer": ["0599", "admin"]}', "MAP") == {"beheer": ("0599", "admin")}
    with pytest.raises(SettingsError):
        group_map('{"beheer": ["0599", "official"]}', "MAP")  # a municipality has admins only
    with pytest.raises(SettingsError):
        group_map('{"x": ["0599/a/b", "admin"]}', "MAP")
