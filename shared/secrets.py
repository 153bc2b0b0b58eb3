"""What a production secret must be: long, random-looking, and not a value anyone has seen in this repo.

``PASARKOTA_ENV=prod`` refuses to start with an empty, short, placeholder or development value for any secret
or password, naming the variable (never the value). Generate one with ``openssl rand -hex 32``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from urllib.parse import urlsplit

MIN_LENGTH = 32
MIN_ENTROPY_BITS = 128  # estimated from the characters' spread; `openssl rand -hex 32` has ~256
PLACEHOLDER_MARKERS = ("change_me", "changeme", "placeholder", "example", "not-for-production", "dev-webhook-secret",
                       "pasarkota-dev", "pasarkota-test", "secret-here", "your-secret", "xxxxxxxx", "password")


def weakness(value: str | None) -> str | None:
    """Why ``value`` is not fit to be a production secret, or None when it is."""
    if not value:
        return "empty"
    lowered = value.lower()
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS) or (lowered.startswith("pk-") and
                                                                     lowered.endswith("-dev")):
        return "a placeholder or development value"
    if len(value.encode()) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} bytes"
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    if per_char * len(value) < MIN_ENTROPY_BITS or len(counts) < 8:
        return "too predictable (low entropy)"
    return None


def url_password(url: str) -> str | None:
    """The password inside a connection URL (``postgresql://user:pw@host/db``), or None if it has none."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def refuse_weak_secrets(secrets: Mapping[str, str | None]) -> None:
    """Raise naming every variable whose value is not a production secret (values are never printed)."""
    weak = [f"{name} ({why})" for name, value in secrets.items() if (why := weakness(value))]
    if weak:
        raise RuntimeError("PASARKOTA_ENV=prod refuses weak secrets; set a long random value "
                           "(e.g. `openssl rand -hex 32`) for: " + ", ".join(weak))
