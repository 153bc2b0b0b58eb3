"""Use cases of the notifications service: ``handle(uow, event)`` for the bus, and the sender's and webhooks' steps.

Every message is rendered from its event and queued **in the consumer's transaction** (with the inbox row):
one row per (event, recipient, template), so a redelivered event never queues a second message. The sender
(``sender.py``) claims due rows, calls the channel outside any transaction, and records the outcome here.

:class:`Messages` holds what the use cases need to know (each city's rules, the portal's address, the clock);
``app.py`` builds it once. No SQL here (``store.py``), no HTTP (``http.py``, ``channels.py``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from notifications import domain
from notifications.metrics import MESSAGES, OPT_OUTS, PARKED, QUEUE_DEPTH, WEBHOOKS
from notifications.rendering import render
from notifications.store import NotificationsStore, Row
from shared.envelope import REGISTRY, Envelope
from shared.errors import Conflict
from shared.events import catalog as cat
from shared.events import identity as idn
from shared.events import learning as lrn
from shared.events import orders as ords
from shared.events import payments as pay
from shared.events.notifications import NotificationFailed, NotificationSent
from shared.logging import get_logger
from shared.measure import line_amount, quantity_label
from shared.phone import masked, normalise_phone
from shared.uow import UnitOfWork

log = get_logger(__name__)

Uow = UnitOfWork[NotificationsStore]
REMINDER_NAMESPACE = uuid.UUID("6f1d2a4e-3b9c-4e57-8a0d-1c2b3d4e5f60")
MASKED_CODE = "••••••"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Messages:
    rules: dict[str, domain.CityRules]
    portal_url: str
    now: Callable[[], datetime] = _utcnow

    def city_rules(self, city: str) -> domain.CityRules:
        rules = self.rules.get(city)
        if rules is None:
            raise Conflict("unknown-city", f"Kota '{city}' tidak dikenal. / Unknown city '{city}'.")
        return rules

    # ------------------------------------------------------------------------------ queueing one message

    async def _queue(self, uow: Uow, name: str, phone: str | None, context: dict[str, str], *,
                     event_id: uuid.UUID | None = None, sealed_code: str | None = None,
                     seal_context: str | None = None) -> uuid.UUID | None:
        city = uow.this_city
        tmpl = domain.template(name)
        rules = self.city_rules(city)
        normal = normalise_phone(phone)
        if normal is None:
            MESSAGES.labels(city, name, "none", "skipped_unknown_phone").inc()
            log.info("no phone for the recipient; nothing sent", template=name)
            return None
        if not domain.bypasses_opt_out(tmpl) and await uow.store.opted_out(city, normal):
            MESSAGES.labels(city, name, "none", "skipped_opted_out").inc()
            log.info("recipient opted out; nothing sent", template=name, phone=masked(normal))
            return None
        body = render(name, context, rules.templates_dir)  # TemplateFailed → retried, then the DLQ with the error
        params = {p: context[p].replace("\n", "; ") for p in tmpl.params}
        now = self.now()
        not_before = domain.send_not_before(now, tmpl, rules.quiet_hours)
        if event_id is None:
            assert uow.causation is not None
            event_id = uow.causation.event_id
        message_id = await uow.store.enqueue(
            city=city, event_id=event_id, recipient=normal, template=name, urgent=tmpl.urgent, body=body,
            params=params, channel="whatsapp", not_before=not_before, sealed_code=sealed_code,
            seal_context=seal_context)
        if message_id is not None:
            MESSAGES.labels(city, name, "whatsapp", "queued").inc()
            if not_before > now:
                MESSAGES.labels(city, name, "whatsapp", "deferred_quiet_hours").inc()
        return message_id

    def _link(self, path: str) -> str:
        return self.portal_url.rstrip("/") + path

    # ------------------------------------------------------------------------------------ projections

    async def on_account(self, uow: Uow, e: idn.AccountCreated | idn.AccountUpdated | idn.RoleGranted) -> None:
        phone = normalise_phone(e.phone)
        if phone is not None:
            await uow.store.upsert_account(uow.this_city, e.account_id, phone, getattr(e, "name", None))

    async def on_account_deletion(self, uow: Uow, e: idn.AccountDeletionRequested) -> None:
        await uow.store.forget_person(e.account_id, normalise_phone(e.phone) or e.phone)

    async def on_vendor_activated(self, uow: Uow, e: cat.VendorActivated) -> None:
        await uow.store.upsert_vendor(uow.this_city, e.vendor_id, market_id=e.market_id, name=e.name,
                                      phone=normalise_phone(e.phone), stall=e.stall)
        if e.phone and e.invited:  # added by a market admin: the shop is live, sign in with this phone
            market = await uow.store.place(uow.this_city, e.market_id)
            await self._queue(uow, "vendor_welcome", e.phone, {
                "shop": e.name, "market": str(market["name"]) if market else "pasar",
                "link": self._link("/masuk")})

    async def on_market(self, uow: Uow, e: cat.MarketOpened) -> None:
        await uow.store.upsert_place(uow.this_city, e.market_id, "market", e.name, e.address)

    async def on_rw_hub(self, uow: Uow, e: cat.RwHubRegistered) -> None:
        await uow.store.upsert_place(uow.this_city, e.rw_hub_id, "rw_hub", e.name, e.address)

    async def on_order_placed(self, uow: Uow, e: ords.OrderPlaced) -> None:
        """The order as later messages need it; then any of its events that came first are applied now."""
        await uow.store.insert_order(uow.this_city, e.order_id, buyer_id=e.buyer_id, market_id=e.market_id,
                                     fulfilment=e.fulfilment, rw_hub_id=e.rw_hub_id, total=e.total,
                                     lines=[line.model_dump() for line in e.lines])
        for raw in await uow.store.unpark(uow.this_city, e.order_id):
            envelope = Envelope.model_validate(raw)
            handler = self._order_handlers().get(envelope.event_type)
            spec = REGISTRY.get((envelope.event_type, envelope.event_version))
            if handler is not None and spec is not None:
                log.info("parked event applied", parked_event_id=str(envelope.event_id),
                         parked_event_type=envelope.event_type)
                await handler(uow.caused_by(envelope), spec.model.model_validate(envelope.payload))

    def _order_handlers(self) -> dict[str, Callable[[Uow, Any], Awaitable[None]]]:
        return {"PaymentRequested": self.on_payment_requested, "OrderPaid": self.on_order_paid,
                "OrderReady": self.on_order_ready, "OrderCompleted": self.on_order_completed,
                "OrderPaymentExpired": self.on_order_payment_expired, "PaymentRefunded": self.on_payment_refunded,
                "OrderCancelled": self.on_order_cancelled, "OrderOutForDelivery": self.on_out_for_delivery,
                "OrderDeliveryFailed": self.on_delivery_failed}

    # ---------------------------------------------------------------------------------- sign-in codes

    async def on_signin_code(self, uow: Uow, e: idn.SignInCodeIssued) -> None:
        """Queued sealed, as it came: opened only by the sender, at the moment it goes to the provider."""
        assert uow.causation is not None
        minutes = max(1, math.ceil((e.expires_at - uow.causation.occurred_at).total_seconds() / 60))
        await self._queue(uow, "signin_code", e.phone, {"code": MASKED_CODE, "minutes": str(minutes)},
                          sealed_code=e.code_sealed, seal_context=e.challenge_id)

    # ------------------------------------------------------------------------------------ buyers

    async def _order(self, uow: Uow, order_id: str) -> Row | None:
        """The projected order; None — with the event parked until its OrderPlaced arrives — when not known yet."""
        order = await uow.store.order(uow.this_city, order_id)
        if order is None:
            assert uow.causation is not None
            await uow.store.park(uow.this_city, order_id, uow.causation.model_dump(mode="json"))
            PARKED.labels(uow.this_city, uow.causation.event_type).inc()
            log.info("order not known yet; event parked until its OrderPlaced", order_id=order_id)
        return order

    async def _buyer_phone(self, uow: Uow, order: Row) -> str | None:
        return await uow.store.account_phone(order["buyer_id"])

    async def on_payment_requested(self, uow: Uow, e: pay.PaymentRequested) -> None:
        order = await self._order(uow, e.order_id)
        if order is None:
            return
        city = uow.this_city
        await self._queue(uow, "order_awaiting_payment", await self._buyer_phone(uow, order), {
            "order_ref": domain.order_ref(e.order_id), "total": domain.rupiah(e.amount),
            "expires": domain.clock(e.expires_at),
            "pay_link": self._link(f"/kota/{city}/pesanan/{e.order_id}/bayar")})

    async def on_order_paid(self, uow: Uow, e: ords.OrderPaid) -> None:
        order = await self._order(uow, e.order_id)
        if order is None:
            return
        ref = domain.order_ref(e.order_id)
        await self._queue(uow, "order_paid", await self._buyer_phone(uow, order),
                          {"order_ref": ref, "total": domain.rupiah(e.amount)})
        lines: list[dict[str, Any]] = list(order["lines"])
        vendor_ids = sorted({line["vendor_id"] for line in lines})
        vendors = await uow.store.vendors(uow.this_city, vendor_ids)
        for vendor_id in vendor_ids:
            items = "\n".join(
                f"- {quantity_label(line['quantity'], line.get('unit') or '', line.get('sold_by') or 'piece')} "
                f"{line.get('name') or line['product_id']}" for line in lines if line["vendor_id"] == vendor_id)
            vendor = vendors.get(vendor_id)
            await self._queue(uow, "vendor_new_order", vendor["phone"] if vendor else None, {
                "order_ref": ref, "items": items, "fulfilment": domain.FULFILMENT.get(order["fulfilment"], "")})

    async def _pickup_place(self, uow: Uow, order: Row) -> str:
        city = uow.this_city
        if order["fulfilment"] == "pickup_rw_hub":
            hub = await uow.store.place(city, order["rw_hub_id"])
            return ", ".join(x for x in (hub["name"], hub["address"]) if x) if hub else "hub RW pilihan Anda"
        if order["fulfilment"] == "delivery":
            return "diantar kurir pasar ke alamat Anda"
        market = await uow.store.place(city, order["market_id"])
        vendors = await uow.store.vendors(city, sorted({line["vendor_id"] for line in order["lines"]}))
        stalls = ", ".join(f"{v['stall']} ({v['name']})" if v["stall"] else v["name"] for v in vendors.values())
        return ", ".join(x for x in (market["name"] if market else None, stalls) if x) or "lapak pedagang"

    async def on_order_ready(self, uow: Uow, e: ords.OrderReady) -> None:
        order = await self._order(uow, e.order_id)
        if order is None:
            return
        if not e.pickup_code:
            raise ValueError("OrderReady without pickup_code: the buyer cannot be told the code")
        await self._queue(uow, "order_ready", await self._buyer_phone(uow, order), {
            "order_ref": domain.order_ref(e.order_id), "pickup_code": e.pickup_code,
            "place": await self._pickup_place(uow, order)})

    async def on_out_for_delivery(self, uow: Uow, e: ords.OrderOutForDelivery) -> None:
        order = await self._order(uow, e.order_id)
        if order is None:
            return
        await self._queue(uow, "order_on_its_way", await self._buyer_phone(uow, order), {
            "order_ref": domain.order_ref(e.order_id), "courier": e.courier_name or "kurir pasar",
            "courier_phone": e.courier_phone or ""})

    async def on_delivery_failed(self, uow: Uow, e: ords.OrderDeliveryFailed) -> None:
        order = await self._order(uow, e.order_id)
        if order is None:
            return
        await self._queue(uow, "order_delivery_failed", await self._buyer_phone(uow, order), {
            "order_ref": domain.order_ref(e.order_id), "reason": e.reason})

    async def on_line_rejected(self, uow: Uow, e: ords.OrderLineRejected) -> None:
        await uow.store.reject_line(uow.this_city, e.order_id, e.product_id, e.vendor_id)

    async def on_order_completed(self, uow: Uow, e: ords.OrderCompleted) -> None:
        order = await self._order(uow, e.order_id)
        if order is None:
            return
        assert uow.causation is not None
        rejected = {(r["product_id"], r["vendor_id"]) for r in order["rejected"]}
        amounts: dict[str, int] = {}
        for line in order["lines"]:
            if (line["product_id"], line["vendor_id"]) not in rejected and line["vendor_id"] in e.vendor_ids:
                amount = line.get("amount") or line_amount(line["quantity"], line["unit_price"],
                                                           line.get("sold_by") or "piece")  # weighed: grams × per kg
                amounts[line["vendor_id"]] = amounts.get(line["vendor_id"], 0) + amount
        day = uow.causation.occurred_at.astimezone(domain.WIB).date()
        await uow.store.add_vendor_sales(uow.this_city, day, amounts)
        await self._queue(uow, "order_completed", await self._buyer_phone(uow, order),
                          {"order_ref": domain.order_ref(e.order_id), "total": domain.rupiah(e.total)})

    async def on_order_payment_expired(self, uow: Uow, e: ords.OrderPaymentExpired) -> None:
        order = await self._order(uow, e.order_id)
        if order is None:
            return
        await self._queue(uow, "order_payment_expired", await self._buyer_phone(uow, order),
                          {"order_ref": domain.order_ref(e.order_id)})

    async def on_payment_refunded(self, uow: Uow, e: pay.PaymentRefunded) -> None:
        order = await self._order(uow, e.order_id)
        if order is None:
            return
        await self._queue(uow, "order_refunded", await self._buyer_phone(uow, order), {
            "order_ref": domain.order_ref(e.order_id), "amount": domain.rupiah(e.amount),
            "reason": domain.REFUND_REASONS.get(e.reason, e.reason.replace("_", " "))})

    async def on_order_cancelled(self, uow: Uow, e: ords.OrderCancelled) -> None:
        """Vendors hear of a cancelled *paid* order (they may have started on it); unpaid ones never reached them."""
        if not e.paid or e.reason != "buyer_cancelled":
            return
        order = await self._order(uow, e.order_id)
        if order is None:
            return
        vendor_ids = sorted({line["vendor_id"] for line in order["lines"]})
        vendors = await uow.store.vendors(uow.this_city, vendor_ids)
        for vendor_id in vendor_ids:
            vendor = vendors.get(vendor_id)
            await self._queue(uow, "vendor_order_cancelled", vendor["phone"] if vendor else None,
                              {"order_ref": domain.order_ref(e.order_id)})

    # ------------------------------------------------------------------------------------ participants

    async def _where(self, uow: Uow, rw_hub_id: str | None, meeting_link: str | None) -> str:
        if meeting_link:
            return meeting_link
        hub = await uow.store.place(uow.this_city, rw_hub_id)
        if hub:
            return ", ".join(x for x in (hub["name"], hub["address"]) if x)
        return "lihat jadwal di portal"

    async def _session_context(self, uow: Uow, e: lrn.EnrolmentBooked | lrn.EnrolmentPromoted) -> dict[str, str]:
        return {"session": e.session_title or e.programme_title or "sesi pelatihan",
                "when": domain.wib(e.session_starts_at) if e.session_starts_at else "lihat jadwal di portal",
                "where": await self._where(uow, e.rw_hub_id, e.meeting_link)}

    async def _project_enrolment(self, uow: Uow, e: lrn.EnrolmentBooked | lrn.EnrolmentPromoted |
                                 lrn.EnrolmentWaitlisted, status: str) -> None:
        await uow.store.upsert_enrolment(
            uow.this_city, e.enrolment_id, participant_id=e.participant_id,
            phone=normalise_phone(e.participant_phone), session_id=e.session_id, session_title=e.session_title,
            programme_title=e.programme_title, starts_at=e.session_starts_at, rw_hub_id=e.rw_hub_id,
            meeting_link=e.meeting_link, status=status, trainer_phone=normalise_phone(e.trainer_phone))

    async def on_enrolment_booked(self, uow: Uow, e: lrn.EnrolmentBooked) -> None:
        await self._project_enrolment(uow, e, "booked")
        await self._queue(uow, "enrolment_booked", e.participant_phone, await self._session_context(uow, e))

    async def on_enrolment_promoted(self, uow: Uow, e: lrn.EnrolmentPromoted) -> None:
        await self._project_enrolment(uow, e, "booked")
        await self._queue(uow, "enrolment_promoted", e.participant_phone, await self._session_context(uow, e))

    async def on_enrolment_waitlisted(self, uow: Uow, e: lrn.EnrolmentWaitlisted) -> None:
        await self._project_enrolment(uow, e, "waitlisted")
        await self._queue(uow, "enrolment_waitlisted", e.participant_phone, {
            "session": e.session_title or e.programme_title or "sesi pelatihan", "position": str(e.position)})

    async def on_enrolment_cancelled(self, uow: Uow, e: lrn.EnrolmentCancelled) -> None:
        await uow.store.set_enrolment_status(uow.this_city, e.enrolment_id, "cancelled")

    async def on_certificate_issued(self, uow: Uow, e: lrn.CertificateIssued) -> None:
        await self._queue(uow, "certificate_issued", e.participant_phone, {
            "programme": e.programme_title, "code": e.certificate_code,
            "verify_link": self._link(f"/sertifikat?kode={e.certificate_code}")})

    async def remind(self, uow: Uow) -> int:
        """Periodic job (all cities): the day-before and hour-before reminders of booked seats, once each."""
        now = self.now()
        due = await uow.store.due_reminders(now)
        for row in due:
            kind = "hour" if row["starts_at"] - now <= timedelta(hours=1) else "day"
            scoped = UnitOfWork(uow.store, city=row["city"], correlation_id=f"reminder-{row['enrolment_id']}",
                                pending=uow.pending)
            event_id = uuid.uuid5(REMINDER_NAMESPACE, f"{row['enrolment_id']}/{kind}/{row['starts_at'].isoformat()}")
            await self._queue(scoped, f"session_reminder_{kind}", row["phone"], {
                "session": row["session_title"] or row["programme_title"] or "sesi pelatihan",
                "when": domain.wib(row["starts_at"]),
                "where": await self._where(scoped, row["rw_hub_id"], row["meeting_link"])}, event_id=event_id)
            await uow.store.mark_reminded(row["enrolment_id"], kind)
        return len(due)

    async def send_rosters(self, uow: Uow) -> int:
        """Periodic job: after a city's ``roster_at`` (18:00 WIB), each trainer hears who comes tomorrow, once."""
        now, done = self.now(), 0
        for city, rules in self.rules.items():
            local = now.astimezone(domain.WIB)
            if rules.roster_at is None or local.time() < rules.roster_at:
                continue
            tomorrow = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            for row in await uow.store.due_rosters(city, tomorrow, tomorrow + timedelta(days=1)):
                if not await uow.store.mark_roster_sent(row["session_id"], tomorrow.date()):
                    continue
                scoped = UnitOfWork(uow.store, city=city, correlation_id=f"roster-{row['session_id']}",
                                    pending=uow.pending)
                await self._queue(scoped, "trainer_roster_tomorrow", row["trainer_phone"], {
                    "session": row["session_title"] or row["programme_title"] or "sesi pelatihan",
                    "when": domain.clock(row["starts_at"]),
                    "where": await self._where(scoped, row["rw_hub_id"], row["meeting_link"]),
                    "booked": str(row["booked"]), "waitlisted": str(row["waitlisted"]),
                    "link": self._link(f"/kota/{city}/pelatih/sesi/{row['session_id']}")},
                    event_id=uuid.uuid5(REMINDER_NAMESPACE, f"roster/{row['session_id']}/{tomorrow.date()}"))
                done += 1
        return done

    async def summarise_sales(self, uow: Uow) -> int:
        """Periodic job: after a city's ``daily_summary_at`` (20:00 WIB), each vendor's sales of the day, once."""
        now, done = self.now(), 0
        for city, rules in self.rules.items():
            local = now.astimezone(domain.WIB)
            if rules.daily_summary_at is None or local.time() < rules.daily_summary_at:
                continue
            for row in await uow.store.due_summaries(city, local.date()):
                scoped = UnitOfWork(uow.store, city=city, correlation_id=f"summary-{row['vendor_id']}-{row['day']}",
                                    pending=uow.pending)
                await self._queue(scoped, "vendor_daily_summary", row["phone"], {
                    "day": domain.tanggal(row["day"]), "orders": str(row["orders"]),
                    "amount": domain.rupiah(row["amount"]), "link": self._link(f"/kota/{city}/pedagang")},
                    event_id=uuid.uuid5(REMINDER_NAMESPACE, f"summary/{row['vendor_id']}/{row['day']}"))
                await uow.store.mark_summarised(row["vendor_id"], row["day"])
                done += 1
        return done

    # ------------------------------------------------------------------------------------ replies, statuses

    async def on_reply(self, uow: Uow, phone: str, text: str | None) -> str | None:
        """A person wrote to the city's number: BERHENTI opts out, MULAI opts back in, at once."""
        city = uow.this_city
        intent = domain.reply_intent(text)
        normal = normalise_phone(phone)
        if intent is None or normal is None:
            return None
        changed = await (uow.store.opt_out(city, normal) if intent == "opt_out" else uow.store.opt_in(city, normal))
        if changed:
            OPT_OUTS.labels(city, intent).inc()
            log.info("opt-out changed", intent=intent, phone=masked(normal))
        return intent

    async def on_status(self, uow: Uow, provider_message_id: str, status: str, error: str | None) -> bool:
        """A provider's delivery report; True when it changed the message (forward only, repeats change nothing)."""
        row = await uow.store.by_provider_id(provider_message_id)
        if row is None:
            WEBHOOKS.labels("unknown_message").inc()
            return False
        tmpl = domain.template(row["template"])
        target = domain.status_after(row["status"], status)
        if target is None:
            return False
        if target == "failed" and domain.falls_back_to_sms(tmpl, row["channel"]):
            await uow.store.switch_to_sms(row["message_id"], f"whatsapp: {error or 'failed'}")
            MESSAGES.labels(row["city"], row["template"], "whatsapp", "fallback_sms").inc()
            return True
        await uow.store.set_status(row["message_id"], target, error)
        if target == "failed":
            MESSAGES.labels(row["city"], row["template"], row["channel"], "failed").inc()
            self._emit_failed(uow, row, error or "failed")
        return True

    async def apply_webhook(self, uow: Uow, digest: str, statuses: list[tuple[str, str, str | None]],
                            replies: list[tuple[str | None, str | None, str | None]]) -> dict[str, int]:
        """One verified WhatsApp webhook: statuses (provider id, status, error) and replies (city, phone, text).
        Exactly this body seen before → Conflict (a replay), nothing changed."""
        if not await uow.store.remember_webhook(digest):
            WEBHOOKS.labels("replayed").inc()
            raise Conflict("webhook-replayed", "Webhook ini sudah diterima. / This webhook was already received.")
        changed = 0
        for provider_id, status, error in statuses:
            changed += await self.on_status(uow, provider_id, status, error)
        opted = 0
        for city, phone, text in replies:
            if city and phone:
                scoped = UnitOfWork(uow.store, city=city, correlation_id=uow.correlation_id, pending=uow.pending)
                opted += (await self.on_reply(scoped, phone, text)) is not None
        WEBHOOKS.labels("applied").inc()
        return {"statuses_changed": changed, "replies_applied": opted}

    # ------------------------------------------------------------------------------------ the sender's steps

    async def claim_due(self, uow: Uow, limit: int, lease: timedelta) -> list[Row]:
        """Lock the due messages; drop those opted out since, defer those over a rate limit, claim the rest."""
        rows = await uow.store.lock_due(limit)
        if not rows:
            return []
        opted = await uow.store.opted_out_of(sorted({(r["city"], r["recipient"]) for r in rows}))
        per_phone, per_city = await uow.store.sent_counts(sorted({r["recipient"] for r in rows}),
                                                          sorted({r["city"] for r in rows}))
        claimed = []
        for row in rows:
            tmpl = domain.template(row["template"])
            if (row["city"], row["recipient"]) in opted and not domain.bypasses_opt_out(tmpl):
                await uow.store.mark_failed(row["message_id"], "opted-out: the recipient replied BERHENTI")
                MESSAGES.labels(row["city"], row["template"], row["channel"], "skipped_opted_out").inc()
                continue
            rules = self.rules.get(row["city"])
            limits = rules.limits if rules else domain.RateLimits()
            wait = domain.over_limit(limits, per_phone.get(row["recipient"], 0), per_city.get(row["city"], 0))
            if wait is not None:
                await uow.store.defer(row["message_id"], wait)
                MESSAGES.labels(row["city"], row["template"], row["channel"], "deferred_rate_limit").inc()
                continue
            per_phone[row["recipient"]] = per_phone.get(row["recipient"], 0) + 1
            per_city[row["city"]] = per_city.get(row["city"], 0) + 1
            claimed.append(await uow.store.claim(row["message_id"], lease))
        return claimed

    async def record_sent(self, uow: Uow, row: Row, provider_message_id: str) -> None:
        await uow.store.mark_sent(row["message_id"], provider_message_id)
        MESSAGES.labels(row["city"], row["template"], row["channel"], "sent").inc()
        log.info("message sent", message_id=str(row["message_id"]), template=row["template"], channel=row["channel"],
                 phone=masked(row["recipient"]), attempts=row["attempts"])
        uow.emit(NotificationSent(message_id=str(row["message_id"]), source_event_id=str(row["event_id"]),
                                  template=row["template"], channel=row["channel"],
                                  phone_masked=masked(row["recipient"])), city=row["city"])

    async def record_failure(self, uow: Uow, row: Row, error: str, *, retryable: bool, max_attempts: int,
                             backoff_seconds: float) -> str:
        """Retry later with back-off, fall back to SMS (codes), or fail with the provider's error."""
        tmpl = domain.template(row["template"])
        if retryable and row["attempts"] < max_attempts:
            await uow.store.retry_later(row["message_id"], domain.backoff(row["attempts"], backoff_seconds), error)
            MESSAGES.labels(row["city"], row["template"], row["channel"], "retried").inc()
            return "retry"
        if domain.falls_back_to_sms(tmpl, row["channel"]):
            await uow.store.switch_to_sms(row["message_id"], f"whatsapp: {error}")
            MESSAGES.labels(row["city"], row["template"], row["channel"], "fallback_sms").inc()
            return "fallback_sms"
        await uow.store.mark_failed(row["message_id"], error)
        MESSAGES.labels(row["city"], row["template"], row["channel"], "failed").inc()
        self._emit_failed(uow, row, error)
        log.warning("message failed", template=row["template"], channel=row["channel"], error=error,
                    phone=masked(row["recipient"]))
        return "failed"

    def _emit_failed(self, uow: Uow, row: Row, error: str) -> None:
        uow.emit(NotificationFailed(message_id=str(row["message_id"]), source_event_id=str(row["event_id"]),
                                    template=row["template"], channel=row["channel"],
                                    phone_masked=masked(row["recipient"]), error=error[:500]), city=row["city"])

    async def refresh_queue_depth(self, uow: Uow) -> None:
        QUEUE_DEPTH.clear()
        for row in await uow.store.queue_depth():
            QUEUE_DEPTH.labels(row["city"]).set(row["n"])

    async def on_roster_messaged(self, uow: Uow, e: lrn.RosterMessaged) -> None:
        """The trainer wrote to the roster: learning sends one event per seat, so one message per participant."""
        await self._queue(uow, "trainer_message", e.participant_phone, {
            "session": e.session_title or e.programme_title or "sesi pelatihan",
            "trainer": e.trainer_name or "pelatih", "text": e.text})
