"""create_app(settings): the one place where plugins, routers and middleware meet."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar import AsyncSessionConfig, SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, Request
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.stores.base import NamespacedStore
from litestar.template.config import TemplateConfig

from backend.api_reference import ApiContract, ApiReference
from backend.background import loop_lifespan
from backend.booking.api import BookingApi
from backend.booking.manage import ManagePages
from backend.booking.pages import BookingPages
from backend.catalog.pages import ServicePages
from backend.clock import Clock, system_clock
from backend.db.engine import create_engine, create_sessionmaker
from backend.dependencies import provide, provide_today
from backend.desk.agenda import AgendaPages
from backend.desk.audit_log import AuditLog
from backend.desk.auth import SESSION_KEY, SignInRequired
from backend.desk.identity import DeskIdentity
from backend.desk.pages import DeskPages
from backend.desk.people import DeskPeople
from backend.desk.phone_booking import PhoneBooking
from backend.desk.statistics import StatisticsPages
from backend.documents.retention import DocumentPurger
from backend.documents.routes import CitizenDocuments, DeskDocuments
from backend.documents.sharing import Documents
from backend.documents.upload import UPLOAD_OVERHEAD
from backend.documents.vault import vault_for
from backend.email.lifecycle import dev_mailbox_for, dev_mailbox_lifespan
from backend.email.mailbox import DevMailboxController
from backend.email.worker import OutboxWorker
from backend.errors import exception_handlers, problem
from backend.health import healthz, livez, readyz
from backend.housekeeping import Housekeeper, telling
from backend.identity import sessions
from backend.identity.binding import identity_keyring
from backend.identity.citizen import DigidSignIn
from backend.identity.clients import client_config
from backend.identity.jwks import client_jwks
from backend.identity.logout import ProviderSessions
from backend.identity.official import OfficialSignIn
from backend.identity.parties import Parties
from backend.identity.relying_party import RelyingParty
from backend.join.pages import JoinPages, device_check
from backend.metrics.endpoint import metrics
from backend.metrics.http import count_requests
from backend.notify import Notify
from backend.payments.dev_psp import dev_psp_for, dev_psp_lifespan
from backend.payments.fee_pages import FeePages
from backend.payments.keys import mollie_for
from backend.payments.reconcile import PaymentReconciler
from backend.payments.routes import CitizenPayments, DeskPayments, PaymentReturn
from backend.payments.service import Payments
from backend.security import security_headers
from backend.settings import WEB_DIR, Settings
from backend.tenancy import acting
from backend.tenancy.brand_assets import BrandAssets
from backend.tenancy.municipality_pages import MunicipalityPages
from backend.tenancy.pages import ActingSwitch, MandatePages
from backend.tenancy.staff_pages import InvitationPages, StaffPages
from backend.tenancy.teams import TeamPages
from backend.web import see_other
from signalling.handlers import OpenSockets, websocket_handlers
from signalling.hub import channels_plugin, hub_for
from signalling.live import HubPages
from signalling.peers.echo import EchoRegistry, echo_lifespan


def _sign_in_redirect(request: Request[Any, Any, Any], exc: Exception) -> Any:
    if request.url.path.startswith("/balie/afspraken/") and request.method != "GET":
        return problem(401, "Niet ingelogd", "Log opnieuw in.")
    return see_other("/balie/inloggen")


def _is_throttled(request: Request[Any, Any, Any]) -> bool:
    """Form posts (unless ``opt={"throttle": False}``), and the links that start a sign-in
    (``opt={"throttle": True}``)."""
    throttle = request.route_handler.opt.get("throttle")
    return throttle is not False if request.method == "POST" else bool(throttle)


def relying_parties(settings: Settings, clock: Clock = system_clock) -> dict[str, RelyingParty]:
    identity = settings.identity
    return {
        who: RelyingParty(
            client_config(settings, who),
            purpose=who,
            skew_seconds=identity.clock_skew_seconds,
            login_seconds=identity.login_minutes * 60,
            fresh_login=who == "citizen",  # DigiD asks again each time: the person at this screen
            clock=clock,
        )
        for who in ("citizen", "official")
    }


def _dev_provider(settings: Settings, store: NamespacedStore) -> Any:
    """The development identity provider, or None when it is off (its routes then answer 404)."""
    if not (settings.development and settings.identity.dev_provider):
        return None
    from backend.identity.clients import DEV_CLIENT_IDS, REDIRECT_PATHS, dev_client_secret, dev_issuer
    from backend.identity.dev_provider.keys import signing_key
    from backend.identity.dev_provider.server import DevAuthorizationServer, DevClient

    clients = {
        DEV_CLIENT_IDS[who]: DevClient(
            client_id=DEV_CLIENT_IDS[who],
            client_secret=dev_client_secret(settings, who).reveal(),
            redirect_uri=f"{settings.public_url}{REDIRECT_PATHS[who]}",
            scopes=frozenset({"openid", "profile"}),
        )
        for who in ("citizen", "official")
    }
    return DevAuthorizationServer(dev_issuer(settings), signing_key(settings.data_dir), clients, store)


def _is_upload(request: Request[Any, Any, Any]) -> bool:
    return request.method == "POST" and request.url.path.rstrip("/").endswith("/documenten")


def _rate_limit_key(request: Request[Any, Any, Any]) -> str:
    """Whom a request's budget belongs to: a signed-in official's own (officials of one town hall
    share one NAT address and must not lock each other out), otherwise the client's address (the
    real one behind a trusted proxy)."""
    session = request.scope.get("session")
    official = session.get(SESSION_KEY) if isinstance(session, dict) else None
    if isinstance(official, str) and official:
        return f"official:{official}"
    return request.client.host if request.client else "unknown"


def _upload_limit_key(request: Request[Any, Any, Any]) -> str:
    # Per client and per appointment (the path names the link or the appointment): officials of
    # one town hall share an address and must not use up each other's uploads.
    host = request.client.host if request.client else "unknown"
    return f"upload:{host}:{request.url.path.rstrip('/')}"


async def close_sockets(app: Litestar) -> int:
    """The first step of this node's shutdown, before the server waits for its connections to end:
    every signalling socket is closed with 4503, so that its page comes back at once (to another
    node, or to this one restarted) instead of after a backoff that grew while it went down
    (docs/signalling.md). Returns how many sockets were open."""
    sockets: OpenSockets = app.state.open_sockets
    return await sockets.close_all()


def create_app(settings: Settings | None = None, *, clock: Clock = system_clock) -> Litestar:
    """The app on ``settings`` (default: from the environment); every part reads time from ``clock``."""
    settings = settings or Settings.from_env()
    engine = create_engine(settings.database)
    channels = channels_plugin(settings)
    sessionmaker = create_sessionmaker(engine)
    store = sessions.session_store(settings, sessionmaker, clock)
    hub = hub_for(settings, channels)
    live = HubPages(hub)
    documents = Documents(settings, vault_for(settings), live, clock=clock)
    parties = relying_parties(settings, clock)
    in_process = settings.worker.in_process  # else `balie worker` runs the loops
    outbox = OutboxWorker(sessionmaker, settings, clock=clock) if in_process else None
    purger = (
        DocumentPurger(
            sessionmaker,
            documents.vault,
            poll_seconds=settings.documents.purge_seconds,
            live=live,
            clock=clock,
        )
        if in_process
        else None
    )
    keeper = (
        Housekeeper(sessionmaker, settings, notify=telling(live, purger), clock=clock) if in_process else None
    )
    payments = Payments(settings, mollie_for(settings), live, outbox, clock=clock)
    reconciler = (
        PaymentReconciler(sessionmaker, payments, poll_seconds=settings.payments.reconcile_seconds)
        if in_process
        else None
    )
    dev_mailbox = dev_mailbox_for(settings, clock)
    echo = EchoRegistry(settings.check, settings.signalling.ice_host_addresses)
    open_sockets = OpenSockets()  # closed with 4503 when this node shuts down (close_sockets)

    route_handlers: list[Any] = [
        healthz,
        livez,
        readyz,
        metrics,
        BookingApi,
        BookingPages,
        ManagePages,
        JoinPages,
        device_check,
        DeskPages,
        PhoneBooking,
        DeskIdentity,
        AuditLog,
        AgendaPages,
        MandatePages,
        ServicePages,
        TeamPages,
        MunicipalityPages,
        BrandAssets,
        StatisticsPages,
        StaffPages,
        InvitationPages,
        ActingSwitch,
        OfficialSignIn,
        DigidSignIn,
        client_jwks,
        CitizenDocuments,
        DeskDocuments,
        CitizenPayments,
        DeskPayments,
        FeePages,
        PaymentReturn,
        DeskPeople,
        *websocket_handlers,
        create_static_files_router(path="/static", directories=[WEB_DIR / "static"], include_in_schema=False),
    ]
    if settings.development and settings.email.dev_sink:
        route_handlers.append(DevMailboxController)
    dev_provider = _dev_provider(settings, store.with_namespace("dev-idp"))
    if dev_provider is not None:
        from backend.identity.dev_provider.routes import DevIdentityProvider

        route_handlers.append(DevIdentityProvider)
    dev_psp = dev_psp_for(settings, store.with_namespace("dev-psp"), clock)
    if dev_psp is not None:
        from backend.payments.dev_psp.routes import DevCheckout, DevPaymentsApi

        route_handlers += [DevPaymentsApi, DevCheckout]

    # Sessions first (outermost), so the rate limit can tell a signed-in official from an address.
    middleware: list[Any] = [sessions.session_config(settings, clock).middleware]
    if settings.rate_limit_per_minute > 0:
        middleware.append(
            RateLimitConfig(
                rate_limit=("minute", settings.rate_limit_per_minute),
                exclude=["/static", "/healthz", "/livez", "/readyz", "/metrics", "/dev"],
                identifier_for_request=_rate_limit_key,
                check_throttle_handler=_is_throttled,
            ).middleware
        )
    if settings.documents.uploads_per_minute > 0:
        middleware.append(
            RateLimitConfig(
                rate_limit=("minute", settings.documents.uploads_per_minute),
                identifier_for_request=_upload_limit_key,
                check_throttle_handler=_is_upload,
                store="document_uploads",
            ).middleware
        )

    database = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        session_dependency_key="db_session",
        create_all=False,
    )
    app = Litestar(
        route_handlers=route_handlers,
        plugins=[
            SQLAlchemyPlugin(config=database),
            channels,
            ApiContract(),  # the OpenAPI document says what the API checks (backend/api_reference.py)
        ],
        middleware=middleware,
        before_request=acting.begin,  # each request acts under no mandate until its scope says so
        before_send=[security_headers(hsts=settings.secure_cookies)],
        csrf_config=CSRFConfig(
            secret=settings.secret_key.reveal(),
            cookie_name=sessions.host_cookie(settings, "balie_csrf"),
            cookie_secure=settings.secure_cookies,
            cookie_samesite="strict",
            # The API uses bearer tokens, the mailbox only reads, and the development provider's
            # token endpoint is called server to server (client authentication instead), as is the
            # back-channel logout (a signed logout token instead). The development payment provider's
            # API is called server to server with an API key, as Mollie's is, and so is our webhook.
            exclude=[
                "/api/",
                "/dev/mailbox",
                "/dev/idp/token",
                "/dev/psp/v2/",
                "/balie/uitloggen/backchannel",
                "/betaling/webhook",  # the provider's call: its body is an id that is looked up
            ],
        ),
        template_config=TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(
            title="Digitale Balie API",
            version="1",
            path="/schema",
            render_plugins=[JsonRenderPlugin(), ApiReference()],
        ),
        exception_handlers={SignInRequired: _sign_in_redirect, **exception_handlers},
        lifespan=[
            dev_mailbox_lifespan(dev_mailbox),
            loop_lifespan("outbox-worker", outbox),
            loop_lifespan("housekeeping", keeper),
            loop_lifespan("document-purger", purger),
            loop_lifespan("payment-reconciler", reconciler),
            echo_lifespan(echo),
            dev_psp_lifespan(dev_psp),
        ],
        # What handlers and sockets name in their signatures, one object each for this app.
        dependencies={
            "settings": provide(settings),
            "clock": provide(clock),
            "today": provide_today(),
            "sessionmaker": provide(sessionmaker),
            "hub": provide(hub),
            "channels_probe": provide(channels),  # /readyz
            "live": provide(live),
            "notify": provide(Notify(live, outbox)),
            "documents": provide(documents),
            "payments": provide(payments),
            "document_purger": provide(purger),
            "citizen_party": provide(parties["citizen"]),
            "official_party": provide(parties["official"]),
            "parties": provide(Parties(parties, identity_keyring(settings))),
            "provider_sessions": provide(
                ProviderSessions(
                    store.with_namespace("provider-sessions"),
                    keep_seconds=settings.sessions.absolute_hours * 3600,
                )
            ),
            "dev_idp": provide(dev_provider),
            "dev_psp": provide(dev_psp),
            "dev_mailbox": provide(dev_mailbox),
            "echo": provide(echo),
            "open_sockets": provide(open_sockets),
        },
        # The largest document plus its multipart framing (the default would cut off at 10 MB).
        request_max_body_size=max(10_000_000, settings.documents.max_bytes + UPLOAD_OVERHEAD),
        # advanced-alchemy disposes only the first engine of a process (its state keys get a suffix);
        # every app disposes its own, so no pooled connection outlives it.
        on_shutdown=[engine.dispose],
        stores={sessions.STORE_NAME: store},
        state=State(
            {
                # advanced-alchemy gives every config after the first in a process a key of its own
                # (the session middleware reads it). The rest is there for tests and scripts to look
                # at; handlers get their parts injected (dependencies above).
                "db_session_scope_key": database.session_scope_key,
                "settings": settings,
                "clock": clock,
                "sessionmaker": sessionmaker,
                "live": live,
                "documents": documents,
                "payments": payments,
                "dev_psp": dev_psp,
                "outbox_worker": outbox,
                "dev_mailbox": dev_mailbox,
                "echo": echo,
                "open_sockets": open_sockets,
            }
        ),
        debug=False,
        logging_config=None,  # backend/logs.py configures logging once per process (no thread per app)
    )
    app.asgi_handler = count_requests(app.asgi_handler)  # every answer, after exception handling
    return app
