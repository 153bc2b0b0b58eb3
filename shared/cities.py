"""The city directory: which cities this deployment serves, with their settings.

Loaded from ``PASARKOTA_CITIES_FILE`` (default ``config/cities.toml``). Secrets come from the environment
(``PASARKOTA_CITY_<SLUG>_WEBHOOK_SECRET``). Unknown cities answer 404 everywhere.

Each city's ``[city.merchant]`` table (its QRIS merchant of record) is payments' configuration: it is kept
here raw (:class:`MerchantTable`) and parsed and validated by payments at start-up (``payments.merchant``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.problems import Problem

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "config" / "cities.toml"


class MerchantTable(Mapping[str, object]):
    """The raw ``[city.merchant]`` table, unparsed: payments owns its meaning and validates it at start-up.

    ``name`` is the display name pages may show (the portal's payment page).
    """

    def __init__(self, raw: Mapping[str, object]) -> None:
        self._raw = dict(raw)

    def __getitem__(self, key: str) -> object:
        return self._raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"MerchantTable({self._raw!r})"

    def __hash__(self) -> int:  # a City stays hashable, as it was
        return hash(tuple(sorted((k, repr(v)) for k, v in self._raw.items())))

    @property
    def name(self) -> str:
        return str(self._raw.get("name", ""))


@dataclass(frozen=True)
class City:
    slug: str
    name: str
    timezone: str
    delivery_fee: int
    payment_expiry_minutes: int
    programme_style: str
    merchant: MerchantTable

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
        merchant = MerchantTable(raw.get("merchant", {}))
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


@lru_cache
def _raw_tables() -> dict[str, dict[str, object]]:
    path = Path(os.environ.get("PASARKOTA_CITIES_FILE", DEFAULT_FILE))
    return {str(raw["slug"]): dict(raw) for raw in tomllib.loads(path.read_text()).get("city", [])}


def city_section(slug: str, section: str) -> dict[str, object]:
    """A city's raw ``[city.<section>]`` table (e.g. ``notifications``), or ``{}``: the service that reads a
    section owns its meaning and validates it at start-up, as payments does with ``[city.merchant]``."""
    table = _raw_tables().get(slug, {}).get(section, {})
    return dict(table) if isinstance(table, dict) else {}
