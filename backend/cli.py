"""``balie``: run | migrate | demo-data | worker | settings | identity-provider | audit verify."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import Any

from backend.logs import configure_logging
from backend.settings import Settings


async def _migrate(settings: Settings) -> None:
    from backend.db.engine import create_engine
    from backend.db.migrate import upgrade

    engine = create_engine(settings.database)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _demo_data(settings: Settings, *, quiet: bool = False) -> None:
    from backend.db.engine import create_engine, create_sessionmaker
    from backend.demo import is_empty, load_demo

    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            if await is_empty(session):
                await load_demo(session)
                print("Demo data loaded: Gemeente Rotterdam (0599), Gemeente Schiedam (0606) and a mandate.")
            elif not quiet:
                print("The database already holds data; nothing loaded.")
    finally:
        await engine.dispose()


async def _worker(settings: Settings) -> None:
    from backend.db.engine import create_engine, create_sessionmaker
    from backend.documents.retention import DocumentPurger
    from backend.documents.vault import vault_for
    from backend.email.worker import OutboxWorker
    from backend.housekeeping import Housekeeper
    from backend.payments.keys import mollie_for
    from backend.payments.reconcile import PaymentReconciler
    from backend.payments.service import Payments
    from backend.worker_status import serving_status

    engine = create_engine(settings.database)
    sessionmaker = create_sessionmaker(engine)
    outbox, keeper = OutboxWorker(sessionmaker, settings), Housekeeper(sessionmaker, settings)
    purger = DocumentPurger(sessionmaker, vault_for(settings), poll_seconds=settings.documents.purge_seconds)
    reconciler = PaymentReconciler(
        sessionmaker,
        Payments(settings, mollie_for(settings), outbox=outbox),
        poll_seconds=settings.payments.reconcile_seconds,
    )
    runs = (outbox.run_forever(), keeper.run_forever(), purger.run_forever(), reconciler.run_forever())
    loops = [asyncio.ensure_future(run) for run in runs]
    try:
        async with serving_status(settings.monitoring, sessionmaker, loops):  # BALIE_WORKER_STATUS_PORT
            await asyncio.gather(*loops)
    finally:
        outbox.stop()
        keeper.stop()
        reconciler.stop()
        await engine.dispose()


def served_at(settings: Settings, host: str, port: int) -> Settings:
    """Without ``BALIE_PUBLIC_URL``, links in emails point where this server listens."""
    if settings.public_url_configured:
        return settings
    link_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - comparing, not binding
    return dataclasses.replace(settings, public_url=f"http://{link_host}:{port}")


def refusals(settings: Settings) -> list[str]:
    """Why ``balie run`` must not start with these settings (production safety)."""
    problems = []
    if not settings.development:
        if settings.identity.dev_provider:
            problems.append(
                "BALIE_DEV_IDP is on: the development identity provider must not run in production"
            )
        if settings.payments.dev_psp:
            problems.append(
                "BALIE_DEV_PSP is on: the development payment provider must not run in production"
            )
        for who in ("CITIZEN", "OFFICIAL"):
            registration = getattr(settings.identity, who.lower())
            keys = registration.token_auth == "private_key_jwt"  # noqa: S105 - it signs: no secret
            if not (registration.issuer and registration.client_id and (registration.client_secret or keys)):
                problems.append(
                    f"BALIE_{who}_OIDC_ISSUER, _CLIENT_ID and _CLIENT_SECRET (or "
                    "_TOKEN_AUTH=private_key_jwt) are required in production"
                )
    return problems


def _run(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from backend.app import close_sockets, create_app

    class Node(uvicorn.Server):
        """uvicorn, whose shutdown (SIGTERM, SIGINT) first closes every signalling socket with 4503
        so that the pages come back at once (docs/signalling.md). uvicorn's own shutdown would close
        them with 1012 and then wait for the app to end them, while their backoff grows."""

        async def shutdown(self, sockets: list[Any] | None = None) -> None:
            for server in self.servers:
                server.close()  # no new connections while the pages are told to reconnect
            try:
                await close_sockets(app)
            except Exception:  # never in the way of the shutdown itself
                logging.getLogger(__name__).exception("could not close the signalling sockets")
            await super().shutdown(sockets)

    settings = served_at(settings, host, port)
    asyncio.run(_migrate(settings))
    if settings.demo_data:
        asyncio.run(_demo_data(settings, quiet=True))
    print(f"Digitale Balie on http://{host}:{port}  (desk: /balie, mailbox: /dev/mailbox)")
    app = create_app(settings)
    node = Node(uvicorn.Config(app, host=host, port=port, **server_options(settings)))
    with contextlib.suppress(KeyboardInterrupt):  # what uvicorn.run does
        node.run()
    if not node.started:
        sys.exit(3)  # uvicorn's "startup failed"


def server_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the app: behind a proxy in production, whose forwarded client address
    is believed only from ``BALIE_TRUSTED_PROXIES``."""
    return {
        "ws_per_message_deflate": False,
        "ws_max_size": settings.signalling.max_message_bytes,
        "proxy_headers": not settings.development,
        "forwarded_allow_ips": list(settings.trusted_proxies),
        "log_level": "info",
    }


def _settings_table(readme: Path | None) -> None:
    from backend.settings.table import markdown_table, with_table

    if readme is None:
        print(markdown_table(), end="")
    else:
        readme.write_text(with_table(readme.read_text()))


async def _identity_provider(settings: Settings, args: argparse.Namespace) -> int:
    from backend.db.engine import create_engine, create_sessionmaker
    from backend.identity.binding import identity_keyring
    from backend.identity.provider_admin import (
        ProviderError,
        Registration,
        listed,
        put_provider,
        remove_provider,
    )

    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as db:
            if args.action == "list":
                print("\n".join(await listed(db)) or "No municipality has its own identity provider.")
            elif args.action == "remove":
                if not await remove_provider(db, args.municipality, args.audience):
                    print(f"balie: {args.municipality} has no {args.audience} provider", file=sys.stderr)
                    return 1
                print("Removed.")
            else:
                secret = os.environ.get(args.client_secret_env, "") if args.client_secret_env else ""
                registration = Registration(
                    issuer=args.issuer,
                    client_id=args.client_id,
                    client_secret=secret,
                    token_auth=args.token_auth,
                    scope=args.scope,
                    claims_from=args.claims_from,
                    email_domains=tuple(d for d in args.email_domains.split(",") if d.strip()),
                )
                try:
                    await put_provider(
                        db, identity_keyring(settings), args.municipality, args.audience, registration
                    )
                except ProviderError as exc:
                    print(f"balie: {exc}", file=sys.stderr)
                    return 2
                print(f"{args.municipality}: {args.audience} sign-in goes through {args.issuer} now.")
    finally:
        await engine.dispose()
    return 0


async def _audit_verify(settings: Settings) -> int:
    """Every hash chain of the audit trail, a line per municipality: OK with its count and last
    hash (keep it: it shows later whether the chain was cut or recomputed), or each place where it
    does not hold. 1 when anything does not (backend/audit/chain.py)."""
    from sqlalchemy import select

    from backend import audit
    from backend.db.engine import create_engine, create_sessionmaker
    from backend.db.models import Municipality

    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as db:
            found = await db.execute(select(Municipality.id, Municipality.name, Municipality.cbs_code))
            names = {municipality_id: f"{name} ({cbs})" for municipality_id, name, cbs in found}
            reports = await audit.verify_chains(db)
            await db.commit()
    finally:
        await engine.dispose()
    if not reports:
        print("The audit trail is empty.")
    for report in reports:
        if report.municipality_id is None:
            who = "Events without a municipality"
        else:
            who = names.get(report.municipality_id, f"Municipality {report.municipality_id} (removed)")
        if report.ok:
            print(f"{who}: OK, {report.events} events, last hash {report.head}")
            continue
        print(f"{who}: CHANGED, {len(report.breaks)} problem(s) in {report.events} events")
        for problem in report.breaks:
            print(f"  {problem.kind}: {problem.text}")
    if broken := sum(not report.ok for report in reports):
        print(f"balie: the audit trail was changed outside the app ({broken} chain(s))", file=sys.stderr)
        return 1
    return 0


def _identity_provider_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    providers = commands.add_parser(
        "identity-provider", help="a municipality's own staff identity provider or DigiD broker client"
    )
    actions = providers.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every municipality's own providers")
    for name, text in (("add", "add or replace one"), ("remove", "remove one (back to the default)")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--municipality", required=True, metavar="CBS", help="its CBS code, e.g. 0599")
        action.add_argument("--for", dest="audience", required=True, choices=["official", "citizen"])
        if name == "add":
            action.add_argument("--issuer", required=True)
            action.add_argument("--client-id", required=True)
            action.add_argument(
                "--client-secret-env", metavar="VAR", help="the environment variable holding the secret"
            )
            action.add_argument("--token-auth", default="client_secret_basic")
            action.add_argument("--scope", default="openid")
            action.add_argument("--claims-from", default="both")
            action.add_argument("--email-domains", default="", help="comma-separated, officials only")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="balie", description="Digitale Balie: video appointments.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="migrate, load demo data if empty, and serve")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    commands.add_parser("migrate", help="bring the database to the newest schema")
    commands.add_parser("demo-data", help="load the demo municipalities into an empty database")
    commands.add_parser("worker", help="send queued email (outbox) and purge documents until stopped")
    table = commands.add_parser("settings", help="the table of every BALIE_* setting, in Markdown")
    output = table.add_mutually_exclusive_group(required=True)
    output.add_argument("--markdown", action="store_true", help="print it")
    output.add_argument("--readme", type=Path, metavar="FILE", help="write it into FILE between its markers")
    _identity_provider_parser(commands)
    trail = commands.add_parser("audit", help="the audit trail")
    trail.add_subparsers(dest="action", required=True).add_parser(
        "verify", help="check every municipality's hash chain; exit 1 when the trail was changed"
    )
    args = parser.parse_args(argv)
    if args.command == "settings":  # documents the declaration: reads no environment
        _settings_table(args.readme)
        return 0
    settings, problems = Settings.with_problems()
    if args.command == "run":
        problems = problems + refusals(settings)
    if problems:  # all of them at once: an operator should not need a restart per mistake
        print(f"balie: {len(problems)} setting(s) must change before balie can start:", file=sys.stderr)
        for problem in problems:
            print(f"balie: - {problem}", file=sys.stderr)
        return 2
    configure_logging(json_lines=not settings.development)
    if args.command == "run":
        _run(settings, args.host, args.port)
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
        print("Database is up to date.")
    elif args.command == "demo-data":
        asyncio.run(_demo_data(settings))
    elif args.command == "worker":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_worker(settings))
    elif args.command == "identity-provider":
        return asyncio.run(_identity_provider(settings, args))
    elif args.command == "audit":
        return asyncio.run(_audit_verify(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
