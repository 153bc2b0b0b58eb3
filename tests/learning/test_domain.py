"""The learning domain without IO: seats and waitlist, transitions, rotating check-in codes, completion, funnel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from learning import domain
from learning.domain import DomainError, ParticipantFacts
from shared.phone import international, masked, normalise_phone
from shared.problems import STATUS_OF_KIND

T0 = datetime(2026, 3, 2, 2, 0, 30, tzinfo=UTC)


def test_seats_until_capacity_then_waitlist() -> None:
    placed = []
    booked = 0
    for _ in range(100):
        status = domain.seat_or_waitlist(30, booked)
        booked += status == "booked"
        placed.append(status)
    assert placed.count("booked") == 30 and placed.count("waitlisted") == 70
    assert placed[:30] == ["booked"] * 30


def test_cancellations_promote_the_head_of_the_waitlist_exactly_once() -> None:
    """The whole story of one session, as the handlers play it under the session lock."""
    status: dict[str, str] = {}
    for n in range(100):
        taken = sum(1 for s in status.values() if s == "booked")
        status[f"e{n:03d}"] = domain.seat_or_waitlist(30, taken)
    waitlist = [e for e, s in status.items() if s == "waitlisted"]
    promoted: list[str] = []
    for cancelled in ["e000", "e001", "e002", "e003", "e004"]:
        domain.require_move(status[cancelled], "cancelled")
        status[cancelled] = "cancelled"
        queue = [e for e in waitlist if status[e] == "waitlisted"]
        for e in domain.to_promote(30, sum(1 for s in status.values() if s == "booked"), queue):
            domain.require_move(status[e], "booked")
            status[e] = "booked"
            promoted.append(e)
    assert promoted == waitlist[:5]
    assert sum(1 for s in status.values() if s == "booked") == 30
    with pytest.raises(DomainError):
        domain.require_move(status["e000"], "cancelled")   # cancelling again changes nothing
    assert domain.to_promote(30, 30, waitlist) == [] and domain.to_promote(30, 31, waitlist) == []
    assert domain.to_promote(30, 27, ["a", "b"]) == ["a", "b"]


@pytest.mark.parametrize(("current", "target", "ok"), [
    ("waitlisted", "booked", True), ("booked", "cancelled", True), ("booked", "attended", True),
    ("booked", "no_show", True), ("no_show", "attended", True), ("waitlisted", "cancelled", True),
    ("cancelled", "booked", False), ("attended", "cancelled", False), ("booked", "booked", False),
    ("waitlisted", "attended", False), ("cancelled", "cancelled", False),
])
def test_enrolment_transitions_are_guarded(current: str, target: str, ok: bool) -> None:
    assert domain.can_move(current, target) is ok
    if not ok:
        with pytest.raises(DomainError) as err:
            domain.require_move(current, target)
        assert STATUS_OF_KIND[err.value.kind] == 409   # the kind the kernel answers as 409


def test_no_enrolment_or_cancellation_once_the_session_started() -> None:
    domain.ensure_enrolment_open(T0, T0 - timedelta(seconds=1))
    with pytest.raises(DomainError):
        domain.ensure_enrolment_open(T0, T0)
    with pytest.raises(DomainError):
        domain.ensure_cancellable("booked", T0, T0 + timedelta(minutes=1))
    with pytest.raises(DomainError):
        domain.ensure_cancellable("attended", T0, T0 - timedelta(days=1))
    domain.ensure_cancellable("waitlisted", T0, T0 - timedelta(days=1))


def test_check_in_code_rotates_every_minute_and_accepts_the_previous_one() -> None:
    secret = "s3cret"
    code = domain.check_in_code(secret, T0)
    assert len(code) == 6 and code.isdigit()
    minute_start = datetime.fromtimestamp(int(T0.timestamp()) // 60 * 60, tz=UTC)
    assert domain.check_in_code(secret, minute_start + timedelta(seconds=59)) == code
    codes = {domain.check_in_code(secret, T0 + timedelta(minutes=m)) for m in range(30)}
    assert len(codes) >= 29  # changes every minute (a repeat among 30 six-digit codes is ~0.04 %)
    assert domain.verify_check_in_code(secret, code, T0)
    assert domain.verify_check_in_code(secret, code, T0 + timedelta(seconds=60))      # previous minute
    assert not domain.verify_check_in_code(secret, code, T0 + timedelta(seconds=120))  # expired
    assert not domain.verify_check_in_code("other-secret", code, T0) or \
        domain.check_in_code("other-secret", T0) == code
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert not domain.verify_check_in_code(secret, wrong, T0)
    assert not domain.verify_check_in_code(secret, "12ab56", T0)
    assert not domain.verify_check_in_code(secret, "", T0)
    assert domain.code_valid_until(T0) == minute_start + timedelta(minutes=1)


def test_check_in_window_is_from_15_minutes_before_start_to_end() -> None:
    start, end = T0, T0 + timedelta(hours=2)
    assert not domain.is_check_in_open(start, end, start - timedelta(minutes=16))
    assert domain.is_check_in_open(start, end, start - timedelta(minutes=15))
    assert domain.is_check_in_open(start, end, end)
    assert not domain.is_check_in_open(start, end, end + timedelta(seconds=1))


def test_completion_needs_every_required_session() -> None:
    sessions = [("a", True), ("b", True), ("c", False)]
    assert not domain.has_completed(sessions, ["a"])
    assert not domain.has_completed(sessions, ["a", "c"])
    assert domain.has_completed(sessions, ["a", "b"])
    assert domain.has_completed([("a", False), ("b", False)], ["a", "b"])   # none flagged: all needed
    assert not domain.has_completed([("a", False), ("b", False)], ["a"])
    assert not domain.has_completed([], [])


def test_certificate_codes_are_short_unambiguous_and_unguessable() -> None:
    codes = {domain.certificate_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == 10 and set(code) <= set(domain.CERTIFICATE_ALPHABET)
    assert not set("01OIL25SZ8B") & set(domain.CERTIFICATE_ALPHABET)
    assert domain.normalise_certificate_code(" 34679-acdef ") == "34679ACDEF"


def test_phone_and_rw_normalisation() -> None:
    assert normalise_phone("+62 812-3456-7890") == "081234567890"
    assert normalise_phone("6281234567") == "081234567"
    assert normalise_phone("12345") is None
    assert normalise_phone("0212345678") is None
    assert international("0812-3456-7890") == "6281234567890"
    assert masked("081234567890") == "0812****7890"
    assert domain.normalise_rw("RW 5") == domain.normalise_rw("rw05") == domain.normalise_rw("5") == "05"
    assert domain.normalise_rw("  ") is None
    assert domain.normalise_rw("RW Lima") == "RW Lima"


def _facts(pid: str, style: str = "in_person", rw: str = "05", **kw: object) -> ParticipantFacts:
    base: dict[str, object] = dict(participant_id=pid, style=style, group="pelaku_usaha", rw=rw,
                                   kelurahan="Cibabat", enrolled=True, attended=False, certified=False,
                                   became_vendor=False, sales=())
    base.update(kw)
    return ParticipantFacts(**base)  # type: ignore[arg-type]


def test_funnel_counts_each_step_per_style_group_and_rw() -> None:
    day = T0
    rows = [
        _facts("p1", attended=True, certified=True, became_vendor=True, sales=(day, day + timedelta(days=10))),
        _facts("p2", attended=True, certified=True, became_vendor=True, sales=(day, day + timedelta(days=31))),
        _facts("p3", attended=True),
        _facts("p4", enrolled=False),
        _facts("p5", style="webinar", rw="02", group="pkk", attended=True, certified=True),
        # p1 also took a webinar: counted in both styles, once per group / RW / total
        _facts("p1", style="webinar", attended=True, became_vendor=True, sales=(day, day + timedelta(days=10))),
    ]
    report = domain.funnel(rows)
    by_style = {r["style"]: r for r in report["by_style"]}  # type: ignore[attr-defined]
    assert by_style["in_person"] == {"style": "in_person", "enrolled": 3, "attended": 3, "certified": 2,
                                     "became_vendor": 2, "first_sale": 2, "repeat_sale_30d": 1}
    assert by_style["webinar"]["enrolled"] == 2 and by_style["webinar"]["first_sale"] == 1
    by_group = {r["group"]: r for r in report["by_group"]}  # type: ignore[attr-defined]
    assert by_group["pelaku_usaha"]["enrolled"] == 3 and by_group["pkk"]["certified"] == 1
    by_rw = {r["rw"]: r for r in report["by_rw"]}  # type: ignore[attr-defined]
    assert by_rw["05"]["repeat_sale_30d"] == 1 and by_rw["02"]["enrolled"] == 1
    assert report["total"] == {"enrolled": 4, "attended": 4, "certified": 3, "became_vendor": 2, "first_sale": 2,
                               "repeat_sale_30d": 1}
    csv_rows = domain.funnel_csv_rows(report)
    assert csv_rows[0] == ["dimension", "key", *domain.FUNNEL_STEPS]
    assert ["total", "all", "4", "4", "3", "2", "2", "1"] in csv_rows


def test_repeat_sale_window() -> None:
    assert domain.sold_again_within([T0, T0 + timedelta(days=30)])
    assert not domain.sold_again_within([T0, T0 + timedelta(days=30, seconds=1)])
    assert not domain.sold_again_within([T0])
    assert domain.sold_again_within([T0 + timedelta(days=5), T0])   # order of arrival does not matter
