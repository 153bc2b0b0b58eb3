"""The portal's own settings: where the services' HTTP APIs are. Everything else comes from shared settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import get_settings


class PortalSettings(BaseSettings):
    """``PASARKOTA_CATALOG_URL`` … ``PASARKOTA_NOTIFICATIONS_URL`` (set by `pasarkota up` and the test platform)."""

    model_config = SettingsConfigDict(env_prefix="PASARKOTA_", extra="ignore")

    catalog_url: str = "http://127.0.0.1:8101"
    orders_url: str = "http://127.0.0.1:8102"
    payments_url: str = "http://127.0.0.1:8103"
    learning_url: str = "http://127.0.0.1:8104"
    notifications_url: str = "http://127.0.0.1:8106"
    portal_api_timeout_seconds: float = 8.0
    portal_cookie_secure: bool = False

    def service_url(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")

    @property
    def dev_mode(self) -> bool:
        """Demo sign-in and the payment simulator button exist only outside production."""
        return get_settings().env != "prod"

    @property
    def jwt_secret(self) -> str:
        return get_settings().jwt_secret.get_secret_value()


@lru_cache
def get_portal_settings() -> PortalSettings:
    return PortalSettings()
