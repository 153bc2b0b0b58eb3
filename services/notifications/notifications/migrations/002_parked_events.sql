-- Order events that arrived before their order's OrderPlaced (PaymentRequested travels on another topic; a
-- backlog may be read out of order after an outage): kept whole, and applied the moment the order is known.
CREATE TABLE parked_events (
    event_id  uuid PRIMARY KEY,
    order_id  text NOT NULL,
    city      text NOT NULL,
    envelope  jsonb NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parked_events_order ON parked_events (order_id);
