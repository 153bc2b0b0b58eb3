"""A new city without a restart (issue #14): an operator adds *bandung* through identity's ``POST /cities``; the
``CityAdded`` event on the compacted ``identity.city.v1`` reaches every process, which then serves the city —
no process restarted (their pids are the same before and after).

Bad city documents are refused naming the field, and nothing is published (the topic and identity's list hold
no trace of them); a non-operator is refused.
"""

from __future__ import annotations

import copy
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.events.identity import CITY as CITY_TOPIC
from tests.conftest import Platform, eventually
from tests.integration.probe import read_topic

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
