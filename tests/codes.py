"""Where tests get sign-in codes: the one place, so it can later read the notifications simulator instead.

Until the notifications service delivers codes, a test reads what identity published — ``SignInCodeIssued`` on
``identity.signin.v1`` — and opens the sealed code with the test stack's seal key, as notifications would.
The code is never in clear on the bus; this proves it can be opened only with the key and the challenge id.
"""

from __future__ import annotations

import asyncio
import threading
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.envelope import decode
from shared.events.identity import SIGNIN
from shared.sealed import unseal

TEST_SEAL_KEY = "pasarkota-test-seal-key-0123456789abcdef"


async def read_code(bootstrap: str, *, challenge_id: str | None = None, phone: str | None = None,
                    timeout: float = 30.0, seal_key: str = TEST_SEAL_KEY) -> str:
    """The code of ``challenge_id`` (or the newest code sent to ``phone``), unsealed. Polls until it is on the bus."""
    assert challenge_id or phone
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(SIGNIN, p) for p in sorted(consumer.partitions_for_topic(SIGNIN) or {0})]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            found: tuple[float, str, str] | None = None
            while await _behind(consumer, partitions, end):
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        envelope, _ = decode(record.value or b"")
                        body = envelope.payload if isinstance(envelope.payload, dict) else {}
                        if (challenge_id and body.get("challenge_id") == challenge_id) or (
                                phone and body.get("phone") == phone and not challenge_id):
                            if found is None or record.timestamp >= found[0]:
                                found = (record.timestamp, body["challenge_id"], body["code_sealed"])
            if found is not None:
                return unseal(seal_key, found[2], context=found[1])
            await asyncio.sleep(0.2)
        raise AssertionError(f"no sign-in code on {SIGNIN} for {challenge_id or phone}")
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, partitions: list[TopicPartition], end: dict[TopicPartition, int]) -> bool:
    for tp in partitions:
        if await consumer.position(tp) < end[tp]:
            return True
    return False


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
