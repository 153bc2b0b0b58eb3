"""Settings from environment variables (pydantic-settings). Documented in docs/configuration.md."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "pasarkota-dev-secret-not-for-production"


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
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_ttl_seconds: int = 12 * 3600
    log_format: Literal["json", "console", "auto"] = "auto"
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8100
    outbox_batch_size: int = 500
    outbox_idle_poll_ms: int = 500
    consumer_max_attempts: int = 3
    consumer_retry_backoff_ms: int = 200
    demo: bool = Field(False, description="seed the demo cities' data at start (idempotent); set by `pasarkota up`")
    fault_inject: str = Field("", description="test-only crash points, e.g. 'relay:after_publish'")

    @model_validator(mode="after")
    def _no_dev_secret_in_prod(self) -> Settings:
        if self.env == "prod" and self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
            raise ValueError("PASARKOTA_JWT_SECRET must be set to a real secret when PASARKOTA_ENV=prod")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
