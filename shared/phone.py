"""Indonesian mobile numbers: one stored form everywhere (``08…``), and the international form for WhatsApp.

People type ``0812-3456-7890``, ``+62 812 3456 7890`` or ``6281234567890``; they are the same phone. Every
service stores and compares the ``08…`` form; the WhatsApp Business Platform and ``wa.me`` links want
``62…`` (E.164 without the ``+``).
"""

from __future__ import annotations

import re

from shared.errors import Invalid

_SEPARATORS = re.compile(r"[\s\-().]")
_MOBILE = re.compile(r"08\d{7,12}")


def normalise_phone(raw: str | None) -> str | None:
    """The ``08…`` form of an Indonesian mobile number, or None when ``raw`` is not one."""
    digits = _SEPARATORS.sub("", raw or "")
    if digits.startswith("+62"):
        digits = "0" + digits[3:]
    elif digits.startswith("62"):
        digits = "0" + digits[2:]
    return digits if _MOBILE.fullmatch(digits) else None


def valid_phone(raw: str | None) -> str:
    """The ``08…`` form, or the kernel's Invalid (422 ``bad-phone``) with a bilingual message."""
    phone = normalise_phone(raw)
    if phone is None:
        raise Invalid("bad-phone", "Nomor HP tidak valid (contoh 0812…). / Invalid mobile number (e.g. 0812…).")
    return phone


def international(phone: str) -> str:
    """``0812…`` → ``62812…``: the form WhatsApp's API and ``wa.me`` links use."""
    normal = valid_phone(phone)
    return "62" + normal[1:]


def wa_link(phone: str | None, text: str | None = None) -> str | None:
    """``https://wa.me/62812…`` (with ``?text=`` typed in): opens a WhatsApp chat; None for no valid phone."""
    normal = normalise_phone(phone)
    if normal is None:
        return None
    from urllib.parse import quote

    return f"https://wa.me/{international(normal)}" + (f"?text={quote(text)}" if text else "")


def masked(phone: str) -> str:
    """``0812****7890``: what logs and staff pages may show of a phone number."""
    return phone[:4] + "*" * max(0, len(phone) - 8) + phone[-4:] if len(phone) > 8 else "****"


def sql_normalised(column: str) -> str:
    """A SQL expression for the ``08…`` form of a stored phone column, for rows written before normalisation
    (``0812-3456-7890``, ``+62 812…``): used to find a person's rows when they ask for deletion."""
    return rf"regexp_replace(regexp_replace(coalesce({column}, ''), '[\s().-]', '', 'g'), '^\+?62', '0')"
