"""Mollie's error answers, so the Mollie client raises the same errors here as against Mollie.

Mollie answers every failure with HAL JSON: ``status``, ``title``, ``detail``, for a refused field
its name (``amount.value``), and a link to the documentation. The client reads ``status`` to pick
its exception (``UnprocessableEntityError`` for 422) and ``field`` to say which input was wrong.
"""

from __future__ import annotations

from typing import Any, Final

HAL_JSON: Final = "application/hal+json"
ERRORS_DOCUMENTATION: Final = "https://docs.mollie.com/overview/handling-errors"
TITLES: Final = {
    400: "Bad Request",
    401: "Unauthorized Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Request Entity Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
}


class MollieError(Exception):
    """A refusal as Mollie words it; the API's handlers turn it into its JSON answer."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": self.status,
            "title": TITLES.get(self.status, "Error"),
            "detail": self.detail,
        }
        if self.field is not None:
            body["field"] = self.field
        body["_links"] = {"documentation": {"href": ERRORS_DOCUMENTATION, "type": "text/html"}}
        return body


def unprocessable(detail: str, field: str) -> MollieError:
    return MollieError(422, detail, field)


def unauthorized() -> MollieError:
    return MollieError(401, "Missing authentication, or failed to authenticate")


def not_found(kind: str, token: str) -> MollieError:
    return MollieError(404, f"No {kind} exists with token {token}.")
