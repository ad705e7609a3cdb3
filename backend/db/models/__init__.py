"""All models, imported here so Alembic and the metadata see every table."""

from backend.db.models.agenda import (
    Municipality,
    MunicipalityLogo,
    OpeningHours,
    ScheduleException,
    Service,
    ServiceState,
    Team,
)
from backend.db.models.appointment import (
    Appointment,
    AppointmentStatus,
    Participant,
    ParticipantRole,
    SlotClaim,
)
from backend.db.models.audit import AuditEvent
from backend.db.models.base import Base
from backend.db.models.document import Document, DocumentRetention, DocumentType
from backend.db.models.idempotency import IdempotentRequest
from backend.db.models.identity_provider import IdentityProvider
from backend.db.models.mandate import Mandate, MunicipalityAdmin
from backend.db.models.official import Membership, Official, StaffInvitation
from backend.db.models.outbox import OutboxMessage, OutboxStatus
from backend.db.models.payment import Fee, FeeDue, Payment, PaymentStatus
from backend.db.models.session import StoredSession

__all__ = [
    "Appointment",
    "AppointmentStatus",
    "AuditEvent",
    "Base",
    "Document",
    "DocumentRetention",
    "DocumentType",
    "Fee",
    "FeeDue",
    "IdempotentRequest",
    "IdentityProvider",
    "Mandate",
    "Membership",
    "Municipality",
    "MunicipalityAdmin",
    "MunicipalityLogo",
    "Official",
    "OpeningHours",
    "OutboxMessage",
    "OutboxStatus",
    "Participant",
    "ParticipantRole",
    "Payment",
    "PaymentStatus",
    "ScheduleException",
    "Service",
    "ServiceState",
    "SlotClaim",
    "StaffInvitation",
    "StoredSession",
    "Team",
]
