"""The built-in acquirer simulator: issues dynamic QRIS, refunds at once, and "scans and pays" a QRIS by
calling our webhook exactly as a gateway would (signed, with a fresh request id).

Used by the dev-only endpoint ``POST /simulator/{city}/pay``, by ``pasarkota pay`` and by the benchmark.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from payments.acquirer import Acquirer, IssuedQris, RefundOrder, RefundReceipt
from payments.qris import MerchantOfRecord, QrisError, decode_qris, encode_dynamic_qris
from payments.signing import VerifiedRequest, signed_headers, verify


def webhook_path(city: str) -> str:
    return f"/acquirer/{city}/notifications"


class SimulatorAcquirer(Acquirer):
    name = "simulator"

    def issue_intent(self, merchant: MerchantOfRecord, amount: int, bill_number: str,
                     reference_label: str) -> IssuedQris:
        return IssuedQris(encode_dynamic_qris(merchant, amount, bill_number, reference_label), bill_number,
                          reference_label)

    async def refund(self, order: RefundOrder) -> RefundReceipt:
        return RefundReceipt(f"SIMRF-{uuid.uuid4().hex[:20].upper()}")

    def verify_notification(self, secret: str, method: str, path: str, headers: Mapping[str, str],
                            body: bytes, *, now: float) -> VerifiedRequest:
        return verify(secret, method, path, headers, body, now=now)


@dataclass(frozen=True)
class ScannedQris:
    bill_number: str
    reference_label: str | None
    amount: int


def scan(qris: str) -> ScannedQris:
    """What a wallet does first: decode, check the CRC and that it is a dynamic QRIS with an amount."""
    decoded = decode_qris(qris)
    if not decoded.is_dynamic or decoded.amount is None:
        raise QrisError("not a dynamic QRIS with an amount; the simulator pays only payment intents")
    if not decoded.bill_number:
        raise QrisError("the QRIS has no bill number (tag 62.01)")
    return ScannedQris(decoded.bill_number, decoded.reference_label, decoded.amount)


def notification_body(scanned: ScannedQris, *, amount: int | None = None, acquirer_reference: str | None = None,
                      paid_at: datetime | None = None, status: str = "paid") -> bytes:
    body = {
        "bill_number": scanned.bill_number,
        "reference_label": scanned.reference_label,
        "amount": scanned.amount if amount is None else amount,
        "acquirer_reference": acquirer_reference or f"SIM-{uuid.uuid4().hex[:24].upper()}",
        "paid_at": (paid_at or datetime.now(UTC)).isoformat(),
        "status": status,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def signed_request(city: str, secret: str, body: bytes, *, request_id: str | None = None,
                   timestamp: int | None = None) -> tuple[str, dict[str, str]]:
    """The path and headers for one notification (what the gateway sends)."""
    path = webhook_path(city)
    headers = signed_headers(secret, path, body, timestamp=int(time.time()) if timestamp is None else timestamp,
                             request_id=request_id or f"sim-{uuid.uuid4().hex}")
    return path, headers


@dataclass(frozen=True)
class SentNotification:
    request_id: str
    acquirer_reference: str
    status_code: int
    response: object
    amount: int
    paid_at: datetime


async def pay(client: httpx.AsyncClient, base_url: str, city: str, secret: str, qris: str, *,
              amount: int | None = None, twice: bool = False, paid_at: datetime | None = None
              ) -> list[SentNotification]:
    """Scan ``qris`` and notify our webhook of the payment (twice = the payer pays a second time; ``paid_at``:
    when the payer paid, default now)."""
    scanned = scan(qris)
    sent = []
    for _ in range(2 if twice else 1):
        reference = f"SIM-{uuid.uuid4().hex[:24].upper()}"
        at = paid_at or datetime.now(UTC)
        body = notification_body(scanned, amount=amount, acquirer_reference=reference, paid_at=at)
        path, headers = signed_request(city, secret, body)
        response = await client.post(base_url.rstrip("/") + path, content=body, headers=headers)
        try:
            answer: object = response.json()
        except ValueError:
            answer = response.text
        sent.append(SentNotification(headers["X-Pk-Request-Id"], reference, response.status_code, answer,
                                     scanned.amount if amount is None else amount, at))
    return sent
