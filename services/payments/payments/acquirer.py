"""The acquirer adapter: what PasarKota needs from a QRIS acquirer (PJSP / payment gateway).

The built-in :class:`payments.simulator.SimulatorAcquirer` is the first implementation; a real gateway
plugs in behind the same interface (issue a dynamic QRIS, refund, verify its webhook).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from payments.qris import MerchantOfRecord
from payments.signing import VerifiedRequest


@dataclass(frozen=True)
class IssuedQris:
    qris: str
    bill_number: str
    reference_label: str


@dataclass(frozen=True)
class RefundOrder:
    city: str
    payment_id: str
    order_id: str
    amount: int
    reason: str
    acquirer_reference: str | None  # the payment being returned, when known
    refund_id: str | None = None    # ours: the acquirer's idempotency key for this refund


@dataclass(frozen=True)
class RefundReceipt:
    acquirer_refund_reference: str


class Acquirer(ABC):
    """One acquirer's wire contract."""

    name: str

    @abstractmethod
    def issue_intent(self, merchant: MerchantOfRecord, amount: int, bill_number: str,
                     reference_label: str) -> IssuedQris:
        """A dynamic QRIS for exactly ``amount`` rupiah, tied to the intent by bill number and reference label."""

    @abstractmethod
    async def refund(self, order: RefundOrder) -> RefundReceipt:
        """Return money to the payer. Must be idempotent for the same refund (``order.refund_id``): the refund
        worker retries until it gets a receipt. Called after the refund is committed, outside any batch."""

    @abstractmethod
    def verify_notification(self, secret: str, method: str, path: str, headers: Mapping[str, str],
                            body: bytes, *, now: float) -> VerifiedRequest:
        """Authenticate a webhook call; raise ``payments.signing.SignatureError`` when it is not genuine."""
