"""Issue #13 in a real browser at 360 px: a city admin of Tegal creates a webinar programme, a session with a
meeting link (a plain http link is refused next to the field first) and a PDF material; a signed-in
participant finds the training on the public schedule (no link there), signs up, and sees the meeting link on
their page because the session starts within 30 minutes. Screenshots in test-artifacts/screenshots/ (and, with
PASARKOTA_UPDATE_DOCS=1, docs/img/learning-admin-*.png)."""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.test_portal_browser import ROOT, SHOTS, UPDATE_DOCS, Person, browser  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

CITY = "tegal"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"



def test_city_admin_sets_up_a_webinar_and_a_participant_joins_it(platform: Any, browser: Any,  # noqa: F811
                                                                  tmp_path: Path) -> None:
    base, learning = platform.url("portal"), platform.url("learning")
    title = f"Webinar QRIS Bank Indonesia {uuid.uuid4().hex[:4]}"
    admin = Person(browser, base, "city admin")
    admin.sign_in_token(platform.token(CITY, "city_admin", sub=f"admin-{uuid.uuid4().hex[:6]}"))
    admin.go(f"/kota/{CITY}/admin/pelatihan")
    page = admin.page
    page.fill("#f-title", title)
    page.select_option("#f-style", "webinar")
    page.fill("#f-partner", "Bank Indonesia")
    page.fill("#f-modules", "QRIS untuk UMKM\nLiterasi digital")
    admin.shot("learning-admin-home")
    page.get_by_role("button", name="Buat program").click()
    page.wait_for_load_state("load")
    assert "Program dibuat" in admin.flash(), page.content()[:1500]

    start = datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(minutes=20)
    page.fill("#f-title", "Sesi 1: QRIS untuk UMKM")
    page.select_option("#f-module", "QRIS untuk UMKM")
    page.fill("#f-starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-ends_at", (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-capacity", "40")
    page.fill("#f-meeting_link", "http://meet.example.id/tidak-aman")
    page.get_by_role("button", name="Buat sesi").click()
    page.wait_for_load_state("load")
    assert page.locator("#e-meeting_link").count() == 1, page.content()[:3000]
    assert page.input_value("#f-title") == "Sesi 1: QRIS untuk UMKM"     # the input is kept
    admin.shot("learning-admin-session-error")
    page.fill("#f-meeting_link", "https://meet.example.id/qris-tegal-uji")
    page.get_by_role("button", name="Buat sesi").click()
    page.wait_for_load_state("load")
    assert "Sesi dibuat" in admin.flash(), page.content()[:3000]

    pdf = tmp_path / "modul-qris.pdf"
    pdf.write_bytes(PDF)
    page.fill("#f-m_title", "Modul QRIS untuk UMKM (PDF)")
    page.select_option("#f-m_module", "QRIS untuk UMKM")
    page.set_input_files("#f-file", str(pdf))
    page.get_by_role("button", name="Tambah materi").click()
    page.wait_for_load_state("load")
    assert "Materi ditambahkan" in admin.flash(), page.content()[:3000]
    assert page.locator("[data-testid=material]").count() == 1
    assert "Riwayat perubahan" in page.content() and "meeting_link" in page.content()
    admin.shot("learning-admin-programme")

    registered = httpx.post(f"{learning}/cities/{CITY}/participants/register", timeout=10, json={
        "name": "Sari Uji Webinar", "phone": "0857" + str(uuid.uuid4().int)[:8], "group": "pelaku_usaha"}).json()
    participant = Person(browser, base, "participant")
    participant.sign_in_token(platform.token(CITY, "participant", sub=registered["participant"]["subject"]))
    participant.go(f"/kota/{CITY}/pelatihan/jadwal")
    card = participant.page.locator("[data-testid=upcoming]", has_text=title)
    assert card.count() == 1 and "Daring" in card.inner_text()
    assert "meet.example.id" not in participant.page.content()
    participant.shot("learning-upcoming")
    card.get_by_role("button").click()
    participant.page.wait_for_load_state("load")
    assert "terdaftar" in participant.flash().lower(), participant.flash()
    link = participant.page.locator("[data-testid=meeting-link]")
    assert link.count() == 1 and link.get_attribute("href") == "https://meet.example.id/qris-tegal-uji"
    participant.shot("learning-participant-link")

    # anonymous: the public schedule shows the training, never the link
    anonymous = Person(browser, base, "anonymous")
    anonymous.go(f"/kota/{CITY}/pelatihan/jadwal")
    assert title in anonymous.page.content() and "meet.example.id" not in anonymous.page.content()

    # a trainer plans an own session of the programme, then edits it
    subject = f"trainer-{uuid.uuid4().hex[:8]}"
    r = httpx.post(f"{learning}/cities/{CITY}/admin/trainers", timeout=10, headers=platform.headers(
        CITY, "city_admin"), json={"name": "Bu Rina Pelatih", "subject": subject})
    assert r.status_code == 201, r.text
    trainer = Person(browser, base, "trainer")
    trainer.sign_in_token(platform.token(CITY, "trainer", sub=subject))
    trainer.go(f"/kota/{CITY}/pelatih")
    trainer.page.get_by_role("link", name="Buat sesi baru").click()
    trainer.page.wait_for_load_state("load")
    tp = trainer.page
    tp.select_option("#f-programme_id", label=title)
    tp.fill("#f-title", "Sesi 2: Membuat QRIS usaha")
    later = start + timedelta(days=3)
    tp.fill("#f-starts_at", later.strftime("%Y-%m-%dT%H:%M"))
    tp.fill("#f-ends_at", (later + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    tp.fill("#f-capacity", "30")
    tp.fill("#f-meeting_link", "https://meet.example.id/qris-tegal-sesi-2")
    trainer.shot("learning-trainer-new-session")
    tp.get_by_role("button", name="Buat sesi").click()
    tp.wait_for_load_state("load")
    assert "Sesi dibuat" in trainer.flash(), tp.content()[:3000]
    tp.get_by_role("link", name="Ubah").first.click()
    tp.wait_for_load_state("load")
    assert tp.input_value("#f-title") == "Sesi 2: Membuat QRIS usaha"
    tp.fill("#f-capacity", "35")
    tp.get_by_role("button", name="Simpan").click()
    tp.wait_for_load_state("load")
    assert "Sesi disimpan" in trainer.flash() and tp.input_value("#f-capacity") == "35", tp.content()[:3000]

    if UPDATE_DOCS:
        for shot in ("learning-admin-home", "learning-admin-session-error", "learning-admin-programme",
                     "learning-upcoming", "learning-participant-link", "learning-trainer-new-session"):
            shutil.copy(SHOTS / f"{shot}.png", ROOT / "docs" / "img" / f"{shot}.png")
