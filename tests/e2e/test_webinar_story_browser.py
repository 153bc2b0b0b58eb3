"""Issue #13's first Done-when as one story, in a real browser at 360 px, in Tegal (webinars with Bank Indonesia):

a city admin creates an RW hub, a webinar programme and a session with a meeting link, a trainer, and
materials (a link and a PDF); a participant signs up on the public schedule and sees the link 30 minutes
before the start; the meeting happens (the session's times are moved an hour back in learning's table — the
clock, not the behaviour, is what the test cannot wait for); the participant attended; the trainer imports
the Zoom attendance CSV on the roster page; the participant downloads the certificate PDF, whose code
verifies on the public page. Screenshots in test-artifacts/screenshots/webinar-*.png.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from pypdf import PdfReader

from deploy.provision import service_database_url
from learning.domain import CERTIFICATE_ALPHABET
from tests.e2e.test_portal_browser import Person, browser  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

CITY = "tegal"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"



def _the_meeting_took_place(platform: Any, session_id: str) -> None:
    async def move() -> None:
        conn = await asyncpg.connect(service_database_url(platform.infra.admin_url, "learning"))
        try:
            await conn.execute("UPDATE sessions SET starts_at = now() - interval '60 minutes',"
                               " ends_at = now() - interval '1 minute' WHERE session_id = $1", session_id)
        finally:
            await conn.close()

    # Playwright's sync API holds this thread's event loop: run the query on another thread
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, move()).result()


def test_webinar_from_set_up_to_a_verified_pdf_certificate(platform: Any, browser: Any,  # noqa: F811
                                                           tmp_path: Path) -> None:
    base, learning = platform.url("portal"), platform.url("learning")
    tag = uuid.uuid4().hex[:4]
    title = f"Webinar Literasi Digital & QRIS {tag}"
    admin = Person(browser, base, "city admin")
    admin.sign_in_token(platform.token(CITY, "city_admin", sub=f"admin-{uuid.uuid4().hex[:6]}"))

    # -- the city admin: an RW hub (the city's internet point) ----------------------------------------------------
    rw = str(100 + int(time.time()) % 800)
    admin.go(f"/kota/{CITY}/admin/hub-rw")
    admin.page.fill("#f-name", f"Balai RW {rw} Mintaragen")
    admin.page.fill("#f-address", "Jl. Hang Tuah, Tegal Timur")
    admin.page.fill("#f-kelurahan", "Mintaragen")
    admin.page.fill("#f-rw", rw)
    admin.page.fill("#f-opens_at", "08:00")
    admin.page.fill("#f-closes_at", "20:00")
    admin.page.fill("#f-hall_capacity", "30")
    admin.page.get_by_role("button", name="Tambah hub").click()
    admin.page.wait_for_load_state("load")
    assert "ditambahkan" in admin.flash(), admin.page.content()[:3000]
    admin.shot("webinar-01-rw-hub")

    # -- a trainer, a webinar programme, its session with a meeting link and the trainer, two materials -------------
    trainer_name, trainer_sub = f"Bu Dewi BI {tag}", f"trainer-{uuid.uuid4().hex[:8]}"
    r = httpx.post(f"{learning}/cities/{CITY}/admin/trainers", timeout=10, headers=platform.headers(
        CITY, "city_admin"), json={"name": trainer_name, "subject": trainer_sub})
    assert r.status_code == 201, r.text
    admin.go(f"/kota/{CITY}/admin/pelatihan")
    page = admin.page
    page.fill("#f-title", title)
    page.select_option("#f-style", "webinar")
    page.fill("#f-partner", "Bank Indonesia")
    page.fill("#f-modules", "Literasi digital & QRIS")
    page.get_by_role("button", name="Buat program").click()
    page.wait_for_load_state("load")
    assert "Program dibuat" in admin.flash(), page.content()[:1500]

    start = datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(minutes=25)
    page.fill("#f-title", "Membuat QRIS untuk lapak")
    page.select_option("#f-module", "Literasi digital & QRIS")
    page.fill("#f-starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-ends_at", (start + timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-capacity", "100")
    page.select_option("#f-trainer_id", label=trainer_name)
    page.fill("#f-meeting_link", "https://meet.example.id/qris-tegal-" + tag)
    page.get_by_role("button", name="Buat sesi").click()
    page.wait_for_load_state("load")
    assert "Sesi dibuat" in admin.flash(), page.content()[:3000]
    page.fill("#f-m_title", "Materi QRIS Bank Indonesia")
    page.fill("#f-url", "https://www.bi.go.id/QRIS/default.aspx")
    page.get_by_role("button", name="Tambah materi").click()
    page.wait_for_load_state("load")
    assert "Materi ditambahkan" in admin.flash(), page.content()[:3000]
    pdf = tmp_path / "ringkasan-qris.pdf"
    pdf.write_bytes(PDF)
    page.fill("#f-m_title", "Ringkasan QRIS (PDF)")
    page.set_input_files("#f-file", str(pdf))
    page.get_by_role("button", name="Tambah materi").click()
    page.wait_for_load_state("load")
    assert "Materi ditambahkan" in admin.flash(), page.content()[:3000]
    assert page.locator("[data-testid=material]").count() == 2
    # the programme edited: a two-letter title is refused next to the field, the rest kept; then saved, audited
    page.locator("details summary", has_text="Ubah program").click()
    page.fill("#f-p_title", "ab")
    page.fill("#f-p_partner", "Bank Indonesia & Diskominfo Kota Tegal")
    page.get_by_role("button", name="Simpan program").click()
    page.wait_for_load_state("load")
    assert page.locator("#e-p_title").count() == 1, page.content()[:3000]
    assert page.input_value("#f-p_partner") == "Bank Indonesia & Diskominfo Kota Tegal"
    page.fill("#f-p_title", title)
    page.get_by_role("button", name="Simpan program").click()
    page.wait_for_load_state("load")
    assert "Program disimpan" in admin.flash(), page.content()[:3000]
    assert "Diskominfo" in page.locator("#riwayat, .audit, main").last.inner_text()
    admin.shot("webinar-02-programme")

    # -- a resident signs up on the public schedule; 25 minutes before the start the link is on their page ----------
    name = f"Ibu Sri Uji {tag}"
    registered = httpx.post(f"{learning}/cities/{CITY}/participants/register", timeout=10, json={
        "name": name, "phone": "0857" + str(uuid.uuid4().int)[:8], "group": "pkk"}).json()
    participant = Person(browser, base, "participant")
    participant.sign_in_token(platform.token(CITY, "participant", sub=registered["participant"]["subject"]))
    participant.go(f"/kota/{CITY}/pelatihan/jadwal")
    card = participant.page.locator("[data-testid=upcoming]", has_text=title)
    assert card.count() == 1 and "meet.example.id" not in participant.page.content()
    card.get_by_role("button").click()
    participant.page.wait_for_load_state("load")
    assert "terdaftar" in participant.flash().lower(), participant.flash()
    link = participant.page.locator("[data-testid=meeting-link]")
    assert link.count() == 1 and link.get_attribute("href") == "https://meet.example.id/qris-tegal-" + tag
    materials = participant.page.locator("[data-testid=my-material]")
    assert materials.count() == 2, participant.page.content()[:3000]   # the BI link and the PDF, for her session
    with participant.page.expect_download() as material:
        materials.filter(has_text="Ringkasan QRIS").locator("a").click()
    assert Path(material.value.path()).read_bytes() == PDF
    participant.shot("webinar-03-participant-link")
    session_id = httpx.get(f"{learning}/cities/{CITY}/me/enrolments", timeout=10, headers=platform.headers(
        CITY, "participant", sub=registered["participant"]["subject"])).json()["enrolments"][0]["session_id"]

    # -- the meeting: she was in the call for 80 minutes; the trainer imports Zoom's participant report ------------
    _the_meeting_took_place(platform, session_id)
    zoom = ("Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
            f"{name},,12/02/2026 09:00:00 AM,12/02/2026 10:20:00 AM,80,Yes\n"
            "Tamu Tanpa Nama,,12/02/2026 09:10:00 AM,12/02/2026 09:20:00 AM,10,Yes\n").encode()
    trainer = Person(browser, base, "trainer")
    trainer.sign_in_token(platform.token(CITY, "trainer", sub=trainer_sub))
    trainer.go(f"/kota/{CITY}/pelatih/sesi/{session_id}")
    assert trainer.page.locator("[data-testid=roster-row]").count() == 1
    trainer.page.set_input_files("#f-file", files=[{"name": "participants_8345.csv", "mimeType": "text/csv",
                                                    "buffer": zoom}])
    trainer.page.click("#laporan button[type=submit]")
    trainer.page.wait_for_load_state("load")
    assert "1 dicatat hadir" in trainer.flash(), trainer.page.locator("main").inner_text()[:1500]
    assert trainer.page.locator("[data-testid=roster-row][data-status=attended]").count() == 1
    trainer.shot("webinar-04-roster-imported")

    # -- her certificate: a one-page PDF whose code verifies on the public page -------------------------------------
    participant.go(f"/kota/{CITY}/pelatihan")
    assert participant.page.locator("[data-testid=my-enrolment][data-status=attended]").count() == 1
    with participant.page.expect_download() as download:
        participant.page.locator("[data-testid=certificate-pdf]").first.click()
    reader = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert name in text and title.split(" & ")[0] in text
    code = next(w for w in text.split() if len(w) == 10 and set(w) <= set(CERTIFICATE_ALPHABET))
    verifier = Person(browser, base, "anyone")
    verifier.go(f"/sertifikat?kode={code}")
    assert name in verifier.page.locator("[data-testid=certificate-valid]").inner_text()
    verifier.shot("webinar-05-certificate-verified")
