"""From an official's groups (or roles) in their claims to team memberships and roles.

A configured table (``BALIE_OFFICIAL_OIDC_GROUP_MAP``) maps a group to a team and a role; without a
table, groups named ``balie:<cbs code>:<team slug>:<official|admin>`` say it themselves. A
municipality admin (functioneel beheerder) has ``balie:<cbs code>:admin``, or a table entry whose
target is the CBS code alone with the role ``admin``. Groups that map to nothing are ignored;
someone with no mapped group gets no access at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

ROLES: Final = ("official", "admin")
_CONVENTION: Final = re.compile(r"balie:([0-9]{4}):([a-z0-9-]{1,60}):(official|admin)")
_MUNICIPALITY_ADMIN: Final = re.compile(r"balie:([0-9]{4}):admin")


@dataclass(frozen=True, order=True)
class TeamGrant:
    cbs_code: str
    team_slug: str
    role: str


def grants_from(groups: object, table: Mapping[str, tuple[str, str]]) -> list[TeamGrant]:
    """The team roles ``groups`` give; the strongest role wins when a team appears twice."""
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list):
        return []
    best: dict[tuple[str, str], str] = {}
    for group in groups:
        if not isinstance(group, str):
            continue
        grant = _grant(group, table)
        if grant is None:
            continue
        key = (grant.cbs_code, grant.team_slug)
        if best.get(key) != "admin":
            best[key] = grant.role
    return sorted(TeamGrant(cbs, slug, role) for (cbs, slug), role in best.items())


def managed_from(groups: object, table: Mapping[str, tuple[str, str]]) -> list[str]:
    """The CBS codes of the municipalities ``groups`` make the official an admin of."""
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list):
        return []
    found: set[str] = set()
    for group in groups:
        if not isinstance(group, str):
            continue
        name = _name(group)
        if table:
            target = table.get(group, table.get(name))
            if target is not None and "/" not in target[0] and target[1] == "admin":
                found.add(target[0])
        elif match := _MUNICIPALITY_ADMIN.fullmatch(name):
            found.add(match.group(1))
    return sorted(found)


def _name(group: str) -> str:
    # Keycloak sends full group paths ("/balie:0599:burgerzaken:official", "/gemeente/balie:..."):
    # the table may name the path or the group itself; the naming convention reads the group.
    return group.rsplit("/", 1)[-1] if group.startswith("/") else group


def _grant(group: str, table: Mapping[str, tuple[str, str]]) -> TeamGrant | None:
    name = _name(group)
    if table:
        target = table.get(group, table.get(name))
        if target is None or "/" not in target[0]:
            return None
        (cbs_code, _, team_slug), role = target[0].partition("/"), target[1]
        return TeamGrant(cbs_code, team_slug, role) if role in ROLES else None
    match = _CONVENTION.fullmatch(name)
    return TeamGrant(*match.groups()) if match else None
