-- A vendor may reject one line of a paid order (OrderLineRejected): that line's quantity goes back on the shelf
-- on its own, and a later whole-order release/restock gives back only what is still out (`returned` counts
-- what already came back). `reservation_line_returns` makes each rejected order line count once.
-- `reservations.answer` is the StockReserved/StockRejected payload sent, re-sent as is when the same order is
-- placed again under a new event id (the orders grace worker's single nudge).
ALTER TABLE reservation_lines ADD COLUMN returned integer NOT NULL DEFAULT 0;
ALTER TABLE reservation_lines ADD CONSTRAINT reservation_lines_returned_range
    CHECK (returned >= 0 AND returned <= quantity);

CREATE TABLE reservation_line_returns (
    order_id    text        NOT NULL REFERENCES reservations(order_id),
    line_id     text        NOT NULL,
    city        text        NOT NULL,
    product_id  text        NOT NULL,
    quantity    integer     NOT NULL CHECK (quantity >= 0),
    reason      text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, line_id)
);

ALTER TABLE reservations ADD COLUMN answer jsonb;
