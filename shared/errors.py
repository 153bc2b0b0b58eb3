"""The one family of domain errors: a code, a bilingual detail and a kind — never an HTTP status.

Domain modules and use cases raise these; ``shared.problems`` maps the kind to a problem+json status in
exactly one place (not-found → 404, conflict → 409, invalid → 422, forbidden → 403, too-many → 429,
unauthenticated → 401).
A consumer that hits one dead-letters the message with the code and detail, like any other failure.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class Kind(StrEnum):
    NOT_FOUND = "not-found"
    CONFLICT = "conflict"
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    TOO_MANY = "too-many"
    UNAUTHENTICATED = "unauthenticated"


class DomainError(Exception):
    """A rule of the domain said no. ``detail`` is for people: Indonesian first, then English.

    ``extra`` carries machine-readable context (e.g. ``attempts_left``) that the HTTP layer adds to the
    problem document.
    """

    kind: ClassVar[Kind] = Kind.INVALID

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.detail!r})"


class NotFound(DomainError):
    """The thing does not exist — or exists but is not the caller's to see (never reveal which)."""

    kind = Kind.NOT_FOUND


class Conflict(DomainError):
    """The request is fine but the current state does not allow it (already paid, full, locked, ...)."""

    kind = Kind.CONFLICT


class Invalid(DomainError):
    """The request itself breaks a rule (unknown product, quantity below the minimum, bad code, ...)."""

    kind = Kind.INVALID


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    kind = Kind.FORBIDDEN


class Unauthenticated(DomainError):
    """The caller's credential (a refresh token, a sign-in code's challenge) is unknown, expired or revoked."""

    kind = Kind.UNAUTHENTICATED


class TooMany(DomainError):
    """Too many attempts; try again later (rate limits, lockouts)."""

    kind = Kind.TOO_MANY


def not_found(what_id: str, what_en: str, code: str) -> NotFound:
    """``NotFound`` with the usual sentence: ``not_found("Pesanan", "Order", "order-not-found")``."""
    return NotFound(code, f"{what_id} tidak ditemukan. / {what_en} not found.")
