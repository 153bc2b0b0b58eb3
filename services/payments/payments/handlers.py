"""Use cases of the payments service: ``async def verb(uow, command_or_event)``; load, decide, save, emit.

Every function runs in the caller's unit of work (one transaction, opened by the kernel: an HTTP route's
``ctx.run``, the event bus, or a periodic job) and guards each transition by the current state, so
duplicates and out-of-order events are no-ops. No SQL here (``store.py``), no HTTP (``http.py``).

Refunds are *decided* here — recorded, ``PaymentRefunded`` emitted, in the deciding transaction — and sent
to the acquirer after commit by :func:`send_refunds` (the refund worker), so no network call ever holds a
transaction that locks intents or a batch of notifications.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prometheus_client import Counter

from payments import ledger, reconcile
from payments.acquirer import Acquirer, RefundOrder
from payments.domain import (
    RECEIPT_OUTCOMES,
    Intent,
    Notification,
    Outcome,
    Status,
    allocation,
    bill_number_for,
    decide,
    issue_problem,
    nothing_to_refund,
    payment_not_found,
    plan_refund,
    reference_label_for,
    repeated_answer,
)
from payments.merchant import MdrRule
from payments.qris import MerchantOfRecord, QrisError
from payments.settlement import day_bounds
from payments.simulator import scan
from payments.store import PaymentsStore, Row, to_intent
from shared.bus import Incoming
from shared.cities import City
from shared.errors import Invalid, NotFound, not_found
from shared.events.catalog import VendorActivated
from shared.events.orders import OrderCancelled, OrderPaymentRequested, RefundRequested
from shared.events.payments import (
    PaymentAmountMismatch,
    PaymentExpired,
    PaymentFailed,
    PaymentRefunded,
    PaymentRequested,
    PaymentSucceeded,
)
from shared.idempotency import request_hash
from shared.logging import get_logger
from shared.uow import UnitOfWork

log = get_logger(__name__)

Uow = UnitOfWork[PaymentsStore]

AMOUNT_MISMATCH = Counter("pasarkota_payment_amount_mismatch_total",
                          "Acquirer notifications whose amount differs from the intent's", ["city"])
NOTIFICATION_OUTCOMES = Counter("pasarkota_payment_notifications_processed_total",
                                "Acquirer notifications processed, by outcome", ["city", "outcome"])


def on_behalf(uow: Uow, city: str, correlation_id: str | None) -> Uow:
    """The same transaction, emitting for ``city`` under the correlation id of the flow that made the intent
    (a worker spans cities and flows; its events belong to each intent's own trace)."""
    return UnitOfWork(uow.store, city=city, correlation_id=correlation_id, pending=uow.pending)


def _event_key(uow: Uow) -> str:
    """The dedupe key of a refund caused by the event being handled."""
    return f"event:{uow.causation.event_id if uow.causation else uuid.uuid4()}"


# -- intents ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Issuing:
    """What issuing a QRIS needs, built at start in ``app.py``: the acquirer and every city's validated
    merchant of record (and the city directory, for the expiry)."""

    acquirer: Acquirer
    merchants: Mapping[str, MerchantOfRecord]
    cities: Mapping[str, City]


async def create_intents(uow: Uow, items: list[Incoming], *, issuing: Issuing, now: datetime | None = None) -> None:
    """A payment intent with a dynamic QRIS for each order of a polled batch; PaymentRequested (or PaymentFailed),
    once per order. Set-based: every intent of the batch inserted with one statement; an order that has an intent
    already (from an earlier batch or earlier in this one) is answered as before (:func:`repeat_answer`)."""
    now = now or datetime.now(UTC)
    planned: list[tuple[Incoming, Uow, dict[str, Any]]] = []
    for item in items:
        scoped = uow.caused_by(item.envelope)
        event: OrderPaymentRequested = item.event
        slug = scoped.this_city
        city, merchant = issuing.cities.get(slug), issuing.merchants.get(slug)
        if city is None or merchant is None:
            raise ValueError(f"unknown city {slug!r}: no merchant of record to issue a QRIS for")
        payment_id = uuid.uuid4()
        bill, label = bill_number_for(payment_id), reference_label_for(event.order_id)
        problem = issue_problem(event.amount)
        qris = None if problem else issuing.acquirer.issue_intent(merchant, event.amount, bill, label).qris
        planned.append((item, scoped, {
            "payment_id": payment_id, "city": slug, "order_id": event.order_id, "buyer_id": event.buyer_id,
            "amount": event.amount, "vendor_amounts": dict(event.vendor_amounts), "merchant": asdict(merchant),
            "merchant_name": merchant.merchant_name, "qris": qris, "bill_number": bill, "reference_label": label,
            "status": (Status.FAILED if problem else Status.PENDING).value, "failure_reason": problem,
            "expires_at": now + timedelta(minutes=city.payment_expiry_minutes),
            "correlation_id": scoped.correlation_id}))
    inserted = await uow.store.insert_intents([row for _i, _u, row in planned])
    for item, scoped, row in planned:
        if row["payment_id"] not in inserted:
            await repeat_answer(scoped, item.event)
        elif row["qris"] is None:
            log.warning("no QRIS can be issued for the order", order_id=row["order_id"], reason=row["failure_reason"],
                        amount=row["amount"])
            scoped.emit(PaymentFailed(payment_id=str(row["payment_id"]), order_id=row["order_id"],
                                      reason=row["failure_reason"] or "unknown"))
        else:
            scoped.emit(PaymentRequested(payment_id=str(row["payment_id"]), order_id=row["order_id"],
                                         amount=row["amount"], qris=row["qris"], expires_at=row["expires_at"],
                                         merchant_name=row["merchant_name"]))


async def repeat_answer(uow: Uow, event: OrderPaymentRequested) -> str | None:
    """The order already has an intent: re-send its PaymentRequested (still pending) or PaymentFailed (failed),
    same content as the first time, so an order whose answer was lost moves on; never a second intent."""
    row = await uow.store.intent_by_order(uow.this_city, event.order_id, for_update=True)
    if row is None:  # the order id is another city's: not ours to answer
        log.warning("payment requested for an order another city holds an intent for", order_id=event.order_id)
        return None
    answer = repeated_answer(Status(row["status"]))
    if answer is not None and row["amount"] != event.amount:
        log.error("order asked again for a payment with another amount; not answered", order_id=event.order_id,
                  recorded=row["amount"], requested=event.amount)
        return None
    if answer == "PaymentRequested":
        uow.emit(PaymentRequested(payment_id=str(row["payment_id"]), order_id=row["order_id"], amount=row["amount"],
                                  qris=row["qris"], expires_at=row["expires_at"], merchant_name=row["merchant_name"]))
    elif answer == "PaymentFailed":
        uow.emit(PaymentFailed(payment_id=str(row["payment_id"]), order_id=row["order_id"],
                               reason=row["failure_reason"] or "unknown"))
    log.info("order already has a payment intent", order_id=event.order_id, status=row["status"], resent=answer)
    return answer


async def cancel_for_order(uow: Uow, event: OrderCancelled) -> None:
    """The order was cancelled: a pending intent is cancelled (a later payment is refunded); money already
    received for it is refunded in full."""
    row = await uow.store.intent_by_order(uow.this_city, event.order_id, for_update=True)
    effect = "no_intent"
    if row is not None:
        intent = to_intent(row)
        if intent.status == Status.PENDING:
            await uow.store.cancel_intent(intent.payment_id)
            effect = "cancelled"
        elif intent.refundable > 0:
            await refund_intent(uow, row, None, "order_cancelled", "event", _event_key(uow))
            effect = "refunded"
        else:
            effect = "no_change"
    log.info("order cancelled", order_id=event.order_id, paid=event.paid, effect=effect)


async def refund_requested(uow: Uow, event: RefundRequested) -> None:
    """Orders asks for (part of) an order's payment back (a rejected line, a cancellation after paying)."""
    row = await uow.store.intent_by_order(uow.this_city, event.order_id, for_update=True)
    if row is None:
        log.warning("refund requested for an order without a payment intent", order_id=event.order_id)
        return
    result = await refund_intent(uow, row, event.amount, event.reason or "requested", "event", _event_key(uow),
                                 claimed=event.vendor_amounts)
    if result is None:
        log.warning("refund requested but nothing is refundable", order_id=event.order_id, status=row["status"],
                    amount=event.amount)


# -- refunds ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    payment_id: str
    order_id: str
    amount: int
    reason: str
    refunded_amount: int
    payment_status: str
    created: bool


async def refund_intent(uow: Uow, row: Row, requested: int | None, reason: str, source: str,
                        dedupe_key: str, *, claimed: Mapping[str, int] | None = None) -> RefundResult | None:
    """Refund (part of) the intent's own payment; idempotent by ``dedupe_key``. None when nothing is left.

    ``row`` is the intent, locked by the caller. ``claimed``: whose money it is (a rejected line names its
    vendor); the ledger takes it from those accounts (``ledger.attribute_refund``). The refund is recorded
    here; the acquirer is instructed after commit (:func:`send_refunds`)."""
    city = uow.this_city
    existing = await uow.store.refund_by_dedupe(city, dedupe_key)
    if existing is not None:
        return RefundResult(str(existing["refund_id"]), str(existing["payment_id"]), existing["order_id"],
                            existing["amount"], existing["reason"], row["refunded_amount"], row["status"], False)
    intent = to_intent(row)
    plan = plan_refund(intent, requested)
    if plan is None:
        return None
    refund_id = uuid.uuid4()
    refunded = await uow.store.refunded_by_key(intent.payment_id)
    left = {k: a - refunded.get(k, 0) for k, a in allocation(intent.amount, row["vendor_amounts"]).items()}
    attribution, rule = ledger.attribute_refund(plan.amount, left, claimed)
    await uow.store.insert_refund(
        refund_id=refund_id, city=city, payment_id=intent.payment_id, order_id=intent.order_id,
        amount=plan.amount, reason=reason, source=source, dedupe_key=dedupe_key, vendor_amounts=attribution,
        counts_for_vendors=True, notification_id=None, acquirer_reference=intent.acquirer_reference,
        correlation_id=uow.correlation_id)
    await uow.store.add_entries([(city, ledger.refund_decided(
        payment_id=intent.payment_id, order_id=intent.order_id, refund_id=refund_id, attribution=attribution,
        dedupe_key=f"refund:{refund_id}"))])
    if claimed and rule != "attributed":
        log.warning("refund attribution did not fit what the vendors still hold; used the ledger rule",
                    order_id=intent.order_id, claimed=dict(claimed), rule=rule, attribution=attribution)
    await uow.store.save_intent_state(plan.intent)
    uow.emit(PaymentRefunded(payment_id=str(intent.payment_id), order_id=intent.order_id, amount=plan.amount,
                             reason=reason, refund_id=str(refund_id), refunded_total=plan.intent.refunded_amount,
                             payment_status=plan.intent.status.value))
    log.info("payment refunded", payment_id=str(intent.payment_id), amount=plan.amount, reason=reason)
    return RefundResult(str(refund_id), str(intent.payment_id), intent.order_id, plan.amount, reason,
                        plan.intent.refunded_amount, plan.intent.status.value, True)


@dataclass(frozen=True)
class RefundPayment:
    """Staff refund (``POST /cities/{city}/payments/{id}/refunds``); ``amount`` None = all that is left."""

    payment_id: uuid.UUID
    amount: int | None
    reason: str
    idempotency_key: str | None
    vendor_amounts: Mapping[str, int] | None = None  # whose money it is; None = the ledger's rule


async def refund_payment(uow: Uow, command: RefundPayment) -> tuple[int, Any]:
    """(status, body) of the refund; the same ``Idempotency-Key`` answers the same, once."""
    scope = f"refund:{uow.this_city}:{command.payment_id}"
    body_hash = request_hash({"amount": command.amount, "reason": command.reason,
                              **({"vendor_amounts": dict(command.vendor_amounts)} if command.vendor_amounts else {})})
    replay = await uow.replay(scope, command.idempotency_key, body_hash)
    if replay:
        return replay
    row = await uow.store.intent_by_id(uow.this_city, command.payment_id, for_update=True)
    if row is None:
        raise payment_not_found()
    key = command.idempotency_key
    dedupe = f"api:{key}" if key else f"api:{uuid.uuid4()}"
    result = await refund_intent(uow, row, command.amount, command.reason, "api", dedupe,
                                 claimed=command.vendor_amounts)
    if result is None:
        raise nothing_to_refund(row["status"])
    response = {"refund_id": result.refund_id, "payment_id": result.payment_id, "order_id": result.order_id,
                "amount": result.amount, "reason": result.reason, "refunded_amount": result.refunded_amount,
                "payment_status": result.payment_status}
    await uow.remember(scope, key, body_hash, 201, response)
    return 201, response


async def send_refunds(uow: Uow, *, acquirer: Acquirer, limit: int = 20) -> int:
    """The refund worker: instruct the acquirer for refunds decided but not yet confirmed (oldest first,
    SKIP LOCKED). Only these refund rows are locked meanwhile. A failed call is recorded and retried on a
    later run (``Acquirer.refund`` is idempotent by refund id). Returns how many were confirmed."""
    sent = 0
    for r in await uow.store.refunds_to_send(limit):
        order = RefundOrder(r["city"], str(r["payment_id"]), r["order_id"], r["amount"], r["reason"],
                            r["acquirer_reference"], refund_id=str(r["refund_id"]))
        try:
            receipt = await acquirer.refund(order)
        except Exception as exc:  # the acquirer is down or refused: keep it queued, visibly
            log.warning("acquirer refund failed; will retry", refund_id=str(r["refund_id"]), error=repr(exc)[:300])
            await uow.store.refund_send_failed(r["refund_id"], repr(exc))
            continue
        await uow.store.refund_sent(r["refund_id"], receipt.acquirer_refund_reference)
        await uow.store.add_entries([(r["city"], ledger.refund_sent(
            payment_id=r["payment_id"], order_id=r["order_id"], refund_id=r["refund_id"], amount=r["amount"],
            dedupe_key=f"refund_sent:{r['refund_id']}"))])
        sent += 1
    return sent


# -- expiry ----------------------------------------------------------------------------------------------

async def expire_due(uow: Uow, limit: int = 500, *, payment_id: uuid.UUID | None = None) -> int:
    """Expire pending intents past their expiry (PaymentExpired each, in the intent's own trace).

    The expiry worker's job (all cities); ``payment_id``: only that intent (the simulator's expire-now)."""
    rows = await uow.store.expire_due(limit, payment_id)
    for r in rows:
        on_behalf(uow, r["city"], r["correlation_id"]).emit(
            PaymentExpired(payment_id=str(r["payment_id"]), order_id=r["order_id"]))
    if rows and payment_id is None:
        log.info("payment intents expired", count=len(rows))
    return len(rows)


@dataclass(frozen=True)
class ExpireNow:
    """Dev-only time travel: this intent's QR runs out now (by QRIS, bill number or payment id)."""

    qris: str | None = None
    bill_number: str | None = None
    payment_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ExpiryResult:
    payment_id: str
    order_id: str
    status: str        # the intent's status afterwards: "expired" unless it was not pending
    expired_now: bool  # it was pending before


async def expire_now(uow: Uow, command: ExpireNow) -> ExpiryResult | None:
    """The pending intent's expiry is moved to now and the expiry worker's own code expires it (PaymentExpired
    exactly as the worker emits it). None for an unknown intent. A pending intent whose payment is already
    waiting to be applied is left to the notification worker (its status stays ``pending``)."""
    city = uow.this_city
    bill = command.bill_number
    if command.qris is not None:
        try:
            bill = scan(command.qris).bill_number
        except QrisError as exc:
            raise Invalid("invalid-qris", f"QRIS tidak valid: {exc}. / Invalid QRIS: {exc}.") from None
    elif command.payment_id is not None:
        found = await uow.store.intent_by_id(city, command.payment_id)
        if found is None:
            return None
        bill = found["bill_number"]
    if bill is None:
        return None
    before = await uow.store.intent_by_bill(city, bill)
    if before is None:
        return None
    moved = await uow.store.expire_from_now(city, bill)
    if moved is not None:
        await expire_due(uow, 1, payment_id=moved)
    after = await uow.store.intent_by_bill(city, bill)
    assert after is not None
    return ExpiryResult(str(after["payment_id"]), after["order_id"], after["status"],
                        before["status"] == Status.PENDING.value)


# -- acquirer notifications ------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoreNotification:
    """A verified, parsed acquirer notification, to be stored durably before we answer."""

    request_id: str
    body: str
    body_sha256: str
    bill_number: str
    amount: int
    acquirer_reference: str
    paid_at: datetime
    status: str


@dataclass(frozen=True)
class Stored:
    notification_id: int
    received_at: datetime
    replay: bool              # the same request id was stored before: answer as then, change nothing
    body_differs: bool = False


async def store_notification(uow: Uow, note: StoreNotification) -> Stored | None:
    """The webhook's one durable write. None for an unknown bill number (recorded as a mismatch)."""
    city = uow.this_city
    row = await uow.store.store_notification(
        city=city, request_id=note.request_id, body=note.body, body_sha256=note.body_sha256,
        bill_number=note.bill_number, amount=note.amount, acquirer_reference=note.acquirer_reference,
        paid_at=note.paid_at, status=note.status)
    if row is not None:
        return Stored(row["id"], row["received_at"], replay=False)
    row = await uow.store.notification_by_request(city, note.request_id)
    if row is not None:
        return Stored(row["id"], row["received_at"], replay=True, body_differs=row["body_sha256"] != note.body_sha256)
    await uow.store.insert_mismatch(
        city=city, kind="unknown_intent", notification_id=None, payment_id=None, order_id=None,
        bill_number=note.bill_number, expected=None, notified=note.amount, acquirer_reference=note.acquirer_reference,
        detail=f"request id {note.request_id}")
    return None


async def process_notifications(uow: Uow, batch_size: int = 500, *,
                                fees: Mapping[str, MdrRule] | None = None) -> int:
    """Apply a batch of stored, unprocessed notifications (in arrival order) in one unit of work.

    Rows are claimed with FOR UPDATE SKIP LOCKED so several replicas drain the table together; the intents
    they touch are locked in payment id order (no deadlocks between replicas). Money to return is recorded
    as refunds here and sent to the acquirer after commit (:func:`send_refunds`). Every payment received
    is posted to the ledger (with the city's MDR, ``fees``), all of the batch's entries in two statements."""
    store = uow.store
    notes = await store.claim_notifications(batch_size)
    if not notes:
        return 0
    rows = await store.intents_for_bills([(n["city"], n["bill_number"]) for n in notes])
    by_bill = {(r["city"], r["bill_number"]): r for r in rows}
    intents: dict[uuid.UUID, Intent] = {r["payment_id"]: to_intent(r) for r in rows}
    seen = await store.references_received([(n["city"], n["acquirer_reference"]) for n in notes], RECEIPT_OUTCOMES)

    paid: list[tuple[uuid.UUID, datetime, int, str]] = []
    expired: list[uuid.UUID] = []
    outcomes: list[tuple[int, str, uuid.UUID | None]] = []
    entries: list[tuple[str, ledger.Entry]] = []
    for note in notes:
        city = note["city"]
        row = by_bill.get((city, note["bill_number"]))
        if row is None:  # the intent vanished? never deleted, so only a broken row; keep it visible
            outcomes.append((note["id"], Outcome.UNKNOWN_INTENT.value, None))
            continue
        intent = intents[row["payment_id"]]
        notification = Notification(note["amount"], note["acquirer_reference"], note["paid_at"], note["status"])
        decision = decide(intent, notification, reference_seen=(city, note["acquirer_reference"]) in seen)
        intents[intent.payment_id] = decision.intent
        outcomes.append((note["id"], decision.outcome.value, intent.payment_id))
        NOTIFICATION_OUTCOMES.labels(city, decision.outcome.value).inc()
        events = on_behalf(uow, city, row["correlation_id"])

        if decision.outcome in (Outcome.REPEAT, Outcome.FAILED_ATTEMPT):
            continue
        seen.add((city, note["acquirer_reference"]))
        if decision.outcome == Outcome.PAID:
            paid.append((intent.payment_id, note["paid_at"], note["amount"], note["acquirer_reference"]))
            alloc = allocation(note["amount"], row["vendor_amounts"])
            entries.append((city, ledger.payment_received(
                payment_id=intent.payment_id, order_id=intent.order_id, amount=note["amount"], allocation=alloc,
                dedupe_key=f"paid:{intent.payment_id}")))
            rule = (fees or {}).get(city, MdrRule())
            fee = ledger.fee_charged(payment_id=intent.payment_id, order_id=intent.order_id, allocation=alloc,
                                     fee=ledger.mdr_fee(note["amount"], basis_points=rule.basis_points,
                                                        free_up_to=rule.free_up_to),
                                     dedupe_key=f"fee:{intent.payment_id}")
            if fee is not None:
                entries.append((city, fee))
            events.emit(PaymentSucceeded(payment_id=str(intent.payment_id), order_id=intent.order_id,
                                         amount=note["amount"], acquirer_reference=note["acquirer_reference"],
                                         paid_at=note["paid_at"]))
            continue
        if decision.expired_now:
            expired.append(intent.payment_id)
            events.emit(PaymentExpired(payment_id=str(intent.payment_id), order_id=intent.order_id))
        if decision.outcome == Outcome.AMOUNT_MISMATCH:
            AMOUNT_MISMATCH.labels(city).inc()
            log.error("acquirer notified a different amount than the intent's; not paid", city=city,
                      payment_id=str(intent.payment_id), order_id=intent.order_id, expected=intent.amount,
                      notified=note["amount"], acquirer_reference=note["acquirer_reference"])
            events.emit(PaymentAmountMismatch(payment_id=str(intent.payment_id), order_id=intent.order_id,
                                              expected=intent.amount, notified=note["amount"]))
        else:  # money that must go back: late, for a cancelled order, a second payment, or not payable
            reason = decision.outcome.value
            refund_id = uuid.uuid4()
            await store.insert_refund(
                refund_id=refund_id, city=city, payment_id=intent.payment_id, order_id=intent.order_id,
                amount=note["amount"], reason=reason, source="automatic", dedupe_key=f"notification:{note['id']}",
                vendor_amounts={}, counts_for_vendors=False, notification_id=note["id"],
                acquirer_reference=note["acquirer_reference"], correlation_id=events.correlation_id)
            entries.append((city, ledger.extra_payment_returned(
                payment_id=intent.payment_id, order_id=intent.order_id, refund_id=refund_id, amount=note["amount"],
                reason=reason, dedupe_key=f"notification:{note['id']}")))
            log.warning("payment refunded automatically", city=city, payment_id=str(intent.payment_id),
                        order_id=intent.order_id, reason=reason, amount=note["amount"])
            events.emit(PaymentRefunded(payment_id=str(intent.payment_id), order_id=intent.order_id,
                                        amount=note["amount"], reason=reason, refund_id=str(refund_id),
                                        refunded_total=decision.intent.refunded_amount,
                                        payment_status=decision.intent.status.value))
        await store.insert_mismatch(
            city=city, kind=decision.outcome.value, notification_id=note["id"], payment_id=intent.payment_id,
            order_id=intent.order_id, bill_number=note["bill_number"], expected=intent.amount,
            notified=note["amount"], acquirer_reference=note["acquirer_reference"],
            detail=f"intent was {intent.status.value}")

    await store.mark_paid(paid)
    await store.add_entries(entries)
    await store.mark_expired(expired)
    await store.record_outcomes(outcomes)
    return len(notes)


async def quarantine_notification(uow: Uow, notification_id: int, error: str) -> None:
    """Take a notification that keeps failing out of the queue, visibly (outcome ``error`` + a mismatch)."""
    row = await uow.store.quarantine_notification(notification_id)
    if row is None:
        return
    await uow.store.insert_mismatch(
        city=row["city"], kind="processing_error", notification_id=notification_id, payment_id=None, order_id=None,
        bill_number=row["bill_number"], expected=None, notified=row["amount"],
        acquirer_reference=row["acquirer_reference"], detail=error[:500])
    NOTIFICATION_OUTCOMES.labels(row["city"], "error").inc()
    log.error("acquirer notification quarantined after repeated failures", notification_id=notification_id,
              city=row["city"], error=error[:300])


class NotificationDrain:
    """The notification worker's job: a batch per unit of work; a batch that fails is followed by the oldest
    row alone, and a row that fails alone 5 times is quarantined so the rows behind it proceed (transient
    outages heal first). Returns rows handled (the kernel runs it again at once while there are any)."""

    QUARANTINE_AFTER = 5

    def __init__(self, batch_size: int = 500, *, window: float = 0.0,
                 fees: Mapping[str, MdrRule] | None = None) -> None:
        self.__name__ = "process_acquirer_notifications"  # the kernel names the worker after its job
        self.batch_size = batch_size
        self.window = window
        self.fees = fees
        self.partial = False
        self.isolating = False
        self.failures: dict[int, int] = {}
        self.errors: dict[int, str] = {}

    async def __call__(self, uow: Uow) -> int:
        if self.partial and self.window:
            # Let a burst fill the batch: one transaction per ~20 ms instead of one per notification
            # (each batch costs ~8 round trips whatever its size).
            await asyncio.sleep(self.window)
        oldest = None
        if self.isolating:
            oldest = await uow.store.oldest_unprocessed_notification()
            if oldest is None:
                self.isolating = False
                return 0
            if self.failures.get(oldest, 0) >= self.QUARANTINE_AFTER:
                await quarantine_notification(uow, oldest, self.errors.pop(oldest, "unknown error"))
                self.failures.pop(oldest, None)
                self.isolating = False
                return 1
        try:
            done = await process_notifications(uow, 1 if oldest is not None else self.batch_size, fees=self.fees)
        except Exception as exc:  # a poison row must not block every payment behind it
            if oldest is not None:
                self.failures[oldest] = self.failures.get(oldest, 0) + 1
                self.errors[oldest] = repr(exc)
            else:
                log.error("notification batch failed; isolating the oldest row", error=repr(exc)[:300])
            self.isolating = True
            raise
        if oldest is not None:
            self.failures.pop(oldest, None)
            self.errors.pop(oldest, None)
            self.isolating = False
        self.partial = 0 < done < self.batch_size
        return done


# -- vendors, payouts ------------------------------------------------------------------------------------

async def vendor_activated(uow: Uow, event: VendorActivated) -> None:
    """Catalog's vendor (re)announced: its name for payouts and reports."""
    await uow.store.upsert_vendor(uow.this_city, event.vendor_id, event.market_id, event.name)


@dataclass(frozen=True)
class SetPayoutAccount:
    vendor_id: str
    bank_code: str
    account_number: str
    account_name: str
    by: str


async def set_payout_account(uow: Uow, command: SetPayoutAccount) -> None:
    await uow.store.set_payout_account(uow.this_city, command.vendor_id, command.bank_code, command.account_number,
                                       command.account_name, command.by)


@dataclass(frozen=True)
class RunPayouts:
    """The day's payout run of the city (``by``: who asked). ``now`` for tests."""

    day: date
    by: str
    now: datetime | None = None


@dataclass(frozen=True)
class PayoutRun:
    run_id: str | None
    day: str
    created: bool   # False: the day already had a run; nothing new was instructed
    payouts: int
    amount: int


async def run_payouts(uow: Uow, command: RunPayouts, *, city: City) -> PayoutRun:
    """One payout instruction per vendor with a balance at the day's cut-off (the end of the local day, or
    now while the day lasts); never twice for a day, and never a rupiah twice whatever the order of runs
    (``ledger.payouts_due``). Runs of one city are serialised."""
    slug = uow.this_city
    now = command.now or datetime.now(UTC)
    start, end = day_bounds(city, command.day)
    if start > now:
        raise Invalid("payout-day-in-future", "Tanggal pembayaran ke pedagang belum tiba. / "
                                              "That day has not begun yet.", day=command.day.isoformat())
    cutoff = min(end, now)
    await uow.store.lock_payouts(slug)
    run_id = uuid.uuid4()
    if not await uow.store.insert_payout_run(run_id, slug, command.day, cutoff, command.by):
        return PayoutRun(None, command.day.isoformat(), False, 0, 0)
    due = ledger.payouts_due(await uow.store.earned_until(slug, cutoff), await uow.store.paid_out(slug))
    payouts = [(uuid.uuid4(), vendor, amount) for vendor, amount in due.items()]
    await uow.store.insert_payouts(run_id, slug, payouts)
    await uow.store.add_entries([(slug, ledger.payout_instructed(payout_id=pid, vendor_id=v, amount=a,
                                                                 dedupe_key=f"payout:{pid}"))
                                 for pid, v, a in payouts])
    log.info("payout run", day=command.day.isoformat(), payouts=len(payouts), amount=sum(a for *_, a in payouts),
             by=command.by)
    return PayoutRun(str(run_id), command.day.isoformat(), True, len(payouts), sum(a for *_, a in payouts))


def payout_not_found() -> NotFound:
    return not_found("Pembayaran ke pedagang", "Payout", "payout-not-found")


@dataclass(frozen=True)
class MarkPayoutPaid:
    payout_id: uuid.UUID
    bank_reference: str


async def mark_payout_paid(uow: Uow, command: MarkPayoutPaid) -> Row:
    """The bank confirmed the transfer; a second confirmation changes nothing."""
    slug = uow.this_city
    row = await uow.store.mark_payout_paid(slug, command.payout_id, command.bank_reference)
    if row is not None:
        await uow.store.add_entries([(slug, ledger.payout_paid(payout_id=command.payout_id, amount=row["amount"],
                                                               dedupe_key=f"payout_paid:{command.payout_id}"))])
    current = await uow.store.payout_by_id(slug, command.payout_id)
    if current is None:
        raise payout_not_found()
    return current


# -- the acquirer's settlement file ----------------------------------------------------------------------

async def record_simulated_settlements(uow: Uow, sent: list[tuple[str, int, datetime]], rule: MdrRule) -> None:
    """The simulator's own record of the payments it made (its settlement file's source)."""
    for reference, amount, paid_at in sent:
        fee = ledger.mdr_fee(amount, basis_points=rule.basis_points, free_up_to=rule.free_up_to)
        await uow.store.record_simulated_settlement(uow.this_city, reference, amount, fee, paid_at)


@dataclass(frozen=True)
class ImportSettlementFile:
    day: date
    text: str
    by: str


async def import_settlement_file(uow: Uow, command: ImportSettlementFile, *, city: City,
                                 rule: MdrRule) -> dict[str, Any]:
    """Reconcile the acquirer's file for ``day`` with the payments we received that day; the report is kept.
    A bad file is refused whole (:class:`Invalid`), nothing stored."""
    theirs = reconcile.parse_file(command.text)
    start, end = day_bounds(city, command.day)
    ours = {}
    for r in await uow.store.received_payments(uow.this_city, start, end, RECEIPT_OUTCOMES):
        ours[r["acquirer_reference"]] = {**r, "fee": ledger.mdr_fee(r["amount"], basis_points=rule.basis_points,
                                                                    free_up_to=rule.free_up_to)}
    found = reconcile.reconcile(theirs, ours)
    reconciliation_id = uuid.uuid4()
    report = {"reconciliation_id": str(reconciliation_id), "city": uow.this_city, "date": command.day.isoformat(),
              "rows": len(theirs), **found}
    digest = hashlib.sha256(command.text.encode()).hexdigest()
    await uow.store.insert_reconciliation(reconciliation_id, uow.this_city, command.day, digest, report, command.by)
    log.info("settlement file reconciled", day=command.day.isoformat(), rows=len(theirs), matched=found["matched"],
             differences=found["differences"])
    return report
