"""PasarKota on a Kafka and a Postgres that want what managed ones want: SASL/SCRAM over TLS, TLS required.

The local broker gets a second listener (SASL_SSL, SCRAM-SHA-512 users created at format time, a certificate
signed by a CA made in this test); the local Postgres accepts TCP connections over TLS only (``hostssl``).
Topics and schemas are provisioned through them, and a real payments process — told only
``PASARKOTA_KAFKA_SECURITY_PROTOCOL=SASL_SSL`` and friends, and a database URL with
``sslmode=verify-full&sslrootcert=…`` — consumes an order's payment request and relays its ``PaymentRequested``.
A wrong password, a client that does not trust the CA and a plaintext database connection are refused.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from deploy.local.kafka import KafkaBroker
from deploy.local.postgres import LocalPostgres
from deploy.local.procs import free_port
from deploy.provision import DATA_SERVICES, DATABASE_NAME, admin_on_database, ensure_topics, provision_database
from shared.envelope import build_event
from shared.events.orders import OrderPaymentRequested
from shared.kafka import KafkaSecurity
from tests.conftest import Infra, Platform, eventually
from tests.integration.tls import PostgresTlsFront, make_ca

pytestmark = pytest.mark.integration
USER, PASSWORD = "pasarkota-payments", "scram-" + uuid.uuid4().hex


class SecurePlatform(Platform):
    def __init__(self, infra: Infra, home: Path, security_env: dict[str, str]) -> None:
        super().__init__(infra, home)
        self.security_env = security_env

    def env(self, service: str) -> dict[str, str]:
        return {**super().env(service), **self.security_env}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SecurePlatform, KafkaSecurity, str]]:
    work = tmp_path_factory.mktemp("sasl-tls")
    ca = make_ca()
    files = ca.write(work / "tls")
    kafka = KafkaBroker(work / "kafka", port=free_port(), controller_port=free_port(), secure_port=free_port(),
                        scram_users={USER: PASSWORD}, tls_cert_pem=ca.cert_pem, tls_key_pem=ca.key_pem)
    pg = LocalPostgres(work / "postgres", port=free_port())
    threads = [threading.Thread(target=kafka.start), threading.Thread(target=pg.start)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    security = KafkaSecurity(protocol="SASL_SSL", mechanism="SCRAM-SHA-512", username=USER, password=PASSWORD,
                             cafile=str(files["ca"]))

    front = PostgresTlsFront(pg.port, free_port(), files["cert"], files["key"])
    front.start()
    tls_url = pg.admin_url.replace(f":{pg.port}/", f":{front.port}/")
    admin_url = f"{tls_url}?sslmode=verify-full&sslrootcert={files['ca']}"

    async def provision() -> None:
        await provision_database(admin_url, DATA_SERVICES)
        await ensure_topics(kafka.secure_bootstrap, security=security)  # through the secured listener

    asyncio.run(provision())
    home = work / "platform"
    home.mkdir()
    env = {"PASARKOTA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "PASARKOTA_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
           "PASARKOTA_KAFKA_SASL_USERNAME": USER, "PASARKOTA_KAFKA_SASL_PASSWORD": PASSWORD,
           "PASARKOTA_KAFKA_SSL_CAFILE": str(files["ca"])}
    platform = SecurePlatform(Infra(kafka.secure_bootstrap, admin_url, work), home, env)
    try:
        platform.start("payments")
        platform.wait_ready(["payments"])
        yield platform, security, tls_url
    finally:
        platform.stop_all()
        front.stop()
        kafka.stop()
        pg.stop()


async def test_a_service_consumes_and_relays_through_sasl_scram_over_tls(
        secured: tuple[SecurePlatform, KafkaSecurity, str]) -> None:
    platform, security, _ = secured
    order_id = f"tls-{uuid.uuid4()}"
    out = build_event(OrderPaymentRequested(order_id=order_id, buyer_id="b", amount=21_000,
                                            vendor_amounts={"v": 21_000}), city="cimahi")
    producer = AIOKafkaProducer(bootstrap_servers=platform.infra.bootstrap, acks="all", **security.client_options())
    await producer.start()
    try:
        await producer.send_and_wait(out.topic, out.body(), key=out.key.encode(),
                                     headers=[(k, v.encode()) for k, v in out.headers().items()])
    finally:
        await producer.stop()

    async def payment_requested() -> bytes | None:
        consumer = AIOKafkaConsumer(bootstrap_servers=platform.infra.bootstrap, enable_auto_commit=False,
                                    **security.client_options())
        await consumer.start()
        try:
            parts = [TopicPartition("payments.payment.v1", p) for p in range(12)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            end = await consumer.end_offsets(parts)
            while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for r in records:
                        if order_id.encode() in (r.value or b"") and b"PaymentRequested" in (r.value or b""):
                            return r.value
            return None
        finally:
            await consumer.stop()

    assert await eventually(payment_requested, timeout=120, what="PaymentRequested relayed over SASL_SSL")


@pytest.mark.parametrize("wrong", ["password", "ca"])
async def test_a_wrong_password_or_an_untrusted_certificate_is_refused(
        secured: tuple[SecurePlatform, KafkaSecurity, str], tmp_path: Path, wrong: str) -> None:
    platform, security, _plain_url = secured
    if wrong == "password":
        bad = KafkaSecurity(**{**security.__dict__, "password": "not-" + PASSWORD})
    else:
        other = make_ca("somebody else's CA").write(tmp_path / "other")
        bad = KafkaSecurity(**{**security.__dict__, "cafile": str(other["ca"])})
    producer = AIOKafkaProducer(bootstrap_servers=platform.infra.bootstrap, request_timeout_ms=5000,
                                **bad.client_options())
    with pytest.raises((KafkaError, OSError)) as refused:
        try:
            await asyncio.wait_for(producer.start(), timeout=30)
        finally:
            await producer.stop()
    assert not isinstance(refused.value, TimeoutError), "refused by the broker, not merely timed out"


async def test_postgres_refuses_a_connection_without_tls_or_with_another_ca(
        secured: tuple[SecurePlatform, KafkaSecurity, str], tmp_path: Path) -> None:
    platform, _, tls_url = secured
    assert "sslmode=verify-full" in platform.env("payments")["PASARKOTA_DATABASE_URL"]
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        await asyncpg.connect(tls_url + "?sslmode=disable")
    other = make_ca("somebody else's CA").write(tmp_path / "other")
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncpg.connect(f"{tls_url}?sslmode=verify-full&sslrootcert={other['ca']}")
    conn = await asyncpg.connect(admin_on_database(platform.infra.admin_url, DATABASE_NAME))  # verify-full, our CA
    try:
        assert await conn.fetchval("SELECT count(*) FROM payments.payment_intents") >= 1
    finally:
        await conn.close()
