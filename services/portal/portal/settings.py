"""The portal's own settings: where the services' HTTP APIs are. Everything else comes from shared settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import get_settings

DEV_COOKIE_SECRET = "pasarkota-dev-cookie-secret-not-for-production"


class PortalSettings(BaseSettings):
    """``PASARKOTA_CATALOG_URL`` … ``PASARKOTA_NOTIFICATIONS_URL`` (set by `pasarkota up` and the test
    platform)."""

    model_config = SettingsConfigDict(env_prefix="PASARKOTA_", extra="ignore")

    catalog_url: str = "http://127.0.0.1:8101"
    orders_url: str = "http://127.0.0.1:8102"
    payments_url: str = "http://127.0.0.1:8103"
    learning_url: str = "http://127.0.0.1:8104"
    identity_url: str = "http://127.0.0.1:8105"
    notifications_url: str = "http://127.0.0.1:8106"
    portal_cookie_secret: SecretStr = Field(SecretStr(DEV_COOKIE_SECRET), description=(
        "signs the cart cookie (HMAC); the portal's own, not a token key: the portal signs no access tokens"))
    portal_api_timeout_seconds: float = 8.0
    portal_cookie_secure: bool = False

    def service_url(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")

    @property
    def dev_mode(self) -> bool:
        """Demo sign-in and the payment simulator button exist only outside production."""
        return get_settings().env != "prod"

    @property
    def cookie_secret(self) -> str:
        secret = self.portal_cookie_secret.get_secret_value()
        if get_settings().env == "prod":
            from shared.secrets import refuse_weak_secrets

            refuse_weak_secrets({"PASARKOTA_PORTAL_COOKIE_SECRET": secret})
        return secret


@lru_cache
def get_portal_settings() -> PortalSettings:
    return PortalSettings()
