"""The learning domain: plain Python, no IO.

- enrolment: a seat while the session has capacity, otherwise a place on the waitlist; a cancelled seat
  goes to the first on the waitlist (exactly once, decided under the session's lock by the caller);
- the enrolment state machine (booked / waitlisted / cancelled / attended / no_show), every move guarded;
- the rotating check-in code: HMAC(session secret, minute) → 6 digits, the current and previous minute valid;
- completion: every required session attended → one certificate with a short unguessable code;
- the funnel: enrolled → attended → certified → became a vendor → first sale → sold again within 30 days.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from shared.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooMany

__all__ = ["Conflict", "DomainError", "Forbidden", "Invalid", "NotFound", "TooMany"]

Status = Literal["booked", "waitlisted", "cancelled", "attended", "no_show"]
GROUPS = ("pkk", "pelaku_usaha", "pengurus_rw", "karang_taruna", "lpm", "umum")
STYLES = ("in_person", "webinar", "hybrid")

CHECK_IN_OPENS_BEFORE = timedelta(minutes=15)
CODE_PERIOD_SECONDS = 60
REPEAT_SALE_WINDOW = timedelta(days=30)

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: read aloud or typed from paper without mistakes. 25 symbols ^ 10 ≈ 2^46.
CERTIFICATE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CERTIFICATE_CODE_LENGTH = 10


# Check-in guessing limits (issue #18 item 7/8): wrong codes per participant per session, and per session
# in a sliding window; past either, the code is not even checked (the trainer can still record attendance).
MAX_WRONG_CODES_PER_PARTICIPANT = 5
MAX_WRONG_CODES_PER_SESSION = 50
WRONG_CODE_WINDOW = timedelta(minutes=10)


# ---------------------------------------------------------------------------------------------- enrolment

def seat_or_waitlist(capacity: int, booked: int) -> Status:
    """Where a new enrolment goes, given the seats already taken (booked or attended)."""
    return "booked" if booked < capacity else "waitlisted"


def to_promote(capacity: int, seats_taken: int, waitlist: list[str]) -> list[str]:
    """The waitlisted enrolments (given in arrival order) that take the free seats: the head of the queue."""
    return waitlist[:max(0, capacity - seats_taken)]


_TRANSITIONS: dict[str, set[str]] = {
    "booked": {"cancelled", "attended", "no_show"},
    "waitlisted": {"booked", "cancelled"},
    "no_show": {"attended"},       # the trainer corrects a mistake
    "attended": set(),
    "cancelled": set(),
}


def can_move(current: str, target: str) -> bool:
    return target in _TRANSITIONS.get(current, set())


def require_move(current: str, target: str) -> None:
    if not can_move(current, target):
        raise Conflict("invalid-enrolment-transition",
                       f"Pendaftaran berstatus '{current}' tidak dapat menjadi '{target}'. / "
                       f"An enrolment that is '{current}' cannot become '{target}'.")


def ensure_enrolment_open(starts_at: datetime, now: datetime) -> None:
    if now >= starts_at:
        raise Conflict("session-started",
                       "Sesi ini sudah dimulai atau sudah lewat. / This session has already started or is over.")


def ensure_cancellable(status: str, starts_at: datetime, now: datetime) -> None:
    if status not in ("booked", "waitlisted"):
        raise Conflict("not-cancellable",
                       f"Pendaftaran berstatus '{status}' tidak dapat dibatalkan. / "
                       f"An enrolment that is '{status}' cannot be cancelled.")
    if now >= starts_at:
        raise Conflict("session-started",
                       "Sesi sudah dimulai; pembatalan tidak lagi bisa. / "
                       "The session has started; too late to cancel.")


def ensure_not_enrolled(live_enrolment_id: str | None) -> None:
    if live_enrolment_id is not None:
        raise Conflict("already-enrolled",
                       "Anda sudah terdaftar di sesi ini. / You are already enrolled in this session.")


def ensure_attendable(status: str) -> None:
    if status == "waitlisted":
        raise Conflict("not-booked", "Anda masih di daftar tunggu sesi ini. / You are on the waitlist, not booked.")


# ------------------------------------------------------------------------------------------------ setup

def ensure_style(style: str) -> None:
    if style not in STYLES:
        raise Invalid("bad-style", "Gaya program tidak dikenal. / Unknown programme style.")


def ensure_session_plan(style: str, *, starts_at: datetime, ends_at: datetime, now: datetime,
                        rw_hub_id: str | None, meeting_link: str | None) -> None:
    """The times and the venue of a new session fit its programme's style."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Invalid("naive-time", "Waktu harus menyertakan zona waktu. / Times need a time zone.")
    if ends_at <= starts_at:
        raise Invalid("bad-times", "Waktu selesai harus setelah waktu mulai. / The end must follow the start.")
    if starts_at <= now:
        raise Invalid("session-in-past", "Sesi tidak boleh di masa lalu. / A session cannot be in the past.")
    if style == "in_person" and not rw_hub_id:
        raise Invalid("venue-required", "Sesi tatap muka perlu balai RW. / An in-person session needs an RW hub.")
    if style == "webinar" and not meeting_link:
        raise Invalid("meeting-link-required", "Webinar perlu tautan rapat. / A webinar needs a meeting link.")
    if style == "hybrid" and not (rw_hub_id or meeting_link):
        raise Invalid("venue-required", "Sesi hibrida perlu balai RW atau tautan. / A hybrid session needs a "
                                         "venue or a link.")
    if meeting_link and not re.fullmatch(r"https://\S{3,500}", meeting_link):
        raise Invalid("bad-meeting-link", "Tautan rapat harus https://… / The meeting link must be https://…",
                      field="meeting_link")


# ----------------------------------------------------------------------------------------- check-in code

def check_in_window(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    return starts_at - CHECK_IN_OPENS_BEFORE, ends_at


def is_check_in_open(starts_at: datetime, ends_at: datetime, now: datetime) -> bool:
    opens, closes = check_in_window(starts_at, ends_at)
    return opens <= now <= closes


def _minute(now: datetime) -> int:
    return int(now.timestamp()) // CODE_PERIOD_SECONDS


def check_in_code_for_minute(secret: str, minute: int) -> str:
    digest = hmac.new(secret.encode(), str(minute).encode(), hashlib.sha256).digest()
    # Dynamic truncation as in HOTP (RFC 4226): 31 bits from an offset chosen by the last nibble.
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def check_in_code(secret: str, now: datetime) -> str:
    """The code shown by the trainer at ``now``; it changes every minute."""
    return check_in_code_for_minute(secret, _minute(now))


def code_valid_until(now: datetime) -> datetime:
    """When the code shown at ``now`` stops being the current one (it is still accepted one minute more)."""
    start = _minute(now) * CODE_PERIOD_SECONDS
    return datetime.fromtimestamp(start + CODE_PERIOD_SECONDS, tz=now.tzinfo)


def verify_check_in_code(secret: str, code: str, now: datetime) -> bool:
    """True for the current minute's code or the previous one (a participant typing across the minute)."""
    code = (code or "").strip()
    if not re.fullmatch(r"\d{6}", code):
        return False
    minute = _minute(now)
    return any(hmac.compare_digest(code, check_in_code_for_minute(secret, m)) for m in (minute, minute - 1))


def ensure_check_in_open(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if not is_check_in_open(starts_at, ends_at, now):
        raise Conflict("check-in-closed", "Presensi hanya dibuka 15 menit sebelum sampai akhir sesi. / "
                                          "Check-in is open from 15 minutes before the start to the end.")


def ensure_attendance_open(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    """Trainers record attendance from the check-in opening on (also after the session)."""
    opens, _ = check_in_window(starts_at, ends_at)
    if now < opens:
        raise Conflict("attendance-not-open", "Presensi belum dibuka untuk sesi ini. / Attendance is not open yet "
                                              "for this session.")


def check_in_guard(own_wrong: int, session_wrong_recently: int) -> DomainError | None:
    """Why a code may not even be checked now: this participant's wrong codes for the session, or the session's
    wrong codes in the last ``WRONG_CODE_WINDOW`` (someone is guessing). None when the code may be checked."""
    if own_wrong >= MAX_WRONG_CODES_PER_PARTICIPANT:
        return locked_out()
    if session_wrong_recently >= MAX_WRONG_CODES_PER_SESSION:
        return TooMany("check-in-throttled",
                       "Terlalu banyak kode salah untuk sesi ini; coba lagi beberapa menit lagi atau minta pelatih "
                       "mencatat kehadiran Anda. / Too many wrong codes for this session; try again in a few "
                       "minutes or ask the trainer to record your attendance.",
                       retry_after_seconds=int(WRONG_CODE_WINDOW.total_seconds()))
    return None


def locked_out() -> TooMany:
    return TooMany("check-in-locked",
                   "Terlalu banyak kode salah; minta pelatih mencatat kehadiran Anda. / Too many wrong codes; ask "
                   "the trainer to record your attendance.", attempts_left=0)


def wrong_code(own_wrong_now: int) -> DomainError:
    """The answer to a wrong code, given this participant's wrong codes for the session including this one."""
    left = MAX_WRONG_CODES_PER_PARTICIPANT - own_wrong_now
    if left <= 0:
        return locked_out()
    return Invalid("wrong-check-in-code", "Kode presensi salah atau kedaluwarsa. / Wrong or expired check-in code.",
                   attempts_left=left)


def new_session_secret() -> str:
    return secrets.token_hex(32)


# ------------------------------------------------------------------------------------------- completion

def certificate_code() -> str:
    return "".join(secrets.choice(CERTIFICATE_ALPHABET) for _ in range(CERTIFICATE_CODE_LENGTH))


def normalise_certificate_code(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw or "").upper()


def required_sessions(sessions: Iterable[tuple[str, bool]]) -> set[str]:
    """The sessions a programme needs attended: those flagged required, or all of them when none is."""
    sessions = list(sessions)
    flagged = {sid for sid, required in sessions if required}
    return flagged or {sid for sid, _ in sessions}


def has_completed(sessions: Iterable[tuple[str, bool]], attended: Iterable[str]) -> bool:
    needed = required_sessions(sessions)
    return bool(needed) and needed <= set(attended)


# ------------------------------------------------------------------------------------------ participant

def ensure_group(group: str) -> None:
    if group not in GROUPS:
        raise Invalid("bad-group", "Kelompok peserta tidak dikenal. / Unknown participant group.")


def normalise_rw(raw: str | None) -> str | None:
    """``"RW 5"``, ``"rw05"``, ``"5"`` → ``"05"``; other text is kept as typed (trimmed)."""
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    match = re.fullmatch(r"(?i)(?:rw\s*\.?\s*)?0*(\d{1,3})", text)
    return f"{int(match.group(1)):02d}" if match else text


# ----------------------------------------------------------------------------------------------- funnel

FUNNEL_STEPS = ("enrolled", "attended", "certified", "became_vendor", "first_sale", "repeat_sale_30d")


@dataclass(frozen=True)
class ParticipantFacts:
    """What the funnel knows of one participant in one programme style."""

    participant_id: str
    style: str
    group: str
    rw: str | None
    kelurahan: str | None
    enrolled: bool
    attended: bool
    certified: bool
    became_vendor: bool
    sales: tuple[datetime, ...] = ()


def sold_again_within(sales: Iterable[datetime], window: timedelta = REPEAT_SALE_WINDOW) -> bool:
    """A second completed sale no later than ``window`` after the first one."""
    ordered = sorted(sales)
    return len(ordered) >= 2 and ordered[1] - ordered[0] <= window


@dataclass
class FunnelCounts:
    enrolled: int = 0
    attended: int = 0
    certified: int = 0
    became_vendor: int = 0
    first_sale: int = 0
    repeat_sale_30d: int = 0
    _seen: dict[str, dict[str, bool]] = field(default_factory=dict, repr=False)

    def add(self, facts: ParticipantFacts) -> None:
        """Count a participant once per step, OR-ing the facts of their several styles."""
        merged = self._seen.setdefault(facts.participant_id, dict.fromkeys(FUNNEL_STEPS, False))
        merged["enrolled"] |= facts.enrolled
        merged["attended"] |= facts.attended
        merged["certified"] |= facts.certified
        merged["became_vendor"] |= facts.became_vendor
        merged["first_sale"] |= bool(facts.sales)
        merged["repeat_sale_30d"] |= sold_again_within(facts.sales)

    def as_dict(self) -> dict[str, int]:
        return {step: sum(1 for m in self._seen.values() if m[step]) for step in FUNNEL_STEPS}


def funnel(rows: Iterable[ParticipantFacts]) -> dict[str, object]:
    """The funnel per programme style, per participant group, per RW (with kelurahan), and in total."""
    by_style: dict[str, FunnelCounts] = {}
    by_group: dict[str, FunnelCounts] = {}
    by_rw: dict[tuple[str, str], FunnelCounts] = {}
    total = FunnelCounts()
    for r in rows:
        by_style.setdefault(r.style, FunnelCounts()).add(r)
        by_group.setdefault(r.group, FunnelCounts()).add(r)
        by_rw.setdefault((r.kelurahan or "", r.rw or ""), FunnelCounts()).add(r)
        total.add(r)
    return {
        "steps": list(FUNNEL_STEPS),
        "total": total.as_dict(),
        "by_style": [{"style": k, **v.as_dict()} for k, v in sorted(by_style.items())],
        "by_group": [{"group": k, **v.as_dict()} for k, v in sorted(by_group.items())],
        "by_rw": [{"kelurahan": k[0] or None, "rw": k[1] or None, **v.as_dict()} for k, v in sorted(by_rw.items())],
    }


def funnel_csv_rows(report: dict[str, object]) -> list[list[str]]:
    """Rows of the CSV download: dimension, key, then one column per step."""
    rows: list[list[str]] = [["dimension", "key", *FUNNEL_STEPS]]

    def line(dimension: str, key: str, counts: dict[str, object]) -> list[str]:
        return [dimension, key, *(str(counts[s]) for s in FUNNEL_STEPS)]

    total = report["total"]
    assert isinstance(total, dict)
    rows.append(line("total", "all", total))
    for dimension, keyf in (("style", lambda d: d["style"]), ("group", lambda d: d["group"]),
                            ("rw", lambda d: f"{d['kelurahan'] or ''} RW {d['rw'] or '-'}".strip())):
        entries = report[f"by_{dimension}"]
        assert isinstance(entries, list)
        for entry in entries:
            rows.append(line(dimension, keyf(entry), entry))
    return rows


# ------------------------------------------------------------------------- back office (issue #13)

MEETING_LINK_OPENS_BEFORE = timedelta(minutes=30)
MATERIAL_MAX_BYTES = 5 * 1024 * 1024
MATERIAL_TYPES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MATERIAL_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def ensure_https_link(url: str, field_name: str = "url") -> None:
    if not re.fullmatch(r"https://[^\s/$.?#][^\s]{2,499}", url or ""):
        raise Invalid("bad-link", "Tautan harus diawali https:// / The link must start with https://",
                      field=field_name)


def meeting_link_visible(*, status: str, starts_at: datetime, ends_at: datetime, now: datetime) -> bool:
    """A booked participant sees the meeting link from 30 minutes before the start until the end."""
    return status in ("booked", "attended") and starts_at - MEETING_LINK_OPENS_BEFORE <= now <= ends_at


def sniff_material(content: bytes) -> str:
    """The file's type from its first bytes (never its name). Raises ``Invalid('unsupported-file-type')``."""
    for magic, content_type in MATERIAL_TYPES.items():
        if content.startswith(magic):
            return content_type
    raise Invalid("unsupported-file-type", "Berkas harus PDF, PNG atau JPEG. / The file must be a PDF, PNG or JPEG.",
                  field="file")


def overlap_refusal(other_title: str, other_id: str, other_start: datetime, reason: str) -> Conflict:
    who = "pelatih yang sama" if reason == "trainer" else "balai RW yang sama"
    return Conflict("session-overlap",
                    f"Bentrok dengan sesi '{other_title}' ({other_start.isoformat()}) di {who}. / Overlaps the "
                    f"session '{other_title}' of the same {'trainer' if reason == 'trainer' else 'RW hub'}.",
                    other_session_id=other_id, other_session_title=other_title, overlap=reason)
