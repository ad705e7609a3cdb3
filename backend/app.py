"""create_app(settings): the one place where plugins, routers and middleware meet."""

from __future__ import annotations

import hashlib
from typing import Any

from advanced_alchemy.extensions.litestar import AsyncSessionConfig, SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, Request, get
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from backend.api_reference import ApiReference
from backend.booking.api import BookingApi
from backend.booking.pages import BookingPages
from backend.db.engine import create_engine, create_sessionmaker
from backend.desk.auth import SignInRequired
from backend.desk.pages import DeskPages, DeskSignIn
from backend.desk.people import DeskPeople
from backend.email.lifecycle import email_lifespan
from backend.email.mailbox import DevMailboxController
from backend.errors import exception_handlers
from backend.join.pages import JoinPages, device_check
from backend.security import security_headers_middleware
from backend.settings import WEB_DIR, Settings
from backend.web import see_other
from signalling.handlers import websocket_handlers
from signalling.hub import Hub, channels_plugin
from signalling.peers.echo import echo_lifespan


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _sign_in_redirect(request: Request[Any, Any, Any], exc: Exception) -> Any:
    return see_other("/balie/inloggen")


def _is_form_post(request: Request[Any, Any, Any]) -> bool:
    return request.method == "POST"


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    engine = create_engine(settings.database)
    channels = channels_plugin(settings)
    secret = hashlib.sha256(settings.secret_key.reveal().encode()).digest()

    route_handlers: list[Any] = [
        healthz,
        BookingApi,
        BookingPages,
        JoinPages,
        device_check,
        DeskPages,
        DeskPeople,
        DeskSignIn,
        *websocket_handlers,
        create_static_files_router(path="/static", directories=[WEB_DIR / "static"], include_in_schema=False),
    ]
    if settings.development and settings.email.dev_sink:
        route_handlers.append(DevMailboxController)

    middleware: list[Any] = [security_headers_middleware(hsts=settings.secure_cookies)]
    if settings.rate_limit_per_minute > 0:
        middleware.append(
            RateLimitConfig(
                rate_limit=("minute", settings.rate_limit_per_minute),
                exclude=["/static", "/healthz", "/dev"],
                check_throttle_handler=_is_form_post,
            ).middleware
        )
    middleware.append(
        CookieBackendConfig(
            secret=secret,
            key="balie_session",
            max_age=12 * 3600,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        ).middleware
    )

    app = Litestar(
        route_handlers=route_handlers,
        plugins=[
            SQLAlchemyPlugin(
                config=SQLAlchemyAsyncConfig(
                    engine_instance=engine,
                    session_config=AsyncSessionConfig(expire_on_commit=False),
                    session_dependency_key="db_session",
                    create_all=False,
                )
            ),
            channels,
        ],
        middleware=middleware,
        csrf_config=CSRFConfig(
            secret=settings.secret_key.reveal(),
            cookie_name="balie_csrf",
            cookie_secure=settings.secure_cookies,
            cookie_samesite="strict",
            exclude=["/api/", "/dev/"],
        ),
        template_config=TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(
            title="Digitale Balie API",
            version="1",
            path="/schema",
            render_plugins=[JsonRenderPlugin(), ApiReference()],
        ),
        exception_handlers={SignInRequired: _sign_in_redirect, **exception_handlers},
        lifespan=[email_lifespan, echo_lifespan],
        # After the lifespans (the worker uses the engine until it stops): close the pool we opened.
        on_shutdown=[engine.dispose],
        state=State(
            {
                "settings": settings,
                "sessionmaker": create_sessionmaker(engine),
                "hub": Hub(channels),
            }
        ),
        debug=False,
    )
    return app
