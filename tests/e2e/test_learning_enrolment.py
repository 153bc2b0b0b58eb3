"""Learning on the real platform: no overbooking under concurrency, exact waitlist promotion, check-in rules,
certificate verification that reveals nothing private, and the bad inputs of issue 6."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.provision import service_database_url
from learning import domain
from shared.ids import demo_id
from tests.conftest import Platform, eventually
from tests.learning.kafka_tools import read_topic, unique_events
from tests.tokens import mint

pytestmark = pytest.mark.integration

CITY = "cimahi"


def _phone() -> str:
    return "0857" + str(uuid.uuid4().int)[:8]


async def _register(client: httpx.AsyncClient, url: str, city: str = CITY, group: str = "umum",
                    rw: str = "03", kelurahan: str = "Cibabat", phone: str | None = None) -> dict[str, Any]:
    r = await client.post(f"{url}/cities/{city}/participants/register",
                          json={"name": f"Peserta {uuid.uuid4().hex[:6]}", "phone": phone or _phone(),
                                "group": group, "rw": rw, "kelurahan": kelurahan})
    assert r.status_code == 201, r.text
    body = r.json()
    body["token"] = mint(city, "participant", sub=body["participant"]["subject"])  # as identity would sign it
    body["headers"] = {"Authorization": f"Bearer {body['token']}"}
    return body


async def _programme_with_sessions(client: httpx.AsyncClient, platform: Platform, *, capacity: int,
                                   starts: list[datetime], style: str = "webinar",
                                   length: timedelta = timedelta(hours=1)) -> tuple[str, list[str], dict]:
    url, admin = platform.url("learning"), platform.headers(CITY, "city_admin")
    subject = f"trainer-{uuid.uuid4().hex[:8]}"
    r = await client.post(f"{url}/cities/{CITY}/admin/trainers", headers=admin,
                          json={"name": "Pelatih Uji", "subject": subject})
    assert r.status_code == 201, r.text
    trainer_id = r.json()["trainer_id"]
    r = await client.post(f"{url}/cities/{CITY}/admin/programmes", headers=admin,
                          json={"title": f"Program Uji {uuid.uuid4().hex[:6]}", "style": style,
                                "partner": "Bank Indonesia", "modules": ["Literasi digital & QRIS"]})
    assert r.status_code == 201, r.text
    programme_id = r.json()["programme_id"]
    session_ids = []
    for i, start in enumerate(starts):
        r = await client.post(f"{url}/cities/{CITY}/admin/programmes/{programme_id}/sessions", headers=admin,
                              json={"title": f"Sesi {i + 1}", "starts_at": start.isoformat(),
                                    "ends_at": (start + length).isoformat(), "capacity": capacity,
                                    "meeting_link": "https://meet.example.id/uji", "trainer_id": trainer_id})
        assert r.status_code == 201, r.text
        session_ids.append(r.json()["session_id"])
    return programme_id, session_ids, platform.headers(CITY, "trainer", sub=subject)


async def test_capacity_30_and_100_concurrent_enrolments_then_exact_promotions(platform: Platform) -> None:
    url = platform.url("learning")
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=120)) as client:
        _, (session_id,), trainer = await _programme_with_sessions(
            client, platform, capacity=30, starts=[datetime.now(UTC) + timedelta(days=2)])
        people = [await _register(client, url) for _ in range(100)]

        answers = await asyncio.gather(*(
            client.post(f"{url}/cities/{CITY}/sessions/{session_id}/enrolments", headers=p["headers"])
            for p in people))
        assert [a.status_code for a in answers] == [201] * 100, [a.text for a in answers if a.status_code != 201]
        statuses = Counter(a.json()["status"] for a in answers)
        assert statuses == {"booked": 30, "waitlisted": 70}

        roster = (await client.get(f"{url}/cities/{CITY}/trainer/sessions/{session_id}/roster",
                                   headers=trainer)).json()["roster"]
        waitlist = sorted((e for e in roster if e["status"] == "waitlisted"), key=lambda e: e["waitlist_position"])
        assert [e["waitlist_position"] for e in waitlist] == list(range(1, 71))
        booked = [e for e in roster if e["status"] == "booked"]
        assert len(booked) == 30
        token_of = {p["participant"]["participant_id"]: p["headers"] for p in people}

        cancelling = booked[:5]
        cancels = await asyncio.gather(*(
            client.post(f"{url}/cities/{CITY}/enrolments/{e['enrolment_id']}/cancel",
                        headers=token_of[e["participant_id"]]) for e in cancelling))
        assert [c.status_code for c in cancels] == [200] * 5
        # cancelling again changes nothing
        again = await client.post(f"{url}/cities/{CITY}/enrolments/{cancelling[0]['enrolment_id']}/cancel",
                                  headers=token_of[cancelling[0]["participant_id"]])
        assert again.status_code == 409

        roster = (await client.get(f"{url}/cities/{CITY}/trainer/sessions/{session_id}/roster",
                                   headers=trainer)).json()["roster"]
        now_booked = {e["enrolment_id"] for e in roster if e["status"] == "booked"}
        first_five = {e["enrolment_id"] for e in waitlist[:5]}
        assert len(now_booked) == 30
        assert first_five <= now_booked
        assert sum(1 for e in roster if e["status"] == "waitlisted") == 65
        session = (await client.get(f"{url}/cities/{CITY}/sessions/{session_id}")).json()
        assert session["seats_taken"] == 30 and session["seats_left"] == 0 and session["waitlisted"] == 65

    async def events_of_session() -> dict[str, list[str]] | None:
        envs = unique_events(await read_topic(platform.infra.bootstrap, "learning.enrolment.v1"))
        mine = [e for e in envs if e["payload"].get("session_id") == session_id]
        by_type: dict[str, list[str]] = {}
        for e in mine:
            by_type.setdefault(e["event_type"], []).append(e["payload"]["enrolment_id"])
        done = (len(by_type.get("EnrolmentBooked", [])) == 30 and len(by_type.get("EnrolmentPromoted", [])) >= 5
                and len(by_type.get("EnrolmentCancelled", [])) == 5)
        return by_type if done else None

    by_type = await eventually(events_of_session, timeout=60, interval=1, what="enrolment events on Kafka")
    assert len(by_type["EnrolmentWaitlisted"]) == 70 and len(set(by_type["EnrolmentWaitlisted"])) == 70
    assert sorted(by_type["EnrolmentPromoted"]) == sorted(first_five)  # each promoted exactly once
    assert set(by_type["EnrolmentCancelled"]) == {e["enrolment_id"] for e in cancelling}


async def test_check_in_rules_certificate_and_public_verification(platform: Platform) -> None:
    url = platform.url("learning")
    soon = datetime.now(UTC) + timedelta(minutes=3)
    later = datetime.now(UTC) + timedelta(days=3)
    async with httpx.AsyncClient(timeout=30) as client:
        # one trainer, back to back (a trainer cannot hold two sessions at once); both open for check-in now
        programme_id, (s1, s2), trainer = await _programme_with_sessions(
            client, platform, capacity=10, starts=[soon, soon + timedelta(minutes=10)], length=timedelta(minutes=10))
        _, (far,), _ = await _programme_with_sessions(client, platform, capacity=10, starts=[later])
        phone = _phone()
        p = await _register(client, url, group="pelaku_usaha", phone=phone)
        other = await _register(client, url)
        for sid in (s1, s2, far):
            r = await client.post(f"{url}/cities/{CITY}/sessions/{sid}/enrolments", headers=p["headers"])
            assert r.status_code == 201 and r.json()["status"] == "booked", r.text
        twice = await client.post(f"{url}/cities/{CITY}/sessions/{s1}/enrolments", headers=p["headers"])
        assert twice.status_code == 409 and twice.headers["content-type"].startswith("application/problem+json")

        code = (await client.get(f"{url}/cities/{CITY}/trainer/sessions/{s1}/check-in-code", headers=trainer)).json()
        assert len(code["code"]) == 6 and code["check_in_open"] is True
        png = await client.get(f"{url}/cities/{CITY}/trainer/sessions/{s1}/check-in-code.png", headers=trainer)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")

        # wrong code, expired code (three minutes old), outside the session's time → 4xx, nothing recorded
        wrong = f"{(int(png.headers['x-check-in-code']) + 1) % 1_000_000:06d}"
        r = await client.post(f"{url}/cities/{CITY}/sessions/{s1}/check-in", headers=p["headers"],
                              json={"code": wrong})
        assert r.status_code == 422 and r.json()["type"].endswith("wrong-check-in-code")
        conn = await asyncpg.connect(service_database_url(platform.infra.admin_url, "learning"))
        try:
            secret = await conn.fetchval("SELECT checkin_secret FROM learning.sessions WHERE session_id = $1", s1)
        finally:
            await conn.close()
        now = datetime.now(UTC)
        expired = domain.check_in_code(secret, now - timedelta(minutes=3))
        if not domain.verify_check_in_code(secret, expired, now):  # (a one-in-a-million coincidence aside)
            r = await client.post(f"{url}/cities/{CITY}/sessions/{s1}/check-in", headers=p["headers"],
                                  json={"code": expired})
            assert r.status_code == 422
        far_code = (await client.get(f"{url}/cities/{CITY}/trainer/sessions/{far}/check-in-code",
                                     headers=platform.headers(CITY, "city_admin"))).json()
        assert far_code["check_in_open"] is False
        r = await client.post(f"{url}/cities/{CITY}/sessions/{far}/check-in", headers=p["headers"],
                              json={"code": far_code["code"]})
        assert r.status_code == 409 and r.json()["type"].endswith("check-in-closed")
        mine = (await client.get(f"{url}/cities/{CITY}/me/enrolments", headers=p["headers"])).json()["enrolments"]
        assert {e["status"] for e in mine} == {"booked"}

        # somebody else cannot check in without an enrolment, nor cancel mine, nor see my enrolments
        r = await client.post(f"{url}/cities/{CITY}/sessions/{s1}/check-in", headers=other["headers"],
                              json={"code": png.headers["x-check-in-code"]})
        assert r.status_code in (409, 422)
        r = await client.post(f"{url}/cities/{CITY}/enrolments/{mine[0]['enrolment_id']}/cancel",
                              headers=other["headers"])
        assert r.status_code == 404
        assert (await client.get(f"{url}/cities/{CITY}/me/enrolments", headers=other["headers"])).json() == \
            {"enrolments": []}
        # another trainer does not see this session's roster
        stranger = platform.headers(CITY, "trainer", sub="demo-trainer-cimahi-1")
        r = await client.get(f"{url}/cities/{CITY}/trainer/sessions/{s1}/roster", headers=stranger)
        assert r.status_code == 403

        # attend: by the current code for s1, marked by the trainer for s2 → certificate
        current = (await client.get(f"{url}/cities/{CITY}/trainer/sessions/{s1}/check-in-code",
                                    headers=trainer)).json()["code"]
        r = await client.post(f"{url}/cities/{CITY}/sessions/{s1}/check-in", headers=p["headers"],
                              json={"code": current})
        assert r.status_code == 200 and r.json()["status"] == "attended", r.text
        assert (await client.get(f"{url}/cities/{CITY}/me/certificates", headers=p["headers"])).json() == \
            {"certificates": []}
        roster = (await client.get(f"{url}/cities/{CITY}/trainer/sessions/{s2}/roster", headers=trainer)).json()
        enrolment = next(e for e in roster["roster"] if e["participant_id"] == p["participant"]["participant_id"])
        r = await client.post(f"{url}/cities/{CITY}/trainer/sessions/{s2}/attendance", headers=trainer,
                              json={"enrolment_id": enrolment["enrolment_id"], "attended": True})
        assert r.status_code == 200 and r.json()["certificate_code"], r.text
        certificates = (await client.get(f"{url}/cities/{CITY}/me/certificates",
                                         headers=p["headers"])).json()["certificates"]
        assert len(certificates) == 1 and certificates[0]["programme_id"] == programme_id
        cert_code = certificates[0]["code"]

        # marking again issues nothing new
        r = await client.post(f"{url}/cities/{CITY}/trainer/sessions/{s2}/attendance", headers=trainer,
                              json={"enrolment_id": enrolment["enrolment_id"], "attended": True})
        assert r.status_code == 200 and r.json()["changed"] is False

        public = await client.get(f"{url}/certificates/{cert_code}")
        assert public.status_code == 200
        body = public.json()
        assert body["name"] == p["participant"]["name"] and body["city"] == CITY
        assert set(body) <= {"valid", "code", "name", "programme", "programme_style", "partner", "city",
                             "city_name", "issued_on"}
        assert phone not in public.text and phone[1:] not in public.text
        assert other["participant"]["name"] not in public.text
        missing = await client.get(f"{url}/certificates/ZZZZZZZZZZ")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")

    async def certificate_event() -> dict[str, Any] | None:
        envs = await read_topic(platform.infra.bootstrap, "learning.enrolment.v1")
        return next((e for e in envs if e["event_type"] == "CertificateIssued"
                     and e["payload"]["certificate_code"] == cert_code), None)

    event = await eventually(certificate_event, timeout=60, interval=1, what="CertificateIssued on Kafka")
    assert event["city"] == CITY
    assert event["payload"]["participant_group"] == "pelaku_usaha"
    assert event["payload"]["programme_style"] == "webinar"
    assert event["payload"]["participant_phone"] == phone


async def test_bad_enrolments_change_nothing(platform: Platform) -> None:
    url = platform.url("learning")
    async with httpx.AsyncClient(timeout=30) as client:
        p = await _register(client, url)
        past_session = demo_id("session", CITY, "jualan-online-pkk", "s1")   # a demo session already held
        r = await client.post(f"{url}/cities/{CITY}/sessions/{past_session}/enrolments", headers=p["headers"])
        assert r.status_code == 409 and r.json()["type"].endswith("session-started")
        # a Tegal session through Cimahi's path is not found; a Cimahi token on Tegal's path is refused
        tegal_session = demo_id("session", "tegal", "qris-umkm-tegal", "s2")
        r = await client.post(f"{url}/cities/{CITY}/sessions/{tegal_session}/enrolments", headers=p["headers"])
        assert r.status_code == 404
        r = await client.post(f"{url}/cities/tegal/sessions/{tegal_session}/enrolments", headers=p["headers"])
        assert r.status_code == 403
        r = await client.post(f"{url}/cities/atlantis/sessions/{tegal_session}/enrolments", headers=p["headers"])
        assert r.status_code in (403, 404)
        r = await client.post(f"{url}/cities/{CITY}/participants/register",
                              json={"name": "X", "phone": "12", "group": "alien"})
        assert r.status_code == 422
        dup = await client.post(f"{url}/cities/{CITY}/participants/register",
                                json={"name": "Dua Kali", "phone": p["participant"]["phone"], "group": "umum"})
        assert dup.status_code == 409
        assert (await client.get(f"{url}/cities/{CITY}/me/enrolments", headers=p["headers"])).json() == \
            {"enrolments": []}
        # demo data is there: programmes of both styles, certificates already issued
        progs = (await client.get(f"{url}/cities/tegal/programmes")).json()["programmes"]
        assert progs and "webinar" in {pr["style"] for pr in progs} <= {"webinar", "hybrid"}   # Tegal's way
        assert any(pr["partner"] == "Bank Indonesia" for pr in progs)
        report = (await client.get(f"{url}/cities/{CITY}/admin/reports/programmes",
                                   headers=platform.headers(CITY, "city_admin"))).json()
        certificates = {r["programme_id"]: r["certificates"] for r in report["programmes"]}
        assert certificates[demo_id("programme", CITY, "jualan-online-pkk")] > 0
        # its second required session is still to come: nobody has completed it yet
        assert certificates[demo_id("programme", CITY, "foto-produk-ponsel")] == 0
        funnel = (await client.get(f"{url}/cities/{CITY}/admin/reports/funnel",
                                   headers=platform.headers(CITY, "city_admin"))).json()
        assert len(funnel["by_rw"]) >= 6 and len(funnel["by_group"]) == 6
        assert funnel["total"]["enrolled"] >= funnel["total"]["attended"] >= funnel["total"]["certified"] > 0


async def test_booked_seats_without_attendance_become_no_shows(platform: Platform) -> None:
    """The no-show sweep (run every minute by the service) on a session moved into the past."""
    from learning import handlers
    from learning.store import LearningStore
    from shared.uow import PgUnitOfWork

    url = platform.url("learning")
    async with httpx.AsyncClient(timeout=30) as client:
        _, (session_id,), trainer = await _programme_with_sessions(
            client, platform, capacity=1, starts=[datetime.now(UTC) + timedelta(days=1)])
        first, second = await _register(client, url), await _register(client, url)
        booked = (await client.post(f"{url}/cities/{CITY}/sessions/{session_id}/enrolments",
                                    headers=first["headers"])).json()
        waiting = (await client.post(f"{url}/cities/{CITY}/sessions/{session_id}/enrolments",
                                     headers=second["headers"])).json()
        assert (booked["status"], waiting["status"]) == ("booked", "waitlisted")
        conn = await asyncpg.connect(service_database_url(platform.infra.admin_url, "learning"),
                                     server_settings={"search_path": "learning"})
        try:
            await conn.execute("UPDATE sessions SET starts_at = now() - interval '3 hours',"
                               " ends_at = now() - interval '2 hours' WHERE session_id = $1", session_id)
            async with conn.transaction():   # the periodic job, run once in a unit of work of its own
                uow = PgUnitOfWork(conn, LearningStore(conn), city=None)
                assert await handlers.mark_no_shows(uow, now=datetime.now(UTC)) >= 1
                await uow.flush()
            assert await conn.fetchval("SELECT count(*) FROM enrolments WHERE session_id = $1"
                                       " AND status = 'booked'", session_id) == 0
        finally:
            await conn.close()
        roster = (await client.get(f"{url}/cities/{CITY}/trainer/sessions/{session_id}/roster",
                                   headers=trainer)).json()["roster"]
        assert {e["enrolment_id"]: e["status"] for e in roster} == {booked["enrolment_id"]: "no_show",
                                                                    waiting["enrolment_id"]: "waitlisted"}
        detail = (await client.get(f"{url}/cities/{CITY}/admin/enrolments/{booked['enrolment_id']}",
                                   headers=platform.headers(CITY, "city_admin"))).json()
        assert [(h["from"], h["to"]) for h in detail["history"]] == [(None, "booked"), ("booked", "no_show")]
        # the trainer corrects it: attended after all
        r = await client.post(f"{url}/cities/{CITY}/trainer/sessions/{session_id}/attendance", headers=trainer,
                              json={"enrolment_id": booked["enrolment_id"], "attended": True})
        assert r.status_code == 200 and r.json()["status"] == "attended"
