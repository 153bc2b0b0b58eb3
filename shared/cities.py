"""The city directory: which cities this deployment serves, with their settings and merchant of record.

Loaded from ``PASARKOTA_CITIES_FILE`` (default ``config/cities.toml``). Secrets come from the environment
(``PASARKOTA_CITY_<SLUG>_WEBHOOK_SECRET``). Unknown cities answer 404 everywhere.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.problems import Problem

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "config" / "cities.toml"


@dataclass(frozen=True)
class Merchant:
    name: str
    city: str
    postal_code: str
    mcc: str
    nmid: str
    acquirer_guid: str
    acquirer_nns: str
    merchant_pan: str
    merchant_id: str
    criteria: str


@dataclass(frozen=True)
class City:
    slug: str
    name: str
    timezone: str
    delivery_fee: int
    payment_expiry_minutes: int
    programme_style: str
    merchant: Merchant

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def webhook_secret(self) -> str:
        return os.environ.get(f"PASARKOTA_CITY_{self.slug.upper()}_WEBHOOK_SECRET", f"dev-webhook-secret-{self.slug}")


def _load(path: Path) -> dict[str, City]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise RuntimeError(f"city directory {path} not found; set PASARKOTA_CITIES_FILE") from None
    cities = {}
    for raw in data.get("city", []):
        merchant = Merchant(**raw["merchant"])
        cities[raw["slug"]] = City(
            slug=raw["slug"], name=raw["name"], timezone=raw.get("timezone", "Asia/Jakarta"),
            delivery_fee=int(raw.get("delivery_fee", 0)),
            payment_expiry_minutes=int(raw.get("payment_expiry_minutes", 15)),
            programme_style=raw.get("programme_style", "in_person"), merchant=merchant)
    return cities


@lru_cache
def all_cities() -> dict[str, City]:
    return _load(Path(os.environ.get("PASARKOTA_CITIES_FILE", DEFAULT_FILE)))


def get_city(slug: str) -> City:
    """The city or a 404 problem. Use as the first step of every ``/cities/{city}/…`` route."""
    city = all_cities().get(slug)
    if city is None:
        raise Problem(404, f"Kota '{slug}' tidak dikenal. / Unknown city '{slug}'.", code="unknown-city")
    return city
