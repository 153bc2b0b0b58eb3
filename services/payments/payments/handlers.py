"""Reactions to events, webhook notifications and commands: load, call the domain, save, emit via the outbox.

Every function runs inside the caller's transaction (``conn``) and guards each transition by the current
state, so duplicates and out-of-order events are no-ops.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from prometheus_client import Counter

from payments import store
from payments.acquirer import Acquirer, RefundOrder
from payments.domain import (
    Intent,
    Notification,
    Outcome,
    Status,
    apportion,
    bill_number_for,
    decide,
    issue_problem,
    merchant_of_record,
    plan_refund,
    reference_label_for,
    repeated_answer,
)
from shared.cities import City
from shared.envelope import EventPayload, OutgoingEvent, build_event
from shared.events.orders import OrderPaymentRequested
from shared.events.payments import (
    PaymentAmountMismatch,
    PaymentExpired,
    PaymentFailed,
    PaymentRefunded,
    PaymentRequested,
    PaymentSucceeded,
)
from shared.logging import get_logger
from shared.outbox import add_to_outbox

log = get_logger(__name__)

Emit = Callable[[EventPayload], Awaitable[Any]]

AMOUNT_MISMATCH = Counter("pasarkota_payment_amount_mismatch_total",
                          "Acquirer notifications whose amount differs from the intent's", ["city"])
NOTIFICATION_OUTCOMES = Counter("pasarkota_payment_notifications_processed_total",
                                "Acquirer notifications processed, by outcome", ["city", "outcome"])

OTHER_ALLOCATION = "_other"  # the part of an order's amount not attributed to a vendor (e.g. delivery fee)

RECEIPT_OUTCOMES = [o.value for o in (Outcome.PAID, Outcome.AMOUNT_MISMATCH, Outcome.LATE_PAYMENT,
                                      Outcome.ORDER_CANCELLED, Outcome.DUPLICATE_PAYMENT, Outcome.NOT_PAYABLE)]


def allocation(amount: int, vendor_amounts: dict[str, int]) -> dict[str, int]:
    alloc = {v: int(a) for v, a in vendor_amounts.items() if int(a) > 0}
    rest = amount - sum(alloc.values())
    if rest > 0:
        alloc[OTHER_ALLOCATION] = rest
    return alloc


# -- intents ---------------------------------------------------------------------------------------------

async def create_intent(conn: asyncpg.Connection, acquirer: Acquirer, city: City, event: OrderPaymentRequested,
                        emit: Emit, correlation_id: str, *, now: datetime | None = None) -> bool:
    """A payment intent with a dynamic QRIS for the order; PaymentRequested (or PaymentFailed). Once per order."""
    now = now or datetime.now(UTC)
    payment_id = uuid.uuid4()
    merchant = merchant_of_record(city)
    bill, label = bill_number_for(payment_id), reference_label_for(event.order_id)
    problem = issue_problem(event.amount)
    qris = None if problem else acquirer.issue_intent(merchant, event.amount, bill, label).qris
    expires_at = now + timedelta(minutes=city.payment_expiry_minutes)
    inserted = await store.insert_intent(
        conn, payment_id=payment_id, city=city.slug, order_id=event.order_id, buyer_id=event.buyer_id,
        amount=event.amount, vendor_amounts=dict(event.vendor_amounts), merchant=asdict(merchant),
        merchant_name=city.merchant.name, qris=qris, bill_number=bill, reference_label=label,
        status=Status.FAILED if problem else Status.PENDING, failure_reason=problem, expires_at=expires_at,
        correlation_id=correlation_id)
    if not inserted:
        await repeat_answer(conn, city.slug, event, emit)
        return False
    if problem or qris is None:
        log.warning("no QRIS can be issued for the order", order_id=event.order_id, reason=problem,
                    amount=event.amount)
        await emit(PaymentFailed(payment_id=str(payment_id), order_id=event.order_id, reason=problem or "unknown"))
        return True
    await emit(PaymentRequested(payment_id=str(payment_id), order_id=event.order_id, amount=event.amount,
                                qris=qris, expires_at=expires_at, merchant_name=city.merchant.name))
    return True


async def repeat_answer(conn: asyncpg.Connection, city: str, event: OrderPaymentRequested, emit: Emit) -> str | None:
    """The order already has an intent: re-send its PaymentRequested (still pending) or PaymentFailed (failed),
    same content as the first time, so an order whose answer was lost moves on; never a second intent."""
    row = await conn.fetchrow(f"SELECT {store.INTENT_COLUMNS}, failure_reason FROM payment_intents"
                              " WHERE city = $1 AND order_id = $2 FOR UPDATE", city, event.order_id)
    if row is None:  # the order id is another city's: not ours to answer
        log.warning("payment requested for an order another city holds an intent for", order_id=event.order_id)
        return None
    answer = repeated_answer(Status(row["status"]))
    if answer is not None and row["amount"] != event.amount:
        log.error("order asked again for a payment with another amount; not answered", order_id=event.order_id,
                  recorded=row["amount"], requested=event.amount)
        return None
    if answer == "PaymentRequested":
        await emit(PaymentRequested(payment_id=str(row["payment_id"]), order_id=row["order_id"], amount=row["amount"],
                                    qris=row["qris"], expires_at=row["expires_at"],
                                    merchant_name=row["merchant_name"]))
    elif answer == "PaymentFailed":
        await emit(PaymentFailed(payment_id=str(row["payment_id"]), order_id=row["order_id"],
                                 reason=row["failure_reason"] or "unknown"))
    log.info("order already has a payment intent", order_id=event.order_id, status=row["status"],
             resent=answer)
    return answer


async def cancel_for_order(conn: asyncpg.Connection, acquirer: Acquirer, city: str, order_id: str, emit: Emit,
                           dedupe_key: str) -> str:
    """The order was cancelled: a pending intent is cancelled (a later payment is refunded); money already
    received for it is refunded in full."""
    row = await store.intent_by_order(conn, city, order_id, for_update=True)
    if row is None:
        return "no_intent"
    intent = store.to_intent(row)
    if intent.status == Status.PENDING:
        await conn.execute("UPDATE payment_intents SET status = 'cancelled', updated_at = now()"
                           " WHERE payment_id = $1", intent.payment_id)
        return "cancelled"
    if intent.refundable > 0:
        await refund_intent(conn, acquirer, city, row, None, "order_cancelled", "event", dedupe_key, emit)
        return "refunded"
    return "no_change"


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


async def refund_intent(conn: asyncpg.Connection, acquirer: Acquirer, city: str, row: asyncpg.Record,
                        requested: int | None, reason: str, source: str, dedupe_key: str,
                        emit: Emit) -> RefundResult | None:
    """Refund (part of) the intent's own payment; idempotent by ``dedupe_key``. None when nothing is left."""
    existing = await store.refund_by_dedupe(conn, city, dedupe_key)
    if existing is not None:
        return RefundResult(str(existing["refund_id"]), str(existing["payment_id"]), existing["order_id"],
                            existing["amount"], existing["reason"], row["refunded_amount"], row["status"], False)
    intent = store.to_intent(row)
    plan = plan_refund(intent, requested)
    if plan is None:
        return None
    refund_id = uuid.uuid4()
    receipt = await acquirer.refund(RefundOrder(city, str(intent.payment_id), intent.order_id, plan.amount, reason,
                                                intent.acquirer_reference))
    await store.insert_refund(
        conn, refund_id=refund_id, city=city, payment_id=intent.payment_id, order_id=intent.order_id,
        amount=plan.amount, reason=reason, source=source, dedupe_key=dedupe_key,
        vendor_amounts=apportion(plan.amount, allocation(intent.amount, row["vendor_amounts"])),
        counts_for_vendors=True, notification_id=None, acquirer_refund_reference=receipt.acquirer_refund_reference)
    await store.save_intent_state(conn, plan.intent)
    await emit(PaymentRefunded(payment_id=str(intent.payment_id), order_id=intent.order_id, amount=plan.amount,
                               reason=reason, refund_id=str(refund_id), refunded_total=plan.intent.refunded_amount,
                               payment_status=plan.intent.status.value))
    log.info("payment refunded", payment_id=str(intent.payment_id), amount=plan.amount, reason=reason)
    return RefundResult(str(refund_id), str(intent.payment_id), intent.order_id, plan.amount, reason,
                        plan.intent.refunded_amount, plan.intent.status.value, True)


# -- expiry ----------------------------------------------------------------------------------------------

async def expire_due(conn: asyncpg.Connection, limit: int = 500, *, payment_id: uuid.UUID | None = None) -> int:
    """Expire pending intents past their expiry (PaymentExpired each). Replicas share work (SKIP LOCKED).

    ``payment_id``: only that intent (the simulator's expire-now goes through this very path)."""
    rows = await conn.fetch(
        "UPDATE payment_intents SET status = 'expired', updated_at = now() WHERE payment_id IN ("
        " SELECT i.payment_id FROM payment_intents i WHERE i.status = 'pending' AND i.expires_at <= now()"
        "  AND ($2::uuid IS NULL OR i.payment_id = $2)"
        # paid in time but not yet applied: the notification worker decides (by paid_at), not the clock here
        "  AND NOT EXISTS (SELECT 1 FROM acquirer_notifications n WHERE n.city = i.city"
        "                  AND n.bill_number = i.bill_number AND n.processed_at IS NULL)"
        " ORDER BY i.expires_at LIMIT $1 FOR UPDATE OF i SKIP LOCKED)"
        " RETURNING payment_id, city, order_id, correlation_id", limit, payment_id)
    await add_to_outbox(conn, [
        build_event(PaymentExpired(payment_id=str(r["payment_id"]), order_id=r["order_id"]), city=r["city"],
                    correlation_id=r["correlation_id"]) for r in rows])
    return len(rows)


async def expire_now(conn: asyncpg.Connection, city: str, bill_number: str) -> asyncpg.Record | None:
    """Dev-only time travel (the simulator's ``expire`` and ``late``): the pending intent's expiry is moved to
    now and the expiry worker's own code expires it (PaymentExpired exactly as the worker emits it).

    Returns the intent as it is afterwards (None for an unknown bill); its status tells whether it expired
    (a pending intent whose payment is already waiting to be applied is left to the notification worker)."""
    row = await conn.fetchrow("UPDATE payment_intents SET expires_at = least(expires_at, now()), updated_at = now()"
                              " WHERE city = $1 AND bill_number = $2 AND status = 'pending' RETURNING payment_id",
                              city, bill_number)
    if row is not None:
        await expire_due(conn, 1, payment_id=row["payment_id"])
    return await store.intent_by_bill(conn, city, bill_number)


# -- acquirer notifications ------------------------------------------------------------------------------

async def process_notifications(conn: asyncpg.Connection, acquirer: Acquirer, batch_size: int = 500) -> int:
    """Apply a batch of stored, unprocessed notifications (in arrival order) in one transaction.

    Rows are claimed with FOR UPDATE SKIP LOCKED so several replicas drain the table together; the intents
    they touch are locked in payment id order (no deadlocks between replicas).
    """
    notes = await conn.fetch(
        "SELECT id, city, request_id, bill_number, amount, acquirer_reference, paid_at, status"
        " FROM acquirer_notifications WHERE processed_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        batch_size)
    if not notes:
        return 0
    cities = [n["city"] for n in notes]
    rows = await conn.fetch(
        f"SELECT {store.INTENT_COLUMNS} FROM payment_intents WHERE (city, bill_number) IN"
        " (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY payment_id FOR UPDATE",
        cities, [n["bill_number"] for n in notes])
    by_bill = {(r["city"], r["bill_number"]): r for r in rows}
    intents: dict[uuid.UUID, Intent] = {r["payment_id"]: store.to_intent(r) for r in rows}
    seen = {(r["city"], r["acquirer_reference"]) for r in await conn.fetch(
        "SELECT city, acquirer_reference FROM acquirer_notifications WHERE (city, acquirer_reference) IN"
        " (SELECT * FROM unnest($1::text[], $2::text[])) AND processed_at IS NOT NULL AND outcome = ANY($3)",
        cities, [n["acquirer_reference"] for n in notes], RECEIPT_OUTCOMES)}

    events: list[OutgoingEvent] = []
    paid: list[tuple[Any, ...]] = []
    expired: list[uuid.UUID] = []
    outcomes: list[tuple[Any, ...]] = []
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
        correlation = row["correlation_id"]

        def event(payload: EventPayload, city: str = city, correlation: str = correlation) -> None:
            events.append(build_event(payload, city=city, correlation_id=correlation))

        if decision.outcome in (Outcome.REPEAT, Outcome.FAILED_ATTEMPT):
            continue
        seen.add((city, note["acquirer_reference"]))
        if decision.outcome == Outcome.PAID:
            paid.append((intent.payment_id, note["paid_at"], note["amount"], note["acquirer_reference"]))
            event(PaymentSucceeded(payment_id=str(intent.payment_id), order_id=intent.order_id,
                                   amount=note["amount"], acquirer_reference=note["acquirer_reference"],
                                   paid_at=note["paid_at"]))
            continue
        if decision.expired_now:
            expired.append(intent.payment_id)
            event(PaymentExpired(payment_id=str(intent.payment_id), order_id=intent.order_id))
        if decision.outcome == Outcome.AMOUNT_MISMATCH:
            AMOUNT_MISMATCH.labels(city).inc()
            log.error("acquirer notified a different amount than the intent's; not paid", city=city,
                      payment_id=str(intent.payment_id), order_id=intent.order_id, expected=intent.amount,
                      notified=note["amount"], acquirer_reference=note["acquirer_reference"])
            event(PaymentAmountMismatch(payment_id=str(intent.payment_id), order_id=intent.order_id,
                                        expected=intent.amount, notified=note["amount"]))
        else:  # money that must go back: late, for a cancelled order, a second payment, or not payable
            reason = decision.outcome.value
            refund_id = uuid.uuid4()
            receipt = await acquirer.refund(RefundOrder(city, str(intent.payment_id), intent.order_id,
                                                        note["amount"], reason, note["acquirer_reference"]))
            await store.insert_refund(
                conn, refund_id=refund_id, city=city, payment_id=intent.payment_id, order_id=intent.order_id,
                amount=note["amount"], reason=reason, source="automatic", dedupe_key=f"notification:{note['id']}",
                vendor_amounts={}, counts_for_vendors=False, notification_id=note["id"],
                acquirer_refund_reference=receipt.acquirer_refund_reference)
            log.warning("payment refunded automatically", city=city, payment_id=str(intent.payment_id),
                        order_id=intent.order_id, reason=reason, amount=note["amount"])
            event(PaymentRefunded(payment_id=str(intent.payment_id), order_id=intent.order_id,
                                  amount=note["amount"], reason=reason, refund_id=str(refund_id),
                                  refunded_total=decision.intent.refunded_amount,
                                  payment_status=decision.intent.status.value))
        await store.insert_mismatch(
            conn, city=city, kind=decision.outcome.value, notification_id=note["id"], payment_id=intent.payment_id,
            order_id=intent.order_id, bill_number=note["bill_number"], expected=intent.amount,
            notified=note["amount"], acquirer_reference=note["acquirer_reference"],
            detail=f"intent was {intent.status.value}")

    if paid:
        await conn.executemany(
            "UPDATE payment_intents SET status = 'succeeded', paid_at = $2, paid_amount = $3,"
            " acquirer_reference = $4, updated_at = now() WHERE payment_id = $1 AND status = 'pending'", paid)
    if expired:
        await conn.execute("UPDATE payment_intents SET status = 'expired', updated_at = now()"
                           " WHERE payment_id = ANY($1::uuid[]) AND status = 'pending'", expired)
    await conn.executemany("UPDATE acquirer_notifications SET processed_at = now(), outcome = $2, payment_id = $3"
                           " WHERE id = $1", outcomes)
    await add_to_outbox(conn, events)
    return len(notes)


async def quarantine_notification(conn: asyncpg.Connection, notification_id: int, error: str) -> None:
    """Take a notification that keeps failing out of the queue, visibly (outcome ``error`` + a mismatch)."""
    row = await conn.fetchrow(
        "UPDATE acquirer_notifications SET processed_at = now(), outcome = 'error' WHERE id = $1"
        " AND processed_at IS NULL RETURNING city, bill_number, amount, acquirer_reference", notification_id)
    if row is None:
        return
    await store.insert_mismatch(conn, city=row["city"], kind="processing_error", notification_id=notification_id,
                                payment_id=None, order_id=None, bill_number=row["bill_number"], expected=None,
                                notified=row["amount"], acquirer_reference=row["acquirer_reference"],
                                detail=error[:500])
    NOTIFICATION_OUTCOMES.labels(row["city"], "error").inc()
    log.error("acquirer notification quarantined after repeated failures", notification_id=notification_id,
              city=row["city"], error=error[:300])
