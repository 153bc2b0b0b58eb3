-- A refund is decided (and PaymentRefunded emitted) in the transaction that decides it; the acquirer is
-- instructed after commit by the refund worker, never while a notification batch holds its locks.
-- A row without an acquirer_refund_reference is still to be sent (retried until the acquirer confirms).
ALTER TABLE refunds
    ADD COLUMN acquirer_reference text,                  -- the payment being returned, when known
    ADD COLUMN correlation_id     text,
    ADD COLUMN sent_at            timestamptz,
    ADD COLUMN send_attempts      integer NOT NULL DEFAULT 0,
    ADD COLUMN send_error         text;
CREATE INDEX refunds_to_send ON refunds (created_at) WHERE acquirer_refund_reference IS NULL;
