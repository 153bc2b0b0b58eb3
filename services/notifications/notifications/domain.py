"""The rules of telling people things: plain Python, no IO.

* the message catalogue: every template, who gets it and how urgent it is;
* quiet hours (non-urgent messages wait until they end), back-off, rate limits, opt-out keywords;
* how a provider's delivery status moves a message (forward only), and when WhatsApp falls back to SMS;
* money as ``Rp 15.000`` and times in WIB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.errors import Invalid


class Urgency(StrEnum):
    CODE = "code"            # sign-in and pickup codes: at once, never deferred, SMS when WhatsApp fails
    NOW = "now"              # the person is waiting on it right now (pay, paid, a new paid order): never deferred
    DEFERRABLE = "deferrable"  # can wait for the morning: quiet hours apply


@dataclass(frozen=True)
class Template:
    name: str
    audience: str
    urgency: Urgency
    params: tuple[str, ...]  # the WhatsApp template's body parameters, in order ({{1}}, {{2}}, ...)
    about: str

    @property
    def urgent(self) -> bool:
        return self.urgency is Urgency.CODE

    @property
    def deferrable(self) -> bool:
        return self.urgency is Urgency.DEFERRABLE


CATALOGUE: dict[str, Template] = {t.name: t for t in (
    Template("signin_code", "anyone", Urgency.CODE, ("code", "minutes"), "the sign-in code from identity"),
    Template("order_awaiting_payment", "buyer", Urgency.NOW, ("order_ref", "total", "expires", "pay_link"),
             "order placed: pay by QRIS at the link before it expires"),
    Template("order_paid", "buyer", Urgency.NOW, ("order_ref", "total"), "payment received, vendors prepare"),
    Template("order_ready", "buyer", Urgency.CODE, ("order_ref", "pickup_code", "place"),
             "ready: the pickup code and where to pick up"),
    Template("order_completed", "buyer", Urgency.DEFERRABLE, ("order_ref", "total"), "picked up, thank you"),
    Template("order_on_its_way", "buyer", Urgency.NOW, ("order_ref", "courier", "courier_phone"),
             "delivery: the market's courier is on the way (name, WhatsApp)"),
    Template("order_delivery_failed", "buyer", Urgency.NOW, ("order_ref", "reason"),
             "delivery: the courier could not deliver; the order is back at the market"),
    Template("order_payment_expired", "buyer", Urgency.NOW, ("order_ref",), "not paid in time: cancelled"),
    Template("order_refunded", "buyer", Urgency.DEFERRABLE, ("order_ref", "amount", "reason"),
             "money returned: amount and reason"),
    Template("vendor_new_order", "vendor", Urgency.NOW, ("order_ref", "items", "fulfilment"),
             "a paid order to prepare: items, quantities, pickup or delivery"),
    Template("vendor_order_cancelled", "vendor", Urgency.NOW, ("order_ref",), "the buyer cancelled: stop preparing"),
    Template("vendor_daily_summary", "vendor", Urgency.DEFERRABLE, ("day", "orders", "amount", "link"),
             "the evening summary of the day's completed sales"),
    Template("enrolment_booked", "participant", Urgency.DEFERRABLE, ("session", "when", "where"),
             "a seat is booked"),
    Template("enrolment_waitlisted", "participant", Urgency.DEFERRABLE, ("session", "position"),
             "on the waitlist, at a position"),
    Template("enrolment_promoted", "participant", Urgency.DEFERRABLE, ("session", "when", "where"),
             "a seat freed up: now booked"),
    Template("session_reminder_day", "participant", Urgency.DEFERRABLE, ("session", "when", "where"),
             "the day before: venue or meeting link"),
    Template("session_reminder_hour", "participant", Urgency.DEFERRABLE, ("session", "when", "where"),
             "one hour before: venue or meeting link"),
    Template("trainer_roster_tomorrow", "trainer", Urgency.DEFERRABLE,
             ("session", "when", "where", "booked", "waitlisted", "link"), "the evening before: who is coming"),
    Template("certificate_issued", "participant", Urgency.DEFERRABLE, ("programme", "code", "verify_link"),
             "certificate with its public verification link"),
)}


def template(name: str) -> Template:
    return CATALOGUE[name]


# ------------------------------------------------------------------------------------------------ formats

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
_DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
WIB = ZoneInfo("Asia/Jakarta")


def rupiah(amount: int) -> str:
    """``15000`` → ``Rp 15.000``."""
    return "Rp " + f"{int(amount):,}".replace(",", ".")


def wib(at: datetime, tz: ZoneInfo = WIB) -> str:
    """``Selasa, 3 Des 2026 14.30 WIB``: a day and time people read without thinking."""
    local = at.astimezone(tz)
    zone = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}.get(str(tz), str(tz))
    return f"{_DAYS[local.weekday()]}, {local.day} {_MONTHS[local.month - 1]} {local.year} {local:%H.%M} {zone}"


def clock(at: datetime, tz: ZoneInfo = WIB) -> str:
    """``14.30 WIB``."""
    return wib(at, tz).split(" ", 4)[-1]


def tanggal(day: date) -> str:
    """``Rabu, 2 Des 2026``."""
    return f"{_DAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year}"


def order_ref(order_id: str) -> str:
    """The short reference people read out: the last 8 characters, upper case."""
    return order_id[-8:].upper()


REFUND_REASONS = {
    "requested": "permintaan Anda", "buyer_cancelled": "pesanan dibatalkan", "order_cancelled": "pesanan dibatalkan",
    "line_rejected": "barang tidak tersedia", "rejected_by_vendors": "barang tidak tersedia",
    "late_payment": "pembayaran masuk setelah batas waktu", "duplicate_payment": "pembayaran ganda",
    "paid_after_close": "pembayaran masuk setelah pesanan ditutup",
}

FULFILMENT = {"pickup_stall": "diambil di lapak", "pickup_rw_hub": "diambil di hub RW", "delivery": "diantar"}


# ------------------------------------------------------------------------------------------- quiet hours

@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # over midnight (21:00–06:00)


_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def parse_quiet_hours(raw: str | None) -> QuietHours | None:
    """``"21:00-06:00"`` → QuietHours; ``"off"``/empty → None; anything else is a configuration error."""
    if raw is None or raw.strip().lower() in ("", "off", "none"):
        return None
    m = _HHMM.match(raw.strip())
    if not m or m.group(1, 2) == m.group(3, 4):
        raise ValueError(f"quiet hours {raw!r}: expected 'HH:MM-HH:MM' (WIB) or 'off'")
    return QuietHours(time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4])))


def send_not_before(now: datetime, tmpl: Template, quiet: QuietHours | None, tz: ZoneInfo = WIB) -> datetime:
    """When a message may go: now, or — for a deferrable one inside quiet hours — when they end (local time)."""
    if quiet is None or not tmpl.deferrable:
        return now
    local = now.astimezone(tz)
    if not quiet.contains(local.timetz().replace(tzinfo=None)):
        return now
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end


# -------------------------------------------------------------------------------- retries, limits, opt-out

def backoff(attempts: int, base_seconds: float) -> timedelta:
    """After the n-th failed attempt: base, 2×base, 4×base, ... capped at one hour."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 3600.0))


@dataclass(frozen=True)
class RateLimits:
    per_phone_per_hour: int = 30
    per_city_per_minute: int = 600


def over_limit(limits: RateLimits, sent_to_phone_last_hour: int, sent_in_city_last_minute: int) -> timedelta | None:
    """How long a message must wait because its phone or its city reached the limit, or None to go."""
    if sent_to_phone_last_hour >= limits.per_phone_per_hour:
        return timedelta(minutes=5)
    if sent_in_city_last_minute >= limits.per_city_per_minute:
        return timedelta(seconds=15)
    return None


STOP_WORDS = frozenset({"BERHENTI", "STOP", "UNSUBSCRIBE"})
START_WORDS = frozenset({"MULAI", "START"})


def reply_intent(text: str | None) -> str | None:
    """``"berhenti"`` → ``"opt_out"``, ``"MULAI"`` → ``"opt_in"``, anything else None (a chat, not a command)."""
    word = (text or "").strip().strip(".!").upper()
    if word in STOP_WORDS:
        return "opt_out"
    if word in START_WORDS:
        return "opt_in"
    return None


def bypasses_opt_out(tmpl: Template) -> bool:
    """A sign-in code is sent even to a phone that opted out: the person just asked for it, on our page."""
    return tmpl.name == "signin_code"


# ------------------------------------------------------------------------------------ delivery statuses

_RANK = {"queued": 0, "sending": 0, "sent": 1, "delivered": 2, "read": 3}
PROVIDER_STATUSES = ("sent", "delivered", "read", "failed")


def status_after(current: str, reported: str) -> str | None:
    """The message's status after a provider reports ``reported``, or None when it changes nothing (a repeat, an
    out-of-order report, or a report about a message already failed)."""
    if reported not in PROVIDER_STATUSES:
        raise Invalid("unknown-status", f"Status '{reported}' tidak dikenal. / Unknown status '{reported}'.")
    if current == "failed":
        return None
    if reported == "failed":
        return "failed" if current in ("sent", "sending", "queued") else None
    return reported if _RANK[reported] > _RANK.get(current, 0) else None


def falls_back_to_sms(tmpl: Template, channel: str) -> bool:
    """Codes that WhatsApp could not deliver go again by SMS."""
    return tmpl.urgent and channel == "whatsapp"


@dataclass(frozen=True)
class CityRules:
    """A city's ``[city.notifications]``: validated at start-up (a bad value stops the service, naming it)."""

    quiet_hours: QuietHours | None
    limits: RateLimits
    whatsapp_phone_number_id: str
    whatsapp_display_number: str
    sms_sender: str
    templates_dir: str | None
    daily_summary_at: time | None = time(20, 0)  # local time of the vendors' evening summary; None: not sent
    roster_at: time | None = time(18, 0)  # local time of the trainers' roster for tomorrow; None: not sent

    @classmethod
    def parse(cls, city: str, raw: dict[str, object], quiet_override: str | None = None) -> CityRules:
        try:
            quiet_raw = quiet_override if quiet_override is not None else str(raw.get("quiet_hours", "21:00-06:00"))
            limits = RateLimits(int(str(raw.get("max_per_phone_per_hour", 30))),
                                int(str(raw.get("max_per_city_per_minute", 600))))
            if limits.per_phone_per_hour < 1 or limits.per_city_per_minute < 1:
                raise ValueError("rate limits must be at least 1")
            summary_raw = str(raw.get("daily_summary_at", "20:00")).strip().lower()
            summary = None if summary_raw in ("", "off") else time.fromisoformat(summary_raw)
            roster_raw = str(raw.get("roster_at", "18:00")).strip().lower()
            roster = None if roster_raw in ("", "off") else time.fromisoformat(roster_raw)
            return cls(quiet_hours=parse_quiet_hours(quiet_raw), limits=limits, daily_summary_at=summary,
                       roster_at=roster,
                       whatsapp_phone_number_id=str(raw.get("whatsapp_phone_number_id", "")),
                       whatsapp_display_number=str(raw.get("whatsapp_display_number", "")),
                       sms_sender=str(raw.get("sms_sender", "PASARKOTA")),
                       templates_dir=str(raw["templates_dir"]) if raw.get("templates_dir") else None)
        except ValueError as exc:
            raise ValueError(f"city {city}: [city.notifications] {exc}") from None


# The trainer's own words to the roster (learning's RosterMessaged, issue #13): deferrable, so a message written
# late in the evening waits for the end of the city's quiet hours like the other training messages.
CATALOGUE["trainer_message"] = Template("trainer_message", "participant", Urgency.DEFERRABLE,
                                        ("session", "trainer", "text"), "the trainer writes to the session's roster")


# A vendor a market admin added (or activated) by phone (issue #13): told at once that the shop is live and how to
# sign in — identity has granted `vendor` to that phone from the same VendorActivated.
CATALOGUE["vendor_welcome"] = Template("vendor_welcome", "vendor", Urgency.NOW, ("shop", "market", "link"),
                                       "the shop is active: sign in with this phone")
