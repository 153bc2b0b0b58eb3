"""Where tests get sign-in codes: the one place.

As a person would — :func:`code_from_simulator`: the WhatsApp/SMS message the notifications service delivered
to the phone in its simulator (``GET /dev/messages?phone=``), identity → Kafka → notifications → provider.
Or, for API-level tests that hold a challenge id — :func:`read_code`: the ``SignInCodeIssued`` identity
published on ``identity.signin.v1``, opened with the test stack's seal key as notifications does. The code
is never in clear on the bus; this proves it can be opened only with the key and the challenge id.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time

import httpx

from shared.events.identity import SIGNIN
from shared.sealed import unseal
from tests.learning.kafka_tools import read_topic

TEST_SEAL_KEY = "pasarkota-test-seal-key-0123456789abcdef"


async def read_code(bootstrap: str, *, challenge_id: str | None = None, phone: str | None = None,
                    timeout: float = 30.0, seal_key: str = TEST_SEAL_KEY) -> str:
    """The code of ``challenge_id`` (or the newest code sent to ``phone``), unsealed. Polls until it is on the bus."""
    assert challenge_id or phone
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e["payload"] for e in await read_topic(bootstrap, SIGNIN)
                 if e.get("event_type") == "SignInCodeIssued" and isinstance(e.get("payload"), dict)
                 and ((challenge_id and e["payload"].get("challenge_id") == challenge_id)
                      or (not challenge_id and e["payload"].get("phone") == phone))]
        if found:
            newest = found[-1] if challenge_id else max(found, key=lambda p: str(p.get("expires_at")))
            return unseal(seal_key, newest["code_sealed"], context=newest["challenge_id"])
        await asyncio.sleep(0.2)
    raise AssertionError(f"no sign-in code on {SIGNIN} for {challenge_id or phone}")


def read_code_sync(bootstrap: str, **kw: object) -> str:
    """:func:`read_code` for synchronous tests (the browser test), safe inside or outside an event loop."""
    result: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(read_code(bootstrap, **kw)))  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def code_from_simulator(notifications_url: str, phone: str, *, seen: set[str] | None = None,
                        timeout: float = 30.0) -> str:
    """The newest sign-in code the notifications simulator received for ``phone`` (a message not in ``seen``,
    the message ids already used; the new id is added to it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(f"{notifications_url}/dev/messages", params={"phone": phone}, timeout=10)
        if r.status_code == 200:
            for m in reversed(r.json()["messages"]):
                found = re.search(r"\b(\d{6})\b", m["text"])
                if m["template"] == "signin_code" and found and m["message_id"] not in (seen or set()):
                    if seen is not None:
                        seen.add(m["message_id"])
                    return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no sign-in code for {phone} in the notifications simulator")
