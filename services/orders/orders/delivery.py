"""Delivery by the market's couriers: the city's zones, fees and time slots, and what a checkout must give.

Pure. A city's ``[city.delivery]`` table (config/cities.toml) says where the market delivers and when::

    [city.delivery]
    slots = ["08:00-10:00", "10:00-12:00", "15:00-17:00"]   # WIB, every day
    slot_capacity = 20                                       # orders per market and slot
    days_ahead = 3                                           # today and the next 3 days
    [city.delivery.zones]                                    # kelurahan = fee in rupiah
    Cibabat = 8000

A delivery checkout gives the buyer's phone, the address (kelurahan from the zones, RW, street, a note) and a
slot (a day and one of the windows) that has not begun and is not full. The fee is the kelurahan's. A city
without zones does not deliver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from orders.domain import CheckoutRejected
from shared.cities import city_section
from shared.phone import normalise_phone

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class DeliveryConfigError(RuntimeError):
    """A city's ``[city.delivery]`` table is unusable (orders refuses to start, naming the city and field)."""


@dataclass(frozen=True)
class DeliveryRules:
    zones: Mapping[str, int]            # kelurahan → fee
    slots: tuple[str, ...] = ()         # "HH:MM-HH:MM", WIB
    slot_capacity: int = 20
    days_ahead: int = 3

    @property
    def delivers(self) -> bool:
        return bool(self.zones and self.slots)

    def zone_fee(self, kelurahan: str) -> int | None:
        wanted = kelurahan.strip().casefold()
        return next((fee for name, fee in self.zones.items() if name.casefold() == wanted), None)

    def zone_name(self, kelurahan: str) -> str:
        wanted = kelurahan.strip().casefold()
        return next((name for name in self.zones if name.casefold() == wanted), kelurahan.strip())


def parse_rules(city: str, raw: Mapping[str, Any]) -> DeliveryRules:
    zones_raw = raw.get("zones") or {}
    if not isinstance(zones_raw, Mapping):
        raise DeliveryConfigError(f"city {city!r}: [city.delivery] zones must be a table of kelurahan = fee")
    zones: dict[str, int] = {}
    for name, fee in zones_raw.items():
        if not isinstance(fee, int) or isinstance(fee, bool) or not 0 <= fee <= 1_000_000:
            raise DeliveryConfigError(f"city {city!r}: [city.delivery.zones] {name}: fee must be rupiah 0–1000000")
        zones[str(name)] = fee
    slots = tuple(str(s) for s in raw.get("slots") or ())
    for window in slots:
        m = _WINDOW.match(window)
        if not m or (m.group(1), m.group(2)) >= (m.group(3), m.group(4)):
            raise DeliveryConfigError(f"city {city!r}: [city.delivery] slots: {window!r} is not 'HH:MM-HH:MM'")
    capacity, days = raw.get("slot_capacity", 20), raw.get("days_ahead", 3)
    if not isinstance(capacity, int) or capacity < 1 or not isinstance(days, int) or not 0 <= days <= 14:
        raise DeliveryConfigError(f"city {city!r}: [city.delivery] slot_capacity ≥ 1 and days_ahead 0–14")
    return DeliveryRules(zones, slots, capacity, days)


def window_times(window: str) -> tuple[time, time]:
    start, end = window.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


@dataclass(frozen=True)
class DeliveryRequest:
    """What the buyer typed at checkout (raw; :func:`plan_delivery` checks it)."""

    phone: str | None = None
    kelurahan: str | None = None
    rw: str | None = None
    street: str | None = None
    note: str | None = None
    slot_date: date | None = None
    slot_window: str | None = None


@dataclass(frozen=True)
class DeliveryPlan:
    fee: int
    phone: str
    kelurahan: str
    rw: str | None
    street: str
    note: str | None
    slot_date: date
    slot_window: str

    @property
    def address(self) -> str:
        rw = f", RW {self.rw}" if self.rw else ""
        note = f" ({self.note})" if self.note else ""
        return f"{self.street}{rw}, Kel. {self.kelurahan}{note}"

    def as_dict(self) -> dict[str, Any]:
        return {"phone": self.phone, "kelurahan": self.kelurahan, "rw": self.rw, "street": self.street,
                "note": self.note, "slot_date": self.slot_date.isoformat(), "slot_window": self.slot_window}


def slots_offered(rules: DeliveryRules, tz: ZoneInfo, now: datetime) -> list[tuple[date, str]]:
    """The (day, window) pairs a buyer can choose now: not begun yet, within ``days_ahead``."""
    today = now.astimezone(tz).date()
    out = []
    for d in range(rules.days_ahead + 1):
        day = today + timedelta(days=d)
        for window in rules.slots:
            if datetime.combine(day, window_times(window)[0], tzinfo=tz) > now:
                out.append((day, window))
    return out


def plan_delivery(rules: DeliveryRules, tz: ZoneInfo, request: DeliveryRequest | None, now: datetime) -> DeliveryPlan:
    """The delivery the buyer asked for, with its fee — or CheckoutRejected naming what is wrong."""
    r = request or DeliveryRequest()
    if not rules.delivers:
        raise CheckoutRejected("no-delivery", "Kota ini belum melayani pengiriman. / This city does not deliver.")
    street = (r.street or "").strip()
    if not street:
        raise CheckoutRejected("address-required", "Alamat pengiriman wajib diisi. / A delivery address is required.")
    phone = normalise_phone(r.phone)
    if phone is None:
        raise CheckoutRejected("phone-required", "Nomor HP untuk kurir wajib diisi (contoh 0812…). / "
                                                 "A phone number for the courier is required.")
    fee = rules.zone_fee(r.kelurahan or "")
    if fee is None:
        raise CheckoutRejected("outside-delivery-zone", "Kelurahan ini di luar jangkauan pengiriman pasar. / "
                                                        "That kelurahan is outside the delivery zones.",
                               zones=sorted(rules.zones))
    rw = (r.rw or "").strip() or None
    if rw is not None and not re.fullmatch(r"\d{1,3}", rw):
        raise CheckoutRejected("invalid-rw", "RW berupa angka, contoh 05. / RW is a number such as 05.")
    if r.slot_date is None or r.slot_window not in rules.slots:
        raise CheckoutRejected("slot-required", "Pilih waktu pengiriman yang tersedia. / Choose an offered slot.",
                               slots=list(rules.slots))
    if (r.slot_date, r.slot_window) not in slots_offered(rules, tz, now):
        raise CheckoutRejected("slot-unavailable", "Waktu pengiriman itu sudah lewat atau terlalu jauh. / "
                                                   "That slot has begun or is too far ahead.")
    return DeliveryPlan(fee, phone, rules.zone_name(r.kelurahan or ""), rw, street[:200],
                        (r.note or "").strip()[:200] or None, r.slot_date, r.slot_window)


@lru_cache
def rules_for(city: str) -> DeliveryRules:
    """The city's delivery rules from its ``[city.delivery]`` table (checked at start by ``orders.app``)."""
    return parse_rules(city, city_section(city, "delivery"))


def _forget_rules(_city: object) -> None:
    rules_for.cache_clear()  # a city added or changed at runtime (issue #14): its delivery rules read afresh


from shared.cities import on_city_added  # noqa: E402

on_city_added(_forget_rules)
