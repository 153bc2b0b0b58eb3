"""Issue #13 in a real browser at 360 px: the trainer imports a Zoom attendance CSV on the roster page (one row
left unmatched, then matched by hand) and writes to the roster; the participant downloads the certificate PDF,
whose code verifies on the public verification page. Screenshots in test-artifacts/screenshots/ (and, with
PASARKOTA_UPDATE_DOCS=1, in docs/img/)."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pypdf import PdfReader

from deploy.provision import service_database_url
from learning.domain import CERTIFICATE_ALPHABET
from tests.e2e.test_portal_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, UPDATE_DOCS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CITY = "cimahi"


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if UPDATE_DOCS:
        shutil.copy(path, ROOT / "docs" / "img" / f"{name}.png")


def _setup(platform: Any) -> dict[str, Any]:
    """A webinar session that started an hour ago, a trainer, and two booked participants (over HTTP)."""
    url, admin = platform.url("learning"), platform.headers(CITY, "city_admin")
    subject = f"trainer-{uuid.uuid4().hex[:8]}"
    with httpx.Client(timeout=30) as c:
        trainer_id = c.post(f"{url}/cities/{CITY}/admin/trainers", headers=admin,
                            json={"name": "Ibu Ratna", "subject": subject}).json()["trainer_id"]
        programme = c.post(f"{url}/cities/{CITY}/admin/programmes", headers=admin,
                           json={"title": "Literasi Digital & QRIS", "style": "webinar",
                                 "partner": "Bank Indonesia", "modules": ["QRIS"]}).json()
        start = datetime.now(UTC) + timedelta(days=1)
        session = c.post(f"{url}/cities/{CITY}/admin/programmes/{programme['programme_id']}/sessions",
                         headers=admin, json={"title": "QRIS untuk lapak", "starts_at": start.isoformat(),
                                              "ends_at": (start + timedelta(minutes=90)).isoformat(),
                                              "capacity": 10, "meeting_link": "https://meet.example.id/qris",
                                              "trainer_id": trainer_id}).json()
        people = []
        for name in ("Sari Rahayu", "Joko Widodo"):
            phone = "0857" + str(uuid.uuid4().int)[:8]
            p = c.post(f"{url}/cities/{CITY}/participants/register",
                       json={"name": name, "phone": phone, "group": "pelaku_usaha"}).json()["participant"]
            token = platform.token(CITY, "participant", sub=p["subject"])
            r = c.post(f"{url}/cities/{CITY}/sessions/{session['session_id']}/enrolments",
                       headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 201, r.text
            people.append({**p, "token": token})

    async def started() -> None:
        conn = await asyncpg.connect(service_database_url(platform.infra.admin_url, "learning"))
        await conn.execute("UPDATE sessions SET starts_at = now() - interval '60 minutes',"
                           " ends_at = now() + interval '30 minutes' WHERE session_id = $1", session["session_id"])
        await conn.close()

    asyncio.run(started())
    return {"session_id": session["session_id"], "trainer": platform.token(CITY, "trainer", sub=subject),
            "people": people}


def test_trainer_imports_zoom_csv_and_participant_downloads_a_verifiable_pdf(platform: Any) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    base = platform.url("portal")
    facts = _setup(platform)
    session_id, (sari, _joko) = facts["session_id"], facts["people"]
    zoom = (b"Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
            b"Sari Rahayu,,12/02/2026 10:00:00 AM,12/02/2026 10:55:00 AM,55,Yes\n"
            b"Pak J (HP),joko@example.id,12/02/2026 10:00:00 AM,12/02/2026 11:00:00 AM,60,Yes\n")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            trainer = browser.new_context(viewport={"width": 360, "height": 800}, locale="id-ID",
                                          timezone_id="Asia/Jakarta")
            trainer.add_cookies([{"name": "pk_token", "value": facts["trainer"], "url": base}])
            page = trainer.new_page()
            page.goto(f"{base}/kota/{CITY}/pelatih/sesi/{session_id}")
            assert page.locator("[data-testid=roster-row]").count() == 2
            # A wrong file first: refused next to the field, nothing imported.
            page.set_input_files("#f-file", files=[{"name": "laporan.pdf", "mimeType": "application/pdf",
                                                    "buffer": b"%PDF-1.7 not a csv"}])
            page.click("#laporan button[type=submit]")
            assert "CSV" in page.locator("#e-file").inner_text()
            page.set_input_files("#f-file", files=[{"name": "participants_8123.csv", "mimeType": "text/csv",
                                                    "buffer": zoom}])
            page.click("#laporan button[type=submit]")
            page.wait_for_load_state("load")
            assert page.locator(".flash").count() == 1, page.locator("main").inner_text()[:1500]
            assert "1 dicatat hadir" in page.locator(".flash").inner_text()
            assert page.locator("[data-testid=unmatched-row]").count() == 1
            assert page.locator("[data-testid=roster-row][data-status=attended]").count() == 1
            _shot(page, "learning-roster-import")
            row = page.locator("[data-testid=unmatched-row]")
            row.locator("select").select_option(label="Joko Widodo (Terdaftar)")
            row.locator("button").click()
            page.wait_for_load_state("load")
            assert "dicatat hadir" in page.locator(".flash").inner_text()
            assert page.locator("[data-testid=roster-row][data-status=attended]").count() == 2
            page.fill("#f-text", "Terima kasih! Rekaman dan materi QRIS sudah ada di portal.")
            page.click("#pesan button[type=submit]")
            page.wait_for_load_state("load")
            assert "Pesan dikirim ke 2 peserta" in page.locator(".flash").inner_text()
            assert page.locator("[data-testid=history-entry]").count() >= 3
            page.locator("#riwayat").scroll_into_view_if_needed()
            _shot(page, "learning-roster-history")
            trainer.close()

            participant = browser.new_context(viewport={"width": 360, "height": 800}, locale="id-ID",
                                              timezone_id="Asia/Jakarta", accept_downloads=True)
            participant.add_cookies([{"name": "pk_token", "value": sari["token"], "url": base}])
            page = participant.new_page()
            page.goto(f"{base}/kota/{CITY}/pelatihan")
            assert page.locator("[data-testid=my-enrolment][data-status=attended]").count() == 1
            _shot(page, "learning-participant-certificates")
            with page.expect_download() as download_info:
                page.locator("[data-testid=certificate-pdf]").first.click()
            pdf = Path(download_info.value.path()).read_bytes()
            reader = PdfReader(io.BytesIO(pdf))
            assert len(reader.pages) == 1
            text = reader.pages[0].extract_text()
            assert "Sari Rahayu" in text and "Literasi Digital & QRIS" in text
            code = next(w for w in text.split() if len(w) == 10 and set(w) <= set(CERTIFICATE_ALPHABET))
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / "learning-certificate.pdf").write_bytes(pdf)
            if shutil.which("pdftoppm"):   # the PDF as a picture, for docs/portal.md
                subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(SHOTS / "learning-certificate.pdf"),
                                str(SHOTS / "learning-certificate-pdf")], check=True, timeout=60)
                if UPDATE_DOCS:
                    shutil.copy(SHOTS / "learning-certificate-pdf.png", ROOT / "docs" / "img")
            page.goto(f"{base}/sertifikat?kode={code}")
            assert "Sari Rahayu" in page.locator("[data-testid=certificate-valid]").inner_text()
            _shot(page, "learning-certificate-verified")
            participant.close()
        finally:
            browser.close()
