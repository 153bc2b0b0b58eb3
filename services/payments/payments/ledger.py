"""The money ledger: double entry, integer rupiah, append-only. Plain Python, no IO.

Every movement of money is an :class:`Entry` — a balanced set of postings (debits positive, credits
negative, summing to zero) on these accounts:

``acquirer_clearing``      what the acquirer holds for the city's merchant of record (an asset)
``vendor_payable``         what the city owes one vendor (one account per vendor id; a liability)
``delivery_fees``          the part of an order that is no vendor's (the delivery fee; the city's)
``refunds_payable``        money decided to go back to buyers, not yet confirmed by the acquirer
``payouts_in_transit``     payout instructions given to the bank, not yet confirmed paid

A vendor's balance — what the city owes them — is minus the sum of their ``vendor_payable`` postings.

Who a refund belongs to (:func:`attribute_refund`): the refund's own attribution when it names one that fits
(a rejected line is its vendor's); everything left when the whole rest goes back (a cancellation: each
account gets back exactly what it still holds); only an unattributable partial refund is apportioned over
what each account still holds, by largest remainder. The MDR (:func:`mdr_fee`) is the acquirer's fee, borne
by the payees in proportion to their part of the payment, never by the buyer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CLEARING = "acquirer_clearing"
VENDOR_PAYABLE = "vendor_payable"
DELIVERY_FEES = "delivery_fees"
REFUNDS_PAYABLE = "refunds_payable"
PAYOUTS_IN_TRANSIT = "payouts_in_transit"

OTHER = "_other"  # the allocation key of the non-vendor part of an order (payments.domain.OTHER_ALLOCATION)


class Unbalanced(ValueError):
    """An entry whose postings do not sum to zero: a programming error, never written."""


@dataclass(frozen=True)
class Posting:
    account: str
    amount: int                 # debit > 0, credit < 0; never 0
    vendor_id: str | None = None


@dataclass(frozen=True)
class Entry:
    """One balanced movement. ``dedupe_key`` makes writing it idempotent (one entry per cause)."""

    kind: str
    dedupe_key: str
    postings: tuple[Posting, ...]
    payment_id: uuid.UUID | None = None
    order_id: str | None = None
    refund_id: uuid.UUID | None = None
    payout_id: uuid.UUID | None = None
    entry_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        if sum(p.amount for p in self.postings) != 0:
            raise Unbalanced(f"{self.kind} {self.dedupe_key}: postings sum to {sum(p.amount for p in self.postings)}")
        if any(p.amount == 0 for p in self.postings):
            raise Unbalanced(f"{self.kind} {self.dedupe_key}: a posting of 0")


def _payee(key: str, amount: int) -> Posting:
    """A posting on the account an allocation key names: a vendor's payable, or the delivery fees."""
    if key == OTHER:
        return Posting(DELIVERY_FEES, amount)
    return Posting(VENDOR_PAYABLE, amount, vendor_id=key)


def _nonzero(postings: Iterable[Posting]) -> tuple[Posting, ...]:
    return tuple(p for p in postings if p.amount != 0)


def largest_remainder(amount: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``amount`` over ``weights`` in proportion (largest remainder, ties by key): exact sum, and no
    part above its weight when ``amount`` ≤ the total weight."""
    total = sum(w for w in weights.values() if w > 0)
    if total <= 0 or amount <= 0:
        return {}
    positive = {k: w for k, w in weights.items() if w > 0}
    shares = {k: amount * w // total for k, w in positive.items()}
    order = sorted(positive, key=lambda k: (-(amount * positive[k] % total), k))
    for k in order[: amount - sum(shares.values())]:
        shares[k] += 1
    return {k: s for k, s in shares.items() if s}


def payment_received(*, payment_id: uuid.UUID, order_id: str, amount: int, allocation: Mapping[str, int],
                     dedupe_key: str) -> Entry:
    """The order's payment arrived: the acquirer owes it to us, and we owe each vendor their lines."""
    if sum(allocation.values()) != amount:
        raise Unbalanced(f"allocation {dict(allocation)} does not add up to the payment {amount}")
    return Entry("payment_received", dedupe_key, _nonzero(
        [Posting(CLEARING, amount), *(_payee(k, -a) for k, a in sorted(allocation.items()))]),
        payment_id=payment_id, order_id=order_id)


def mdr_fee(amount: int, *, basis_points: int, free_up_to: int) -> int:
    """The acquirer's merchant discount on one payment, whole rupiah rounded half up; 0 up to ``free_up_to``
    (QRIS for UMI merchants: 0 % up to Rp 500.000)."""
    if basis_points <= 0 or amount <= free_up_to:
        return 0
    return (amount * basis_points + 5_000) // 10_000


def fee_charged(*, payment_id: uuid.UUID, order_id: str, fee: int, allocation: Mapping[str, int],
                dedupe_key: str) -> Entry | None:
    """The acquirer keeps ``fee`` of the payment; the payees bear it in proportion to their part."""
    if fee <= 0:
        return None
    shares = largest_remainder(fee, allocation)
    return Entry("mdr_fee", dedupe_key, _nonzero(
        [Posting(CLEARING, -fee), *(_payee(k, s) for k, s in sorted(shares.items()))]),
        payment_id=payment_id, order_id=order_id)


def attribute_refund(amount: int, left: Mapping[str, int],
                     claimed: Mapping[str, int] | None) -> tuple[dict[str, int], str]:
    """Who a refund of ``amount`` is taken from, and by which rule (see the module doc).

    ``left``: what each allocation key still holds of this payment (its part minus what was refunded of it).
    ``claimed``: the attribution the refund came with (a rejected line names its vendor), or None."""
    if claimed:
        fits = all(a >= 0 for a in claimed.values()) and all(a <= left.get(k, 0) for k, a in claimed.items())
        if fits and sum(claimed.values()) == amount:
            return {k: int(a) for k, a in claimed.items() if a}, "attributed"
    if amount == sum(v for v in left.values() if v > 0):
        return {k: v for k, v in left.items() if v > 0}, "everything_left"
    return largest_remainder(amount, left), "apportioned"


def refund_decided(*, payment_id: uuid.UUID, order_id: str, refund_id: uuid.UUID, attribution: Mapping[str, int],
                   dedupe_key: str) -> Entry:
    """Part of an order's payment goes back: taken from the accounts it is attributed to."""
    amount = sum(attribution.values())
    return Entry("refund_decided", dedupe_key, _nonzero(
        [*(_payee(k, a) for k, a in sorted(attribution.items())), Posting(REFUNDS_PAYABLE, -amount)]),
        payment_id=payment_id, order_id=order_id, refund_id=refund_id)


def extra_payment_returned(*, payment_id: uuid.UUID, order_id: str, refund_id: uuid.UUID, amount: int,
                           reason: str, dedupe_key: str) -> Entry:
    """A payment the order must not keep (late, for a cancelled order, a second one): received and owed back
    at once; no vendor ever sees it."""
    return Entry(f"returned_{reason}", dedupe_key, (Posting(CLEARING, amount), Posting(REFUNDS_PAYABLE, -amount)),
                 payment_id=payment_id, order_id=order_id, refund_id=refund_id)


def refund_sent(*, payment_id: uuid.UUID, order_id: str, refund_id: uuid.UUID, amount: int,
                dedupe_key: str) -> Entry:
    """The acquirer confirmed the refund: the money left its clearing account."""
    return Entry("refund_sent", dedupe_key, (Posting(REFUNDS_PAYABLE, amount), Posting(CLEARING, -amount)),
                 payment_id=payment_id, order_id=order_id, refund_id=refund_id)


def payout_instructed(*, payout_id: uuid.UUID, vendor_id: str, amount: int, dedupe_key: str) -> Entry:
    """A payout instruction to the bank: the vendor's balance moves to in transit."""
    return Entry("payout_instructed", dedupe_key, (Posting(VENDOR_PAYABLE, amount, vendor_id=vendor_id),
                                                   Posting(PAYOUTS_IN_TRANSIT, -amount)), payout_id=payout_id)


def payout_paid(*, payout_id: uuid.UUID, amount: int, dedupe_key: str) -> Entry:
    """The bank confirmed the transfer: paid out of the settlement funds."""
    return Entry("payout_paid", dedupe_key, (Posting(PAYOUTS_IN_TRANSIT, amount), Posting(CLEARING, -amount)),
                 payout_id=payout_id)


def payouts_due(earned: Mapping[str, int], paid_out: Mapping[str, int]) -> dict[str, int]:
    """What each vendor is paid in a run: earned up to the cut-off minus everything already paid out (in any
    run, whenever it ran), when positive. Order-independent, so no day is ever paid twice."""
    return {v: e - paid_out.get(v, 0) for v, e in sorted(earned.items()) if e - paid_out.get(v, 0) > 0}
