"""Attendance on the real platform (issue #13): Zoom and Google Meet reports with the minimum-minutes rule, an
unmatched row matched by hand, hybrid attendance counted once, a no-show corrected into a certificate, roster
messages and waitlist promotions reaching the participants' phones (notifications simulator), cancellation
after the start refused, the audit list, and bad files / other cities / wrong roles refused with nothing stored."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.provision import service_database_url
from learning import domain
from tests.conftest import Platform, eventually
from tests.e2e.test_money_delivery_hostile import declared_only
from tests.tokens import mint

pytestmark = pytest.mark.integration

CITY = "cimahi"


def _phone() -> str:
    return "0857" + str(uuid.uuid4().int)[:8]


async def _person(client: httpx.AsyncClient, url: str, name: str) -> dict[str, Any]:
    phone = _phone()
    r = await client.post(f"{url}/cities/{CITY}/participants/register",
                          json={"name": name, "phone": phone, "group": "pelaku_usaha", "rw": "03",
                                "kelurahan": "Cibabat"})
    assert r.status_code == 201, r.text
    body = r.json()["participant"]
    token = mint(CITY, "participant", sub=body["subject"])
    return {**body, "phone": phone, "headers": {"Authorization": f"Bearer {token}"}}


async def _session(client: httpx.AsyncClient, platform: Platform, *, capacity: int, style: str = "hybrid",
                   trainer_subject: str | None = None) -> tuple[str, str, dict[str, str]]:
    url, admin = platform.url("learning"), platform.headers(CITY, "city_admin")
    subject = trainer_subject or f"trainer-{uuid.uuid4().hex[:8]}"
    r = await client.post(f"{url}/cities/{CITY}/admin/trainers", headers=admin,
                          json={"name": "Bu Pelatih", "subject": subject})
    assert r.status_code == 201, r.text
    trainer_id = r.json()["trainer_id"]
    r = await client.post(f"{url}/cities/{CITY}/admin/programmes", headers=admin,
                          json={"title": f"Webinar Uji {uuid.uuid4().hex[:6]}", "style": style,
                                "partner": "Bank Indonesia", "modules": ["Literasi digital & QRIS"]})
    programme_id = r.json()["programme_id"]
    start = datetime.now(UTC) + timedelta(days=2)
    r = await client.post(f"{url}/cities/{CITY}/admin/programmes/{programme_id}/sessions", headers=admin,
                          json={"title": "Sesi daring", "starts_at": start.isoformat(),
                                "ends_at": (start + timedelta(minutes=90)).isoformat(), "capacity": capacity,
                                "meeting_link": "https://meet.example.id/uji", "trainer_id": trainer_id})
    assert r.status_code == 201, r.text
    return programme_id, r.json()["session_id"], platform.headers(CITY, "trainer", sub=subject)


async def _enrol(client: httpx.AsyncClient, url: str, session_id: str, person: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(f"{url}/cities/{CITY}/sessions/{session_id}/enrolments", headers=person["headers"])
    assert r.status_code == 201, r.text
    return dict(r.json())


def _upload(csv_text: str | bytes, filename: str = "participants.csv", **extra: Any) -> dict[str, Any]:
    raw = csv_text.encode() if isinstance(csv_text, str) else csv_text
    return {"filename": filename, "content_base64": base64.b64encode(raw).decode(), **extra}


async def _messages(platform: Platform, phone: str, template: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as c:
        r = await c.get(f"{platform.url('notifications')}/dev/messages", params={"phone": phone})
    return [m for m in r.json().get("messages", []) if m["template"] == template] if r.status_code == 200 else []


async def test_reports_matching_hybrid_no_show_messages_and_audit(platform: Platform) -> None:
    url = platform.url("learning")
    conn = await asyncpg.connect(service_database_url(platform.infra.admin_url, "learning"))
    async with httpx.AsyncClient(timeout=60) as client:
        programme_id, session_id, trainer = await _session(client, platform, capacity=6)
        siti = await _person(client, url, "Siti Aminah")      # checks in with the code and is in the report
        budi = await _person(client, url, "Budi Santoso")     # too short in Zoom, long enough under Meet's rule
        rina = await _person(client, url, "Rina Wulandari")   # her phone in her Zoom display name
        eko = await _person(client, url, "Eko Prasetyo")      # joined as "HP Samsung": matched by hand
        fitri = await _person(client, url, "Fitri Handayani")  # marked no-show, then corrected
        enrolments = {p["name"]: (await _enrol(client, url, session_id, p))["enrolment_id"]
                      for p in (siti, budi, rina, eko, fitri)}
        base = f"{url}/cities/{CITY}/trainer/sessions/{session_id}"

        # Before the session started: no import.
        r = await client.post(f"{base}/attendance-reports", headers=trainer, json=_upload("Name,Duration\nA,50\n"))
        assert r.status_code == 409, r.text

        await conn.execute("UPDATE sessions SET starts_at = now() - interval '60 minutes',"
                           " ends_at = now() + interval '30 minutes' WHERE session_id = $1", session_id)
        # Cancelling after the start is refused with a clear message.
        r = await client.post(f"{url}/cities/{CITY}/enrolments/{enrolments['Budi Santoso']}/cancel",
                              headers=budi["headers"])
        assert r.status_code == 409 and "sudah dimulai" in r.json()["detail"], r.text
        secret = await conn.fetchval("SELECT checkin_secret FROM sessions WHERE session_id = $1", session_id)
        r = await client.post(f"{url}/cities/{CITY}/sessions/{session_id}/check-in", headers=siti["headers"],
                              json={"code": domain.check_in_code(secret, datetime.now(UTC))})
        assert r.status_code == 200, r.text
        certificates_after_check_in = await conn.fetchval(
            "SELECT count(*) FROM certificates WHERE programme_id = $1", programme_id)
        assert certificates_after_check_in == 1

        zoom = ("Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
                "Siti Aminah,,12/02/2026 10:00:00 AM,12/02/2026 10:50:00 AM,50,Yes\n"
                "Budi Santoso,,12/02/2026 10:00:00 AM,12/02/2026 10:20:00 AM,20,Yes\n"
                f"Rina {rina['phone']},,12/02/2026 10:00:00 AM,12/02/2026 10:40:00 AM,40,Yes\n"
                f"Rina {rina['phone']},,12/02/2026 10:45:00 AM,12/02/2026 11:00:00 AM,15,Yes\n"
                "HP Samsung,eko.p@example.id,12/02/2026 10:00:00 AM,12/02/2026 11:00:00 AM,60,Yes\n")
        r = await client.post(f"{base}/attendance-reports", headers=trainer, json=_upload(zoom))
        assert r.status_code == 201, r.text
        summary = r.json()
        print("zoom import:", summary)
        assert (summary["platform"], summary["min_minutes"]) == ("zoom", 45)        # 90-minute session → 45
        assert {k: summary[k] for k in ("recorded", "already_attended", "too_short", "unmatched")} == {
            "recorded": 1, "already_attended": 1, "too_short": 1, "unmatched": 1}

        # Hybrid: Siti checked in with the code and is in the report → one attendance, one certificate.
        assert await conn.fetchval("SELECT count(*) FROM attendance WHERE enrolment_id = $1",
                                   enrolments["Siti Aminah"]) == 1
        assert await conn.fetchval("SELECT method FROM attendance WHERE enrolment_id = $1",
                                   enrolments["Siti Aminah"]) == "check_in_code"
        assert await conn.fetchval("SELECT method FROM attendance WHERE enrolment_id = $1",
                                   enrolments["Rina Wulandari"]) == "report"     # 40 + 15 rejoined = 55
        assert await conn.fetchval("SELECT count(*) FROM certificates WHERE programme_id = $1"
                                   " AND participant_id = $2", programme_id, siti["participant_id"]) == 1

        # The unmatched row, matched by hand to Eko: attended, certificate, his email remembered.
        reports = (await client.get(f"{base}/attendance-reports", headers=trainer)).json()
        (row,) = reports["unmatched"]
        assert row["name"] == "HP Samsung" and row["qualifies"]
        r = await client.post(f"{base}/attendance-reports/{row['import_id']}/rows/{row['row_no']}/match",
                              headers=trainer, json={"enrolment_id": enrolments["Eko Prasetyo"]})
        assert r.status_code == 200 and r.json()["outcome"] == "recorded", r.text
        r = await client.post(f"{base}/attendance-reports/{row['import_id']}/rows/{row['row_no']}/match",
                              headers=trainer, json={"enrolment_id": enrolments["Eko Prasetyo"]})
        assert r.status_code == 409                                                   # matched once
        assert await conn.fetchval("SELECT email FROM participants WHERE participant_id = $1",
                                   eko["participant_id"]) == "eko.p@example.id"
        assert (await client.get(f"{base}/attendance-reports", headers=trainer)).json()["unmatched"] == []

        # Google Meet's report with a 30-minute rule: Budi's 35 minutes now count; Eko matched by his email.
        meet = ("First name,Last name,Email,Duration,Time joined,Time exited\n"
                "Budi,Santoso,,35 min,10:00 AM,10:35 AM\n"
                "Eko,P,eko.p@example.id,1 hr,10:00 AM,11:00 AM\n")
        r = await client.post(f"{base}/attendance-reports", headers=trainer,
                              json=_upload(b"\xef\xbb\xbf" + meet.encode(), "meet.csv", min_minutes=30))
        assert r.status_code == 201, r.text
        print("meet import:", r.json())
        assert {k: r.json()[k] for k in ("platform", "recorded", "already_attended", "unmatched")} == {
            "platform": "meet", "recorded": 1, "already_attended": 1, "unmatched": 0}

        # No-show corrected: Fitri marked absent, then attended → certificate as if she had checked in.
        r = await client.post(f"{base}/attendance", headers=trainer,
                              json={"enrolment_id": enrolments["Fitri Handayani"], "attended": False})
        assert r.status_code == 200 and r.json()["status"] == "no_show", r.text
        r = await client.post(f"{base}/attendance", headers=trainer,
                              json={"enrolment_id": enrolments["Fitri Handayani"], "attended": True})
        assert r.status_code == 200 and r.json()["status"] == "attended" and r.json()["certificate_code"], r.text
        assert await conn.fetchval("SELECT count(*) FROM certificates WHERE programme_id = $1", programme_id) == 5

        # The roster in Indonesian words, and a message to everyone with a seat.
        roster = (await client.get(f"{base}/roster", headers=trainer)).json()["roster"]
        assert {r["status"] for r in roster} == {"attended"}
        r = await client.post(f"{base}/messages", headers=trainer,
                              json={"text": "Terima kasih sudah hadir! Materi ada di portal."})
        assert r.status_code == 201 and r.json()["recipients"] == 5, r.text

        async def told() -> list[dict[str, Any]]:
            got = [m for p in (siti, rina) for m in await _messages(platform, p["phone"], "trainer_message")]
            return got if len(got) >= 2 else []

        got = await eventually(told, timeout=60)
        assert len(got) == 2 and all("Materi ada di portal" in m["text"] for m in got), got

        # The audit list: imports, the manual match, the no-show correction, the message — with before/after.
        audit = (await client.get(f"{url}/cities/{CITY}/audit", headers=platform.headers(CITY, "city_admin"),
                                  params={"entity": "enrolment",
                                          "entity_id": enrolments["Fitri Handayani"]})).json()
        assert [e["action"] for e in audit] == ["no_show_corrected", "marked_no_show"]
        assert audit[0]["before"] == {"status": "no_show"} and audit[0]["after"]["status"] == "attended"
        history = (await client.get(f"{base}/history", headers=trainer)).json()["entries"]
        actions = [h["action"] for h in history]
        print("history:", actions)
        assert actions.count("imported") == 2 and "row_matched" in actions and "roster_messaged" in actions
        matched = next(h for h in history if h["action"] == "row_matched")
        assert matched["before"]["enrolment_id"] is None
        assert matched["after"]["enrolment_id"] == enrolments["Eko Prasetyo"]

        # Own certificate for the PDF: one's own only.
        code = await conn.fetchval("SELECT code FROM certificates WHERE participant_id = $1", siti["participant_id"])
        r = await client.get(f"{url}/cities/{CITY}/me/certificates/{code}", headers=siti["headers"])
        assert r.status_code == 200 and r.json()["name"] == "Siti Aminah" and r.json()["city_name"]
        r = await client.get(f"{url}/cities/{CITY}/me/certificates/{code}", headers=budi["headers"])
        assert r.status_code == 404

    await conn.close()


async def test_cancel_promotes_the_waitlist_and_the_promoted_is_told(platform: Platform) -> None:
    url = platform.url("learning")
    async with httpx.AsyncClient(timeout=60) as client:
        _, session_id, _ = await _session(client, platform, capacity=1)
        first, second = await _person(client, url, "Dewi Lestari"), await _person(client, url, "Agus Salim")
        booked = await _enrol(client, url, session_id, first)
        waiting = await _enrol(client, url, session_id, second)
        assert (booked["status"], waiting["status"]) == ("booked", "waitlisted")
        r = await client.post(f"{url}/cities/{CITY}/enrolments/{waiting['enrolment_id']}/cancel",
                              headers=first["headers"])
        assert r.status_code == 404                     # someone else's enrolment
        r = await client.post(f"{url}/cities/{CITY}/enrolments/{booked['enrolment_id']}/cancel",
                              headers=first["headers"])
        assert r.status_code == 200, r.text
        mine = (await client.get(f"{url}/cities/{CITY}/me/enrolments", headers=second["headers"])).json()
        assert [e["status"] for e in mine["enrolments"]] == ["booked"]
        got = await eventually(lambda: _messages(platform, second["phone"], "enrolment_promoted"), timeout=60)
        assert len(got) == 1 and "ada kursi untuk Anda" in got[0]["text"]


async def test_bad_files_other_cities_and_wrong_roles_are_refused_and_nothing_is_stored(platform: Platform) -> None:
    url = platform.url("learning")
    conn = await asyncpg.connect(service_database_url(platform.infra.admin_url, "learning"))
    async with httpx.AsyncClient(timeout=60) as client:
        _, session_id, trainer = await _session(client, platform, capacity=3)
        person = await _person(client, url, "Yanti Susanti")
        await _enrol(client, url, session_id, person)
        await conn.execute("UPDATE sessions SET starts_at = now() - interval '60 minutes',"
                           " ends_at = now() + interval '30 minutes' WHERE session_id = $1", session_id)
        base = f"{url}/cities/{CITY}/trainer/sessions/{session_id}/attendance-reports"
        good = "Name,Duration\nYanti Susanti,50\n"
        bad = {
            "pdf": _upload(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "report.csv"),
            "xlsx by name": _upload(good, "report.xlsx"),
            "zip inside": _upload(b"PK\x03\x04" + b"\x00" * 40, "report.csv"),
            "not base64": {"filename": "r.csv", "content_base64": "@@@not base64@@@"},
            "no columns": _upload("foo,bar\n1,2\n"),
            "empty": _upload(b"    "),
            "too many minutes": _upload(good, min_minutes=100000),
            "too large": _upload(b"Name,Duration\n" + b"A,50\n" * 230_000),
            "unknown field": {**_upload(good), "session_id": "x"},
        }
        for label, body in bad.items():
            r = await client.post(base, headers=trainer, json=body)
            assert 400 <= r.status_code < 500, (label, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json"), label
        r = await client.post(base, headers={**trainer, "Content-Type": "application/json"},
                              content=b'{"filename": "a\\u0000.csv", "content_base64": "TmFtZQ=="}')
        assert 400 <= r.status_code < 500
        # a body declared over the route's 2 MiB limit is refused before a byte of it is read
        head = await declared_only(url, f"/cities/{CITY}/trainer/sessions/{session_id}/attendance-reports",
                                   3 * 1024 * 1024, trainer["Authorization"])
        assert head.startswith(b"HTTP/1.1 413"), head
        for label, headers in {
            "participant": person["headers"],
            "another trainer": platform.headers(CITY, "trainer", sub=f"trainer-{uuid.uuid4().hex[:6]}"),
            "tegal's admin": platform.headers("tegal", "city_admin"),
            "no token": {},
        }.items():
            r = await client.post(base, headers=headers, json=_upload(good))
            assert r.status_code in (401, 403, 404), (label, r.status_code, r.text)
            r = await client.post(f"{url}/cities/{CITY}/trainer/sessions/{session_id}/messages", headers=headers,
                                  json={"text": "halo"})
            assert r.status_code in (401, 403, 404), (label, r.status_code, r.text)
        r = await client.post(f"{url}/cities/tegal/trainer/sessions/{session_id}/attendance-reports",
                              headers=platform.headers("tegal", "city_admin"), json=_upload(good))
        assert r.status_code == 404                          # the session is not Tegal's
        for text in ("", " " * 20, "x" * 501):
            r = await client.post(f"{url}/cities/{CITY}/trainer/sessions/{session_id}/messages", headers=trainer,
                                  json={"text": text})
            assert r.status_code == 422, (text[:5], r.text)
        assert await conn.fetchval("SELECT count(*) FROM attendance_imports WHERE session_id = $1", session_id) == 0
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'attendance_import'"
                                   " AND after->>'session_id' = $1", session_id) == 0
        r = await client.post(base, headers=trainer, json=_upload(good))
        assert r.status_code == 201 and r.json()["recorded"] == 1, r.text
    await conn.close()
