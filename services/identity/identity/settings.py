"""Identity's own settings (environment variables ``PASARKOTA_IDENTITY_<NAME>``), read once at start by ``app.py``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IdentitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PASARKOTA_IDENTITY_", extra="ignore")

    keys_file: str = Field("", description="the signing keys (JSON, see identity/keys.py); only identity holds it")
    access_ttl_seconds: int = Field(900, gt=0, le=3600, description="access token lifetime (≈15 min)")
    refresh_ttl_seconds: int = Field(30 * 24 * 3600, gt=0, description="a refresh token unused this long dies")
    code_ttl_seconds: int = Field(300, gt=0, le=900, description="a sign-in code is valid this long")
    code_max_tries: int = Field(5, gt=0, le=10, description="wrong codes allowed; the next try is locked")
    resend_cooldown_seconds: int = Field(60, ge=0, description="a new code for the same phone after this")
    codes_per_phone_hour: int = Field(5, gt=0, description="codes sent to one phone per hour")
    codes_per_address_hour: int = Field(30, gt=0, description="codes asked from one client address per hour")
    trusted_proxies: str = Field("127.0.0.1,::1", description=(
        "addresses or networks (CIDR) of the portal and ingress, whose X-Forwarded-For names the client"))
