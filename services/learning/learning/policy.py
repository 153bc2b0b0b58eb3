"""Who may do what in learning: plain functions of the principal and the thing (no IO), unit-tested.

The routes' ``require(...)`` already checked the role and the city of the path; these rules are the finer
ones that depend on the thing acted on.
"""

from __future__ import annotations

from shared.auth import Principal
from shared.errors import Forbidden

STAFF_WHO_RUN_ANY_SESSION = ("city_admin", "operator")
STAFF_WHO_LINK_VENDORS = ("city_admin", "market_admin")


def may_run_session(who: Principal, session_trainer_id: str | None, callers_trainer_id: str | None) -> bool:
    """A trainer runs (roster, check-in code, attendance) only the sessions assigned to them; city admins any."""
    if who.has(*STAFF_WHO_RUN_ANY_SESSION):
        return True
    return callers_trainer_id is not None and session_trainer_id == callers_trainer_id


def ensure_runs_session(who: Principal, session_trainer_id: str | None, callers_trainer_id: str | None) -> None:
    if not may_run_session(who, session_trainer_id, callers_trainer_id):
        raise Forbidden("not-your-session", "Ini bukan sesi Anda. / This is not your session.")


def may_link_vendor(who: Principal | None, city: str, vendor_id: str, vendor_city: str | None = None) -> bool:
    """A participant ↔ vendor link must be proven (issue #18 item 7): by the vendor's own account (a ``vendor``
    token carrying that ``vendor_id``) or by a market / city admin, all acting in ``city``. A vendor learning
    already knows to be of another city is never linked. An anonymous self-registration proves nothing."""
    if who is None or who.city != city or (vendor_city is not None and vendor_city != city):
        return False
    if who.has("vendor") and who.vendor_id == vendor_id:
        return True
    return who.has(*STAFF_WHO_LINK_VENDORS)


def ensure_may_link_vendor(who: Principal | None, city: str, vendor_id: str, vendor_city: str | None = None) -> None:
    if not may_link_vendor(who, city, vendor_id, vendor_city):
        raise Forbidden("vendor-link-unproven",
                        "Tautan ke pedagang hanya dapat dibuat oleh akun pedagang itu sendiri atau admin pasar/kota. "
                        "/ Only the vendor's own account or a market/city admin may link a participant to a vendor.")
