"""Every event type of PasarKota, in one place. Importing this package registers them all.

Topics are ``<service>.<aggregate>.v<major>``; the key is the aggregate id. Within a version only
optional fields may be added (``pasarkota contracts check`` and the contract tests enforce it).
"""

from shared.events import catalog, identity, learning, notifications, orders, payments

__all__ = ["catalog", "identity", "learning", "notifications", "orders", "payments"]
