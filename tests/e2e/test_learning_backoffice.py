"""Issue #13, the learning set-up half, on the real platform (HTTP API):

- a city admin creates and edits a webinar programme and a session with a meeting link; each change is on the
  audit list with its actor and before → after;
- the meeting link: never in public answers, shown to a booked participant from 30 minutes before the start
  (a session 20 minutes away shows it, one 2 hours away does not — by the session's own start, no sleeping),
  to the trainer always; a link that is not https is refused (422, naming the field);
- overlapping sessions of the same trainer are refused (409 naming the other session);
- materials: an https link, a PDF upload (sniffed by content), a fake PDF named .pdf (415), a too large file
  (413), downloads only for booked participants / the trainer / the city admin; cross-city refusals.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Platform
from tests.e2e.test_learning_enrolment import _phone, _register
from tests.e2e.test_money_delivery_hostile import declared_only

pytestmark = pytest.mark.integration

CITY = "tegal"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def _setup(client: httpx.AsyncClient, platform: Platform, admin: dict[str, str]) -> dict[str, Any]:
    url = platform.url("learning")
    subject = f"trainer-{uuid.uuid4().hex[:8]}"
    r = await client.post(f"{url}/cities/{CITY}/admin/trainers", headers=admin,
                          json={"name": "Ibu Pelatih", "subject": subject, "phone": _phone()})
    assert r.status_code == 201, r.text
    trainer_id = r.json()["trainer_id"]
    r = await client.post(f"{url}/cities/{CITY}/admin/programmes", headers=admin,
                          json={"title": f"Webinar QRIS {uuid.uuid4().hex[:6]}", "style": "webinar",
                                "partner": "Bank Indonesia", "modules": ["QRIS untuk UMKM", "Literasi digital"]})
    assert r.status_code == 201, r.text
    return {"trainer_id": trainer_id, "programme_id": r.json()["programme_id"],
            "trainer": platform.headers(CITY, "trainer", sub=subject)}


def _session_body(start: datetime, trainer_id: str, link: str = "https://meet.example.id/qris-uji",
                  minutes: int = 60) -> dict[str, Any]:
    return {"title": "QRIS untuk UMKM", "module": "QRIS untuk UMKM", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=minutes)).isoformat(), "capacity": 30,
            "meeting_link": link, "trainer_id": trainer_id}


async def test_programme_session_link_visibility_overlap_and_audit(platform: Platform) -> None:
    url = platform.url("learning")
    admin = platform.headers(CITY, "city_admin", sub=f"admin-{uuid.uuid4().hex[:6]}")
    now = datetime.now(UTC)
    async with httpx.AsyncClient(timeout=30) as client:
        s = await _setup(client, platform, admin)
        programme_id, trainer_id = s["programme_id"], s["trainer_id"]
        sessions = f"{url}/cities/{CITY}/admin/programmes/{programme_id}/sessions"

        # a meeting link that is not https: 422 next to the field, nothing created
        for bad in ("http://meet.example.id/x", "javascript:alert(1)", "https://", "ftp://x.example"):
            r = await client.post(sessions, headers=admin, json=_session_body(now + timedelta(hours=2), trainer_id,
                                                                               link=bad))
            assert r.status_code == 422, (bad, r.text)
            assert r.json().get("field") == "meeting_link", r.text

        r = await client.post(sessions, headers=admin, json=_session_body(now + timedelta(minutes=20), trainer_id))
        assert r.status_code == 201, r.text
        soon = r.json()
        assert soon["venue"]["meeting_link"] == "https://meet.example.id/qris-uji"   # the admin sees it
        r = await client.post(sessions, headers=admin, json=_session_body(
            now + timedelta(hours=2), trainer_id, link="https://meet.example.id/qris-later"))
        assert r.status_code == 201, r.text
        later = r.json()

        # the same trainer at an overlapping time: 409 naming the other session
        r = await client.post(sessions, headers=admin, json=_session_body(now + timedelta(hours=2, minutes=30),
                                                                           trainer_id))
        assert r.status_code == 409, r.text
        assert r.json()["type"].endswith("session-overlap")
        assert r.json()["other_session_id"] == later["session_id"], r.text

        # edit the programme and the session: audited with actor and before → after
        r = await client.patch(f"{url}/cities/{CITY}/admin/programmes/{programme_id}", headers=admin,
                               json={"partner": "Bank Indonesia Tegal", "style": "hybrid"})
        assert r.status_code == 200 and r.json()["partner"] == "Bank Indonesia Tegal", r.text
        r = await client.patch(f"{url}/cities/{CITY}/admin/sessions/{later['session_id']}", headers=admin,
                               json={"capacity": 25, "title": "QRIS untuk UMKM (lanjutan)"})
        assert r.status_code == 200 and r.json()["capacity"] == 25, r.text
        r = await client.patch(f"{url}/cities/{CITY}/admin/sessions/{later['session_id']}", headers=admin,
                               json={"meeting_link": "http://plain.example"})
        assert r.status_code == 422 and r.json()["field"] == "meeting_link", r.text

        audit = (await client.get(f"{url}/cities/{CITY}/audit", headers=admin,
                                  params={"entity": "programme", "entity_id": programme_id})).json()
        print("programme audit:", audit)
        actions = {a["action"]: a for a in audit}
        assert set(actions) == {"created", "updated"}
        assert actions["updated"]["actor"] == admin_sub(admin, platform)
        assert actions["updated"]["before"] == {"partner": "Bank Indonesia", "style": "webinar"}
        assert actions["updated"]["after"] == {"partner": "Bank Indonesia Tegal", "style": "hybrid"}
        audit = (await client.get(f"{url}/cities/{CITY}/audit", headers=admin,
                                  params={"entity": "session", "entity_id": later["session_id"]})).json()
        updated = next(a for a in audit if a["action"] == "updated")
        assert updated["before"] == {"capacity": 30, "title": "QRIS untuk UMKM"}
        assert updated["after"] == {"capacity": 25, "title": "QRIS untuk UMKM (lanjutan)"}

        # public answers never carry the link
        for path in (f"/cities/{CITY}/sessions?upcoming=true", f"/cities/{CITY}/sessions/{soon['session_id']}",
                     f"/cities/{CITY}/programmes/{programme_id}", f"/cities/{CITY}/programmes"):
            r = await client.get(f"{url}{path}")
            assert r.status_code == 200, r.text
            assert "meet.example.id" not in r.text, path
        assert (await client.get(f"{url}/cities/{CITY}/sessions/{soon['session_id']}")).json()["venue"] == {
            "online": True}

        # a booked participant: the link of the session in 20 minutes, not of the one in 2 hours
        person = await _register(client, url, city=CITY)
        for sid in (soon["session_id"], later["session_id"]):
            r = await client.post(f"{url}/cities/{CITY}/sessions/{sid}/enrolments", headers=person["headers"])
            assert r.status_code == 201 and r.json()["status"] == "booked", r.text
        mine = {e["session_id"]: e for e in (await client.get(f"{url}/cities/{CITY}/me/enrolments",
                                                               headers=person["headers"])).json()["enrolments"]}
        print("my enrolments:", mine)
        assert mine[soon["session_id"]]["meeting_link"] == "https://meet.example.id/qris-uji"
        assert mine[later["session_id"]]["meeting_link"] is None
        assert mine[later["session_id"]]["online"] is True and mine[later["session_id"]]["meeting_link_from"]
        # the trainer always
        r = await client.get(f"{url}/cities/{CITY}/trainer/sessions", headers=s["trainer"])
        links = {x["session_id"]: x["venue"].get("meeting_link") for x in r.json()["sessions"]}
        assert links[later["session_id"]] == "https://meet.example.id/qris-later", links

        # the trainer edits the own session, but not another trainer's; nor hands it away
        r = await client.patch(f"{url}/cities/{CITY}/trainer/sessions/{later['session_id']}", headers=s["trainer"],
                               json={"capacity": 28})
        assert r.status_code == 200 and r.json()["capacity"] == 28, r.text
        r = await client.patch(f"{url}/cities/{CITY}/trainer/sessions/{later['session_id']}",
                               headers=platform.headers(CITY, "trainer", sub="trainer-someone-else"),
                               json={"capacity": 5})
        assert r.status_code == 403, r.text
        # another trainer cannot read the session (with its link) through the admin route
        r = await client.get(f"{url}/cities/{CITY}/admin/sessions/{later['session_id']}",
                             headers=platform.headers(CITY, "trainer", sub="trainer-someone-else"))
        assert r.status_code == 403 and "meet.example.id" not in r.text, r.text
        r = await client.get(f"{url}/cities/{CITY}/admin/sessions/{later['session_id']}", headers=s["trainer"])
        assert r.json()["venue"]["meeting_link"] == "https://meet.example.id/qris-later", r.text
        # the trainer plans an own session
        r = await client.post(f"{url}/cities/{CITY}/trainer/programmes/{programme_id}/sessions",
                              headers=s["trainer"], json={k: v for k, v in _session_body(
                                  now + timedelta(days=3), trainer_id).items() if k != "trainer_id"})
        assert r.status_code == 201 and r.json()["trainer"]["trainer_id"] == trainer_id, r.text

        # another city's admin, or a participant: refused
        other = platform.headers("cimahi", "city_admin")
        r = await client.patch(f"{url}/cities/{CITY}/admin/programmes/{programme_id}", headers=other,
                               json={"partner": "X"})
        assert r.status_code == 403, r.text
        r = await client.patch(f"{url}/cities/cimahi/admin/programmes/{programme_id}", headers=other,
                               json={"partner": "X"})
        assert r.status_code == 404, r.text
        r = await client.patch(f"{url}/cities/{CITY}/admin/sessions/{soon['session_id']}", headers=person["headers"],
                               json={"capacity": 1})
        assert r.status_code == 403, r.text
        # hostile bodies: NUL, huge, wrong type
        for body in ({"title": "a\x00b"}, {"title": "x" * 100_000}, {"capacity": "banyak"}, {"capacity": -1}):
            r = await client.patch(f"{url}/cities/{CITY}/admin/sessions/{soon['session_id']}", headers=admin,
                                   json=body)
            assert r.status_code in (413, 422), (body, r.status_code)


def admin_sub(headers: dict[str, str], platform: Platform) -> str:
    import base64
    import json

    payload = headers["Authorization"].split()[1].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


async def test_materials_links_uploads_and_who_may_download(platform: Platform) -> None:
    url = platform.url("learning")
    admin = platform.headers(CITY, "city_admin", sub=f"admin-{uuid.uuid4().hex[:6]}")
    now = datetime.now(UTC)
    async with httpx.AsyncClient(timeout=30) as client:
        s = await _setup(client, platform, admin)
        programme_id = s["programme_id"]
        r = await client.post(f"{url}/cities/{CITY}/admin/programmes/{programme_id}/sessions", headers=admin,
                              json=_session_body(now + timedelta(days=1), s["trainer_id"]))
        assert r.status_code == 201, r.text
        session_id = r.json()["session_id"]
        materials = f"{url}/cities/{CITY}/admin/programmes/{programme_id}/materials"
        upload = f"{url}/cities/{CITY}/admin/material-files"

        r = await client.post(materials, headers=admin, json={
            "title": "Panduan QRIS", "url": "https://www.bi.go.id/QRIS/default.aspx", "module": "QRIS untuk UMKM"})
        assert r.status_code == 201, r.text
        for bad in ({"title": "x", "url": "http://a.example/x"}, {"title": "Tautan", "url": "http://a.example/x"},
                    {"title": "Tautan", "url": "https://a.example/x", "module": "Tidak ada"},
                    {"title": "Rekaman", "url": "https://a.example/r", "kind": "recording"},
                    {"title": "a\x00", "url": "https://a.example/x"}):
            r = await client.post(materials, headers=admin, json=bad)
            assert r.status_code == 422, (bad, r.text)
        r = await client.post(materials, headers=admin, json={
            "title": "Rekaman sesi", "url": "https://video.example.id/rekaman-qris", "kind": "recording",
            "session_id": session_id})
        assert r.status_code == 201, r.text

        r = await client.post(upload, headers={**admin, "Content-Type": "application/pdf"}, content=PDF,
                              params={"programme_id": programme_id, "title": "Modul QRIS (PDF)",
                                      "session_id": session_id})
        assert r.status_code == 201, r.text
        pdf_id = r.json()["material_id"]
        # named .pdf, sent as a PDF, but it is not one: 415; too large: 413; empty: 422; nothing stored
        r = await client.post(upload, headers={**admin, "Content-Type": "application/pdf"},
                              content=b"<html>not a pdf</html>", params={"programme_id": programme_id,
                                                                         "title": "palsu.pdf"})
        assert r.status_code == 415 and r.json()["field"] == "file", r.text
        # over 5 MB but within the body limit: read, then refused by the route (413, nothing stored)
        r = await client.post(upload, headers={**admin, "Content-Type": "application/pdf"},
                              content=PDF + b"0" * (5 * 1024 * 1024), params={"programme_id": programme_id,
                                                                               "title": "besar"})
        assert r.status_code == 413 and r.json()["field"] == "file", r.text
        # declared at 6 MB: refused before a byte of it is read
        head = await declared_only(url, f"/cities/{CITY}/admin/material-files?programme_id={programme_id}&title=x",
                                   6 * 1024 * 1024, admin["Authorization"])
        assert head.startswith(b"HTTP/1.1 413"), head
        r = await client.post(upload, headers=admin, content=b"", params={"programme_id": programme_id,
                                                                          "title": "kosong"})
        assert r.status_code == 422, r.text
        r = await client.post(f"{url}/cities/{CITY}/admin/material-files", content=PDF,
                              headers={**platform.headers("cimahi", "city_admin"), "Content-Type": "application/pdf"},
                              params={"programme_id": programme_id, "title": "lain kota"})
        assert r.status_code == 403, r.text
        r = await client.get(f"{url}/cities/{CITY}/admin/programmes/{programme_id}", headers=admin)
        titles = sorted(m["title"] for m in r.json()["materials"])
        assert titles == ["Modul QRIS (PDF)", "Panduan QRIS", "Rekaman sesi"], titles
        audit = (await client.get(f"{url}/cities/{CITY}/audit", headers=admin,
                                  params={"entity": "material", "entity_id": pdf_id})).json()
        assert audit[0]["action"] == "added" and audit[0]["after"]["content_type"] == "application/pdf", audit

        # who may download: the booked participant, the trainer, the admin; not a stranger, not anonymous
        person = await _register(client, url, city=CITY)
        stranger = await _register(client, url, city=CITY)
        r = await client.post(f"{url}/cities/{CITY}/sessions/{session_id}/enrolments", headers=person["headers"])
        assert r.status_code == 201, r.text
        file_url = f"{url}/cities/{CITY}/materials/{pdf_id}/file"
        for headers in (person["headers"], s["trainer"], admin):
            r = await client.get(file_url, headers=headers)
            assert r.status_code == 200 and r.content == PDF, r.text
            assert r.headers["content-type"] == "application/pdf"
        for headers, status in ((stranger["headers"], 404), ({}, 401), (platform.headers("cimahi", "city_admin"), 403)):
            r = await client.get(file_url, headers=headers)
            assert r.status_code == status, (headers, r.status_code)
        listed = (await client.get(f"{url}/cities/{CITY}/sessions/{session_id}/materials",
                                   headers=person["headers"])).json()["materials"]
        print("participant sees:", [m["title"] for m in listed])
        # before the session ended, no recording for the participant
        assert sorted(m["title"] for m in listed) == ["Modul QRIS (PDF)", "Panduan QRIS"]
        r = await client.get(f"{url}/cities/{CITY}/sessions/{session_id}/materials", headers=stranger["headers"])
        assert r.status_code == 404


async def test_tegal_demo_has_bank_indonesia_qris_materials(platform: Platform) -> None:
    from shared.ids import demo_id

    url = platform.url("learning")
    admin = platform.headers(CITY, "city_admin")
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.get(f"{url}/cities/{CITY}/admin/programmes/{demo_id('programme', CITY, 'qris-umkm-tegal')}",
                             headers=admin)
        assert r.status_code == 200, r.text
        kinds = sorted(m["kind"] for m in r.json()["materials"])
        assert kinds == ["file", "link", "recording"], r.json()["materials"]
        pdf = next(m for m in r.json()["materials"] if m["kind"] == "file")
        r = await client.get(f"{url}{pdf['download_path']}", headers=admin)
        assert r.status_code == 200 and r.content.startswith(b"%PDF-"), r.status_code
