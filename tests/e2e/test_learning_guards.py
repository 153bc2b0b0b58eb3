"""Issue #18 items 7 and 8 on the real platform, and issue #10's tracing through the portal:

- a self-registration cannot link itself to somebody else's vendor (only that vendor's account or an admin);
- check-in codes cannot be guessed: 5 wrong codes per participant and session lock that participant out
  (exactly, even when sent all at once), 50 in 10 minutes throttle the session; the trainer can still record;
- an enrolment made through the portal with ``X-Correlation-ID`` emits its event with that correlation id.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from deploy.provision import service_database_url
from tests.conftest import Platform, eventually
from tests.e2e.test_learning_enrolment import _phone, _programme_with_sessions, _register
from tests.learning.kafka_tools import read_topic

pytestmark = pytest.mark.integration

CITY = "cimahi"


async def test_self_registration_cannot_link_another_vendor(platform: Platform) -> None:
    url = platform.url("learning")
    victim = f"vendor-{uuid.uuid4().hex[:8]}"
    body = {"name": "Orang Asing", "phone": _phone(), "group": "pelaku_usaha", "vendor_id": victim}
    async with httpx.AsyncClient(timeout=30) as client:
        # anonymous, or with somebody else's token (a participant, another vendor, another city's vendor)
        for headers in ({}, platform.headers(CITY, "participant"),
                        platform.headers(CITY, "vendor", vendor_id=f"vendor-{uuid.uuid4().hex[:8]}"),
                        platform.headers("tegal", "vendor", vendor_id=victim),
                        platform.headers("tegal", "city_admin")):
            r = await client.post(f"{url}/cities/{CITY}/participants/register", json=body, headers=headers)
            assert r.status_code == 403, (headers, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["type"].endswith("vendor-link-unproven")
        # nothing was registered: the same phone still registers, without a vendor
        r = await client.post(f"{url}/cities/{CITY}/participants/register",
                              json={k: v for k, v in body.items() if k != "vendor_id"})
        assert r.status_code == 201 and r.json()["participant"]["vendor_id"] is None, r.text
        # the vendor's own account links itself; so may the city's admin
        for headers in (platform.headers(CITY, "vendor", vendor_id=victim), platform.headers(CITY, "city_admin")):
            r = await client.post(f"{url}/cities/{CITY}/participants/register", headers=headers,
                                  json={**body, "phone": _phone()})
            assert r.status_code == 201 and r.json()["participant"]["vendor_id"] == victim, r.text


async def test_check_in_codes_cannot_be_guessed(platform: Platform) -> None:
    url = platform.url("learning")
    soon = datetime.now(UTC) + timedelta(minutes=5)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=60)) as client:
        _, (session_id,), trainer = await _programme_with_sessions(client, platform, capacity=40, starts=[soon])
        people = [await _register(client, url) for _ in range(12)]
        for p in people:
            r = await client.post(f"{url}/cities/{CITY}/sessions/{session_id}/enrolments", headers=p["headers"])
            assert r.status_code == 201 and r.json()["status"] == "booked", r.text
        code_url = f"{url}/cities/{CITY}/trainer/sessions/{session_id}/check-in-code"
        right = (await client.get(code_url, headers=trainer)).json()["code"]
        wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
        check_in = f"{url}/cities/{CITY}/sessions/{session_id}/check-in"

        # 20 wrong codes at once from one participant: exactly 4 "wrong" answers, then locked out
        answers = await asyncio.gather(*(client.post(check_in, headers=people[0]["headers"], json={"code": wrong})
                                         for _ in range(20)))
        assert Counter(a.status_code for a in answers) == {422: 4, 429: 16}, [a.text for a in answers][:3]
        assert {a.json()["type"].rsplit("/", 1)[1] for a in answers if a.status_code == 429} == {"check-in-locked"}
        # locked: the right code no longer helps, but the trainer can still record the attendance
        right = (await client.get(code_url, headers=trainer)).json()["code"]
        r = await client.post(check_in, headers=people[0]["headers"], json={"code": right})
        assert r.status_code == 429, r.text
        roster = (await client.get(f"{url}/cities/{CITY}/trainer/sessions/{session_id}/roster",
                                   headers=trainer)).json()["roster"]
        mine = next(e for e in roster if e["participant_id"] == people[0]["participant"]["participant_id"])
        assert mine["status"] == "booked"
        r = await client.post(f"{url}/cities/{CITY}/trainer/sessions/{session_id}/attendance", headers=trainer,
                              json={"enrolment_id": mine["enrolment_id"], "attended": True})
        assert r.status_code == 200 and r.json()["status"] == "attended", r.text

        # nine more guessers with five wrong codes each: 50 in the window → the session is throttled
        await asyncio.gather(*(client.post(check_in, headers=p["headers"], json={"code": wrong})
                               for p in people[1:10] for _ in range(5)))
        right = (await client.get(code_url, headers=trainer)).json()["code"]
        r = await client.post(check_in, headers=people[10]["headers"], json={"code": right})
        assert r.status_code == 429 and r.json()["type"].endswith("check-in-throttled"), r.text

    conn = await asyncpg.connect(service_database_url(platform.infra.admin_url, "learning"))
    try:
        failures = await conn.fetchval("SELECT count(*) FROM learning.check_in_failures WHERE session_id = $1",
                                       session_id)
    finally:
        await conn.close()
    assert failures == 50   # counted and kept (committed although the request was refused)


async def test_enrolment_through_the_portal_carries_the_request_correlation_id(platform: Platform) -> None:
    url, portal = platform.url("learning"), platform.url("portal")
    correlation_id = str(uuid.uuid4())
    async with httpx.AsyncClient(timeout=30) as client:
        _, (session_id,), _ = await _programme_with_sessions(client, platform, capacity=5,
                                                             starts=[datetime.now(UTC) + timedelta(days=2)])
        p = await _register(client, url)
        async with httpx.AsyncClient(base_url=portal, timeout=30, cookies={"pk_token": p["token"]}) as browser:
            r = await browser.post(f"/kota/{CITY}/pelatihan/sesi/{session_id}/daftar",
                                   headers={"X-Correlation-ID": correlation_id}, follow_redirects=False)
        assert r.status_code == 303, r.text
        assert r.headers["x-correlation-id"] == correlation_id
        mine = (await client.get(f"{url}/cities/{CITY}/me/enrolments", headers=p["headers"])).json()["enrolments"]
        assert [e["session_id"] for e in mine] == [session_id]

    async def booked() -> dict | None:
        envs = await read_topic(platform.infra.bootstrap, "learning.enrolment.v1")
        return next((e for e in envs if e["event_type"] == "EnrolmentBooked"
                     and e["payload"]["session_id"] == session_id), None)

    event = await eventually(booked, timeout=60, interval=1, what="EnrolmentBooked on Kafka")
    assert event["correlation_id"] == correlation_id
    assert event["payload"]["enrolment_id"] == mine[0]["enrolment_id"]
