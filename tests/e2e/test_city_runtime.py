"""A new city without a restart (issue #14): an operator adds *bandung* through identity's ``POST /cities``; the
``CityAdded`` event on the compacted ``identity.city.v1`` reaches every process, which then serves the city —
no process restarted (their pids are the same before and after).

Bad city documents are refused naming the field, and nothing is published (the topic and identity's list hold
no trace of them); a non-operator is refused.
"""

from __future__ import annotations

import asyncio
import copy
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.events.identity import CITY as CITY_TOPIC
from shared.events.identity import CityAdded
from tests.codes import code_from_simulator
from tests.conftest import Platform, eventually
from tests.integration.probe import read_topic
from tests.orders.e2e_support import publish

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "bandung.example.toml"
DATA_SERVICES = ("identity", "catalog", "orders", "payments", "learning", "notifications")


def document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(tomllib.loads(EXAMPLE.read_text())["city"][0])
    doc.update(changes)
    return doc


def operator(platform: Platform) -> dict[str, str]:
    return platform.headers("cimahi", "operator", sub="e2e-operator")


def pids(platform: Platform) -> dict[str, int]:
    found = {}
    for name, proc in platform.procs.items():
        assert proc.poll() is None, f"{name} is not running"
        found[name] = proc.pid
    return found


async def knows(client: httpx.AsyncClient, platform: Platform, service: str, slug: str) -> bool:
    """Whether ``service`` serves ``slug``: every service's audit route answers 404 for an unknown city."""
    if service == "portal":
        r = await client.get(platform.url("portal") + f"/kota/{slug}")
    else:
        r = await client.get(platform.url(service) + f"/cities/{slug}/audit", headers=operator(platform))
    assert r.status_code in (200, 404), (service, r.status_code, r.text[:300])
    return r.status_code == 200


async def test_bad_city_documents_are_refused_naming_the_field_and_nothing_is_published(platform: Platform) -> None:
    bad = [
        (document(slug="garut", merchant=document()["merchant"] | {"name": "UPTD PASAR KOTA GARUT RAYA"}),
         "merchant.name"),
        (document(slug="garut", merchant=document()["merchant"] | {"city": "KABUPATEN GARUTAN"}), "merchant.city"),
        (document(slug="garut", merchant=document()["merchant"] | {"mcc": "54l1"}), "merchant.mcc"),
        (document(slug="garut", timezone="Asia/Garut"), "timezone"),
        (document(slug="cimahi"), "slug"),                      # a seed city's slug
        (document(slug="garut", name="Kota\x01Garut"), "name"),
        (document(slug="garut", merchant=document()["merchant"] | {"webhook_secret": "x" * 40}),
         "merchant.webhook_secret"),
        (document(slug="garut", delivery_fee="10000"), "delivery_fee"),
        (document(slug="garut", extra="x" * 5000), "extra"),
    ]
    async with httpx.AsyncClient(timeout=30) as client:
        for doc, field in bad:
            r = await client.post(platform.url("identity") + "/cities", json={"city": doc}, headers=operator(platform))
            assert r.status_code == 422, (field, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["field"] == field and field in r.json()["detail"], r.text
        # wrong types and shapes: 422, never a 5xx
        for body in ({"city": "garut"}, {"city": ["garut"]}, {}, {"city": {}, "other": 1}, [1, 2],
                     {"city": document(slug="garut"), "first_admin": {"phone": "not a phone"}}):
            r = await client.post(platform.url("identity") + "/cities", json=body, headers=operator(platform))
            assert r.status_code == 422, (body, r.status_code, r.text)
        r = await client.post(platform.url("identity") + "/cities", content=b"{\"city\": {\"slug\": \"ga\\u0000rut\"}}",
                              headers=operator(platform) | {"content-type": "application/json"})
        assert r.status_code == 422
        listed = await client.get(platform.url("identity") + "/cities", headers=operator(platform))
        assert listed.status_code == 200 and "garut" not in {c["slug"] for c in listed.json()["items"]}
    assert await read_topic(platform.infra.bootstrap, CITY_TOPIC, b"garut") == []


async def test_only_an_operator_adds_a_city(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        url = platform.url("identity") + "/cities"
        assert (await client.post(url, json={"city": document(slug="sumedang")})).status_code == 401
        for role in ("city_admin", "market_admin", "buyer"):
            r = await client.post(url, json={"city": document(slug="sumedang")},
                                  headers=platform.headers("cimahi", role, sub=f"e2e-{role}"))
            assert r.status_code == 403, (role, r.text)
            assert (await client.get(url, headers=platform.headers("cimahi", role))).status_code == 403
    assert await read_topic(platform.infra.bootstrap, CITY_TOPIC, b"sumedang") == []


async def test_bandung_is_live_in_every_process_without_a_restart(platform: Platform) -> None:
    before = pids(platform)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as client:
        for service in (*DATA_SERVICES, "portal"):
            assert not await knows(client, platform, service, "bandung")
        r = await client.post(platform.url("identity") + "/cities", json={"city": document()},
                              headers=operator(platform))
        assert r.status_code == 201, r.text
        assert r.json()["slug"] == "bandung" and r.json()["version"] == 1

        async def everywhere() -> bool:
            return all([await knows(client, platform, s, "bandung") for s in (*DATA_SERVICES, "portal")])

        await eventually(everywhere, timeout=30, interval=0.2, what="bandung known to every process")
        live = time.perf_counter() - started
        again = await client.post(platform.url("identity") + "/cities", json={"city": document()},
                                  headers=operator(platform))
        assert again.status_code == 422 and again.json()["field"] == "slug"
    assert pids(platform) == before, "a process was restarted"
    records = await read_topic(platform.infra.bootstrap, CITY_TOPIC, b"bandung")
    assert len(records) == 1 and b"CityAdded" in records[0][1]
    assert b"webhook" not in records[0][1].lower()
    print(f"\nbandung live in every process {live:.2f} s after POST /cities")



async def declared_only(base: str, path: str, length: int, authorization: str) -> bytes:
    """Send only the headers of a POST declaring ``length`` bytes; the status line of the answer."""
    from urllib.parse import urlsplit

    url = urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write((f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
                      f"Authorization: {authorization}\r\nContent-Length: {length}\r\n\r\n").encode())
        await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout=10)
    finally:
        writer.close()


async def test_huge_or_deep_documents_are_refused_and_a_forged_event_is_never_applied(platform: Platform) -> None:
    url = platform.url("identity") + "/cities"
    async with httpx.AsyncClient(timeout=30) as client:
        # a document declared at 3 MiB is refused before a byte of it is read (the kernel's 1 MiB body limit)
        head = await declared_only(platform.url("identity"), "/cities", 3 * 1024 * 1024,
                                   operator(platform)["Authorization"])
        assert head.startswith(b"HTTP/1.1 413"), head
        deep = b'{"city": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}"  # JSON nested 5000 deep
        r = await client.post(url, headers=operator(platform) | {"content-type": "application/json"}, content=deep)
        assert 400 <= r.status_code < 500, r.text[:200]
        zones = {f"Kelurahan {i}": 5000 for i in range(301)}
        r = await client.post(url, headers=operator(platform),
                              json={"city": document(slug="garut", delivery=document()["delivery"] | {"zones": zones})})
        assert r.status_code == 422 and r.json()["field"] == "delivery.zones"
        # someone with write access to the topic publishes a document the directory would refuse: never applied
        forged = document(slug="palsu", merchant=document()["merchant"] | {"name": "X" * 40})
        await publish(platform.infra.bootstrap, [CityAdded(slug="palsu", version=1, document=forged, added_by="x")],
                      city="palsu")

        async def dead_lettered() -> bool:
            return bool(await read_topic(platform.infra.bootstrap, CITY_TOPIC + ".dlq", b"palsu"))

        await eventually(dead_lettered, timeout=30, what="the forged city dead-lettered")
        for service in (*DATA_SERVICES, "portal"):
            assert not await knows(client, platform, service, "palsu"), service


# ------------------------------------------------------------------------------------------------ the Done-when test

def new_phone(prefix: str = "0813") -> str:
    return prefix + str(uuid.uuid4().int)[:8]


async def sign_in(client: httpx.AsyncClient, platform: Platform, city: str, phone: str,
                  seen: set[str]) -> dict[str, Any]:
    """As a person would: the code arrives by the notifications simulator (the city's own rules applied)."""
    n = uuid.uuid4().int
    started = await client.post(platform.url("identity") + f"/cities/{city}/sign-in/start", json={"phone": phone},
                                headers={"X-Forwarded-For": f"10.14.{n % 250}.{(n >> 8) % 250}"})
    assert started.status_code == 202, started.text
    code = await asyncio.to_thread(code_from_simulator, platform.url("notifications"), phone, seen=seen)
    r = await client.post(platform.url("identity") + f"/cities/{city}/sign-in/verify",
                          json={"challenge_id": started.json()["challenge_id"], "code": code, "name": "Warga Bandung"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_bandung_onboarded_at_runtime_and_a_buyer_pays_and_picks_up(platform: Platform) -> None:
    """The Done-when test of issue #14: the whole onboarding of a new city while every process keeps running."""
    before = pids(platform)
    laps: list[tuple[str, float]] = []
    started = last = time.perf_counter()

    def lap(what: str) -> None:
        nonlocal last
        now = time.perf_counter()
        laps.append((what, now - last))
        last = now

    slug = "kotabaru"  # its own slug: the test above adds bandung; this one is the whole onboarding from zero
    catalog, orders, payments = platform.url("catalog"), platform.url("orders"), platform.url("payments")
    admin_phone, vendor_phone, buyer_phone = new_phone("0812"), new_phone("0813"), new_phone("0815")
    seen: set[str] = set()
    doc = document(slug=slug, name="Kota Baru (uji)")
    async with httpx.AsyncClient(timeout=30) as client:
        # 1. the operator adds the city and invites its first city admin
        r = await client.post(platform.url("identity") + "/cities", headers=operator(platform),
                              json={"city": doc, "first_admin": {"phone": admin_phone, "name": "Admin Kota Baru"}})
        assert r.status_code == 201, r.text
        assert r.json()["first_admin"]["role"] == "city_admin" and r.json()["first_admin"]["city"] == slug

        async def everywhere() -> bool:
            return all([await knows(client, platform, s, slug) for s in (*DATA_SERVICES, "portal")])

        await eventually(everywhere, timeout=30, interval=0.2, what=f"{slug} known to every process")
        lap("city added and live in every process")

        # 2. the city admin signs in with a code (WhatsApp/SMS simulator) and sets up a market
        admin_tokens = await sign_in(client, platform, slug, admin_phone, seen)
        assert "city_admin" in admin_tokens["roles"], admin_tokens["roles"]
        admin = bearer(admin_tokens)
        lap("city admin signed in with a code")
        r = await client.post(f"{catalog}/cities/{slug}/markets", headers=admin,
                              json={"slug": "pasar-kosambi", "name": "Pasar Kosambi", "kelurahan": "Braga"})
        assert r.status_code == 201, r.text
        market_id = r.json()["id"] if "id" in r.json() else r.json()["market_id"]
        r = await client.post(f"{catalog}/cities/{slug}/markets/{market_id}/vendors", headers=admin,
                              json={"name": "Warung Bu Ani", "owner_name": "Ani Suryani", "phone": vendor_phone,
                                    "categories": ["bumbu"]})
        assert r.status_code == 201, r.text
        vendor_id = r.json()["id"] if "id" in r.json() else r.json()["vendor_id"]
        for action in ("verify", "activate"):
            r = await client.post(f"{catalog}/cities/{slug}/vendors/{vendor_id}/{action}", headers=admin, json={})
            assert r.status_code == 200, r.text
        lap("market and vendor set up")

        # 3. the vendor (granted by identity from VendorActivated) signs in and lists a product
        async def vendor_granted() -> dict[str, Any] | None:
            tokens = await sign_in(client, platform, slug, vendor_phone, seen)
            return tokens if "vendor" in tokens["roles"] else None

        vendor = bearer(await eventually(vendor_granted, timeout=60, interval=1, what="the vendor's grant"))
        r = await client.post(f"{catalog}/cities/{slug}/products", headers=vendor,
                              json={"name": "Cabai merah keriting", "category": "bumbu", "unit": "kg",
                                    "price": 45000, "stock": 20})
        assert r.status_code == 201, r.text
        product_id = r.json()["id"]
        lap("vendor signed in and listed a product")

        # 4. a buyer signs up with a code and checks out (pick up at the stall)
        buyer = bearer(await sign_in(client, platform, slug, buyer_phone, seen))
        body = {"market_id": market_id, "fulfilment": {"type": "pickup_stall"},
                "items": [{"product_id": product_id, "quantity": 2}]}
        last_answer: list[httpx.Response] = []

        async def placed() -> dict[str, Any] | None:
            answer = await client.post(f"{orders}/cities/{slug}/orders", json=body, headers=buyer)
            last_answer[:] = [answer]
            return dict(answer.json()) if answer.status_code == 201 else None

        try:
            order = await eventually(placed, timeout=60, interval=0.3, what="checkout")
        except AssertionError:
            raise AssertionError(f"checkout kept failing: {last_answer[0].text}") from None
        order_id = order["order_id"]

        async def status(*wanted: str) -> dict[str, Any] | None:
            found = (await client.get(f"{orders}/cities/{slug}/orders/{order_id}", headers=buyer)).json()
            assert found["status"] not in ("rejected", "cancelled", "payment_expired"), found
            return dict(found) if found["status"] in wanted else None

        order = await eventually(lambda: status("awaiting_payment"), timeout=60, what="a QRIS for the order")
        assert order["total"] == 2 * 45000 and order["payment"]["qris"].startswith("000201")
        assert "UPTD PASAR KOTA BANDUNG" in order["payment"]["qris"]  # the new city's merchant of record
        lap("buyer signed up and checked out (QRIS issued)")

        # 5. no webhook secret yet: the city is listed but refuses webhooks, clearly; the secret appears → paid
        listed = {c["slug"]: c for c in (await client.get(platform.url("identity") + "/cities",
                                                          headers=operator(platform))).json()["items"]}
        assert listed[slug]["source"] == "runtime" and "secret" not in str(listed[slug]).lower()
        state = await client.get(f"{payments}/cities/{slug}/webhook-secret", headers=admin)
        assert state.status_code == 200 and state.json()["set"] is False, state.text
        refused = await client.post(f"{payments}/simulator/{slug}/pay", json={"qris": order["payment"]["qris"]})
        assert refused.status_code == 503 and refused.json()["type"].endswith("/webhook-secret-missing"), refused.text
        assert f"PASARKOTA_CITY_{slug.upper()}_WEBHOOK_SECRET" in refused.json()["detail"]
        hook = await client.post(f"{payments}/acquirer/{slug}/notifications", content=b"{}")
        assert hook.status_code == 503 and hook.json()["type"].endswith("/webhook-secret-missing")
        (platform.secrets_dir / f"city_{slug}_webhook_secret").write_text(uuid.uuid4().hex + uuid.uuid4().hex)
        state = await client.get(f"{payments}/cities/{slug}/webhook-secret", headers=admin)
        assert state.json()["set"] is True  # re-read on demand: no restart
        paid = await client.post(f"{payments}/simulator/{slug}/pay", json={"qris": order["payment"]["qris"]})
        assert paid.status_code == 200, paid.text
        assert [n["status_code"] for n in paid.json()["notifications"]] == [200]
        order = await eventually(lambda: status("paid"), timeout=60, what="the order paid")
        lap("paid by QRIS (secret from the secret store)")

        # 6. the vendor prepares, the city's staff hands it over with the pickup code
        r = await client.post(f"{orders}/cities/{slug}/vendor/orders/{order_id}/prepared", headers=vendor)
        assert r.status_code == 200, r.text
        order = await eventually(lambda: status("ready"), timeout=30, what="the order ready")
        code = (await client.get(f"{orders}/cities/{slug}/orders/{order_id}", headers=buyer)).json()["pickup_code"]
        r = await client.post(f"{orders}/cities/{slug}/orders/{order_id}/pickup", json={"code": code}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["status_label"] == "Selesai"
        lap("prepared and picked up")
        # the change is on the audit list of the directory's owner
        audit = await client.get(platform.url("identity") + f"/cities/{slug}/audit", headers=operator(platform),
                                 params={"entity": "city"})
        assert [(a["entity_id"], a["action"]) for a in audit.json()] == [(slug, "added")]
    assert pids(platform) == before, "a process was restarted"
    total = time.perf_counter() - started
    print("\nonboarding of a new city at runtime (no process restarted):")
    for what, seconds in laps:
        print(f"  {seconds:7.2f} s  {what}")
    print(f"  {total:7.2f} s  in all")


async def test_an_update_reaches_every_process_and_a_restarted_process_still_knows_the_city(platform: Platform) -> None:
    """Runs after the no-restart tests (it restarts processes). ``CityUpdated`` replaces the document everywhere;
    a SIGKILLed service knows bandung as soon as it is ready (its ``cities`` projection, loaded before serving),
    and the portal — no schema — reads it back from the compacted topic."""
    async with httpx.AsyncClient(timeout=30) as client:
        if not await knows(client, platform, "identity", "bandung"):  # run alone: add it first
            r = await client.post(platform.url("identity") + "/cities", json={"city": document()},
                                  headers=operator(platform))
            assert r.status_code == 201, r.text
        await eventually(lambda: knows(client, platform, "identity", "bandung"), timeout=30, what="bandung known")
        renamed = document(name="Kota Kembang", payment_expiry_minutes=20)
        r = await client.put(platform.url("identity") + "/cities/bandung", json={"city": renamed},
                             headers=operator(platform))
        assert r.status_code == 200, r.text
        version = r.json()["version"]
        assert version >= 2
        # the audit list shows before → after of what changed only
        audit = (await client.get(platform.url("identity") + "/cities/bandung/audit", headers=operator(platform),
                                  params={"entity": "city"})).json()
        assert audit[0]["action"] == "updated"
        assert audit[0]["before"]["name"] == "Kota Bandung" and audit[0]["after"]["name"] == "Kota Kembang"
        assert set(audit[0]["after"]) == {"name", "payment_expiry_minutes"}
        # bad updates: unknown city, a seed city, a changed slug, a bad field, a non-operator
        for slug, body, status in (("garut", {"city": document(slug="garut")}, 404),
                                   ("cimahi", {"city": document(slug="cimahi")}, 404),
                                   ("bandung", {"city": document(slug="bandungx")}, 422),
                                   ("bandung", {"city": document(timezone="Mars/Olympus")}, 422),
                                   ("BANDUNG", {"city": document()}, 422)):
            bad = await client.put(platform.url("identity") + f"/cities/{slug}", json=body, headers=operator(platform))
            assert bad.status_code == status, (slug, bad.status_code, bad.text)
        forbidden = await client.put(platform.url("identity") + "/cities/bandung", json={"city": renamed},
                                     headers=platform.headers("bandung", "city_admin"))
        assert forbidden.status_code == 403

        async def portal_shows(name: str) -> bool:
            page = await client.get(platform.url("portal") + "/kota/bandung")
            return page.status_code == 200 and name in page.text

        await eventually(lambda: portal_shows("Kota Kembang"), timeout=30, what="the new name on the portal")

        for service in ("catalog", "payments", "portal"):
            platform.kill(service)
            platform.restart(service)
        for service in ("catalog", "payments"):  # at once: loaded from the projection before serving
            assert await knows(client, platform, service, "bandung"), service
        await eventually(lambda: portal_shows("Kota Kembang"), timeout=30, what="the portal reading the topic again")
    records = await read_topic(platform.infra.bootstrap, CITY_TOPIC, b"bandung")
    assert [b"CityUpdated" in value for _p, value, _h in records][-1]


def test_the_cli_adds_a_city_from_a_file_and_names_the_field_it_refuses(platform: Platform, tmp_path: Path) -> None:
    """`pasarkota city add --file cirebon.toml` over identity's API, with a development operator token."""
    import subprocess
    import sys

    env = platform.env("identity") | {"PASARKOTA_SERVICE": ""}
    source = EXAMPLE.read_text().replace('slug = "bandung"', 'slug = "cirebon"').replace("Kota Bandung", "Kota Cirebon")
    good, bad = tmp_path / "cirebon.toml", tmp_path / "cirebon-bad.toml"
    good.write_text(source)
    bad.write_text(source.replace('mcc = "5411"', 'mcc = "54-11"').replace('"cirebon"', '"cirebonx"'))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "deploy.cli", "city", *args], env=env, capture_output=True,
                              text=True, timeout=60)

    refused = cli("add", "--file", str(bad))
    assert refused.returncode == 2 and "[merchant.mcc]" in refused.stderr and "nothing was published" in refused.stderr
    added = cli("add", "--file", str(good), "--admin-phone", new_phone("0817"))
    assert added.returncode == 0, added.stderr
    assert "city cirebon added" in added.stdout and "PASARKOTA_CITY_CIREBON_WEBHOOK_SECRET" in added.stdout
    again = cli("add", "--file", str(good))
    assert again.returncode == 2 and "[slug]" in again.stderr
    listed = cli("list")
    assert listed.returncode == 0 and "cirebon" in listed.stdout and "NO WEBHOOK SECRET" in listed.stdout
    assert "cirebonx" not in listed.stdout
    missing = cli("add", "--file", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


async def test_an_event_about_a_city_that_arrives_a_moment_later_waits_for_it_instead_of_the_dlq(
        platform: Platform) -> None:
    """A sign-in code for a city notifications does not know yet (the directory is a second behind): the consumer
    retries, waits for the city (re-reading its projection), and delivers once the city is added."""
    from datetime import UTC, datetime, timedelta

    from shared.events.identity import SignInCodeIssued
    from shared.sealed import seal
    from tests.codes import TEST_SEAL_KEY

    phone, challenge_id, code = new_phone("0819"), str(uuid.uuid4()), "314159"
    await publish(platform.infra.bootstrap, [SignInCodeIssued(
        challenge_id=challenge_id, phone=phone, code_sealed=seal(TEST_SEAL_KEY, code, context=challenge_id),
        expires_at=datetime.now(UTC) + timedelta(minutes=5))], city="tasik")
    await asyncio.sleep(1.0)  # notifications has tried it (and failed: unknown city) by now
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.post(platform.url("identity") + "/cities", headers=operator(platform),
                              json={"city": document(slug="tasik", name="Kota Tasikmalaya")})
        assert r.status_code == 201, r.text
    delivered = await asyncio.to_thread(code_from_simulator, platform.url("notifications"), phone, timeout=30)
    assert delivered == code
    assert await read_topic(platform.infra.bootstrap, "identity.signin.v1.dlq", challenge_id.encode()) == []
