-- Refunds payments made on its own for money the order never asked for (a late or a second payment):
-- recorded apart from the order's own refunds so they never complete a requested refund.
ALTER TABLE orders ADD COLUMN extra_refunded bigint NOT NULL DEFAULT 0;
