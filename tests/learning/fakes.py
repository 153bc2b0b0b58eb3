"""An in-memory ``LearningStore`` for use-case unit tests: the same methods, dicts instead of rows, no IO.

Only what the tested use cases need; a missing method fails loudly (AttributeError), never silently.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any


class FakeLearningStore:
    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.participants: dict[str, dict[str, Any]] = {}
        self.enrolments: dict[str, dict[str, Any]] = {}
        self.history: list[tuple[str, str | None, str, str]] = []   # (enrolment, from, to, reason)
        self.attendance: dict[str, dict[str, Any]] = {}
        self.wrong: list[tuple[str, str, datetime]] = []           # (session, participant, at)
        self.certificates: dict[tuple[str, str], str] = {}
        self.programmes: dict[str, dict[str, Any]] = {}
        self.vendors: dict[str, str] = {}                           # vendor id → city
        self._seq = itertools.count(1)

    # -- setup helpers for tests
    def add_session(self, session_id: str, *, city: str = "cimahi", programme_id: str = "prog-1", capacity: int,
                    starts_at: datetime, ends_at: datetime, secret: str = "s" * 64, required: bool = True) -> None:
        self.sessions[session_id] = {"session_id": session_id, "city": city, "programme_id": programme_id,
                                     "capacity": capacity, "starts_at": starts_at, "ends_at": ends_at,
                                     "checkin_secret": secret, "required": required, "trainer_id": None,
                                     "title": f"Sesi {session_id}", "rw_hub_id": None,
                                     "meeting_link": "https://meet.example.id/uji"}
        self.programmes.setdefault(programme_id, {"programme_id": programme_id, "title": "Program Uji",
                                                  "style": "webinar"})

    def add_participant(self, participant_id: str, *, city: str = "cimahi", vendor_id: str | None = None) -> str:
        subject = f"participant-{participant_id}"
        self.participants[participant_id] = {
            "participant_id": participant_id, "city": city, "subject": subject, "name": f"Peserta {participant_id}",
            "phone": "081200000000", "grp": "umum", "rw": "03", "kelurahan": "Cibabat", "vendor_id": vendor_id}
        return subject

    def statuses(self, session_id: str) -> dict[str, str]:
        return {e["participant_id"]: e["status"] for e in self.enrolments.values() if e["session_id"] == session_id}

    # -- the store's interface
    async def participant_by_subject(self, city: str, subject: str) -> dict[str, Any] | None:
        return next((p for p in self.participants.values() if p["city"] == city and p["subject"] == subject), None)

    async def lock_participant(self, participant_id: str) -> dict[str, Any]:
        return self.participants[participant_id]

    async def trainer_phone(self, trainer_id: str) -> str | None:
        return None

    async def participant_phone(self, participant_id: str) -> str | None:
        return self.participants[participant_id]["phone"] if participant_id in self.participants else None

    async def vendor_city(self, vendor_id: str) -> str | None:
        return self.vendors.get(vendor_id)

    async def insert_participant(self, city: str, participant_id: str, **kw: Any) -> dict[str, Any] | None:
        if any(p["city"] == city and p["phone"] == kw["phone"] for p in self.participants.values()):
            return None
        row = {"participant_id": participant_id, "city": city, "name": kw["name"], "phone": kw["phone"],
               "grp": kw["group"], "rw": kw["rw"], "kelurahan": kw["kelurahan"], "vendor_id": kw["vendor_id"],
               "subject": kw["subject"]}
        self.participants[participant_id] = row
        return row

    async def session(self, city: str, session_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        s = self.sessions.get(session_id)
        return s if s and s["city"] == city else None

    async def live_enrolment(self, session_id: str, participant_id: str) -> dict[str, Any] | None:
        return next((e for e in self.enrolments.values() if e["session_id"] == session_id
                     and e["participant_id"] == participant_id and e["status"] != "cancelled"), None)

    async def seats_taken(self, session_id: str) -> int:
        return sum(1 for e in self.enrolments.values()
                   if e["session_id"] == session_id and e["status"] in ("booked", "attended", "no_show"))

    async def waitlist_length(self, session_id: str) -> int:
        return sum(1 for e in self.enrolments.values()
                   if e["session_id"] == session_id and e["status"] == "waitlisted")

    async def insert_enrolment(self, city: str, enrolment_id: str, *, session_id: str, programme_id: str,
                               participant_id: str, status: str, now: datetime) -> None:
        self.enrolments[enrolment_id] = {"enrolment_id": enrolment_id, "city": city, "session_id": session_id,
                                         "programme_id": programme_id, "participant_id": participant_id,
                                         "status": status, "seq": next(self._seq)}
        self.history.append((enrolment_id, None, status, "enrolled"))

    async def enrolment(self, city: str, enrolment_id: str, *, session_id: str | None = None) -> dict[str, Any] | None:
        e = self.enrolments.get(enrolment_id)
        if e is None or e["city"] != city or (session_id is not None and e["session_id"] != session_id):
            return None
        return dict(e)

    async def lock_enrolment(self, enrolment_id: str) -> dict[str, Any]:
        return dict(self.enrolments[enrolment_id])

    async def lock_waitlist(self, session_id: str) -> list[dict[str, Any]]:
        return sorted((dict(e) for e in self.enrolments.values()
                       if e["session_id"] == session_id and e["status"] == "waitlisted"), key=lambda e: e["seq"])

    async def move(self, enrolment: dict[str, Any], target: str, *, reason: str, actor: str | None,
                   now: datetime) -> None:
        self.enrolments[enrolment["enrolment_id"]]["status"] = target
        self.history.append((enrolment["enrolment_id"], enrolment["status"], target, reason))

    async def insert_attendance(self, city: str, enrolment: dict[str, Any], *, method: str, actor: str | None,
                                now: datetime) -> None:
        self.attendance.setdefault(enrolment["enrolment_id"], {"method": method, "actor": actor, "at": now})

    async def wrong_codes(self, session_id: str, participant_id: str, *, since: datetime) -> tuple[int, int]:
        mine = [w for w in self.wrong if w[0] == session_id]
        return sum(1 for w in mine if w[1] == participant_id), sum(1 for w in mine if w[2] >= since)

    async def record_wrong_code(self, city: str, session_id: str, participant_id: str, now: datetime) -> None:
        self.wrong.append((session_id, participant_id, now))

    async def completion_facts(self, programme_id: str, participant_id: str
                               ) -> tuple[list[tuple[str, bool]], list[str], bool]:
        sessions = [(s["session_id"], s["required"]) for s in self.sessions.values()
                    if s["programme_id"] == programme_id]
        attended = [e["session_id"] for e in self.enrolments.values() if e["programme_id"] == programme_id
                    and e["participant_id"] == participant_id and e["status"] == "attended"]
        return sessions, attended, (programme_id, participant_id) in self.certificates

    async def insert_certificate(self, city: str, code: str, *, programme_id: str, participant_id: str,
                                 **_: Any) -> bool:
        self.certificates[(programme_id, participant_id)] = code
        return True

    async def programme(self, programme_id: str) -> dict[str, Any]:
        return self.programmes[programme_id]
