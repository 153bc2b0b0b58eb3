"""Who may do what: plain functions, unit-tested.

* A provider webhook is believed only with a valid ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with
  the app secret, compared in constant time).
* The simulator's endpoints (``/dev/...``) exist only outside production.
* A person sees and changes only their own notification settings (by the phone of their account).
"""

from __future__ import annotations

import hashlib
import hmac

from shared.auth import Principal
from shared.errors import Forbidden


def signature_of(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(signature_of(secret, body), header.strip())


def dev_endpoints_enabled(env: str) -> bool:
    return env != "prod"


def party_to_order(principal: Principal, buyer_id: str, vendor_ids: set[str]) -> str | None:
    """``"buyer"`` or ``"vendor"`` when the principal shares this order (and may chat with the other side)."""
    if principal.has("buyer") and principal.sub == buyer_id:
        return "buyer"
    if principal.has("vendor") and principal.vendor_id in vendor_ids:
        return "vendor"
    return None


def ensure_own_settings(principal: Principal, city: str) -> None:
    if principal.city != city and not principal.has("operator"):
        raise Forbidden("other-city", "Anda tidak dapat mengakses data kota lain. / Not your city.")
