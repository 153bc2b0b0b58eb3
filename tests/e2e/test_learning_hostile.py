"""Hostile and malformed input to learning's HTTP API: always a 4xx problem document, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Platform

pytestmark = pytest.mark.integration


def test_malformed_requests_are_4xx_problems(platform: Platform) -> None:
    url = platform.url("learning")
    participant = platform.headers("cimahi", "participant", sub="demo-participant-cimahi-2")
    admin = platform.headers("cimahi", "city_admin")
    trainer = platform.headers("cimahi", "trainer", sub="demo-trainer-cimahi-1")
    nul, long_id = "a\x00b", "x" * 5000
    cases: list[tuple[str, str, dict[str, str], object]] = [
        ("POST", "/cities/cimahi/participants/register", {}, {"name": nul, "phone": "081234567890",
                                                               "group": "umum"}),
        ("POST", "/cities/cimahi/participants/register", {}, {"name": "A" * 10_000, "phone": "0812", "group": "pkk"}),
        ("POST", "/cities/cimahi/participants/register", {}, ["not", "an", "object"]),
        ("POST", "/cities/cimahi/participants/register", {}, "{broken json"),
        ("POST", "/cities/cimahi/participants/register", {}, {"name": "Budi", "phone": "081234567890",
                                                               "group": "umum", "is_admin": True}),
        ("POST", "/cities/nowhere/participants/register", {}, {"name": "Budi", "phone": "081234567891",
                                                                "group": "umum"}),
        ("POST", "/cities/cimahi/sessions/%00/enrolments", participant, None),
        ("POST", f"/cities/cimahi/sessions/{long_id}/enrolments", participant, None),
        ("POST", "/cities/cimahi/sessions/no-such-session/enrolments", participant, None),
        ("POST", "/cities/cimahi/sessions/no-such-session/check-in", participant, {"code": nul}),
        ("POST", "/cities/cimahi/sessions/no-such-session/check-in", participant, {"code": "12ab56"}),
        ("POST", "/cities/cimahi/enrolments/%E2%98%83/cancel", participant, None),
        ("POST", "/cities/cimahi/sessions/x/enrolments", {"Authorization": "Bearer not.a.token"}, None),
        ("POST", "/cities/cimahi/sessions/x/enrolments", admin, None),
        ("GET", "/cities/cimahi/trainer/sessions/%00/roster", trainer, None),
        ("GET", "/cities/cimahi/trainer/sessions/nope/check-in-code.png", trainer, None),
        ("POST", "/cities/cimahi/trainer/sessions/nope/attendance", trainer, {"enrolment_id": nul}),
        ("POST", "/cities/cimahi/admin/programmes", admin, {"title": "Prog", "style": "telepathy"}),
        ("POST", "/cities/cimahi/admin/programmes", admin, {"title": nul * 3, "style": "webinar"}),
        ("POST", "/cities/cimahi/admin/programmes", admin, {"title": "Program", "style": "webinar",
                                                            "modules": [nul]}),
        ("POST", "/cities/cimahi/admin/programmes/nope/sessions", admin,
         {"title": "Sesi", "starts_at": "2030-01-01T10:00:00", "ends_at": "2030-01-01T09:00:00+07:00",
          "capacity": 10}),
        ("POST", "/cities/cimahi/admin/programmes/nope/sessions", admin,
         {"title": "Sesi", "starts_at": "2030-01-01T10:00:00+07:00", "ends_at": "2030-01-01T12:00:00+07:00",
          "capacity": -1}),
        ("POST", "/cities/cimahi/admin/programmes/nope/sessions", admin,
         {"title": "Sesi", "starts_at": "2030-01-01T10:00:00+07:00", "ends_at": "2030-01-01T12:00:00+07:00",
          "capacity": 10, "meeting_link": "https://x"}),
        ("POST", "/cities/cimahi/admin/trainers", admin, {"name": nul}),
        ("GET", "/cities/cimahi/admin/reports/funnel?style=telepathy", admin, None),
        ("GET", "/cities/cimahi/admin/reports/funnel?format=xml", admin, None),
        ("GET", "/cities/cimahi/sessions?programme_id=%00", {}, None),
        ("GET", "/certificates/%00", {}, None),
        ("GET", f"/certificates/{'A' * 3000}", {}, None),
        ("GET", "/certificates/%E2%98%83%E2%98%83%E2%98%83%E2%98%83", {}, None),
    ]
    with httpx.Client(base_url=url, timeout=15) as client:
        for method, path, headers, body in cases:
            if isinstance(body, str):
                r = client.request(method, path, headers={**headers, "content-type": "application/json"},
                                   content=body)
            else:
                r = client.request(method, path, headers=headers, json=body)
            assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:300])
            assert r.headers["content-type"].startswith("application/problem+json"), (path, r.text[:200])
        assert client.get("/healthz").status_code == 200
