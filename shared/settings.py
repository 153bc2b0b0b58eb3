"""Settings from environment variables (pydantic-settings). Documented in docs/configuration.md."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_CODE_SEAL_KEY = "pasarkota-dev-seal-key-not-for-production"


class Settings(BaseSettings):
    """Configuration of one service process. Every field is an environment variable ``PASARKOTA_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="PASARKOTA_", extra="ignore", populate_by_name=True)

    env: Literal["dev", "test", "prod"] = "dev"
    service: str = "pasarkota"
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:19092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "PASARKOTA_KAFKA_BOOTSTRAP_SERVERS"),
    )
    database_url: str = Field("", description="this service's own login role on its own schema")
    db_pool_max: int = 10
    # Access tokens are verified only (shared.auth): the identity service's public keys, never a signing key.
    identity_url: str = Field("http://127.0.0.1:8105", description="where the JWKS is fetched from")
    jwks_json: str = Field("", description="pinned public JWKS instead of fetching it (offline tools, unit tests)")
    jwks_cache_seconds: float = Field(300, description="a fetched JWKS is refreshed after this")
    jwks_refetch_seconds: float = Field(10, description="at most one refetch per this on an unknown kid")
    code_seal_key: SecretStr = Field(SecretStr(DEV_CODE_SEAL_KEY), description=(
        "seals sign-in codes on the bus (shared.sealed); held by identity and notifications only"))
    log_format: Literal["json", "console", "auto"] = "auto"
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8100
    outbox_batch_size: int = 500
    outbox_idle_poll_ms: int = 500
    # The outbox relay's producer (acks=all, idempotent). Batching: wait up to linger_ms for a batch of up to
    # max_batch_bytes per partition. Compression is off by default: on one box the network is the loopback and
    # CPU is what binds; on a cluster across machines, gzip (no extra package) or lz4/zstd (`pip install lz4` /
    # `cramjam`) trade CPU for bytes. See docs/benchmarks.md.
    kafka_linger_ms: int = Field(5, ge=0, le=1000)
    kafka_max_batch_bytes: int = Field(262_144, ge=16_384, le=1_048_576)
    kafka_compression_type: Literal["none", "gzip", "lz4", "zstd", "snappy"] = "none"
    consumer_max_attempts: int = 3
    consumer_retry_backoff_ms: int = 200
    demo: bool = Field(False, description="seed the demo cities' data at start (idempotent); set by `pasarkota up`")
    max_body_bytes: int = Field(256 * 1024, description="request-body limit (413 past it), unless a route says less")
    fault_inject: str = Field("", description="test-only crash points, e.g. 'relay:after_publish'")

    outbox_retention_hours: int = Field(72, description="sent outbox rows are pruned after this (shared.retention)")
    inbox_retention_days: int = Field(35, description="inbox rows and dead-letter bodies; > the DLQ topics' 30 days")
    idempotency_retention_hours: int = 48

    # Kafka on a real cluster (shared.kafka): TLS, SASL (PLAIN, SCRAM, OAUTHBEARER); plaintext by default.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] | None = None
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str = Field("", description="the cluster's CA certificate (PEM); the system trust if empty")
    kafka_ssl_certfile: str = ""
    kafka_ssl_keyfile: str = ""
    kafka_ssl_check_hostname: bool = True
    kafka_oauth_token_url: str = ""
    kafka_oauth_client_id: str = ""
    kafka_oauth_client_secret: SecretStr = SecretStr("")
    kafka_oauth_scope: str = ""

    def refuse_weak_secrets(self) -> Settings:
        """In production, raise (naming variables, never values) for any weak secret or password.

        Not a pydantic validator on purpose: a ValidationError echoes its input, and the input is the secret.
        """
        if self.env == "prod":
            from shared.secrets import refuse_weak_secrets, url_password

            secrets: dict[str, str | None] = {}
            if self.service in ("identity", "notifications"):
                secrets["PASARKOTA_CODE_SEAL_KEY"] = self.code_seal_key.get_secret_value()
            if self.database_url:
                secrets["the password in PASARKOTA_DATABASE_URL"] = url_password(self.database_url)
            if self.kafka_sasl_mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
                secrets["PASARKOTA_KAFKA_SASL_PASSWORD"] = self.kafka_sasl_password.get_secret_value()
            refuse_weak_secrets(secrets)
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings().refuse_weak_secrets()
