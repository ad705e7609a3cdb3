"""Why a document was refused, in words a citizen understands (Dutch first, English in en.json).

Each refusal has a stable ``code`` (for the API, the audit trail and tests) and a text; the text is
marked with ``N_`` here and translated where it is shown.
"""

from __future__ import annotations

from typing import Final

from backend.i18n import N_

MESSAGES: Final[dict[str, str]] = {
    "missing": N_("Kies eerst een bestand."),
    "malformed_upload": N_(
        "Dit bestand kunnen wij zo niet ontvangen: de naam is te lang of er zijn te veel delen. "
        "Kies één bestand met een kortere naam en probeer het opnieuw."
    ),
    "empty": N_("Dit bestand is leeg. Kies een ander bestand."),
    "too_large": N_("Dit bestand is te groot. Een bestand mag hoogstens {mb} MB zijn."),
    "too_many": N_(
        "Er zijn al {count} documenten gedeeld in deze afspraak. Dat is het maximum. "
        "Verwijder eerst een document dat niet meer nodig is."
    ),
    "type_not_allowed": N_(
        "Dit soort bestand kunt u niet delen. Dat kan alleen met PDF, JPG of PNG. "
        "Maak eventueel een foto of een PDF van het document."
    ),
    "name_mismatch": N_(
        "De naam van het bestand past niet bij de inhoud. Het bestand is een {kind}, maar de naam "
        "eindigt op {extension}. Geef het bestand de juiste naam en probeer het opnieuw."
    ),
    "name_invalid": N_(
        "De naam van het bestand bevat tekens die niet zijn toegestaan, zoals / of \\ of "
        "onzichtbare tekens. Geef het bestand een gewone naam en probeer het opnieuw."
    ),
    "image_invalid": N_(
        "Deze afbeelding kunnen wij niet openen. Misschien is het bestand beschadigd. "
        "Maak een nieuwe foto of scan en probeer het opnieuw."
    ),
    "image_too_big": N_(
        "Deze afbeelding heeft te veel pixels. Maak een kleinere foto of scan (hoogstens {megapixels} "
        "megapixel) en probeer het opnieuw."
    ),
    "pdf_invalid": N_(
        "Dit PDF-bestand kunnen wij niet openen, of er zit meer in dan alleen een PDF. "
        "Sla het document opnieuw op als PDF en probeer het opnieuw."
    ),
    "pdf_encrypted": N_(
        "Dit PDF-bestand is beveiligd met een wachtwoord. Sla het op zonder wachtwoord en probeer het "
        "opnieuw."
    ),
    "pdf_active_content": N_(
        "Dit PDF-bestand bevat programmacode of acties (bijvoorbeeld JavaScript). Dat is niet veilig. "
        "Druk het document af als PDF (kies 'Afdrukken' en dan 'Opslaan als PDF') en probeer het opnieuw."
    ),
    "pdf_embedded_files": N_(
        "In dit PDF-bestand zitten andere bestanden. Dat is niet toegestaan. Deel elk document apart, "
        "als PDF, JPG of PNG."
    ),
    "appointment_over": N_("Deze afspraak is afgelopen. U kunt geen documenten meer delen."),
    "keep_not_allowed": N_("Voor deze dienst worden documenten niet bewaard na het gesprek."),
    "not_yours": N_("U kunt alleen documenten verwijderen die u zelf heeft gedeeld."),
    "gone": N_("Dit document is er niet meer. Het is verwijderd of de bewaartermijn is voorbij."),
}

TITLES: Final[dict[str, str]] = {
    "too_many": N_("Te veel documenten"),
    "appointment_over": N_("Afspraak afgelopen"),
    "keep_not_allowed": N_("Bewaren kan niet"),
    "not_yours": N_("U kunt alleen documenten verwijderen die u zelf heeft gedeeld."),
    "gone": N_("Document niet gevonden"),
}
DEFAULT_TITLE: Final = N_("Dit bestand kunnen wij niet aannemen")


class Rejected(Exception):
    """A document (or an action on one) is refused; ``values`` fill the placeholders of the text."""

    def __init__(self, code: str, status: int = 422, **values: object) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown rejection {code!r}")
        super().__init__(code)
        self.code = code
        self.status = status
        self.values = values

    @property
    def message(self) -> str:
        return MESSAGES[self.code]

    @property
    def title(self) -> str:
        return TITLES.get(self.code, DEFAULT_TITLE)


def too_large(max_bytes: int) -> Rejected:
    """The size refusal; the limit in megabytes, one decimal (formatted in the visitor's language)."""
    return Rejected("too_large", status=413, mb=round(max_bytes / (1024 * 1024), 1))
