"""Documents over HTTP, on SQLite and PostgreSQL: sharing both ways, the attack corpus, who may see
what, keeping for the case, and retention.

The app runs under uvicorn on a loopback port in the test's event loop (so one loop owns the
database pool), and every actor is its own HTTP client with its own cookies. The citizen talks to
the app as a browser does (join link, CSRF header from the page); officials sign in through the
development sign-in. Files are checked where they are kept: the document store and the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from litestar import Litestar
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.app import create_app
from backend.booking.tokens import hash_token, new_token
from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.db.models import (
    Appointment,
    AuditEvent,
    Document,
    DocumentRetention,
    Participant,
)
from backend.documents.retention import DocumentPurger
from backend.settings import DocumentSettings, Settings
from tests import documents_samples as samples
from tests.live import sign_in_official
from tests.support import free_port, make_settings, seed_agenda

MAX_BYTES = 200_000


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Litestar, str]]:
    """The app for ``settings`` under uvicorn on a free loopback port, in this event loop, its public
    URL pointing there (sign-in redirects need it); yields the app and its base URL."""
    port = free_port()
    app = create_app(dataclasses.replace(settings, public_url=f"http://127.0.0.1:{port}"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclasses.dataclass
class Scene:
    app: Litestar
    base_url: str
    settings: Settings
    citizen: httpx.AsyncClient
    sessionmaker: async_sessionmaker[AsyncSession]
    appointment_id: uuid.UUID
    other_appointment_id: uuid.UUID  # same team, another citizen
    foreign_appointment_id: uuid.UUID  # another municipality
    service_id: uuid.UUID
    tokens: dict[str, str]
    official_subject: str = "official-testgemeente"
    stranger_subject: str = "official-elders"
    clients: list[httpx.AsyncClient] = dataclasses.field(default_factory=list)

    @property
    def store(self) -> Path:
        return self.settings.documents_dir

    def stored_files(self) -> list[Path]:
        return [p for p in self.store.rglob("*") if p.is_file()] if self.store.exists() else []

    async def rows(self) -> list[Document]:
        async with self.sessionmaker() as db:
            return list((await db.scalars(select(Document))).unique())

    async def audit(self, action: str) -> list[AuditEvent]:
        async with self.sessionmaker() as db:
            return list(await db.scalars(select(AuditEvent).where(AuditEvent.action == action)))

    def citizen_url(self, who: str = "citizen") -> str:
        return f"/j/{self.tokens[who]}/documenten"

    def desk_url(self, appointment_id: uuid.UUID | None = None) -> str:
        return f"/balie/afspraken/{appointment_id or self.appointment_id}/documenten"

    async def citizen_csrf(self, who: str = "citizen") -> str:
        page = await self.citizen.get(f"/j/{self.tokens[who]}/wachtkamer")
        assert page.status_code == 200, page.text
        found = re.search(r'data-csrf="([^"]+)"', page.text)
        assert found, "the room page has no documents panel"
        return found.group(1)

    @dataclasses.dataclass
    class Desk:
        client: httpx.AsyncClient
        csrf: str

    async def official(self, subject: str | None = None) -> Scene.Desk:
        client = httpx.AsyncClient(base_url=self.base_url)
        self.clients.append(client)
        await sign_in_official(client, subject or self.official_subject)
        call = await client.get(f"/balie/afspraken/{self.appointment_id}/gesprek")
        csrf = re.search(r'data-csrf="([^"]+)"', call.text)
        return Scene.Desk(client, csrf.group(1) if csrf else "")


async def upload(
    client: httpx.AsyncClient, url: str, name: str, data: bytes, csrf: str, **headers: str
) -> httpx.Response:
    return await client.post(
        url,
        files={"file": (name, data, "application/octet-stream")},
        headers={"X-CSRFToken": csrf, "Accept": "application/json", **headers},
    )


def appointment_now(service: Any, name: str) -> tuple[Appointment, dict[str, str]]:
    tokens = {"citizen": new_token(), "partner": new_token()}
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    appointment = Appointment(
        reference=f"T-{secrets.token_hex(4).upper()}",
        service_id=service.id,
        team_id=service.team_id,
        municipality_id=service.team.municipality_id,
        start_at=start,
        end_at=start + dt.timedelta(minutes=20),
        citizen_name=name,
        citizen_email="burger@example.org",
        manage_token_hash=hash_token(new_token()),
        participants=[
            Participant(
                role=role, name=f"{name} ({role})", email="p@example.org", join_token_hash=hash_token(t)
            )
            for role, t in tokens.items()
        ],
    )
    return appointment, tokens


@pytest.fixture
async def scene(tmp_path: Path, database_url: str) -> AsyncIterator[Scene]:
    engine = create_engine(make_settings(tmp_path, database_url).database)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as db:
        service = await seed_agenda(db)
        foreign_service = await seed_agenda(db, cbs_code="0363", slug="elders")
        mine, tokens = appointment_now(service, "Fatima de Vries")
        other, other_tokens = appointment_now(service, "Jan Jansen")
        foreign, foreign_tokens = appointment_now(foreign_service, "Piet Elders")
        db.add_all([mine, other, foreign])
        await db.commit()
        ids = (mine.id, other.id, foreign.id, service.id)
    settings = make_settings(
        tmp_path,
        database_url,
        documents=DocumentSettings(max_bytes=MAX_BYTES, max_per_appointment=4, uploads_per_minute=0),
    )
    try:
        async with serving(settings) as (app, base_url), httpx.AsyncClient(base_url=base_url) as client:
            scene = Scene(
                app=app,
                base_url=base_url,
                settings=settings,
                citizen=client,
                sessionmaker=sessionmaker,
                appointment_id=ids[0],
                other_appointment_id=ids[1],
                foreign_appointment_id=ids[2],
                service_id=ids[3],
                tokens={
                    **tokens,
                    "other": other_tokens["citizen"],
                    "foreign": foreign_tokens["citizen"],
                },
            )
            try:
                yield scene
            finally:
                for other_client in scene.clients:
                    await other_client.aclose()
    finally:
        await engine.dispose()


# -- sharing both ways -------------------------------------------------------------------------------


async def test_citizen_shares_and_the_official_downloads_the_same_bytes(scene: Scene) -> None:
    original = samples.pdf()
    csrf = await scene.citizen_csrf()
    shared = await upload(scene.citizen, scene.citizen_url(), "Geboorteverklaring.pdf", original, csrf)
    assert shared.status_code == 201, shared.text
    info = shared.json()
    assert info["name"] == "Geboorteverklaring.pdf" and info["type"] == "application/pdf"
    assert info["sha256"] == hashlib.sha256(original).hexdigest() and info["size"] == len(original)
    assert info["shared_by"]["role"] == "citizen" and not info["kept_for_case"]

    desk = await scene.official()
    listing = (await desk.client.get(scene.desk_url(), headers={"Accept": "application/json"})).json()
    assert [d["id"] for d in listing["documents"]] == [info["id"]]
    assert listing["keep_days"] == 30 and listing["active"] is True

    download = await desk.client.get(f"{scene.desk_url()}/{info['id']}")
    assert download.status_code == 200 and download.content == original
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"Geboorteverklaring.pdf\"; filename*=UTF-8''Geboorteverklaring.pdf"
    )
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "no-store" in download.headers["cache-control"]
    assert "sandbox" in download.headers["content-security-policy"]

    # At rest: one file in the store, and it is not the document.
    [stored] = scene.stored_files()
    assert original not in stored.read_bytes() and samples.MARKER.encode() not in stored.read_bytes()
    assert stored.stat().st_mode & 0o077 == 0  # readable by the app's user only
    assert [e.details["sha256"] for e in await scene.audit("document.shared")] == [info["sha256"]]
    [downloaded] = await scene.audit("document.downloaded")
    assert downloaded.actor.startswith("official:") and "name" not in downloaded.details


async def test_official_shares_a_pdf_and_the_citizen_downloads_it(scene: Scene) -> None:
    deed = samples.pdf("CONCEPT-AKTE van geboorte")
    desk = await scene.official()
    shared = await upload(desk.client, scene.desk_url(), "Concept akte.pdf", deed, desk.csrf)
    assert shared.status_code == 201, shared.text
    info = shared.json()
    assert info["shared_by"]["role"] == "official" and info["shared_by"]["name"] == "Medewerker Testgemeente"

    listing = (await scene.citizen.get(scene.citizen_url(), headers={"Accept": "application/json"})).json()
    assert [d["name"] for d in listing["documents"]] == ["Concept akte.pdf"]
    got = await scene.citizen.get(f"{scene.citizen_url()}/{info['id']}")
    assert got.status_code == 200 and got.content == deed
    assert got.headers["content-disposition"].startswith('attachment; filename="Concept akte.pdf"')
    # The partner of the same appointment sees it too; another appointment's citizen does not.
    assert (await scene.citizen.get(f"{scene.citizen_url('partner')}/{info['id']}")).content == deed
    assert (await scene.citizen.get(f"{scene.citizen_url('other')}/{info['id']}")).status_code == 404


async def test_photos_lose_their_metadata_and_stay_upright(scene: Scene) -> None:
    csrf = await scene.citizen_csrf()
    photo = samples.jpeg_with_gps(size=(64, 48), orientation=6)  # EXIF: rotate 90 degrees
    info = (await upload(scene.citizen, scene.citizen_url(), "IMG_2041.JPG", photo, csrf)).json()
    served = (await scene.citizen.get(f"{scene.citizen_url()}/{info['id']}")).content
    assert info["sha256"] == hashlib.sha256(served).hexdigest() != hashlib.sha256(photo).hexdigest()
    image = Image.open(io.BytesIO(served))
    assert image.format == "JPEG" and image.size == (48, 64)  # turned upright, then no orientation
    assert not image.getexif() and b"Exif" not in served and b"PhoneMaker" not in served

    png = samples.png_with_text()
    info = (await upload(scene.citizen, scene.citizen_url(), "scan.png", png, csrf)).json()
    served = (await scene.citizen.get(f"{scene.citizen_url()}/{info['id']}")).content
    image = Image.open(io.BytesIO(served))
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == (40, 30)
    assert not image.info.get("Author") and b"Sanne" not in served and b"xmpmeta" not in served


# -- the attack corpus --------------------------------------------------------------------------------

CORPUS: list[tuple[str, str, bytes, int, str]] = [
    ("polyglot PDF/HTML", "brief.pdf", samples.polyglot_pdf_html(), 422, "pdf_invalid"),
    ("HTML before the PDF", "brief.pdf", samples.html_then_pdf(), 415, "type_not_allowed"),
    ("PDF with a ZIP after %%EOF", "brief.pdf", samples.pdf_with_zip_after_eof(), 422, "pdf_invalid"),
    ("SVG with script", "logo.svg", samples.svg_with_script(), 415, "type_not_allowed"),
    ("SVG named as PNG", "logo.png", samples.svg_with_script(), 415, "type_not_allowed"),
    ("one byte over the limit", "groot.pdf", samples.pdf(pad_to=MAX_BYTES + 1), 413, "too_large"),
    ("far over the limit", "groot.pdf", samples.pdf(pad_to=MAX_BYTES * 3), 413, "too_large"),
    ("PNG content, PDF name", "paspoort.pdf", samples.png_with_text(), 422, "name_mismatch"),
    ("PDF content, JPG name", "scan.jpg", samples.pdf(), 422, "name_mismatch"),
    ("PDF content, EXE name", "setup.exe", samples.pdf(), 422, "name_mismatch"),
    ("../ in the name", "../../etc/passwd.pdf", samples.pdf(), 422, "name_invalid"),
    ("backslash path", "..\\..\\boot.pdf", samples.pdf(), 422, "name_invalid"),
    ("right-to-left override", "factuur\u202efdp.exe", samples.pdf(), 422, "name_invalid"),
    ("decompression bomb", "foto.png", samples.png_bomb(20_000, 20_000), 422, "image_too_big"),
    ("bomb under Pillow's own limit", "foto.png", samples.png_bomb(8_000, 8_000), 422, "image_too_big"),
    ("truncated JPEG", "foto.jpg", samples.truncated_jpeg(), 422, "image_invalid"),
    ("GIF", "foto.gif", samples.gif(), 415, "type_not_allowed"),
    ("PDF with JavaScript", "a.pdf", samples.pdf_with_javascript(), 422, "pdf_active_content"),
    ("PDF with escaped JavaScript", "a.pdf", samples.pdf_with_hidden_javascript(), 422, "pdf_active_content"),
    ("PDF with orphan JavaScript", "a.pdf", samples.pdf_with_orphan_javascript(), 422, "pdf_active_content"),
    ("PDF with a launch action", "a.pdf", samples.pdf_with_launch(), 422, "pdf_active_content"),
    ("PDF with an embedded file", "a.pdf", samples.pdf_with_embedded_file(), 422, "pdf_embedded_files"),
    ("encrypted PDF", "a.pdf", samples.encrypted_pdf(), 422, "pdf_encrypted"),
    ("empty file", "leeg.pdf", b"", 422, "empty"),
]


async def test_the_attack_corpus_is_refused_with_clear_words_and_nothing_is_stored(scene: Scene) -> None:
    csrf = await scene.citizen_csrf()
    desk = await scene.official()
    for label, name, data, status, code in CORPUS:
        for client, url, token in (
            (scene.citizen, scene.citizen_url(), csrf),
            (desk.client, scene.desk_url(), desk.csrf),
        ):
            response = await upload(client, url, name, data, token)
            assert response.status_code == status, f"{label}: {response.status_code} {response.text}"
            assert response.headers["content-type"].startswith("application/problem+json"), label
            problem = response.json()
            assert problem["code"] == code, f"{label}: {problem}"
            assert problem["title"] and len(problem["detail"]) > 30, label  # a sentence, in Dutch
        assert scene.stored_files() == [], f"{label}: a file was left in the store"
        assert await scene.rows() == [], f"{label}: a row was written"
    refused = await scene.audit("document.refused")
    assert sorted(e.details["reason"] for e in refused) == sorted([c[4] for c in CORPUS] * 2)
    assert all(e.result == "refused" and "name" not in e.details for e in refused)


async def test_refusals_speak_the_visitors_language(scene: Scene) -> None:
    # Booked in Dutch: the answers are Dutch, as its waiting room is, whatever the browser says;
    # English once the visitor chose English (the language switch's cookie), as the page is then.
    csrf = await scene.citizen_csrf()
    dutch = await upload(
        scene.citizen,
        scene.citizen_url(),
        "logo.svg",
        samples.svg_with_script(),
        csrf,
        **{"Accept-Language": "en"},
    )
    scene.citizen.cookies.set("lang", "en")
    english = await upload(scene.citizen, scene.citizen_url(), "logo.svg", samples.svg_with_script(), csrf)
    scene.citizen.cookies.delete("lang")
    assert "Dat kan alleen met PDF, JPG of PNG" in dutch.json()["detail"]
    assert "Only PDF, JPG or PNG" in english.json()["detail"]
    assert english.json()["title"] == "We cannot accept this file"
    too_big = await upload(
        scene.citizen, scene.citizen_url(), "x.pdf", samples.pdf(pad_to=MAX_BYTES + 1), csrf
    )
    assert "hoogstens 0,2 MB" in too_big.json()["detail"]  # the limit in MB, in Dutch notation


async def test_exactly_the_limit_is_accepted(scene: Scene) -> None:
    csrf = await scene.citizen_csrf()
    response = await upload(
        scene.citizen, scene.citizen_url(), "precies.pdf", samples.pdf(pad_to=MAX_BYTES), csrf
    )
    assert response.status_code == 201 and response.json()["size"] == MAX_BYTES


async def test_names_are_tidied_and_get_the_right_extension(scene: Scene) -> None:
    csrf = await scene.citizen_csrf()
    cases = {
        "  scan  12.03.2026 ": "scan 12.03.2026.pdf",
        'rapport: "definitief"?.PDF': "rapport_ _definitief__.PDF",
        "x" * 300 + ".pdf": "x" * 96 + ".pdf",
        "Aangifte geboorte – Zoë.pdf": "Aangifte geboorte – Zoë.pdf",
    }
    for sent, expected in cases.items():
        response = await upload(scene.citizen, scene.citizen_url(), sent, samples.pdf(), csrf)
        assert response.status_code == 201, (sent, response.text)
        assert response.json()["name"] == expected
        if expected.startswith("Aangifte"):
            download = await scene.citizen.get(f"{scene.citizen_url()}/{response.json()['id']}")
            disposition = download.headers["content-disposition"]
            assert 'filename="Aangifte geboorte _ Zoe.pdf"' in disposition
            assert "filename*=UTF-8''Aangifte%20geboorte%20%E2%80%93%20Zo%C3%AB.pdf" in disposition
        await remove_all(scene)


async def remove_all(scene: Scene) -> None:
    desk = await scene.official()
    for document in await scene.rows():
        removed = await desk.client.post(
            f"{scene.desk_url()}/{document.id}/verwijderen", headers={"X-CSRFToken": desk.csrf}
        )
        assert removed.status_code == 200, removed.text


async def test_count_limit_per_appointment(scene: Scene) -> None:
    csrf = await scene.citizen_csrf()
    for index in range(4):
        assert (
            await upload(scene.citizen, scene.citizen_url(), f"{index}.pdf", samples.pdf(), csrf)
        ).status_code == 201
    fifth = await upload(scene.citizen, scene.citizen_url(), "5.pdf", samples.pdf(), csrf)
    assert fifth.status_code == 409 and fifth.json()["code"] == "too_many"
    assert "Er zijn al 4 documenten" in fifth.json()["detail"]
    assert len(scene.stored_files()) == 4 and len(await scene.rows()) == 4
    # Another appointment has its own count.
    other_csrf = await scene.citizen_csrf("other")
    assert (
        await upload(scene.citizen, scene.citizen_url("other"), "a.pdf", samples.pdf(), other_csrf)
    ).status_code == 201


async def test_uploads_need_the_csrf_token(scene: Scene) -> None:
    await scene.citizen_csrf()  # has the cookie, but sends no token
    response = await scene.citizen.post(
        scene.citizen_url(),
        files={"file": ("a.pdf", samples.pdf(), "application/pdf")},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 403
    forged = await upload(scene.citizen, scene.citizen_url(), "a.pdf", samples.pdf(), "0" * 128)
    assert forged.status_code == 403
    assert await scene.rows() == [] and scene.stored_files() == []


async def test_a_plain_form_post_with_the_token_as_a_field_works_too(scene: Scene) -> None:
    csrf = await scene.citizen_csrf()
    response = await scene.citizen.post(
        scene.citizen_url(),
        data={"_csrf_token": csrf},
        files={"file": ("formulier.pdf", samples.pdf(), "application/pdf")},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "formulier.pdf"
    missing = await scene.citizen.post(
        scene.citizen_url(), data={"_csrf_token": csrf, "other": "x"}, headers={"Accept": "application/json"}
    )
    assert missing.status_code == 400 and missing.json()["code"] == "missing"


# -- who may see what ---------------------------------------------------------------------------------


async def test_officials_of_other_teams_get_404_and_the_attempt_is_audited(scene: Scene) -> None:
    csrf = await scene.citizen_csrf()
    info = (await upload(scene.citizen, scene.citizen_url(), "a.pdf", samples.pdf(), csrf)).json()
    stranger = await scene.official(scene.stranger_subject)
    for response in (
        await stranger.client.get(scene.desk_url(), headers={"Accept": "application/json"}),
        await stranger.client.get(f"{scene.desk_url()}/{info['id']}"),
        await upload(stranger.client, scene.desk_url(), "b.pdf", samples.pdf(), stranger.csrf),
    ):
        assert response.status_code in (403, 404)
        assert samples.MARKER.encode() not in response.content
    denied = await scene.audit("access.denied")
    assert len(denied) >= 2 and all(e.object_id == str(scene.appointment_id) for e in denied)

    # Our own official, but the document asked for under another appointment of the team.
    desk = await scene.official()
    wrong = await desk.client.get(f"{scene.desk_url(scene.other_appointment_id)}/{info['id']}")
    assert wrong.status_code == 404
    assert any(
        e.object_type == "document" and e.object_id == info["id"] for e in await scene.audit("access.denied")
    )


async def test_citizen_links_only_open_their_own_appointment(scene: Scene) -> None:
    desk = await scene.official()
    info = (await upload(desk.client, scene.desk_url(), "a.pdf", samples.pdf(), desk.csrf)).json()
    for url in (
        f"{scene.citizen_url('other')}/{info['id']}",
        f"{scene.citizen_url('foreign')}/{info['id']}",
        f"/j/{new_token()}/documenten/{info['id']}",
        f"/j/{new_token()}/documenten",
        f"{scene.citizen_url()}/{uuid.uuid4()}",
    ):
        response = await scene.citizen.get(url)
        assert response.status_code == 404, url
        assert "Pagina niet gevonden" in response.text  # a browser following a link gets a page


async def test_participants_remove_only_their_own_documents(scene: Scene) -> None:
    csrf = await scene.citizen_csrf()
    mine = (await upload(scene.citizen, scene.citizen_url(), "a.pdf", samples.pdf(), csrf)).json()
    partner_csrf = await scene.citizen_csrf("partner")
    refused = await scene.citizen.post(
        f"{scene.citizen_url('partner')}/{mine['id']}/verwijderen",
        headers={"X-CSRFToken": partner_csrf, "Accept": "application/json"},
    )
    assert refused.status_code == 403 and refused.json()["code"] == "not_yours"
    removed = await scene.citizen.post(
        f"{scene.citizen_url()}/{mine['id']}/verwijderen",
        headers={"X-CSRFToken": csrf, "Accept": "application/json"},
    )
    assert removed.status_code == 200
    assert await scene.rows() == [] and scene.stored_files() == []
    [event] = await scene.audit("document.removed")
    assert event.details["sha256"] == mine["sha256"] and "name" not in event.details  # type, size, hash


# -- keeping and retention ------------------------------------------------------------------------------


async def test_kept_documents_outlive_the_call_and_go_when_their_time_is_up(scene: Scene) -> None:
    csrf = await scene.citizen_csrf()
    kept = (await upload(scene.citizen, scene.citizen_url(), "akte.pdf", samples.pdf(), csrf)).json()
    dropped = (
        await upload(scene.citizen, scene.citizen_url(), "foto.jpg", samples.jpeg_with_gps(), csrf)
    ).json()
    desk = await scene.official()
    marked = await desk.client.post(
        f"{scene.desk_url()}/{kept['id']}/bewaren",
        json={"keep": True},
        headers={"X-CSRFToken": desk.csrf, "Accept": "application/json"},
    )
    assert marked.status_code == 200 and marked.json()["kept_for_case"] is True
    expires = dt.datetime.fromisoformat(marked.json()["expires_at"])
    assert dt.timedelta(days=29, hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)

    purger = DocumentPurger(scene.sessionmaker, scene.app.state.documents.vault, poll_seconds=1)
    assert await purger.run_once() == []  # the call is still on: nothing is due

    # The official ends the call (the desk's form): the unmarked photo goes, the deed stays.
    call_page = await desk.client.get(f"/balie/afspraken/{scene.appointment_id}/gesprek")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', call_page.text)
    assert token
    ended = await desk.client.post(
        f"/balie/afspraken/{scene.appointment_id}/afronden",
        data={"_csrf_token": token.group(1), "outcome": "completed"},
    )
    assert ended.status_code == 303
    [gone] = await purger.run_once()
    assert (str(gone.document_id), gone.reason) == (dropped["id"], "call_ended")
    assert [str(d.id) for d in await scene.rows()] == [kept["id"]] and len(scene.stored_files()) == 1
    # The citizen's link has stopped working; the official still downloads the kept deed.
    assert (await scene.citizen.get(f"{scene.citizen_url()}/{kept['id']}")).status_code == 404
    assert (await desk.client.get(f"{scene.desk_url()}/{kept['id']}")).content == samples.pdf()

    later = DocumentPurger(
        scene.sessionmaker,
        scene.app.state.documents.vault,
        poll_seconds=1,
        clock=lambda: expires + dt.timedelta(seconds=1),
    )
    [expired] = await later.run_once()
    assert (str(expired.document_id), expired.reason) == (kept["id"], "expired")
    assert await scene.rows() == [] and scene.stored_files() == []
    purged = {e.details["sha256"]: e for e in await scene.audit("document.purged")}
    assert set(purged) == {kept["sha256"], dropped["sha256"]}  # by hash: the trail keeps no file name
    assert purged[kept["sha256"]].details["reason"] == "expired" and purged[kept["sha256"]].actor == "system"
    assert all("name" not in e.details for e in purged.values())
    assert (await desk.client.get(f"{scene.desk_url()}/{kept['id']}")).status_code == 404


async def test_a_service_can_switch_keeping_off(scene: Scene) -> None:
    async with scene.sessionmaker() as db:
        db.add(DocumentRetention(service_id=scene.service_id, keep_days=0))
        await db.commit()
    desk = await scene.official()
    info = (await upload(desk.client, scene.desk_url(), "a.pdf", samples.pdf(), desk.csrf)).json()
    listing = (await desk.client.get(scene.desk_url(), headers={"Accept": "application/json"})).json()
    assert listing["keep_days"] == 0
    refused = await desk.client.post(
        f"{scene.desk_url()}/{info['id']}/bewaren",
        json={"keep": True},
        headers={"X-CSRFToken": desk.csrf, "Accept": "application/json"},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "keep_not_allowed"


async def test_unended_calls_lose_their_documents_when_the_links_stop_working(scene: Scene) -> None:
    csrf = await scene.citizen_csrf()
    info = (await upload(scene.citizen, scene.citizen_url(), "a.pdf", samples.pdf(), csrf)).json()
    async with scene.sessionmaker() as db:
        appointment = await db.get(Appointment, scene.appointment_id)
        assert appointment is not None
        closes = appointment.end_at + dt.timedelta(minutes=scene.settings.join.grace_minutes_after)
        await db.commit()
    assert dt.datetime.fromisoformat(info["expires_at"]) == closes
    vault = scene.app.state.documents.vault
    assert (
        await DocumentPurger(
            scene.sessionmaker, vault, poll_seconds=1, clock=lambda: closes - dt.timedelta(seconds=1)
        ).run_once()
        == []
    )
    [gone] = await DocumentPurger(scene.sessionmaker, vault, poll_seconds=1, clock=lambda: closes).run_once()
    assert gone.reason == "expired" and scene.stored_files() == []


async def test_orphaned_files_are_swept(scene: Scene) -> None:
    vault = scene.app.state.documents.vault
    await vault.store.put("ab" * 16, b"BD1 left behind by a crash")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    await DocumentPurger(scene.sessionmaker, vault, poll_seconds=1).run_once()
    assert len(scene.stored_files()) == 1  # too young: it may be an upload about to commit
    await DocumentPurger(scene.sessionmaker, vault, poll_seconds=1, clock=lambda: later).run_once()
    assert scene.stored_files() == []


async def test_upload_rate_limit(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, documents=DocumentSettings(uploads_per_minute=2))
    engine = create_engine(settings.database)
    await upgrade(engine)
    async with create_sessionmaker(engine)() as db:
        service = await seed_agenda(db)
        appointment, tokens = appointment_now(service, "Fatima")
        db.add(appointment)
        await db.commit()
    await engine.dispose()
    async with serving(settings) as (_, base_url), httpx.AsyncClient(base_url=base_url) as client:
        page = await client.get(f"/j/{tokens['citizen']}/wachtkamer")
        csrf = re.search(r'data-csrf="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        url = f"/j/{tokens['citizen']}/documenten"
        codes = [(await upload(client, url, "a.pdf", samples.pdf(), csrf)).status_code for _ in range(3)]
        assert codes == [201, 201, 429]
        assert (
            await client.get(url, headers={"Accept": "application/json"})
        ).status_code == 200  # reads are free


async def test_a_body_over_the_apps_own_limit_gets_the_same_clear_answer(scene: Scene) -> None:
    csrf = await scene.citizen_csrf()
    huge = b"%PDF-1.4\n" + b"0" * 10_100_000
    response = await upload(scene.citizen, scene.citizen_url(), "huge.pdf", huge, csrf)
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert await scene.rows() == [] and scene.stored_files() == []


# -- live ----------------------------------------------------------------------------------------------


class Socket:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def next_of(self, kind: str) -> dict[str, Any]:
        for _ in range(20):
            message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), 5))
            if message["type"] == kind:
                return message
        raise AssertionError(f"no {kind} message")


async def test_both_sides_see_documents_appear_live(scene: Scene) -> None:
    ws_base = scene.base_url.replace("http://", "ws://")
    desk = await scene.official()
    cookie = "; ".join(f"{k}={v}" for k, v in desk.client.cookies.items())
    async with (
        websockets.connect(f"{ws_base}/ws/citizen", compression=None) as citizen_ws,
        websockets.connect(
            f"{ws_base}/ws/call/{scene.appointment_id}",
            compression=None,
            additional_headers={"Cookie": cookie, "Origin": scene.base_url},
        ) as official_ws,
    ):
        citizen, official = Socket(citizen_ws), Socket(official_ws)
        await citizen.send({"type": "hello", "token": scene.tokens["citizen"], "session": "c1"})
        await official.send({"type": "hello", "session": "o1"})
        await citizen.next_of("welcome")
        await official.next_of("welcome")
        await citizen.send({"type": "enter"})
        assert (await citizen.next_of("state"))["state"] == "waiting"

        # The official shares while the citizen waits: the waiting room hears of it.
        deed = (
            await upload(desk.client, scene.desk_url(), "Concept akte.pdf", samples.pdf(), desk.csrf)
        ).json()
        event = await citizen.next_of("document")
        assert event == {"type": "document", "action": "added", "document": deed}

        # The citizen shares: the official's call page hears of it.
        csrf = await scene.citizen_csrf()
        photo = (
            await upload(scene.citizen, scene.citizen_url(), "id.jpg", samples.jpeg_with_gps(), csrf)
        ).json()
        seen = [await official.next_of("document"), await official.next_of("document")]
        assert [(e["action"], e["document"]["id"]) for e in seen] == [
            ("added", deed["id"]),
            ("added", photo["id"]),
        ]

        kept = await desk.client.post(
            f"{scene.desk_url()}/{photo['id']}/bewaren",
            json={"keep": True},
            headers={"X-CSRFToken": desk.csrf, "Accept": "application/json"},
        )
        assert kept.status_code == 200
        own = await citizen.next_of("document")  # its own upload comes back too; the page knows it
        assert (own["action"], own["document"]["id"]) == ("added", photo["id"])
        updated = await citizen.next_of("document")
        assert updated["action"] == "updated" and updated["document"]["kept_for_case"] is True
        await desk.client.post(
            f"{scene.desk_url()}/{deed['id']}/verwijderen", headers={"X-CSRFToken": desk.csrf}
        )
        assert (await citizen.next_of("document")) == {
            "type": "document",
            "action": "removed",
            "document": {"id": deed["id"]},
        }


async def test_balie_worker_purges_too(scene: Scene) -> None:
    """With ``BALIE_WORKER_IN_PROCESS=false`` the separate ``balie worker`` does the purging."""
    csrf = await scene.citizen_csrf()
    assert (await upload(scene.citizen, scene.citizen_url(), "a.pdf", samples.pdf(), csrf)).status_code == 201
    async with scene.sessionmaker() as db:
        for document in (await db.scalars(select(Document))).unique():
            document.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await db.commit()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}
    env.update(
        {
            "BALIE_ENV": "test",
            "BALIE_SECRET_KEY": scene.settings.secret_key.reveal(),
            "BALIE_DATA_DIR": str(scene.settings.data_dir),
            "BALIE_DATABASE_URL": scene.settings.database.url,
            "BALIE_SMTP_PORT": str(free_port()),
            "BALIE_DOCUMENTS_PURGE_SECONDS": "0.2",
        }
    )
    worker = subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env=env)
    try:
        for _ in range(150):
            if not await scene.rows():
                break
            await asyncio.sleep(0.1)
        assert await scene.rows() == [] and scene.stored_files() == []
        assert [e.actor for e in await scene.audit("document.purged")] == ["system"]
    finally:
        worker.terminate()
        worker.wait(10)


async def test_a_name_or_form_past_the_parsers_limits_is_refused_not_a_server_error(scene: Scene) -> None:
    """A 9,000-character file name or more than eight parts: a clear 400, audited, nothing stored."""
    csrf = await scene.citizen_csrf()
    long_name = await upload(scene.citizen, scene.citizen_url(), "a" * 9000 + ".pdf", samples.pdf(), csrf)
    assert long_name.status_code == 400 and long_name.json()["code"] == "malformed_upload"
    parts = {f"extra{n}": ("x.txt", b"x", "text/plain") for n in range(9)}
    many = await scene.citizen.post(
        scene.citizen_url(),
        files={**parts, "file": ("a.pdf", samples.pdf(), "application/pdf")},
        headers={"X-CSRFToken": csrf, "Accept": "application/json"},
    )
    assert many.status_code == 400 and many.json()["code"] == "malformed_upload"
    assert "te veel delen" in many.json()["detail"]
    refusals = await scene.audit("document.refused")
    assert [e.details.get("reason") for e in refusals][-2:] == ["malformed_upload"] * 2
    assert await scene.rows() == [] and scene.stored_files() == []
