"""The topic plan is what the broker has."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from deploy.provision import PlannedTopic, ensure_topics, load_topic_plan
from tests.conftest import Infra

pytestmark = pytest.mark.integration


async def describe(bootstrap: str, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics(names)}
    finally:
        await admin.close()


async def test_planned_topics_exist_with_their_partition_counts(infra: Infra) -> None:
    plan = load_topic_plan()
    counts = await describe(infra.bootstrap, [t.name for t in plan])
    assert counts == {t.name: t.partitions for t in plan}
    assert all(counts[t.name] >= 12 for t in plan if t.name.startswith("payments."))


async def test_ensure_topics_is_idempotent_and_grows_partitions(infra: Infra) -> None:
    topic = PlannedTopic("test.grow.v1", 2, 1)
    assert await ensure_topics(infra.bootstrap, [topic]) == ["test.grow.v1"]
    assert await ensure_topics(infra.bootstrap, [topic]) == []
    await ensure_topics(infra.bootstrap, [PlannedTopic("test.grow.v1", 5, 1)])
    assert await describe(infra.bootstrap, ["test.grow.v1"]) == {"test.grow.v1": 5}
