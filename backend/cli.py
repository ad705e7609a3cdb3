"""``balie``: run | migrate | demo-data | worker | settings | identity-provider."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import sys
from pathlib import Path

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

    engine = create_engine(settings.database)
    sessionmaker = create_sessionmaker(engine)
    outbox, keeper = OutboxWorker(sessionmaker, settings), Housekeeper(sessionmaker, settings)
    purger = DocumentPurger(sessionmaker, vault_for(settings), poll_seconds=settings.documents.purge_seconds)
    try:
        await asyncio.gather(outbox.run_forever(), keeper.run_forever(), purger.run_forever())
    finally:
        outbox.stop()
        keeper.stop()
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

    from backend.app import create_app

    settings = served_at(settings, host, port)
    asyncio.run(_migrate(settings))
    if settings.demo_data:
        asyncio.run(_demo_data(settings, quiet=True))
    print(f"Digitale Balie on http://{host}:{port}  (desk: /balie, mailbox: /dev/mailbox)")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        ws_per_message_deflate=False,
        ws_max_size=settings.signalling.max_message_bytes,
        proxy_headers=not settings.development,
        log_level="info",
    )


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
    return 0


if __name__ == "__main__":
    sys.exit(main())
