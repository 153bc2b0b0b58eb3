"""Orders' own settings (environment variables ``PASARKOTA_ORDERS_<NAME>``), read once at start by ``app.py``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OrdersSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PASARKOTA_ORDERS_", extra="ignore")

    stuck_after_seconds: float = Field(600, gt=0, description="a saga step unanswered this long is stuck")
    grace_scan_seconds: float = Field(30, gt=0, description="how often the grace worker looks for stuck orders")
