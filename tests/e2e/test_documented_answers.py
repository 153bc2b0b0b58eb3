"""Issue #17: the documented answers are the real ones. Every GET of learning, identity and notifications that the
demo data can answer is asked — without a token, and as the demo's participants and trainers, a city admin, an
operator and a freshly signed-in account — and each 2xx JSON answer is validated against that operation's 2xx
schema in the service's own ``/openapi.json`` (``$ref``s resolved to its components, ``date-time`` checked).

Path parameters are filled from what earlier answers said (programme, session and enrolment ids, certificate
codes), so the walk follows the demo data wherever it goes; the operations that must have been validated are
listed, so an operation that silently stops answering fails too.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import Platform, eventually
from tests.e2e.test_identity_signin import new_phone, sign_in
from tests.schemas import validator

pytestmark = pytest.mark.integration

CITY = "cimahi"
SERVICES = ("learning", "identity", "notifications")
# what the demo city answers for sure (the rest needs data the demo does not have: an order, an event id)
MUST_VALIDATE = {
    "learning": {
        "/healthz", "/readyz", "/cities/{city}/programmes", "/cities/{city}/programmes/{programme_id}",
        "/cities/{city}/sessions", "/cities/{city}/sessions/{session_id}", "/certificates/{code}",
        "/cities/{city}/me", "/cities/{city}/me/enrolments", "/cities/{city}/me/certificates",
        "/cities/{city}/me/certificates/{code}", "/cities/{city}/sessions/{session_id}/materials",
        "/cities/{city}/trainer/sessions", "/cities/{city}/trainer/sessions/{session_id}/roster",
        "/cities/{city}/trainer/sessions/{session_id}/check-in-code",
        "/cities/{city}/trainer/sessions/{session_id}/attendance-reports",
        "/cities/{city}/trainer/sessions/{session_id}/history", "/cities/{city}/admin/trainers",
        "/cities/{city}/admin/rw-hubs", "/cities/{city}/admin/enrolments/{enrolment_id}",
        "/cities/{city}/admin/reports/programmes", "/cities/{city}/admin/reports/funnel",
        "/cities/{city}/admin/reports/evaluation", "/cities/{city}/admin/programmes/{programme_id}",
        "/cities/{city}/admin/sessions/{session_id}", "/cities/{city}/audit",
    },
    "identity": {
        "/healthz", "/readyz", "/.well-known/jwks.json", "/cities", "/cities/{city}/me", "/cities/{city}/me/export",
        "/cities/{city}/grants", "/cities/{city}/grants/audit", "/cities/{city}/audit",
    },
    "notifications": {"/healthz", "/readyz", "/cities/{city}/me/notifications", "/dev/messages",
                      "/cities/{city}/audit"},
}
ID_KEYS = ("programme_id", "session_id", "enrolment_id", "import_id")


def answer_schema(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    """The operation's 2xx JSON schema (None for a file, an image, metrics text)."""
    for code, response in op.get("responses", {}).items():
        if code.startswith("2") and "application/json" in (response.get("content") or {}):
            schema = response["content"]["application/json"].get("schema")
            if schema:
                return dict(schema)
    return None


def harvest(answer: Any, found: dict[str, list[str]]) -> None:
    """Ids later path parameters can use, from anywhere in an answer (a certificate's code from its verify path)."""
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key in ID_KEYS and isinstance(value, str):
                bucket = found.setdefault(key, [])
                if value not in bucket:
                    bucket.append(value)
            elif key == "verify_path" and isinstance(value, str):
                bucket = found.setdefault("code", [])
                code = value.rsplit("/", 1)[-1]
                if code not in bucket:
                    bucket.append(code)
            else:
                harvest(value, found)
    elif isinstance(answer, list):
        for item in answer:
            harvest(item, found)


def fillings(path: str, found: dict[str, list[str]], limit: int = 8) -> list[str]:
    """The path with its parameters filled by harvested values: one path per candidate (a trainer's own session
    is among the first few), nothing when a parameter has no candidate yet."""
    names = re.findall(r"{(\w+)}", path)
    paths = [path]
    for name in names:
        values = [CITY] if name == "city" else found.get(name, [])[:limit]
        paths = [p.replace("{" + name + "}", v) for p in paths for v in values]
    return paths


async def callers(client: httpx.AsyncClient, platform: Platform) -> dict[str, dict[str, str]]:
    """Who asks: nobody, demo participants and trainers (their seeded subjects), staff, a signed-in account."""
    account = await sign_in(client, platform, new_phone())
    who = {"public": {}, "city_admin": platform.headers(CITY, "city_admin"),
           "operator": platform.headers(CITY, "operator"),
           "account": {"Authorization": f"Bearer {account['access_token']}"}}
    for n in range(1, 9):
        who[f"participant-{n}"] = platform.headers(CITY, "participant", sub=f"demo-participant-{CITY}-{n}")
    for n in range(1, 4):
        who[f"trainer-{n}"] = platform.headers(CITY, "trainer", sub=f"demo-trainer-{CITY}-{n}")
    return who


async def test_every_answer_matches_its_documented_schema(platform: Platform) -> None:
    failures: list[str] = []
    async with httpx.AsyncClient(timeout=30) as client:
        who = await callers(client, platform)
        account = who["account"]

        async def notifications_know_the_account() -> bool | None:  # its phone arrives with AccountCreated
            r = await client.get(platform.url("notifications") + f"/cities/{CITY}/me/notifications", headers=account)
            return r.status_code == 200 or None

        await eventually(notifications_know_the_account)
        for service in SERVICES:
            base = platform.url(service)
            spec = (await client.get(base + "/openapi.json")).json()
            gets = [(path, item["get"]) for path, item in spec["paths"].items() if "get" in item]
            found: dict[str, list[str]] = {}
            validated: set[str] = set()
            broken_copies = 0
            for walk in range(2):  # the second walk fills the parameters the first one harvested
                for path, op in gets:
                    if walk and path.count("{") == path.count("{city}"):
                        continue
                    schema = answer_schema(spec, op)
                    if schema is None:  # a file, an image, metrics text: not JSON
                        continue
                    check = validator(spec, schema)
                    for caller, headers in who.items():
                        for url in fillings(path, found):
                            r = await client.get(base + url, headers=headers)
                            if r.status_code == 401 or (r.status_code == 403 and "role" in r.text):
                                break  # this caller may not, whatever the ids
                            if not 200 <= r.status_code < 300:
                                continue
                            answer = r.json()
                            harvest(answer, found)
                            errors = sorted(check.iter_errors(answer), key=lambda e: list(e.path))
                            failures.extend(f"{service} GET {url} as {caller}: {list(e.path)}: {e.message}"
                                            for e in errors[:3])
                            if not errors and isinstance(answer, dict) and answer and not check.is_valid({}):
                                broken_copies += 1  # the schema is no blank cheque: an empty answer fails it
                            validated.add(path)
                            break  # one answer per caller and operation
            missing = MUST_VALIDATE[service] - validated
            assert not missing, f"{service}: never answered 2xx, so never checked: {sorted(missing)}"
            assert broken_copies, f"{service}: no schema refused an empty answer"
    assert not failures, "answers that do not match their documented schema:\n" + "\n".join(failures)
