"""What payments' routes answer, declared as the routes' ``response_model`` (``NotificationAccepted``, the
webhook's, stays beside its route).

Every key the queries, reports and use cases return is listed — a response model drops the keys it does not
know, and the portal reads these answers. Routes that answer a ``JSONResponse`` themselves (checkout-like
idempotent answers, JSON-or-CSV reports) are documented by these models but not re-validated. Money is
integer rupiah; timestamps and days are the ``isoformat()`` text the code writes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from shared.wire import Answer, Timestamp

Rupiah = Annotated[int, Field(description="integer rupiah")]
IntentStatus = Literal["pending", "succeeded", "expired", "failed", "cancelled", "refunded", "partially_refunded"]
PayoutStatus = Literal["instructed", "paid"]

PAYMENT_ID = "3f2b8c1e-6d4a-4e9b-9a7c-2b1d0e8f6a53"
VENDOR_ID = "5f1b2c9e-8d3a-5b7c-a1e2-3f4d5c6b7a89"


Day = date  # a field named ``date`` cannot be annotated ``date`` itself


class PaymentIntent(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "payment_id": PAYMENT_ID, "order_id": "01JEZ8Q6M4T3K9D2R7X5B1C0VN", "status": "pending", "amount": 18000,
        "qris": "00020101021226...6304ABCD", "expires_at": "2026-12-03T00:30:04+00:00",
        "merchant_name": "PASARKOTA CIMAHI", "refunded_amount": 0, "paid_at": None,
        "qr_png": f"/cities/cimahi/payments/{PAYMENT_ID}/qr.png",
        "qr_svg": f"/cities/cimahi/payments/{PAYMENT_ID}/qr.svg"}]})
    payment_id: str
    order_id: str
    status: IntentStatus
    amount: Rupiah
    qris: str | None = Field(description="the QRIS payload to show as a QR (null if it failed to issue)")
    expires_at: Timestamp
    merchant_name: str = Field(description="the city's merchant of record, as the wallet shows it")
    refunded_amount: Rupiah
    paid_at: Timestamp | None
    qr_png: str = Field(description="path of the QR image (public by the payment's unguessable id)")
    qr_svg: str


class RefundCreated(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "refund_id": "9c7e5a3b-1d2f-4a6b-8c0d-e1f2a3b4c5d6", "payment_id": PAYMENT_ID,
        "order_id": "01JEZ8Q6M4T3K9D2R7X5B1C0VN", "amount": 12000, "reason": "requested",
        "refunded_amount": 12000, "payment_status": "partially_refunded"}]})
    refund_id: str
    payment_id: str
    order_id: str
    amount: Rupiah = Field(description="this refund")
    reason: str
    refunded_amount: Rupiah = Field(description="refunded of the payment so far, this one included")
    payment_status: IntentStatus


# ---- settlement report (payments.settlement.report) ------------------------------------------------

class VendorDay(Answer):
    vendor_id: str = Field(description="a vendor's id, or `_other` for the delivery fees")
    name: str | None
    date: Day
    paid: Rupiah
    refunded: Rupiah
    fees: Rupiah = Field(description="the MDR fee the vendor bears")
    net: Rupiah = Field(description="paid - refunded - fees")
    payments: int
    refunds: int
    paid_out: Rupiah


class SettlementTotals(Answer):
    paid: Rupiah
    refunded: Rupiah
    fees: Rupiah
    paid_out: Rupiah
    net: Rupiah
    returned_extra_payments: Rupiah


class ReturnedPayment(Answer):
    """A late or second payment given back to the buyer: not the vendors' money."""
    refund_id: str
    payment_id: str
    order_id: str
    amount: Rupiah
    reason: str
    notification_id: int | None
    at: Timestamp


class Mismatch(Answer):
    id: int
    kind: str = Field(description="amount_mismatch, late_payment, order_cancelled, duplicate_payment, "
                                  "unknown_intent, processing_error")
    notification_id: int | None
    payment_id: str | None
    order_id: str | None
    bill_number: str | None
    expected: Rupiah | None
    notified: Rupiah | None
    acquirer_reference: str | None
    detail: str | None
    at: Timestamp


class SettlementReport(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "city": "cimahi", "date": "2026-12-02", "timezone": "Asia/Jakarta",
        "vendors": [{"vendor_id": VENDOR_ID, "name": "Sayur Segar Bu Sri", "date": "2026-12-02", "paid": 185000,
                     "refunded": 12000, "fees": 0, "net": 173000, "payments": 9, "refunds": 1, "paid_out": 0}],
        "totals": {"paid": 185000, "refunded": 12000, "fees": 0, "paid_out": 0, "net": 173000,
                   "returned_extra_payments": 0},
        "returned_payments": [], "mismatches": []}]})
    city: str
    date: Day
    timezone: str
    vendors: list[VendorDay]
    totals: SettlementTotals
    returned_payments: list[ReturnedPayment]
    mismatches: list[Mismatch]


class LedgerTotals(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "city": "cimahi", "accounts": {"acquirer_clearing": 173000, "vendor_payable": -173000,
                                       "delivery_fees": 0, "refunds_payable": 0}, "sum": 0}]})
    city: str
    accounts: dict[str, int] = Field(description="account → sum of its postings in rupiah")
    sum: int = Field(description="of all postings: zero, always")


# ---- payouts -------------------------------------------------------------------------------------------

class BalancePayout(Answer):
    payout_id: str
    date: Day
    amount: Rupiah
    status: PayoutStatus
    bank_reference: str | None


class VendorBalance(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "vendor_id": VENDOR_ID, "name": "Sayur Segar Bu Sri", "date": "2026-12-03", "balance": 173000,
        "sales_today": 54000, "refunds_today": 0, "fees_today": 0,
        "payouts": [{"payout_id": "7d6c5b4a-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "date": "2026-12-02", "amount": 119000,
                     "status": "paid", "bank_reference": "BRI-20261202-0042"}]}]})
    vendor_id: str
    name: str | None
    date: Day = Field(description="the city's local today")
    balance: Rupiah = Field(description="what the city owes the vendor now")
    sales_today: Rupiah
    refunds_today: Rupiah
    fees_today: Rupiah
    payouts: list[BalancePayout] = Field(description="newest first, at most 60")


class PayoutAccount(Answer):
    vendor_id: str
    bank_code: str
    account_number: str
    account_name: str


class RunPayout(Answer):
    payout_id: str
    vendor_id: str
    name: str | None
    amount: Rupiah
    status: PayoutStatus
    bank_reference: str | None
    paid_at: Timestamp | None
    bank_code: str | None = Field(description="null: the vendor has no payout account yet")
    account_number: str | None
    account_name: str | None


class PayoutRun(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "run_id": "2a3b4c5d-6e7f-4081-92a3-b4c5d6e7f809", "city": "cimahi", "date": "2026-12-02",
        "cutoff": "2026-12-02T17:00:00+00:00", "created_by": "admin-cimahi",
        "created_at": "2026-12-02T17:05:00+00:00", "total": 119000,
        "payouts": [{"payout_id": "7d6c5b4a-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "vendor_id": VENDOR_ID,
                     "name": "Sayur Segar Bu Sri", "amount": 119000, "status": "instructed", "bank_reference": None,
                     "paid_at": None, "bank_code": "BRI", "account_number": "002101000123456",
                     "account_name": "Sri Mulyani"}]}]})
    run_id: str
    city: str
    date: Day
    cutoff: Timestamp = Field(description="postings before it are paid out in this run")
    created_by: str
    created_at: Timestamp
    total: Rupiah
    payouts: list[RunPayout]


class PayoutRunResult(Answer):
    created: bool = Field(description="false: the day already had its run; nothing new was instructed")
    new_payouts: int
    new_amount: Rupiah
    run: PayoutRun


class PayoutPaid(Answer):
    payout_id: str
    vendor_id: str
    amount: Rupiah
    status: PayoutStatus
    bank_reference: str | None


# ---- reconciliation with the acquirer's settlement file (payments.reconcile) ------------------------

class AmountDiffers(Answer):
    reference: str
    order_id: str
    payment_id: str
    outcome: str
    amount: Rupiah = Field(description="the acquirer's")
    our_amount: Rupiah
    fee: Rupiah = Field(description="the acquirer's")
    our_fee: Rupiah


class MissingOnOurSide(Answer):
    reference: str
    amount: Rupiah
    fee: Rupiah
    time: Timestamp


class MissingOnTheirs(Answer):
    reference: str
    order_id: str
    payment_id: str
    outcome: str
    our_amount: Rupiah


class ReconciliationTotals(Answer):
    theirs: Rupiah
    ours: Rupiah
    fees_theirs: Rupiah


class Reconciliation(Answer):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "reconciliation_id": "4b5c6d7e-8f90-4a1b-b2c3-d4e5f6a7b8c9", "city": "cimahi", "date": "2026-12-02",
        "rows": 9, "matched": 9, "differences": 0, "amount_differs": [], "missing_on_our_side": [],
        "missing_on_theirs": [], "totals": {"theirs": 185000, "ours": 185000, "fees_theirs": 0}}]})
    reconciliation_id: str
    city: str
    date: Day
    rows: int = Field(description="rows of the acquirer's file")
    matched: int
    differences: int
    amount_differs: list[AmountDiffers]
    missing_on_our_side: list[MissingOnOurSide]
    missing_on_theirs: list[MissingOnTheirs]
    totals: ReconciliationTotals


class WebhookSecretState(Answer):
    city: str
    set: bool = Field(description="payments has the city's acquirer webhook secret")
    variable: str = Field(description="the environment variable that holds it")
    secret_store_file: str = Field(description="or this file in the secret store")


# ---- the dev-only simulator -----------------------------------------------------------------------------

class SimulatedNotification(Answer):
    request_id: str
    acquirer_reference: str
    status_code: int = Field(description="what our webhook answered")
    response: Any = Field(description="our webhook's answer: its JSON, or its text")


class SimulatedPaymentResult(Answer):
    bill_number: str
    amount: Rupiah = Field(description="what the QRIS asked")
    notifications: list[SimulatedNotification]


class SimulatedExpiryResult(Answer):
    payment_id: str
    order_id: str
    status: Literal["expired"]
    expired_now: bool = Field(description="false: it had expired already")
