"""The Kubernetes kit: generated overlay resources follow the topic plan and the contracts; provisioning refuses
development passwords in production."""

from __future__ import annotations

import json

import pytest

from deploy import cli, cluster
from deploy.provision import DATA_SERVICES, load_topic_plan


def test_every_planned_topic_is_a_kafka_topic_with_replicas_and_min_insync() -> None:
    topics = {t["spec"]["topicName"]: t["spec"] for t in cluster.kafka_topics()}
    assert set(topics) == {t.name for t in load_topic_plan()}
    for t in load_topic_plan():
        spec = topics[t.name]
        assert spec["partitions"] == t.partitions and spec["replicas"] == 3
        assert spec["config"]["min.insync.replicas"] == 2 < spec["replicas"]
        if t.cleanup_policy == "compact":   # the state topics: kept by key, not by age
            assert spec["config"]["cleanup.policy"] == "compact" and "retention.ms" not in spec["config"]
        else:
            assert spec["config"]["retention.ms"] == t.retention_hours * 3_600_000
    assert {t.name for t in load_topic_plan() if t.cleanup_policy == "compact"} == {
        "catalog.market.v1", "catalog.product-state.v1", "catalog.vendor-state.v1", "identity.city.v1"}


def test_each_service_user_may_touch_only_what_its_contracts_name() -> None:
    users = {u["metadata"]["name"]: u["spec"]["authorization"]["acls"] for u in cluster.kafka_users()}
    consumers = json.loads((cluster.CONTRACTS / "consumers.json").read_text())
    for service in DATA_SERVICES:
        acls = users[cluster.kafka_user(service)]
        readable = {a["resource"]["name"] for a in acls
                    if a["resource"]["type"] == "topic" and "Read" in a["operations"]}
        groups = {a["resource"]["name"] for a in acls if a["resource"]["type"] == "group"}
        assert readable == {t for g in consumers[service].values() for t in g["topics"]}
        assert groups == set(consumers[service])
        assert all(a["resource"]["patternType"] == "literal" and a["resource"]["name"] != "*" for a in acls)
    # payments writes its own topic and its DLQs, never orders' topic
    payments = users["pasarkota-payments"]
    writes = {a["resource"]["name"] for a in payments if "Write" in a["operations"]}
    assert "payments.payment.v1" in writes and "orders.order.v1" not in writes


def test_the_committed_generated_files_are_current() -> None:
    assert cluster.check() == [], "run `pasarkota contracts export`"


def test_provision_refuses_development_passwords_in_prod(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PASARKOTA_ENV", "prod")
    monkeypatch.setenv("DATABASE_URL", "postgresql://admin:CHANGE_ME@127.0.0.1:1/postgres")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    for service in DATA_SERVICES:
        monkeypatch.setenv(f"PASARKOTA_DB_PASSWORD_{service.upper()}", "a" * 24)
    monkeypatch.setenv("PASARKOTA_DB_PASSWORD_ORDERS", "pk-orders-dev")
    monkeypatch.delenv("PASARKOTA_DB_PASSWORD_PAYMENTS")
    assert cli.main(["provision"]) == 2  # refused before connecting to anything (the addresses are dead)
    err = capsys.readouterr().err
    assert "PASARKOTA_DB_PASSWORD_ORDERS" in err and "PASARKOTA_DB_PASSWORD_PAYMENTS" in err
    assert "CHANGE_ME" in err and "PASARKOTA_DB_PASSWORD_CATALOG" not in err
