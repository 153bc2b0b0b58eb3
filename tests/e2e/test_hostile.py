"""The hostile suite (issue #18): every door of the running platform, attacked the way an outsider would.

* fuzzing — every operation of every service's OpenAPI, with schemathesis (valid and invalid inputs, with a
  token of the right city): never a 5xx, every 4xx a problem+json;
* a malformed-message flood on every consumed topic and every partition (every kind of bad value, key and
  header: deep JSON, a value just under the broker limit, wrong city, unknown types and versions), followed by
  a whole purchase whose events must flow through those same partitions: each bad message dead-lettered at
  most once, no consumer group left behind;
* the cross-city/role matrix over every operation: a token for the other city, or a role that may not, never
  gets a 2xx from a protected operation.

Bounded (examples per operation, one flood) so ``make test`` stays well inside CI's limit. Marked ``hostile``:
the session runs these last, because they leave fuzzed data behind.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.conftest import Platform, eventually

pytestmark = [pytest.mark.integration, pytest.mark.hostile]

SERVICES = ("catalog", "orders", "payments", "learning", "identity", "notifications")
ROLES = ("buyer", "vendor", "market_admin", "city_admin", "trainer", "participant")
EXAMPLES_PER_OPERATION = 12
FUZZ_REPORT: dict[str, Counter[str]] = {}


def openapi(platform: Platform, service: str) -> dict[str, Any]:
    return httpx.get(platform.url(service) + "/openapi.json", timeout=10).json()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    ops = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((method.upper(), path, op))
    return ops


def staff_headers(platform: Platform, city: str, role: str) -> dict[str, str]:
    extra: dict[str, str] = {}
    if role == "vendor":
        extra["vendor_id"] = f"fuzz-vendor-{city}"
    if role == "market_admin":
        extra["market_id"] = f"fuzz-market-{city}"
    return platform.headers(city, role, **extra)


# ----------------------------------------------------------------------------------------------- fuzzing

@pytest.mark.parametrize("service", SERVICES)
def test_fuzzed_requests_never_answer_5xx_and_every_4xx_is_a_problem(platform: Platform, service: str) -> None:
    import hypothesis
    import hypothesis.errors
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.openapi import from_dict

    spec = openapi(platform, service)
    schema = from_dict(spec)
    base = platform.url(service)
    counts: Counter[str] = Counter()
    failures: list[str] = []
    roles = [None, "buyer", "vendor", "market_admin", "city_admin", "trainer", "participant", "operator"]
    tokens = {r: (staff_headers(platform, "cimahi", r) if r else {}) for r in roles}
    session = httpx.Client(timeout=30)

    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(("/simulator/",)):
            continue  # the dev-only acquirer simulator pays real orders; it is fuzzed through its own tests
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
            @given(case=strategy, role=st.sampled_from(roles), pin_city=st.booleans())
            def run(case: Any, role: str | None, pin_city: bool) -> None:
                if pin_city and case.path_parameters and "city" in case.path_parameters:
                    case.path_parameters["city"] = "cimahi"
                kwargs = case.as_transport_kwargs(base_url=base)
                headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "authorization"}
                headers.update(tokens[role])
                kwargs["headers"] = headers
                try:
                    response = session.request(kwargs.pop("method"), kwargs.pop("url"),
                                               **{k: v for k, v in kwargs.items()
                                                  if k in ("params", "headers", "cookies", "json", "content",
                                                           "data", "files")})
                except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError, ValueError):
                    counts["unsendable"] += 1  # the client itself refuses (e.g. a header with a newline)
                    return
                counts[f"{response.status_code // 100}xx"] += 1
                label = f"{case.method} {case.formatted_path} as {role} → {response.status_code}"
                if response.status_code >= 500:
                    failures.append(label + ": " + response.text[:200])
                elif (response.status_code >= 400 and response.status_code != 404) or (
                        response.status_code == 404 and response.content):
                    ctype = response.headers.get("content-type", "")
                    if not ctype.startswith("application/problem+json"):
                        failures.append(label + f": 4xx as {ctype!r}")

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                counts["nothing-to-negate"] += 1  # e.g. /healthz: no parameter, no body to make invalid
    session.close()
    FUZZ_REPORT[service] = counts
    print(f"\nfuzz {service}: {sum(counts.values())} requests {dict(counts)}")
    assert counts["2xx"] + counts["4xx"] > 50, "the fuzzer really reached the service's operations"
    assert not failures, f"{len(failures)} bad answers, e.g.: " + "; ".join(failures[:8])


# ------------------------------------------------------------------------------------ cross-city matrix

def _fill(path: str, city: str) -> str:
    path = path.replace("{city}", city)
    return re.sub(r"\{[^}]+\}", lambda m: f"fuzz-{m.group(0)[1:-1]}", path)


@pytest.mark.parametrize("service", SERVICES)
def test_no_role_of_another_city_gets_a_2xx_from_a_protected_operation(platform: Platform, service: str) -> None:
    spec = openapi(platform, service)
    checked = leaks = 0
    details: list[str] = []
    with httpx.Client(timeout=15) as client:
        for method, path, _op in operations(spec):
            if "{city}" not in path or path.startswith("/simulator/") or path.startswith("/acquirer/"):
                continue
            url = platform.url(service) + _fill(path, "cimahi")
            body = {} if method in ("POST", "PUT", "PATCH") else None
            anonymous = client.request(method, url, json=body)
            if anonymous.status_code < 300:
                continue  # public (browsing, prices, certificates): anyone may
            for role in ROLES:
                checked += 1
                r = client.request(method, url, json=body, headers=staff_headers(platform, "tegal", role))
                if r.status_code < 300:
                    leaks += 1
                    details.append(f"{method} {path} as tegal {role} → {r.status_code}")
                assert r.status_code < 500, f"{method} {path} as tegal {role} → {r.status_code}: {r.text[:200]}"
    print(f"\ncross-city matrix {service}: {checked} requests, {leaks} leaks")
    assert checked > 0
    assert leaks == 0, details


# -------------------------------------------------------------------------------------- message flood

def _bad_values(topic: str) -> list[tuple[bytes, bytes | None, list[tuple[str, bytes]]]]:
    """(value, key, headers): every kind of bad message a consumer may meet."""
    now = "2026-12-01T00:00:00+00:00"

    def env(**over: Any) -> bytes:
        base = {"event_id": str(uuid.uuid4()), "event_type": "OrderPlaced", "event_version": 1, "occurred_at": now,
                "city": "cimahi", "correlation_id": "flood", "payload": {}}
        base.update(over)
        return json.dumps(base).encode()

    return [
        (b"[" * 100_000 + b"]" * 100_000, b"deep", []),
        (b'{"payload": ' + b"{\"a\": " * 5_000 + b"1" + b"}" * 5_000 + b"}", b"deep-object", []),
        (b"x" * 1_040_000, b"near-limit", []),
        (b"", None, []),
        (b"\xff\xfe\x00 not json", b"\xff\x00key", [("h\x00", b"\xff\xfe"), ("content-type", b"\x00")]),
        (b"null", b"null", []),
        (b"[1,2,3]", b"list", []),
        (env(), b"empty-payload", []),                                      # valid envelope, bad payload
        (env(event_type="NoSuchThingHappened"), b"unknown-type", []),        # another consumer's business
        (env(event_version=99), b"unknown-version", []),
        (env(city="atlantis", event_type="OrderPaid", payload={"order_id": "nope"}), b"wrong-city", []),
        (env(city=""), b"empty-city", []),
        (env(event_id="not-a-uuid"), b"bad-id", []),
    ]


async def _flood(bootstrap: str, topics: list[str]) -> int:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    from deploy.provision import load_topic_plan

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = {d["topic"]: [p["partition"] for p in d["partitions"]] for d in described}
    compacted = {t.name for t in load_topic_plan() if t.cleanup_policy == "compact"}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=4 * 1024 * 1024)
    await producer.start()
    sent = 0
    try:
        for topic in topics:
            for partition in partitions[topic]:
                for value, key, headers in _bad_values(topic):
                    if key is None and topic in compacted:   # the broker itself refuses a keyless record there
                        with pytest.raises(KafkaError):
                            await producer.send_and_wait(topic, value, headers=headers, partition=partition)
                        continue
                    await producer.send_and_wait(topic, value, key=key, headers=headers, partition=partition)
                    sent += 1
    finally:
        await producer.stop()
    return sent


def _consumers(platform: Platform) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for service in SERVICES:
        body = httpx.get(platform.url(service) + "/readyz", timeout=10).json()
        out.update(body.get("consumers", {}))
    return out


async def test_a_malformed_flood_on_every_partition_stalls_nothing_and_dead_letters_once(
        platform: Platform) -> None:
    from tests.integration.probe import read_topic
    from tests.orders.e2e_support import Shop

    topics = ["catalog.vendor.v1", "catalog.product.v1", "catalog.market.v1", "catalog.reservation.v1",
              "orders.order.v1", "payments.payment.v1", "learning.enrolment.v1", "learning.participant.v1",
              "identity.account.v1", "identity.signin.v1"]
    sent = await _flood(platform.infra.bootstrap, topics)

    # A whole purchase afterwards: its events travel through partitions that all hold the flood.
    async with httpx.AsyncClient(timeout=30) as client:
        shop = Shop(platform, client, buyer=f"flood-buyer-{uuid.uuid4().hex[:6]}")
        market_id, products = await shop.pick(vendors=1)
        placed = await shop.checkout(market_id, [(products[0], 1)])
        waiting = await shop.wait(placed["order_id"], "awaiting_payment", timeout=120)
        await shop.pay(waiting["payment"]["qris"])
        paid = await shop.wait(placed["order_id"], "paid", timeout=120)
    assert paid["status"] == "paid"

    async def caught_up() -> dict[str, dict[str, float]] | None:
        report = await asyncio.to_thread(_consumers, platform)
        behind = {g: r for g, r in report.items() if r["lag"] > 0 or r["oldest_in_flight_seconds"] > 0}
        return report if report and not behind else None

    report = await eventually(caught_up, timeout=180, interval=1.0, what="every consumer group caught up")
    dead: Counter[tuple[bytes, bytes, bytes, bytes]] = Counter()
    for topic in topics:
        for _p, _v, h in await read_topic(platform.infra.bootstrap, topic + ".dlq", b""):
            if h.get("x-dlq-source-offset") is not None:
                dead[(h["x-dlq-consumer"], h["x-dlq-source-topic"], h["x-dlq-source-partition"],
                      h["x-dlq-source-offset"])] += 1
    repeated = {k: n for k, n in dead.items() if n > 1}
    print(f"\nflood: {sent} bad messages on {len(topics)} topics, {sum(dead.values())} dead letters, "
          f"{len(repeated)} repeated, groups {sorted(report)}")
    assert sum(dead.values()) > 0
    assert not repeated, f"dead-lettered more than once: {list(repeated)[:5]}"
