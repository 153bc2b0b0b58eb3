"""A meeting platform's attendance report (CSV) → one line per person with their minutes in the call.

Pure: bytes in, :class:`Report` out; no IO, no database. Tolerant of what trainers actually upload:

- **Zoom** participant report (*Reports → Usage → Participants → Export*): ``Name (Original Name)``,
  ``User Email``, ``Join Time``, ``Leave Time``, ``Duration (Minutes)``, ``Guest``, …; with *Export with meeting
  data* a block of meeting facts (``Meeting ID``, ``Topic``, …) comes first — the header row is searched for.
  Zoom in Bahasa Indonesia: ``Nama (Nama Asli)``, ``Email Pengguna``, ``Waktu Bergabung``, ``Waktu Keluar``,
  ``Durasi (Menit)``.
- **Google Meet** attendance report: ``First name`` / ``Last name`` (or ``Full Name``), ``Email``,
  ``Duration`` (``1 hr 5 min``, ``45 min``, ``00:45:12``), ``Time joined`` / ``Joined at`` / ``First seen``,
  ``Time exited``, ``Time in call``; Indonesian ``Nama depan``, ``Nama belakang``, ``Durasi``.
- a UTF-8 BOM, UTF-16 (Excel's "Unicode text"), Windows-1252; ``,`` ``;`` or tab as the delimiter; blank lines.
- the same person joining several times (dropped connection, a second device): their minutes are **summed**
  into one line, keyed by email, else by phone, else by the normalised name.

Refused (``ReportRefused`` with an Indonesian/English reason): no recognisable name column, no duration and no
join/leave times, more than ``MAX_ROWS`` rows.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

MAX_BYTES = 1024 * 1024
MAX_ROWS = 5000
DEFAULT_MIN_MINUTES = 45
DEFAULT_MIN_SHARE = 0.75

# Header synonyms, compared after ``_key`` (lowercase, accents and punctuation dropped, spaces single).
NAME_HEADERS = ("name original name", "name", "nama nama asli", "nama", "full name", "nama lengkap",
                "participant", "peserta", "display name", "participant name", "attendee")
FIRST_NAME_HEADERS = ("first name", "nama depan", "given name")
LAST_NAME_HEADERS = ("last name", "nama belakang", "surname", "family name")
EMAIL_HEADERS = ("user email", "email", "email pengguna", "e mail", "alamat email", "participant email",
                 "attendee email", "email address")
PHONE_HEADERS = ("phone", "phone number", "telepon", "nomor telepon", "no hp", "nomor hp", "hp", "whatsapp")
DURATION_HEADERS = ("duration minutes", "durasi menit", "duration", "durasi", "time in call", "waktu dalam panggilan",
                    "total duration", "attendance duration", "lama hadir", "minutes", "menit")
JOIN_HEADERS = ("join time", "waktu bergabung", "joined at", "time joined", "first seen", "waktu bergabung pertama",
                "first join", "bergabung", "joined")
LEAVE_HEADERS = ("leave time", "waktu keluar", "time exited", "left at", "last seen", "last leave", "keluar", "left")

_PHONE = re.compile(r"(?:\+?62[\s.-]?|0)8[\d\s.-]{7,14}\d")


class ReportRefused(ValueError):
    """The upload is not an attendance report we can read; ``reason`` is bilingual (Indonesian / English)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Attendee:
    """One person of the report, their rows (rejoins) merged."""

    name: str
    email: str | None
    phone: str | None
    minutes: int
    rows: int = 1
    joined_at: str | None = None

    @property
    def key(self) -> str:
        return person_key(self.name, self.email, self.phone)


@dataclass
class Report:
    platform: str                     # "zoom" / "meet" / "csv"
    attendees: list[Attendee] = field(default_factory=list)
    rows_read: int = 0
    rows_skipped: int = 0             # rows without a name or a time (totals, blank lines, the host's summary)


# --------------------------------------------------------------------------------------------- normalising

def _key(header: str) -> str:
    text = unicodedata.normalize("NFKD", header or "").encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def normalise_email(raw: str | None) -> str | None:
    text = (raw or "").strip().lower()
    return text if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text) else None


def normalise_name(raw: str | None) -> str:
    """``"  Siti  NURHALIZA (Siti N.)"`` → ``"siti nurhaliza"``: case, accents, punctuation, Zoom's original
    name in brackets and a phone number typed into the display name are all dropped."""
    text = re.sub(r"\(.*?\)", " ", raw or "")
    text = _PHONE.sub(" ", text)
    return _key(text)


def phone_in(text: str | None) -> str | None:
    """A phone number typed into a display name (``"Budi - 0812 3456 7890"``), in the ``08…`` form."""
    match = _PHONE.search(text or "")
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group(0))
    if digits.startswith("62"):
        digits = "0" + digits[2:]
    return digits if 10 <= len(digits) <= 14 else None


def person_key(name: str, email: str | None, phone: str | None) -> str:
    if email:
        return f"email:{email}"
    if phone:
        return f"phone:{phone}"
    return f"name:{normalise_name(name)}"


def parse_minutes(raw: str | None) -> float | None:
    """``"47"``, ``"47,5"``, ``"1:05:12"`` (h:m:s), ``"45:30"`` (m:s), ``"1 hr 5 min"``, ``"1 jam 5 menit"``,
    ``"50m 12s"`` → minutes; None when it says nothing."""
    text = (raw or "").strip().lower()
    if not text:
        return None
    if re.fullmatch(r"\d+(?:[.,]\d+)?", text):
        return float(text.replace(",", "."))
    if re.fullmatch(r"\d{1,3}:\d{2}:\d{2}", text):
        h, m, s = (int(x) for x in text.split(":"))
        return h * 60 + m + s / 60
    if re.fullmatch(r"\d{1,3}:\d{2}", text):
        m, s = (int(x) for x in text.split(":"))
        return m + s / 60
    total, found = 0.0, False
    for number, unit in re.findall(r"(\d+(?:[.,]\d+)?)\s*([a-z]+)", text):
        value = float(number.replace(",", "."))
        if unit.startswith(("h", "j")):          # hr, hour, jam
            total += value * 60
        elif unit.startswith("m"):               # min, mins, minute, menit, m
            total += value
        elif unit.startswith(("s", "d")):        # sec, s, detik
            total += value / 60
        else:
            continue
        found = True
    return total if found else None


_TIME_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S",
                 "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %I:%M %p", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M", "%I:%M:%S %p",
                 "%I:%M %p", "%H:%M:%S", "%H:%M", "%H.%M")


def parse_time(raw: str | None) -> datetime | None:
    text = " ".join((raw or "").strip().upper().split())
    text = re.sub(r"\s*(GMT|UTC|WIB)[+\-\d:]*$", "", text)
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


# -------------------------------------------------------------------------------------------------- reading

def decode(raw: bytes) -> str:
    """UTF-8 (with or without a BOM), UTF-16 with a BOM, else Windows-1252 (Excel on Windows)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _delimiter(lines: list[str]) -> str:
    sample = "\n".join(lines[:30])
    counts = {d: sample.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _find(headers: list[str], names: tuple[str, ...]) -> int | None:
    keys = [_key(h) for h in headers]
    for wanted in names:               # synonyms in order of preference
        if wanted in keys:
            return keys.index(wanted)
    return None


def _header_row(rows: list[list[str]]) -> int | None:
    """The first row that names a person column and a time column (Zoom puts meeting facts above it)."""
    for i, row in enumerate(rows[:40]):
        has_name = _find(row, NAME_HEADERS) is not None or _find(row, FIRST_NAME_HEADERS) is not None
        has_time = _find(row, DURATION_HEADERS) is not None or _find(row, JOIN_HEADERS) is not None
        if has_name and has_time:
            return i
    return None


def parse(raw: bytes) -> Report:
    """Read an attendance report; rejoins of the same person are summed into one :class:`Attendee`."""
    if len(raw) > MAX_BYTES:
        raise ReportRefused(f"Berkas terlalu besar (maks. {MAX_BYTES // 1024 // 1024} MB). / "
                            f"The file is too large (max {MAX_BYTES // 1024 // 1024} MB).")
    if b"\x00" in raw and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReportRefused("Berkas bukan CSV (berisi data biner). / The file is not a CSV (binary content).")
    text = decode(raw).replace("\x00", "")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ReportRefused("Berkas kosong. / The file is empty.")
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=_delimiter(lines)))
    except csv.Error:   # a field past the csv module's limit, a stray NUL: not a report we can read
        raise ReportRefused("Berkas CSV rusak atau tidak terbaca. / The CSV file is broken or unreadable.") from None
    start = _header_row(rows)
    if start is None:
        raise ReportRefused("Kolom nama dan durasi (atau waktu bergabung/keluar) tidak ditemukan; unggah laporan "
                            "peserta dari Zoom atau laporan kehadiran dari Google Meet. / No name and duration (or "
                            "join/leave time) columns found; upload Zoom's participant report or Google Meet's "
                            "attendance report.")
    headers = rows[start]
    body = rows[start + 1:]
    if len(body) > MAX_ROWS:
        raise ReportRefused(f"Terlalu banyak baris (maks. {MAX_ROWS}). / Too many rows (max {MAX_ROWS}).")
    col = {
        "name": _find(headers, NAME_HEADERS), "first": _find(headers, FIRST_NAME_HEADERS),
        "last": _find(headers, LAST_NAME_HEADERS), "email": _find(headers, EMAIL_HEADERS),
        "phone": _find(headers, PHONE_HEADERS), "duration": _find(headers, DURATION_HEADERS),
        "join": _find(headers, JOIN_HEADERS), "leave": _find(headers, LEAVE_HEADERS),
    }
    keys = {_key(h) for h in headers}
    platform = ("zoom" if keys & {"name original name", "nama nama asli", "user email", "email pengguna",
                                  "duration minutes", "durasi menit"}
                else "meet" if keys & {"first name", "nama depan", "time in call", "first seen", "time joined"}
                else "csv")
    report = Report(platform=platform)
    merged: dict[str, Attendee] = {}

    def cell(row: list[str], name: str) -> str:
        i = col[name]
        return row[i].strip() if i is not None and i < len(row) else ""

    for row in body:
        report.rows_read += 1
        if _key(" ".join(row)) == _key(" ".join(headers)):   # a repeated header (two sections pasted together)
            report.rows_skipped += 1
            continue
        name = cell(row, "name") or " ".join(x for x in (cell(row, "first"), cell(row, "last")) if x)
        name = " ".join(name.split())[:120]
        minutes = parse_minutes(cell(row, "duration"))
        joined, left = parse_time(cell(row, "join")), parse_time(cell(row, "leave"))
        if minutes is None and joined is not None and left is not None and left >= joined:
            minutes = (left - joined).total_seconds() / 60
        if not name or minutes is None:
            report.rows_skipped += 1
            continue
        email = normalise_email(cell(row, "email"))
        phone = phone_in(cell(row, "phone")) or phone_in(name)
        person = Attendee(name=name, email=email, phone=phone, minutes=0, rows=0,
                          joined_at=cell(row, "join")[:40] or None)
        seen = merged.get(person.key)
        if seen is None:
            seen = merged[person.key] = person
        seen.rows += 1
        seen.minutes += round(minutes * 60)  # seconds while summing; minutes at the end
        seen.phone = seen.phone or phone
    for person in merged.values():
        person.minutes = person.minutes // 60
        report.attendees.append(person)
    report.attendees.sort(key=lambda a: normalise_name(a.name))
    return report


# ---------------------------------------------------------------------------------------------- the rule

def default_min_minutes(session_minutes: int) -> int:
    """The minimum-minutes rule when the trainer sets none: 45 minutes, or 75% of a shorter session
    (a 40-minute webinar needs 30)."""
    return max(1, min(DEFAULT_MIN_MINUTES, math.ceil(session_minutes * DEFAULT_MIN_SHARE)))


def qualifies(minutes: int, min_minutes: int) -> bool:
    return minutes >= min_minutes


# ------------------------------------------------------------------------------------------------ matching

@dataclass(frozen=True)
class Enrolled:
    """A participant on the session's roster, as matching needs them."""

    enrolment_id: str
    name: str
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class Match:
    attendee: Attendee
    enrolment_id: str | None
    matched_by: str | None            # "email" / "phone" / "name"; None: unmatched (or ambiguous)


def match(attendees: list[Attendee], roster: list[Enrolled]) -> list[Match]:
    """Each attendee to an enrolled participant: by email, then phone (both normalised), then by name — exact
    after normalising, or the same words in another order — only when exactly one participant fits."""
    by_email = {e.email.lower(): e for e in roster if e.email}
    by_phone = {e.phone: e for e in roster if e.phone}
    by_name: dict[str, list[Enrolled]] = {}
    by_words: dict[str, list[Enrolled]] = {}
    for e in roster:
        by_name.setdefault(normalise_name(e.name), []).append(e)
        by_words.setdefault(" ".join(sorted(normalise_name(e.name).split())), []).append(e)
    out = []
    for a in attendees:
        found: Enrolled | None = None
        how: str | None = None
        if a.email and a.email in by_email:
            found, how = by_email[a.email], "email"
        elif a.phone and a.phone in by_phone:
            found, how = by_phone[a.phone], "phone"
        else:
            name = normalise_name(a.name)
            words = " ".join(sorted(name.split()))
            candidates = by_name.get(name) or by_words.get(words) or []
            if name and len(candidates) == 1:
                found, how = candidates[0], "name"
        out.append(Match(a, found.enrolment_id if found else None, how))
    return out
