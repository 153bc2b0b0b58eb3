-- Dead-lettering goes through the outbox (claimed once per consumer and source offset in the inbox), so a
-- re-read batch never dead-letters a message twice and a DLQ write never depends on Kafka being up.
-- Bodies too large to travel in a DLQ record whole (with its error headers) are kept here in full; the DLQ
-- record carries a prefix and a pointer (header x-dlq-body-ref).
CREATE TABLE IF NOT EXISTS dead_letter_bodies (
    id               uuid        PRIMARY KEY,
    consumer         text        NOT NULL,
    source_topic     text        NOT NULL,
    source_partition int         NOT NULL,
    source_offset    bigint      NOT NULL,
    body             bytea       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
