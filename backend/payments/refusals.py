"""Why a payment (or an action on one) is refused, in plain words (Dutch first, English in en.json).

Each refusal has a stable ``code`` for the API, the pages and tests; the text is marked with ``N_``
and translated where it is shown.
"""

from __future__ import annotations

from typing import Final

from backend.i18n import N_

MESSAGES: Final[dict[str, str]] = {
    "fee_unknown": N_("Kies een bedrag uit de lijst van deze dienst."),
    "amount_format": N_("Vul een bedrag in euro in, bijvoorbeeld 37,60."),
    "amount_negative": N_("Het bedrag kan niet negatief zijn."),
    "amount_zero": N_("Het bedrag moet meer dan € 0,00 zijn."),
    "amount_too_high": N_("Het bedrag is te hoog."),
    "amount_out_of_bounds": N_("Voor deze leges kunt u een bedrag van {min} tot en met {max} vragen."),
    "citizen_left": N_("De inwoner is niet (meer) in het gesprek. Vraag de betaling als de inwoner er is."),
    "already_open": N_("Er staat al een betaling open. Wacht tot die klaar is, of stop die eerst."),
    "appointment_over": N_("Deze afspraak is afgelopen. Er kan niet meer betaald worden."),
    "payments_off": N_(
        "Deze gemeente heeft betalen nog niet ingesteld. Vraag de beheerder van de gemeente om de "
        "sleutel van de betaaldienst in te vullen."
    ),
    "provider_down": N_(
        "De betaaldienst is nu niet bereikbaar. Er is niets gevraagd en niets betaald. Probeer het over "
        "een minuut opnieuw."
    ),
    "provider_refused": N_(
        "De betaaldienst weigert deze betaling ({detail}). Er is niets gevraagd en niets betaald."
    ),
    "not_retryable": N_("Deze betaling kan niet opnieuw: ze is betaald of loopt nog."),
    "not_cancelable": N_("Deze betaling kan niet meer gestopt worden."),
    "not_refundable": N_("Alleen een betaalde betaling kan worden terugbetaald, en maar één keer."),
    "not_admin": N_("Alleen een beheerder van het team kan een betaling terugbetalen."),
    "gone": N_("Deze betaling bestaat niet (meer)."),
}

TITLES: Final[dict[str, str]] = {
    "citizen_left": N_("Inwoner niet in gesprek"),
    "already_open": N_("Er staat al een betaling open"),
    "payments_off": N_("Betalen is niet ingesteld"),
    "provider_down": N_("Betaaldienst niet bereikbaar"),
    "provider_refused": N_("Betaaldienst weigert"),
    "not_admin": N_("Geen toegang"),
    "gone": N_("Betaling niet gevonden"),
}
DEFAULT_TITLE: Final = N_("Dit kan niet")


class PaymentRefused(Exception):
    def __init__(self, code: str, status: int = 422, **values: object) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown payment refusal {code!r}")
        super().__init__(code)
        self.code, self.status, self.values = code, status, values

    @property
    def message(self) -> str:
        return MESSAGES[self.code]

    @property
    def title(self) -> str:
        return TITLES.get(self.code, DEFAULT_TITLE)
