"""The page for a join or manage link that does not work (any more): whom to call.

When the token is one we handed out, its appointment is still stored and says whose it is: an
expired or used link, a withdrawn invitation, the manage link of a cancelled or past appointment.
Its holder then reads the municipality's own name and phone number, in the appointment's language
and the municipality's colours. A token we do not know gets the general text ("14 + netnummer"),
the same for every such token, so the page tells a guesser nothing.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from backend.db.models import Appointment
from backend.web import default_locale_for, page


def link_invalid(request: Request[Any, Any, Any], appointment: Appointment | None) -> Template:
    """404 with the way to the municipality of ``appointment`` (None: the token is unknown)."""
    if appointment is None:
        return page(request, "pages/link_invalid.html", status_code=404)
    default_locale_for(request, appointment.locale)
    return page(
        request, "pages/link_invalid.html", status_code=404, municipality=appointment.team.municipality
    )
