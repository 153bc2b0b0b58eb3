"""Identity on the real platform: phone sign-in with a one-time code, its limits, refresh rotation and reuse.

Codes are read only through tests/codes.py (sealed ``SignInCodeIssued`` on identity.signin.v1), the way the
notifications service receives them.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from shared.events.identity import SIGNIN
from tests.codes import read_code
from tests.conftest import Platform
from tests.learning.kafka_tools import read_topic

pytestmark = pytest.mark.integration
CITY = "cimahi"


def new_phone() -> str:
    return "0813" + str(uuid.uuid4().int)[:8]


def other_address() -> dict[str, str]:
    """A client address of its own (the test process is a trusted proxy, like the portal)."""
    n = uuid.uuid4().int
    return {"X-Forwarded-For": f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250}"}


async def start(client: httpx.AsyncClient, url: str, phone: str, **kw: Any) -> httpx.Response:
    return await client.post(f"{url}/cities/{CITY}/sign-in/start", json={"phone": phone, **kw},
                             headers=other_address())


async def sign_in(client: httpx.AsyncClient, platform: Platform, phone: str, *, url: str | None = None,
                  **verify: Any) -> dict[str, Any]:
    """The whole sign-in of ``phone``: start, read the code, verify → tokens."""
    url = url or platform.url("identity")
    started = await start(client, url, phone)
    assert started.status_code == 202, started.text
    challenge_id = started.json()["challenge_id"]
    code = await read_code(platform.infra.bootstrap, challenge_id=challenge_id)
    r = await client.post(f"{url}/cities/{CITY}/sign-in/verify",
                          json={"challenge_id": challenge_id, "code": code, **verify})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_new_phone_signs_up_as_buyer_and_the_token_works_at_orders(platform: Platform) -> None:
    identity = platform.url("identity")
    phone = new_phone()
    async with httpx.AsyncClient(timeout=30) as client:
        started = await start(client, identity, "+62 " + phone[1:4] + "-" + phone[4:])  # the same phone, typed so
        assert started.status_code == 202, started.text
        body = started.json()
        assert set(body) == {"challenge_id", "expires_at", "phone", "resend_after_seconds"}  # never the code
        code = await read_code(platform.infra.bootstrap, challenge_id=body["challenge_id"])
        assert len(code) == 6 and code.isdigit()
        verified = await client.post(f"{identity}/cities/{CITY}/sign-in/verify",
                                     json={"challenge_id": body["challenge_id"], "code": code, "name": "Ibu Uji"})
        assert verified.status_code == 200, verified.text
        tokens = verified.json()
        assert tokens["roles"] == ["buyer"] and tokens["new_account"] is True and tokens["expires_in"] == 900
        me = await client.get(f"{identity}/cities/{CITY}/me",
                              headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert me.status_code == 200 and me.json()["phone"] == phone and me.json()["name"] == "Ibu Uji"
        orders = await client.get(f"{platform.url('orders')}/cities/{CITY}/orders",
                                  headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert orders.status_code == 200, orders.text
        # the code is used up
        again = await client.post(f"{identity}/cities/{CITY}/sign-in/verify",
                                  json={"challenge_id": body["challenge_id"], "code": code})
        assert again.status_code == 409 and again.json()["type"].endswith("/code-used")
        # a second sign-in finds the same account, with no new grant
        second = await sign_in(client, platform, phone)
        assert second["account_id"] == tokens["account_id"] and second["new_account"] is False


async def test_the_code_never_travels_in_clear(platform: Platform) -> None:
    identity = platform.url("identity")
    async with httpx.AsyncClient(timeout=30) as client:
        started = (await start(client, identity, new_phone())).json()
    code = await read_code(platform.infra.bootstrap, challenge_id=started["challenge_id"])
    raw = b"".join(json.dumps(e).encode() for e in await read_topic(platform.infra.bootstrap, SIGNIN))
    assert started["challenge_id"].encode() in raw and code.encode() not in raw
    logs = platform.home / "identity.log"
    assert code not in logs.read_text(errors="replace")
    async with httpx.AsyncClient(timeout=30) as client:
        metrics = (await client.get(identity + "/metrics")).text
    assert "pasarkota_sign_in_attempts_total" in metrics and code not in metrics


async def test_brute_force_is_locked_at_the_sixth_try(platform: Platform) -> None:
    identity = platform.url("identity")
    async with httpx.AsyncClient(timeout=30) as client:
        started = (await start(client, identity, new_phone())).json()
        code = await read_code(platform.infra.bootstrap, challenge_id=started["challenge_id"])
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        lefts = []
        for _ in range(5):
            r = await client.post(f"{identity}/cities/{CITY}/sign-in/verify",
                                  json={"challenge_id": started["challenge_id"], "code": wrong})
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
            assert r.json()["type"].endswith("/code-wrong") and " / " in r.json()["detail"]
            lefts.append(r.json()["attempts_left"])
        assert lefts == [4, 3, 2, 1, 0]
        # the sixth try is locked — even with the right code
        locked = await client.post(f"{identity}/cities/{CITY}/sign-in/verify",
                                   json={"challenge_id": started["challenge_id"], "code": code})
        assert locked.status_code == 429 and locked.json()["type"].endswith("/code-locked")
        assert int(locked.headers["Retry-After"]) > 0
        metrics = (await client.get(identity + "/metrics")).text
        assert 'pasarkota_sign_in_attempts_total{outcome="code-locked",step="verify"}' in metrics


async def test_bad_input_is_a_clear_problem_and_changes_nothing(platform: Platform) -> None:
    identity = platform.url("identity")
    async with httpx.AsyncClient(timeout=30) as client:
        bad_phone = await start(client, identity, "0712 3456 7890")
        assert bad_phone.status_code == 422 and bad_phone.json()["type"].endswith("/bad-phone")
        for code in ("12345", "1234567", "abcdef", ""):
            r = await client.post(f"{identity}/cities/{CITY}/sign-in/verify",
                                  json={"challenge_id": "c-1", "code": code})
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        unknown = await client.post(f"{identity}/cities/{CITY}/sign-in/verify",
                                    json={"challenge_id": str(uuid.uuid4()), "code": "123456"})
        assert unknown.status_code == 404 and unknown.json()["type"].endswith("/challenge-not-found")
        refresh = await client.post(f"{identity}/cities/{CITY}/tokens/refresh",
                                    json={"refresh_token": "x" * 43})
        assert refresh.status_code == 401 and refresh.json()["type"].endswith("/refresh-invalid")
        other_city = await client.post(f"{identity}/cities/atlantis/sign-in/start", json={"phone": new_phone()})
        assert other_city.status_code == 404


async def test_resend_cool_down_and_caps_per_phone_and_address(platform: Platform) -> None:
    """A strict replica of identity (same schema; tight limits) shows every limit as a 429 with Retry-After."""
    from deploy.local.procs import free_port

    name = "identity-strict"
    if name not in platform.procs:
        platform.start("identity", name=name, port=free_port(), env={
            "PASARKOTA_IDENTITY_RESEND_COOLDOWN_SECONDS": "60", "PASARKOTA_IDENTITY_CODES_PER_PHONE_HOUR": "5",
            "PASARKOTA_IDENTITY_CODES_PER_ADDRESS_HOUR": "3", "PASARKOTA_DEMO": "0"})
        platform.wait_ready([name])
    url = platform.url(name)
    async with httpx.AsyncClient(timeout=30) as client:
        phone, address = new_phone(), other_address()
        first = await client.post(f"{url}/cities/{CITY}/sign-in/start", json={"phone": phone}, headers=address)
        assert first.status_code == 202
        again = await client.post(f"{url}/cities/{CITY}/sign-in/start", json={"phone": phone}, headers=address)
        assert again.status_code == 429 and again.json()["type"].endswith("/code-resend-too-soon")
        assert 0 < int(again.headers["Retry-After"]) <= 60
        for _ in range(2):
            ok = await client.post(f"{url}/cities/{CITY}/sign-in/start", json={"phone": new_phone()}, headers=address)
            assert ok.status_code == 202
        capped = await client.post(f"{url}/cities/{CITY}/sign-in/start", json={"phone": new_phone()}, headers=address)
        assert capped.status_code == 429 and capped.json()["type"].endswith("/too-many-codes-address")
        assert 0 < int(capped.headers["Retry-After"]) <= 3600


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(platform: Platform) -> None:
    identity = platform.url("identity")
    async with httpx.AsyncClient(timeout=30) as client:
        first = await sign_in(client, platform, new_phone())

        async def refresh(token: str) -> httpx.Response:
            return await client.post(f"{identity}/cities/{CITY}/tokens/refresh", json={"refresh_token": token})

        second = await refresh(first["refresh_token"])
        assert second.status_code == 200, second.text
        rotated = second.json()
        assert rotated["refresh_token"] != first["refresh_token"] and rotated["access_token"]
        third = await refresh(rotated["refresh_token"])
        assert third.status_code == 200
        latest = third.json()["refresh_token"]
        # the first token again: stolen or replayed → refused, and the whole family is revoked
        reused = await refresh(first["refresh_token"])
        assert reused.status_code == 401 and reused.json()["type"].endswith("/refresh-invalid")
        assert (await refresh(latest)).status_code == 401
        # sign-out revokes a session's family too
        other = await sign_in(client, platform, new_phone())
        out = await client.post(f"{identity}/cities/{CITY}/sign-out", json={"refresh_token": other["refresh_token"]})
        assert out.status_code == 204
        assert (await refresh(other["refresh_token"])).status_code == 401
