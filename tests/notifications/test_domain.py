"""The delivery rules as plain functions: formats, quiet hours, back-off, rate limits, opt-out words, statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifications import domain
from shared.errors import Invalid

WIB_NIGHT = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)   # 22.30 WIB
WIB_DAY = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)       # 10.00 WIB
QUIET = domain.parse_quiet_hours("21:00-06:00")


def test_money_and_times_read_the_indonesian_way() -> None:
    assert domain.rupiah(15000) == "Rp 15.000" and domain.rupiah(1250500) == "Rp 1.250.500"
    assert domain.rupiah(0) == "Rp 0"
    assert domain.wib(WIB_DAY) == "Rabu, 2 Des 2026 10.00 WIB"
    assert domain.clock(WIB_NIGHT) == "22.30 WIB"
    assert domain.order_ref("01jabcdefghkmnpq") == "FGHKMNPQ"


def test_quiet_hours_defer_only_deferrable_messages_to_the_end_of_the_night() -> None:
    reminder, code, paid = (domain.template(n) for n in ("session_reminder_day", "signin_code", "order_paid"))
    until = domain.send_not_before(WIB_NIGHT, reminder, QUIET)
    assert until.astimezone(domain.WIB).strftime("%Y-%m-%d %H:%M") == "2026-12-03 06:00"
    assert domain.send_not_before(WIB_NIGHT, code, QUIET) == WIB_NIGHT
    assert domain.send_not_before(WIB_NIGHT, paid, QUIET) == WIB_NIGHT
    assert domain.send_not_before(WIB_DAY, reminder, QUIET) == WIB_DAY
    early = datetime(2026, 12, 2, 21, 30, tzinfo=UTC)  # 04.30 WIB next day, still quiet: same morning
    assert domain.send_not_before(early, reminder, QUIET).astimezone(domain.WIB).strftime("%d %H:%M") == "03 06:00"
    assert domain.send_not_before(WIB_NIGHT, reminder, None) == WIB_NIGHT


@pytest.mark.parametrize("raw", ["21-06", "25:00-06:00", "06:00-06:00", "malam"])
def test_bad_quiet_hours_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        domain.parse_quiet_hours(raw)


def test_city_rules_name_the_city_and_field_when_wrong() -> None:
    with pytest.raises(ValueError, match=r"city tegal.*quiet hours"):
        domain.CityRules.parse("tegal", {"quiet_hours": "nanti"})
    with pytest.raises(ValueError, match="city tegal"):
        domain.CityRules.parse("tegal", {"max_per_phone_per_hour": 0})
    rules = domain.CityRules.parse("cimahi", {"quiet_hours": "21:00-06:00"}, quiet_override="off")
    assert rules.quiet_hours is None and rules.limits == domain.RateLimits()


def test_back_off_doubles_and_is_capped() -> None:
    assert [domain.backoff(n, 5).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert domain.backoff(30, 5) == timedelta(hours=1)


def test_rate_limits_per_phone_and_per_city() -> None:
    limits = domain.RateLimits(per_phone_per_hour=3, per_city_per_minute=10)
    assert domain.over_limit(limits, 2, 9) is None
    assert domain.over_limit(limits, 3, 0) == timedelta(minutes=5)
    assert domain.over_limit(limits, 0, 10) == timedelta(seconds=15)


def test_replies_that_opt_out_and_back_in() -> None:
    assert domain.reply_intent(" berhenti ") == "opt_out" and domain.reply_intent("STOP") == "opt_out"
    assert domain.reply_intent("Mulai!") == "opt_in"
    assert domain.reply_intent("berhenti kirim dong") is None and domain.reply_intent(None) is None
    assert domain.bypasses_opt_out(domain.template("signin_code"))
    assert not domain.bypasses_opt_out(domain.template("order_ready"))


def test_delivery_statuses_only_move_forward() -> None:
    assert domain.status_after("sent", "delivered") == "delivered"
    assert domain.status_after("delivered", "read") == "read"
    assert domain.status_after("read", "delivered") is None      # late report
    assert domain.status_after("delivered", "delivered") is None  # repeat
    assert domain.status_after("sent", "failed") == "failed"
    assert domain.status_after("delivered", "failed") is None
    assert domain.status_after("failed", "read") is None
    with pytest.raises(Invalid):
        domain.status_after("sent", "exploded")


def test_only_codes_fall_back_to_sms() -> None:
    assert domain.falls_back_to_sms(domain.template("signin_code"), "whatsapp")
    assert domain.falls_back_to_sms(domain.template("order_ready"), "whatsapp")
    assert not domain.falls_back_to_sms(domain.template("signin_code"), "sms")
    assert not domain.falls_back_to_sms(domain.template("order_paid"), "whatsapp")
