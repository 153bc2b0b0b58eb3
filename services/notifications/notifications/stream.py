"""Which event goes to which use case — declarations only. Every handler is ``handle(uow, event)``.

Three consumer groups, so a sign-in code never waits behind a burst of orders:

- ``notifications.signin``: identity.signin.v1 — sealed sign-in codes, sent at once;
- ``notifications.directory``: who has which phone and where places are (identity accounts, catalog vendors,
  markets and RW hubs) — projections only, never another service's schema;
- ``notifications.messages``: the order, payment and enrolment events that people wait to hear about.
"""

from __future__ import annotations

from notifications.handlers import Messages
from shared.bus import EventBus
from shared.events import catalog as cat
from shared.events import identity as idn
from shared.events import learning as lrn
from shared.events import orders as ords
from shared.events import payments as pay


def register(bus: EventBus, m: Messages) -> None:
    signin = bus.consumer("signin", [idn.SIGNIN])
    signin.on(idn.SignInCodeIssued)(m.on_signin_code)

    directory = bus.consumer("directory", [idn.ACCOUNT, cat.VENDOR, cat.MARKET])
    directory.on(idn.AccountCreated)(m.on_account)
    directory.on(idn.AccountUpdated)(m.on_account)
    directory.on(idn.RoleGranted)(m.on_account)
    directory.on(idn.AccountDeletionRequested)(m.on_account_deletion)
    directory.on(cat.VendorActivated)(m.on_vendor_activated)
    directory.on(cat.MarketOpened)(m.on_market)
    directory.on(cat.RwHubRegistered)(m.on_rw_hub)

    messages = bus.consumer("messages", [ords.ORDER, pay.PAYMENT, lrn.ENROLMENT])
    messages.on(ords.OrderPlaced)(m.on_order_placed)
    messages.on(pay.PaymentRequested)(m.on_payment_requested)
    messages.on(ords.OrderPaid)(m.on_order_paid)
    messages.on(ords.OrderReady)(m.on_order_ready)
    messages.on(ords.OrderCompleted)(m.on_order_completed)
    messages.on(ords.OrderOutForDelivery)(m.on_out_for_delivery)
    messages.on(ords.OrderDeliveryFailed)(m.on_delivery_failed)
    messages.on(ords.OrderPaymentExpired)(m.on_order_payment_expired)
    messages.on(ords.OrderCancelled)(m.on_order_cancelled)
    messages.on(ords.OrderLineRejected)(m.on_line_rejected)
    messages.on(pay.PaymentRefunded)(m.on_payment_refunded)
    messages.on(lrn.EnrolmentBooked)(m.on_enrolment_booked)
    messages.on(lrn.EnrolmentWaitlisted)(m.on_enrolment_waitlisted)
    messages.on(lrn.EnrolmentPromoted)(m.on_enrolment_promoted)
    messages.on(lrn.EnrolmentCancelled)(m.on_enrolment_cancelled)
    messages.on(lrn.CertificateIssued)(m.on_certificate_issued)
    messages.on(lrn.RosterMessaged)(m.on_roster_messaged)
