-- Payment intents, the acquirer's raw notifications, refunds and reconciliation mismatches.
-- Money is integer rupiah; times are timestamptz (UTC); every row carries its city.

CREATE TABLE payment_intents (
    payment_id         uuid        PRIMARY KEY,
    city               text        NOT NULL,
    order_id           text        NOT NULL,
    buyer_id           text        NOT NULL,
    amount             bigint      NOT NULL CHECK (amount >= 0),
    vendor_amounts     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    merchant           jsonb       NOT NULL,          -- snapshot of the city's merchant of record
    merchant_name      text        NOT NULL,
    qris               text,                          -- NULL only for an intent that failed to issue
    bill_number        text        NOT NULL,          -- QRIS tag 62.01: ties the acquirer's notification to us
    reference_label    text        NOT NULL,          -- QRIS tag 62.05: the order's short reference
    status             text        NOT NULL CHECK (status IN
                           ('pending', 'succeeded', 'expired', 'failed', 'cancelled',
                            'refunded', 'partially_refunded')),
    failure_reason     text,
    expires_at         timestamptz NOT NULL,
    paid_at            timestamptz,
    paid_amount        bigint,
    acquirer_reference text,
    refunded_amount    bigint      NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    correlation_id     text,
    UNIQUE (city, order_id),
    UNIQUE (city, bill_number)
);
CREATE INDEX payment_intents_pending_expiry ON payment_intents (expires_at) WHERE status = 'pending';
CREATE INDEX payment_intents_paid_day ON payment_intents (city, paid_at) WHERE paid_at IS NOT NULL;

-- Every notification the acquirer sent us with a valid signature, stored raw BEFORE we answer 2xx.
-- A worker drains unprocessed rows (FOR UPDATE SKIP LOCKED) into intent transitions + outbox events.
CREATE TABLE acquirer_notifications (
    id                 bigserial   PRIMARY KEY,
    city               text        NOT NULL,
    request_id         text        NOT NULL,
    body               text        NOT NULL,          -- exactly the bytes the acquirer signed (UTF-8)
    body_sha256        text        NOT NULL,
    bill_number        text        NOT NULL,
    amount             bigint      NOT NULL,
    acquirer_reference text        NOT NULL,
    paid_at            timestamptz NOT NULL,
    status             text        NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    processed_at       timestamptz,
    outcome            text,
    payment_id         uuid,
    UNIQUE (city, request_id)
);
CREATE INDEX acquirer_notifications_unprocessed ON acquirer_notifications (id) WHERE processed_at IS NULL;
CREATE INDEX acquirer_notifications_reference ON acquirer_notifications (city, acquirer_reference);

CREATE TABLE refunds (
    refund_id          uuid        PRIMARY KEY,
    city               text        NOT NULL,
    payment_id         uuid        NOT NULL REFERENCES payment_intents (payment_id),
    order_id           text        NOT NULL,
    amount             bigint      NOT NULL CHECK (amount > 0),
    reason             text        NOT NULL,
    source             text        NOT NULL,          -- api | event | automatic
    dedupe_key         text        NOT NULL,          -- makes every refund path idempotent
    vendor_amounts     jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- the refund apportioned to vendors
    counts_for_vendors boolean     NOT NULL,          -- false for refunds of late/duplicate payments
    notification_id    bigint,
    acquirer_refund_reference text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (city, dedupe_key)
);
CREATE INDEX refunds_day ON refunds (city, created_at);
CREATE INDEX refunds_payment ON refunds (payment_id);

-- Every disagreement between the acquirer and our intents, for reconciliation.
CREATE TABLE payment_mismatches (
    id                 bigserial   PRIMARY KEY,
    city               text        NOT NULL,
    kind               text        NOT NULL,          -- amount_mismatch | late_payment | order_cancelled
                                                      -- | duplicate_payment | unknown_intent
    notification_id    bigint,
    payment_id         uuid,
    order_id           text,
    bill_number        text,
    expected           bigint,
    notified           bigint,
    acquirer_reference text,
    detail             text,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_mismatches_day ON payment_mismatches (city, created_at);
