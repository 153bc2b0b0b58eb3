"""HTTP routes of the payments service: wire models, ``ctx.run`` / ``ctx.read``, render; nothing else.

What a route needs beyond its unit of work — the acquirer adapter, the webhook secrets, the workers' wake-up
events — is built at start by ``app.py`` and reached through :func:`runtime` (``app.state.payments``).
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi import Path as FastPath
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError

from payments import handlers, policy, queries, wire
from payments.config import Runtime, webhook_secret
from payments.domain import not_pending, payment_not_found
from payments.qr_image import qr_png, qr_svg
from payments.qris import MAX_AMOUNT, QrisError
from payments.reconcile import report_csv, settlement_file
from payments.settlement import to_csv
from payments.signing import SignatureError, body_digest
from payments.simulator import pay, scan
from shared.auth import Principal, require
from shared.cities import all_cities
from shared.errors import Invalid, NotFound
from shared.http import CityContext, RequestContext, correlation_id_of, file_answer
from shared.logging import get_logger
from shared.problems import Problem

log = get_logger(__name__)

WEBHOOK_MAX_BODY = 16 * 1024  # registered with the kernel's body limit in app.py (413 while streaming)

NOTIFICATIONS_ACCEPTED = Counter("pasarkota_acquirer_notifications_accepted_total",
                                 "Acquirer notifications stored durably (2xx)", ["city"])
NOTIFICATIONS_REJECTED = Counter("pasarkota_acquirer_notifications_rejected_total",
                                 "Acquirer notifications refused (4xx)", ["city", "reason"])


async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.payments
    return rt


Payments = Annotated[Runtime, Depends(runtime)]


def parse_payment_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise payment_not_found() from None


router = APIRouter()
# JSON by default; ``format=csv`` (or ``Accept: text/csv``) answers the same as CSV
CSV_TOO: dict[str, Any] = {"content": {"text/csv": {"schema": {"type": "string"}}}}
PRINTABLE_ASCII_PATTERN = r"^[\x20-\x7e]+$"


# -- buyer / staff ---------------------------------------------------------------------------------------

def intent_view(row: Any) -> dict[str, Any]:
    return {"payment_id": str(row["payment_id"]), "order_id": row["order_id"], "status": row["status"],
            "amount": row["amount"], "qris": row["qris"], "expires_at": row["expires_at"].isoformat(),
            "merchant_name": row["merchant_name"], "refunded_amount": row["refunded_amount"],
            "paid_at": row["paid_at"].isoformat() if row["paid_at"] else None,
            "qr_png": f"/cities/{row['city']}/payments/{row['payment_id']}/qr.png",
            "qr_svg": f"/cities/{row['city']}/payments/{row['payment_id']}/qr.svg"}


def no_payment_for_order() -> NotFound:
    return NotFound("payment-not-found", "Pembayaran untuk pesanan ini belum ada. / No payment for this order (yet).")


@router.get("/cities/{city}/payments/by-order/{order_id}", tags=["payments"],
            response_model=wire.PaymentIntent)
async def payment_by_order(ctx: CityContext, order_id: str,
                           who: Annotated[Principal, Depends(require())]) -> dict[str, Any]:
    """The order's payment intent and QRIS. The buyer of the order or city staff; others get 404."""
    if len(order_id) > 128 or "\x00" in order_id:
        raise no_payment_for_order()
    row = await ctx.read(queries.intent_by_order, ctx.slug, order_id)
    if row is None or not policy.may_see_payment(who, row):
        raise no_payment_for_order()
    return intent_view(row)


@lru_cache(maxsize=2048)
def _png(payload: str) -> bytes:
    return qr_png(payload)


@lru_cache(maxsize=2048)
def _svg(payload: str) -> bytes:
    return qr_svg(payload)


async def _qris_for(ctx: RequestContext, payment_id: str) -> str:
    qris = await ctx.read(queries.qris_of, ctx.slug, parse_payment_id(payment_id))
    if not qris:
        raise payment_not_found()
    return qris


# Public by unguessable id (a random UUID): an <img> cannot send a bearer token, and the image shows only what
# the QRIS itself carries (merchant of record, amount). Immutable per intent, so caches may keep it.
IMAGE_CACHE = "public, max-age=86400, immutable"


@router.get("/cities/{city}/payments/{payment_id}/qr.png", tags=["payments"], response_class=Response,
            responses=file_answer("image/png"))
async def qr_png_image(ctx: CityContext, payment_id: str) -> Response:
    payload = await _qris_for(ctx, payment_id)
    return Response(_png(payload), media_type="image/png", headers={"Cache-Control": IMAGE_CACHE})


@router.get("/cities/{city}/payments/{payment_id}/qr.svg", tags=["payments"], response_class=Response,
            responses=file_answer("image/svg+xml"))
async def qr_svg_image(ctx: CityContext, payment_id: str) -> Response:
    payload = await _qris_for(ctx, payment_id)
    return Response(_svg(payload), media_type="image/svg+xml", headers={"Cache-Control": IMAGE_CACHE})


class RefundBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt | None = Field(None, ge=1, le=MAX_AMOUNT, description="rupiah; omitted = all that is left")
    reason: str = Field("requested", min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")
    vendor_amounts: dict[Annotated[str, Field(min_length=1, max_length=64)],
                         Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)]] | None = Field(
        None, max_length=100, description="whose money it is (vendor id → rupiah, `_other` for the delivery fee); "
                                          "omitted or not fitting = the ledger's rule (docs/payments.md)")


@router.post("/cities/{city}/payments/{payment_id}/refunds", status_code=201, tags=["payments"],
             response_model=wire.RefundCreated)
async def create_refund(ctx: CityContext, payment_id: str, body: RefundBody, payments: Payments,
                        who: Annotated[Principal, Depends(require(*policy.STAFF))],
                        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
                        ) -> JSONResponse:
    pid = parse_payment_id(payment_id)
    status, response = await ctx.run(handlers.refund_payment, handlers.RefundPayment(
        payment_id=pid, amount=body.amount, reason=body.reason, idempotency_key=idempotency_key,
        vendor_amounts=body.vendor_amounts))
    payments.refunds_decided.set()  # committed: the refund worker instructs the acquirer now
    log.info("refund created", city=ctx.slug, payment_id=str(pid), amount=response.get("amount"), by=who.sub)
    return JSONResponse(response, status_code=status)


@router.get("/cities/{city}/settlements", tags=["reconciliation"], response_model=wire.SettlementReport,
            responses={200: CSV_TOO})
async def settlements(ctx: CityContext, request: Request, who: Annotated[Principal, Depends(require(*policy.STAFF))],
                      day: Annotated[date | None, Query(alias="date")] = None,
                      fmt: Annotated[Literal["json", "csv"] | None, Query(alias="format")] = None) -> Response:
    """Per vendor and local day: paid, refunded, net; plus extra payments returned and every mismatch."""
    day = day or datetime.now(ctx.city.tz).date()
    report = await ctx.read(queries.settlement, ctx.city, day)
    wants_csv = fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="settlement-{ctx.slug}-{day.isoformat()}.csv"'})
    return JSONResponse(report)


@router.get("/cities/{city}/ledger", tags=["reconciliation"], response_model=wire.LedgerTotals)
async def ledger_totals(ctx: CityContext, who: Annotated[Principal, Depends(require(*policy.STAFF))]
                        ) -> dict[str, Any]:
    """Every ledger account's sum for the city; ``sum`` — of all postings — is zero."""
    return await ctx.read(queries.ledger_totals, ctx.slug)


VENDOR_ID = Annotated[str, FastPath(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def no_such_vendor() -> NotFound:
    return NotFound("vendor-not-found", "Pedagang tidak ditemukan. / No such vendor.")


@router.get("/cities/{city}/vendors/{vendor_id}/balance", tags=["payouts"], response_model=wire.VendorBalance)
async def vendor_balance(ctx: CityContext, vendor_id: VENDOR_ID,
                         who: Annotated[Principal, Depends(require())]) -> dict[str, Any]:
    """What the city owes the vendor now, today's sales, refunds and fees, and their payouts."""
    if not policy.may_see_vendor_money(who, vendor_id):
        raise no_such_vendor()
    return await ctx.read(queries.vendor_balance, ctx.city, vendor_id, datetime.now(ctx.city.tz).date())


class PayoutAccountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank_code: str = Field(min_length=3, max_length=11, pattern=r"^[A-Z0-9]+$", description="e.g. BRI, 002")
    account_number: str = Field(min_length=5, max_length=34, pattern=r"^[0-9]+$")
    account_name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")


@router.put("/cities/{city}/vendors/{vendor_id}/payout-account", tags=["payouts"],
            response_model=wire.PayoutAccount)
async def set_payout_account(ctx: CityContext, vendor_id: VENDOR_ID, body: PayoutAccountBody,
                             who: Annotated[Principal, Depends(require())]) -> dict[str, Any]:
    """Where the vendor's payouts go: set by the vendor themself or city staff."""
    if not policy.may_see_vendor_money(who, vendor_id):
        raise no_such_vendor()
    await ctx.run(handlers.set_payout_account, handlers.SetPayoutAccount(
        vendor_id, body.bank_code, body.account_number, body.account_name, who.sub))
    return {"vendor_id": vendor_id, **body.model_dump()}


class PayoutRunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date | None = Field(None, alias="date", description="the local day (default: today in the city)")


@router.post("/cities/{city}/payout-runs", tags=["payouts"], response_model=wire.PayoutRunResult,
             responses={200: {"description": "The day had its run already: nothing new"},
                        201: {"model": wire.PayoutRunResult, "description": "The run was made"}})
async def run_payouts(ctx: CityContext, body: PayoutRunBody,
                      who: Annotated[Principal, Depends(require(*policy.STAFF))]) -> JSONResponse:
    """The day's payout run: one instruction per vendor with a balance; 201 when made, 200 (with no new
    instruction) when the day already had its run."""
    day = body.day or datetime.now(ctx.city.tz).date()
    result = await ctx.run(handlers.run_payouts, handlers.RunPayouts(day, who.sub), city=ctx.city)
    run = await ctx.read(queries.payout_run, ctx.slug, day)
    return JSONResponse({"created": result.created, "new_payouts": result.payouts, "new_amount": result.amount,
                         "run": run}, status_code=201 if result.created else 200)


def no_payout_run() -> NotFound:
    return NotFound("payout-run-not-found", "Belum ada pembayaran ke pedagang untuk tanggal itu. / "
                                            "No payout run for that day.")


BANK_CSV_COLUMNS = ["no", "bank_code", "account_number", "account_name", "amount", "currency", "reference",
                    "vendor_name", "vendor_id"]


def bank_csv(run: dict[str, Any]) -> str:
    """The bank's bulk-transfer sheet: one row per instruction still to pay (reference = payout id)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BANK_CSV_COLUMNS)
    rows = [p for p in run["payouts"] if p["status"] == "instructed"]
    for n, p in enumerate(rows, start=1):
        writer.writerow([n, p["bank_code"] or "", p["account_number"] or "", p["account_name"] or p["name"] or "",
                         p["amount"], "IDR", p["payout_id"], p["name"] or "", p["vendor_id"]])
    return out.getvalue()


@router.get("/cities/{city}/payout-runs/{day}", tags=["payouts"], response_model=wire.PayoutRun,
            responses={200: CSV_TOO})
async def payout_run(ctx: CityContext, day: date, request: Request,
                     who: Annotated[Principal, Depends(require(*policy.STAFF))],
                     fmt: Annotated[Literal["json", "csv"] | None, Query(alias="format")] = None) -> Response:
    """The day's payout instructions with names and accounts; ``format=csv`` is the bank's bulk-transfer sheet."""
    run = await ctx.read(queries.payout_run, ctx.slug, day)
    if run is None:
        raise no_payout_run()
    if fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", "")):
        return Response(bank_csv(run), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="payouts-{ctx.slug}-{day.isoformat()}.csv"'})
    return JSONResponse(run)


class PayoutPaidBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank_reference: str = Field(min_length=1, max_length=64, pattern=PRINTABLE_ASCII_PATTERN)


@router.post("/cities/{city}/payouts/{payout_id}/paid", tags=["payouts"], response_model=wire.PayoutPaid)
async def payout_paid(ctx: CityContext, payout_id: str, body: PayoutPaidBody,
                      who: Annotated[Principal, Depends(require(*policy.STAFF))]) -> dict[str, Any]:
    """The bank confirmed the transfer (a second confirmation changes nothing)."""
    try:
        pid = uuid.UUID(payout_id)
    except ValueError:
        raise handlers.payout_not_found() from None
    row = await ctx.run(handlers.mark_payout_paid, handlers.MarkPayoutPaid(pid, body.bank_reference))
    return {"payout_id": str(row["payout_id"]), "vendor_id": row["vendor_id"], "amount": row["amount"],
            "status": row["status"], "bank_reference": row["bank_reference"]}


SETTLEMENT_FILE_MAX = 8 * 1024 * 1024


@router.post("/cities/{city}/reconciliations", status_code=201, tags=["reconciliation"],
             response_model=wire.Reconciliation, responses={201: CSV_TOO},
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {
                 "type": "string", "description": "the acquirer's settlement file: reference,amount,fee,time"}}}}})
async def import_settlement_file(ctx: CityContext, request: Request, payments: Payments,
                                 who: Annotated[Principal, Depends(require(*policy.STAFF))],
                                 day: Annotated[date, Query(alias="date")]) -> Response:
    """Reconcile the acquirer's daily settlement file with what we received that day: matched, missing on our
    side, missing on theirs, amount differs. A bad file is refused whole (422, rows named)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("bad-settlement-file", "Berkas harus UTF-8. / The file must be UTF-8.") from None
    report = await ctx.run(handlers.import_settlement_file, handlers.ImportSettlementFile(day, text, who.sub),
                           city=ctx.city, rule=payments.config.fees[ctx.slug])
    if "text/csv" in request.headers.get("accept", ""):
        return Response(report_csv(report), status_code=201, media_type="text/csv; charset=utf-8")
    return JSONResponse(report, status_code=201)


@router.get("/cities/{city}/reconciliations/{day}", tags=["reconciliation"], response_model=wire.Reconciliation,
            responses={200: CSV_TOO})
async def reconciliation(ctx: CityContext, day: date, request: Request,
                         who: Annotated[Principal, Depends(require(*policy.STAFF))],
                         fmt: Annotated[Literal["json", "csv"] | None, Query(alias="format")] = None) -> Response:
    """The latest reconciliation of that day (``format=csv``: its differences, one row each)."""
    report = await ctx.read(queries.latest_reconciliation, ctx.slug, day)
    if report is None:
        raise NotFound("reconciliation-not-found", "Belum ada rekonsiliasi untuk tanggal itu. / "
                                                   "No reconciliation for that day.")
    if fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", "")):
        return Response(report_csv(report), media_type="text/csv; charset=utf-8")
    return JSONResponse(report)


# -- the acquirer webhook --------------------------------------------------------------------------------

PRINTABLE_ASCII = PRINTABLE_ASCII_PATTERN


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


async def webhook_context(request: Request, city: str) -> RequestContext:
    """Like ``CityContext``, but an unknown city is counted as a rejected notification."""
    found = all_cities().get(city)
    if found is None:
        raise _reject(city, 404, "unknown-city", f"Kota '{city}' tidak dikenal. / Unknown city '{city}'.")
    return RequestContext(found, correlation_id_of(request), request.app.state.kernel.work)


class NotificationAccepted(BaseModel):
    status: Literal["accepted"]
    request_id: str
    notification_id: str
    received_at: datetime


def _webhook_document() -> dict[str, Any]:
    """What the route reads by hand (the raw body is signed, so FastAPI must not parse it): its body and headers."""
    from payments import signing

    schema = NotificationBody.model_json_schema()
    schema["additionalProperties"] = True  # unknown fields are ignored (a gateway may send more)
    header = {"in": "header", "required": True, "schema": {"type": "string", "maxLength": 256}}
    return {
        "parameters": [
            {**header, "name": signing.TIMESTAMP_HEADER, "description": "Unix seconds when the acquirer signed; "
             "outside the allowed clock skew the call is refused (401)"},
            {**header, "name": signing.REQUEST_ID_HEADER, "description": "The acquirer's id of this call: a "
             "repeat is a replay, answered as the first time and changing nothing (X-Pk-Replay: true)"},
            {**header, "name": signing.SIGNATURE_HEADER, "description": "Lower-case hex HMAC-SHA512 with the city's "
             "webhook secret over method, path, timestamp, request id and the SHA-256 of the body "
             "(payments/signing.py)"},
        ],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": schema,
            "example": {"bill_number": "PK7Q2M9X4A", "amount": 15000, "acquirer_reference": "SIM-20261202-000123",
                        "paid_at": "2026-12-02T01:15:04Z", "status": "paid"}}}},
    }


@router.post("/acquirer/{city}/notifications", tags=["acquirer"], response_model=NotificationAccepted,
             openapi_extra=_webhook_document(),
             responses={401: {"description": "Signature, timestamp or request id missing or wrong"},
                        400: {"description": "The body is not UTF-8 JSON"}})
async def acquirer_notification(ctx: Annotated[RequestContext, Depends(webhook_context)], request: Request,
                                payments: Payments) -> JSONResponse:
    """Signed notification from the acquirer. Stored durably before answering (one INSERT, committed together with
    the notifications arriving at the same moment); processed after.

    The body limit (16 KiB) is the kernel's, enforced while the body streams in (413 before reading it all)."""
    city = ctx.slug
    raw = await request.body()
    try:
        verified = payments.acquirer.verify_notification(webhook_secret(payments.config, city), request.method,
                                                         request.url.path, request.headers, raw, now=time.time())
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
    stored = await ctx.run_grouped(handlers.store_notification, handlers.StoreNotification(
        request_id=verified.request_id, body=text, body_sha256=body_digest(raw), bill_number=note.bill_number,
        amount=note.amount, acquirer_reference=note.acquirer_reference, paid_at=paid_at, status=note.status))
    if stored is None:  # the unknown bill number is on record (a mismatch) and refused
        raise _reject(city, 404, "unknown-intent", "Tagihan tidak dikenal. / Unknown bill number.",
                      bill_number=note.bill_number, request_id=verified.request_id)
    if stored.body_differs:
        log.warning("request id reused with a different body; answering as before, changing nothing",
                    city=city, request_id=verified.request_id)
    if not stored.replay:
        NOTIFICATIONS_ACCEPTED.labels(city).inc()
        payments.notifications_stored.set()
    answer = {"status": "accepted", "request_id": verified.request_id, "notification_id": stored.notification_id,
              "received_at": stored.received_at.isoformat()}
    return JSONResponse(answer, status_code=200, headers={"X-Pk-Replay": "true"} if stored.replay else None)


# -- the dev-only simulator ------------------------------------------------------------------------------

simulator_router = APIRouter()


class SimulatedPayment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qris: str = Field(min_length=10, max_length=512)
    amount: StrictInt | None = Field(None, description="pay a different amount than the QRIS says")
    twice: bool = False
    late: bool = False
    paid_at: AwareDatetime | None = Field(None, description="when the payer paid (default now): replays a day's "
                                                             "payments for reconciliation tests and demos")


def invalid_qris(exc: QrisError) -> Invalid:
    return Invalid("invalid-qris", f"QRIS tidak valid: {exc}. / Invalid QRIS: {exc}.")


@simulator_router.post("/simulator/{city}/pay", tags=["simulator (dev only)"],
                       response_model=wire.SimulatedPaymentResult)
async def simulate_payment(ctx: CityContext, body: SimulatedPayment, payments: Payments) -> dict[str, Any]:
    """Scan and pay a QRIS like a wallet + gateway would: our webhook receives signed notifications.

    ``late``: the payer scans after the QR expired (the simulator fast-forwards the intent's expiry first).
    """
    try:
        scanned = scan(body.qris)
    except QrisError as exc:
        raise invalid_qris(exc) from None
    if body.late:
        await ctx.run(handlers.expire_now, handlers.ExpireNow(bill_number=scanned.bill_number))
    async with httpx.AsyncClient(timeout=10) as client:
        sent = await pay(client, payments.config.self_url, ctx.slug, webhook_secret(payments.config, ctx.slug),
                         body.qris, amount=body.amount, twice=body.twice, paid_at=body.paid_at)
    # the acquirer took the payer's money whatever we answered: its settlement file will list it
    await ctx.run(handlers.record_simulated_settlements,
                  [(s.acquirer_reference, s.amount, s.paid_at) for s in sent], payments.config.fees[ctx.slug])
    return {"bill_number": scanned.bill_number, "amount": scanned.amount,
            "notifications": [{"request_id": s.request_id, "acquirer_reference": s.acquirer_reference,
                               "status_code": s.status_code, "response": s.response} for s in sent]}


class SimulatedExpiry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qris: str | None = Field(None, min_length=10, max_length=512)
    payment_id: str | None = Field(None, max_length=64)


@simulator_router.post("/simulator/{city}/expire", tags=["simulator (dev only)"],
                       response_model=wire.SimulatedExpiryResult)
async def simulate_expiry(ctx: CityContext, body: SimulatedExpiry) -> dict[str, Any]:
    """The QR runs out now, nobody paid: the pending intent expires through the expiry worker's own code
    (``PaymentExpired`` exactly as the worker emits it). By ``qris`` or ``payment_id`` (one of them).

    200 when the intent is expired (``expired_now`` false if it already was); 409 when it is not pending
    (paid, cancelled, failed) or a payment for it is waiting to be applied; 404 for an unknown intent.
    """
    if (body.qris is None) == (body.payment_id is None):
        raise Invalid("qris-or-payment-id", "Isi salah satu: qris atau payment_id. / "
                                            "Give exactly one of qris or payment_id.")
    command = handlers.ExpireNow(qris=body.qris) if body.qris is not None else \
        handlers.ExpireNow(payment_id=parse_payment_id(body.payment_id or ""))
    result = await ctx.run(handlers.expire_now, command)
    if result is None:
        raise payment_not_found()
    if result.status != "expired":
        raise not_pending(result.status)
    log.info("simulator expired a payment intent", city=ctx.slug, payment_id=result.payment_id,
             expired_now=result.expired_now)
    return {"payment_id": result.payment_id, "order_id": result.order_id, "status": result.status,
            "expired_now": result.expired_now}


@simulator_router.get("/simulator/{city}/settlement-file", tags=["simulator (dev only)"], response_class=Response,
                      responses=file_answer("text/csv"))
async def simulated_settlement_file(ctx: CityContext, day: Annotated[date, Query(alias="date")]) -> Response:
    """The simulated acquirer's daily settlement file (``reference,amount,fee,time``) of what it paid that day."""
    rows = await ctx.read(queries.simulated_settlements, ctx.city, day)
    return Response(settlement_file(rows), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="settlement-{ctx.slug}-{day.isoformat()}.csv"'})


@router.get("/cities/{city}/webhook-secret", tags=["city directory"], response_model=wire.WebhookSecretState)
async def webhook_secret_state(ctx: CityContext, payments: Payments,
                               who: Annotated[Principal, Depends(require("operator", "city_admin"))]
                               ) -> dict[str, Any]:
    """Whether payments has this city's acquirer webhook secret (issue #14) — never the secret. A city added at
    runtime refuses webhooks (503 ``webhook-secret-missing``) until this says ``set``."""
    from payments.config import webhook_secret_variable

    try:
        webhook_secret(payments.config, ctx.slug)
        found = True
    except Problem:
        found = False
    return {"city": ctx.slug, "set": found, "variable": webhook_secret_variable(ctx.slug),
            "secret_store_file": f"city_{ctx.slug}_webhook_secret"}
