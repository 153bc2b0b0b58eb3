"""HTTP routes of the payments service: validate, authorise, call a handler or query; nothing else."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from payments import handlers, store
from payments.qr_image import qr_png, qr_svg
from payments.qris import MAX_AMOUNT, QrisError
from payments.settlement import settlement, to_csv
from payments.signing import SignatureError, body_digest
from payments.simulator import SimulatorAcquirer, pay, scan
from shared.auth import Principal, require
from shared.cities import get_city
from shared.idempotency import begin, remember, request_hash
from shared.logging import get_logger
from shared.outbox import emit
from shared.problems import Problem
from shared.service import ServiceKernel
from shared.settings import get_settings

log = get_logger(__name__)

ACQUIRER = SimulatorAcquirer()
STAFF = ("city_admin", "operator")
MAX_BODY = 16 * 1024

NOTIFICATIONS_ACCEPTED = Counter("pasarkota_acquirer_notifications_accepted_total",
                                 "Acquirer notifications stored durably (2xx)", ["city"])
NOTIFICATIONS_REJECTED = Counter("pasarkota_acquirer_notifications_rejected_total",
                                 "Acquirer notifications refused (4xx)", ["city", "reason"])


class Wakeup:
    """Wakes the notification worker of this process as soon as a notification is stored."""

    event: asyncio.Event | None = None

    @classmethod
    def get(cls) -> asyncio.Event:
        if cls.event is None:
            cls.event = asyncio.Event()
        return cls.event


def kernel_of(request: Request) -> ServiceKernel:
    kernel: ServiceKernel = request.app.state.kernel
    return kernel


def parse_payment_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Problem(404, "Pembayaran tidak ditemukan. / Payment not found.", code="payment-not-found") from None


router = APIRouter()


# -- buyer / staff ---------------------------------------------------------------------------------------

def intent_view(row: Any) -> dict[str, Any]:
    return {"payment_id": str(row["payment_id"]), "order_id": row["order_id"], "status": row["status"],
            "amount": row["amount"], "qris": row["qris"], "expires_at": row["expires_at"].isoformat(),
            "merchant_name": row["merchant_name"], "refunded_amount": row["refunded_amount"],
            "paid_at": row["paid_at"].isoformat() if row["paid_at"] else None,
            "qr_png": f"/cities/{row['city']}/payments/{row['payment_id']}/qr.png",
            "qr_svg": f"/cities/{row['city']}/payments/{row['payment_id']}/qr.svg"}


@router.get("/cities/{city}/payments/by-order/{order_id}", tags=["payments"])
async def payment_by_order(city: str, order_id: str, request: Request,
                           who: Annotated[Principal, Depends(require())]) -> dict[str, Any]:
    """The order's payment intent and QRIS. The buyer of the order or city staff; others get 404."""
    get_city(city)
    if len(order_id) > 128 or "\x00" in order_id:
        raise Problem(404, "Pembayaran untuk pesanan ini belum ada. / No payment for this order (yet).",
                      code="payment-not-found")
    async with kernel_of(request).db().acquire() as conn:
        row = await store.intent_by_order(conn, city, order_id)
    if row is None or not (who.has(*STAFF) or (who.has("buyer") and who.sub == row["buyer_id"])):
        raise Problem(404, "Pembayaran untuk pesanan ini belum ada. / No payment for this order (yet).",
                      code="payment-not-found")
    return intent_view(row)


@lru_cache(maxsize=2048)
def _png(payload: str) -> bytes:
    return qr_png(payload)


@lru_cache(maxsize=2048)
def _svg(payload: str) -> bytes:
    return qr_svg(payload)


async def _qris_for(request: Request, city: str, payment_id: str) -> str:
    get_city(city)
    async with kernel_of(request).db().acquire() as conn:
        qris = await store.qris_of(conn, city, parse_payment_id(payment_id))
    if not qris:
        raise Problem(404, "Pembayaran tidak ditemukan. / Payment not found.", code="payment-not-found")
    return qris


# Public by unguessable id (a random UUID): an <img> cannot send a bearer token, and the image shows only what
# the QRIS itself carries (merchant of record, amount). Immutable per intent, so caches may keep it.
IMAGE_CACHE = "public, max-age=86400, immutable"


@router.get("/cities/{city}/payments/{payment_id}/qr.png", tags=["payments"])
async def qr_png_image(city: str, payment_id: str, request: Request) -> Response:
    payload = await _qris_for(request, city, payment_id)
    return Response(_png(payload), media_type="image/png", headers={"Cache-Control": IMAGE_CACHE})


@router.get("/cities/{city}/payments/{payment_id}/qr.svg", tags=["payments"])
async def qr_svg_image(city: str, payment_id: str, request: Request) -> Response:
    payload = await _qris_for(request, city, payment_id)
    return Response(_svg(payload), media_type="image/svg+xml", headers={"Cache-Control": IMAGE_CACHE})


class RefundBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt | None = Field(None, ge=1, le=MAX_AMOUNT, description="rupiah; omitted = all that is left")
    reason: str = Field("requested", min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")


@router.post("/cities/{city}/payments/{payment_id}/refunds", status_code=201, tags=["payments"])
async def create_refund(city: str, payment_id: str, body: RefundBody, request: Request,
                        who: Annotated[Principal, Depends(require(*STAFF))],
                        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
                        ) -> JSONResponse:
    get_city(city)
    pid = parse_payment_id(payment_id)
    scope = f"refund:{city}:{pid}"
    body_hash = request_hash(body.model_dump())
    correlation = request.headers.get("x-correlation-id") or str(uuid.uuid4())
    async with kernel_of(request).db().acquire() as conn, conn.transaction():
        replay = await begin(conn, scope, idempotency_key, body_hash)
        if replay:
            return JSONResponse(replay[1], status_code=replay[0])
        row = await store.intent_by_id(conn, city, pid, for_update=True)
        if row is None:
            raise Problem(404, "Pembayaran tidak ditemukan. / Payment not found.", code="payment-not-found")

        async def emit_event(payload: Any) -> None:
            await emit(conn, payload, city=city, correlation_id=correlation)

        dedupe = f"api:{idempotency_key}" if idempotency_key else f"api:{uuid.uuid4()}"
        result = await handlers.refund_intent(conn, ACQUIRER, city, row, body.amount, body.reason, "api", dedupe,
                                              emit_event)
        if result is None:
            raise Problem(409, "Pembayaran ini belum dibayar atau sudah dikembalikan seluruhnya. / "
                               "Nothing to refund: the payment is not paid or already fully refunded.",
                          code="nothing-to-refund", status_value=row["status"])
        response = {"refund_id": result.refund_id, "payment_id": result.payment_id, "order_id": result.order_id,
                    "amount": result.amount, "reason": result.reason, "refunded_amount": result.refunded_amount,
                    "payment_status": result.payment_status}
        await remember(conn, scope, idempotency_key, body_hash, 201, response)
    log.info("refund created", city=city, payment_id=str(pid), amount=result.amount, by=who.sub)
    return JSONResponse(response, status_code=201)


@router.get("/cities/{city}/settlements", tags=["reconciliation"])
async def settlements(city: str, request: Request, who: Annotated[Principal, Depends(require(*STAFF))],
                      day: Annotated[date | None, Query(alias="date")] = None,
                      fmt: Annotated[Literal["json", "csv"] | None, Query(alias="format")] = None) -> Response:
    """Per vendor and local day: paid, refunded, net; plus extra payments returned and every mismatch."""
    c = get_city(city)
    day = day or datetime.now(c.tz).date()
    async with kernel_of(request).db().acquire() as conn:
        report = await settlement(conn, c, day)
    wants_csv = fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="settlement-{city}-{day.isoformat()}.csv"'})
    return JSONResponse(report)


# -- the acquirer webhook --------------------------------------------------------------------------------

PRINTABLE_ASCII = r"^[\x20-\x7e]+$"


class NotificationBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bill_number: str = Field(min_length=1, max_length=25, pattern=PRINTABLE_ASCII)
    reference_label: str | None = Field(None, max_length=25, pattern=PRINTABLE_ASCII)
    amount: StrictInt = Field(ge=1, le=MAX_AMOUNT)
    acquirer_reference: str = Field(min_length=1, max_length=64, pattern=PRINTABLE_ASCII)
    paid_at: datetime
    status: Literal["paid", "failed"] = "paid"


def _reject(city: str, status: int, reason: str, detail: str, **extra: Any) -> Problem:
    # Unknown city names from the path must not become metric labels (unbounded cardinality).
    NOTIFICATIONS_REJECTED.labels(city if reason != "unknown-city" else "unknown", reason).inc()
    log.warning("acquirer notification rejected", city=city[:64], reason=reason, status=status, **extra)
    return Problem(status, detail, code=reason)


@router.post("/acquirer/{city}/notifications", tags=["acquirer"])
async def acquirer_notification(city: str, request: Request) -> JSONResponse:
    """Signed notification from the acquirer. Stored durably (one INSERT) before answering; processed after."""
    try:
        c = get_city(city)
    except Problem as exc:
        raise _reject(city, 404, "unknown-city", exc.detail) from None
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise _reject(city, 413, "body-too-large", "Notifikasi terlalu besar. / Notification too large.")
    try:
        verified = ACQUIRER.verify_notification(c.webhook_secret, request.method, request.url.path,
                                                request.headers, raw, now=time.time())
    except SignatureError as exc:
        raise _reject(city, 401, exc.code, f"Tanda tangan notifikasi ditolak: {exc}. / Signature refused: {exc}.",
                      request_id=request.headers.get("x-pk-request-id")) from None
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _reject(city, 400, "malformed-json", "Isi notifikasi bukan JSON. / Body is not JSON.",
                      request_id=verified.request_id) from None
    try:
        note = NotificationBody.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                  for e in exc.errors(include_url=False)]
        NOTIFICATIONS_REJECTED.labels(city, "invalid-notification").inc()
        log.warning("acquirer notification rejected", city=city, reason="invalid-notification",
                    request_id=verified.request_id, errors=errors)
        raise Problem(422, "Notifikasi tidak valid. / Invalid notification.", code="invalid-notification",
                      errors=errors) from None
    paid_at = note.paid_at if note.paid_at.tzinfo else note.paid_at.replace(tzinfo=UTC)
    async with kernel_of(request).db().acquire() as conn:
        row = await store.store_notification(
            conn, city=city, request_id=verified.request_id, body=text, body_sha256=body_digest(raw),
            bill_number=note.bill_number, amount=note.amount, acquirer_reference=note.acquirer_reference,
            paid_at=paid_at, status=note.status)
        replay = False
        if row is None:
            row = await store.notification_by_request(conn, city, verified.request_id)
            replay = row is not None
            if row is None:
                await store.insert_mismatch(
                    conn, city=city, kind="unknown_intent", notification_id=None, payment_id=None, order_id=None,
                    bill_number=note.bill_number, expected=None, notified=note.amount,
                    acquirer_reference=note.acquirer_reference, detail=f"request id {verified.request_id}")
                raise _reject(city, 404, "unknown-intent",
                              "Tagihan tidak dikenal. / Unknown bill number.", bill_number=note.bill_number,
                              request_id=verified.request_id)
            if row["body_sha256"] != body_digest(raw):
                log.warning("request id reused with a different body; answering as before, changing nothing",
                            city=city, request_id=verified.request_id)
    if not replay:
        NOTIFICATIONS_ACCEPTED.labels(city).inc()
        Wakeup.get().set()
    answer = {"status": "accepted", "request_id": verified.request_id, "notification_id": row["id"],
              "received_at": row["received_at"].isoformat()}
    return JSONResponse(answer, status_code=200, headers={"X-Pk-Replay": "true"} if replay else None)


# -- the dev-only simulator ------------------------------------------------------------------------------

simulator_router = APIRouter()


class SimulatedPayment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qris: str = Field(min_length=10, max_length=512)
    amount: StrictInt | None = Field(None, description="pay a different amount than the QRIS says")
    twice: bool = False
    late: bool = False


def self_url() -> str:
    return os.environ.get("PASARKOTA_PAYMENTS_URL") or f"http://127.0.0.1:{get_settings().http_port}"


@simulator_router.post("/simulator/{city}/pay", tags=["simulator (dev only)"])
async def simulate_payment(city: str, body: SimulatedPayment, request: Request) -> dict[str, Any]:
    """Scan and pay a QRIS like a wallet + gateway would: our webhook receives signed notifications.

    ``late``: the payer scans after the QR expired (the simulator fast-forwards the intent's expiry first).
    """
    c = get_city(city)
    try:
        scanned = scan(body.qris)
    except QrisError as exc:
        raise Problem(422, f"QRIS tidak valid: {exc}. / Invalid QRIS: {exc}.", code="invalid-qris") from None
    if body.late:
        async with kernel_of(request).db().acquire() as conn, conn.transaction():
            await handlers.expire_now(conn, city, scanned.bill_number)
    async with httpx.AsyncClient(timeout=10) as client:
        sent = await pay(client, self_url(), city, c.webhook_secret, body.qris, amount=body.amount,
                         twice=body.twice)
    return {"bill_number": scanned.bill_number, "amount": scanned.amount,
            "notifications": [{"request_id": s.request_id, "acquirer_reference": s.acquirer_reference,
                               "status_code": s.status_code, "response": s.response} for s in sent]}


class SimulatedExpiry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qris: str | None = Field(None, min_length=10, max_length=512)
    payment_id: str | None = Field(None, max_length=64)


@simulator_router.post("/simulator/{city}/expire", tags=["simulator (dev only)"])
async def simulate_expiry(city: str, body: SimulatedExpiry, request: Request) -> dict[str, Any]:
    """The QR runs out now, nobody paid: the pending intent expires through the expiry worker's own code
    (``PaymentExpired`` exactly as the worker emits it). By ``qris`` or ``payment_id`` (one of them).

    200 when the intent is expired (``expired_now`` false if it already was); 409 when it is not pending
    (paid, cancelled, failed) or a payment for it is waiting to be applied; 404 for an unknown intent.
    """
    get_city(city)
    if (body.qris is None) == (body.payment_id is None):
        raise Problem(422, "Isi salah satu: qris atau payment_id. / Give exactly one of qris or payment_id.",
                      code="qris-or-payment-id")
    async with kernel_of(request).db().acquire() as conn, conn.transaction():
        if body.qris is not None:
            try:
                bill_number = scan(body.qris).bill_number
            except QrisError as exc:
                raise Problem(422, f"QRIS tidak valid: {exc}. / Invalid QRIS: {exc}.", code="invalid-qris") from None
        else:
            found = await store.intent_by_id(conn, city, parse_payment_id(body.payment_id or ""))
            if found is None:
                raise Problem(404, "Pembayaran tidak ditemukan. / Payment not found.", code="payment-not-found")
            bill_number = found["bill_number"]
        before = await store.intent_by_bill(conn, city, bill_number)
        if before is None:
            raise Problem(404, "Pembayaran tidak ditemukan. / Payment not found.", code="payment-not-found")
        after = await handlers.expire_now(conn, city, bill_number)
    assert after is not None
    if after["status"] != "expired":
        raise Problem(409, f"Pembayaran berstatus '{after['status']}', tidak bisa dibuat kedaluwarsa. / "
                           f"The payment is {after['status']}; it cannot expire now.", code="payment-not-pending",
                      status_value=after["status"])
    log.info("simulator expired a payment intent", city=city, payment_id=str(after["payment_id"]),
             expired_now=before["status"] == "pending")
    return {"payment_id": str(after["payment_id"]), "order_id": after["order_id"], "status": after["status"],
            "expired_now": before["status"] == "pending"}
