"""Notifications' own settings (environment variables ``PASARKOTA_NOTIFICATIONS_<NAME>``), read once at start by
``app.py``. Per-city settings (quiet hours, sender numbers, template overrides, rate limits) live in the city
directory's ``[city.notifications]`` table (``domain.CityRules``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_APP_SECRET = "pasarkota-dev-whatsapp-app-secret"


class NotificationsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PASARKOTA_NOTIFICATIONS_", extra="ignore")

    provider: Literal["simulator", "cloud"] = Field(
        "simulator", description="simulator: the built-in phones (dev, tests, demo); cloud: WhatsApp Cloud API + SMS")
    instance: str = Field("notifications", pattern=r"^[a-z][a-z0-9_]{0,40}$", description=(
        "schema and consumer-group name; only tests running a second, isolated instance change it"))
    send_poll_seconds: float = Field(0.5, gt=0, description="how often the sender looks for due messages")
    send_batch: int = Field(50, gt=0, le=1000)
    send_timeout_seconds: float = Field(10.0, gt=0, description="a provider call slower than this is a failure")
    lease_seconds: float = Field(60.0, gt=0, description=(
        "a claimed message not recorded within this (the sender died) is sent again"))
    max_attempts: int = Field(5, ge=1, description="sends per channel before failing (or falling back to SMS)")
    backoff_seconds: float = Field(5.0, gt=0, description="retry after 5 s, 10 s, 20 s, ... (doubling)")
    reminder_scan_seconds: float = Field(30.0, gt=0)
    quiet_hours: str | None = Field(None, description=(
        "overrides every city's quiet hours: 'off' or 'HH:MM-HH:MM' (WIB); the city directory otherwise"))
    whatsapp_api_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_app_secret: SecretStr = Field(SecretStr(DEV_APP_SECRET), description=(
        "verifies X-Hub-Signature-256 of the WhatsApp webhooks (the Meta app secret)"))
    whatsapp_verify_token: SecretStr = Field(SecretStr("pasarkota-dev-verify-token"), description=(
        "the token Meta echoes when subscribing the webhook (GET hub.verify_token)"))
    sms_api_url: str = Field("http://127.0.0.1:9/sms", description="base URL of the SMS gateway (POST /messages)")
    portal_url: str = Field("http://127.0.0.1:8100", validation_alias="PASARKOTA_PORTAL_URL", description=(
        "public address of the portal: payment pages and certificate verification links in messages"))
