-- Delivery by the market's couriers (orders.delivery): the buyer's phone, address and slot, the courier.
ALTER TABLE orders
    ADD COLUMN delivery          jsonb,      -- phone, kelurahan, rw, street, note, slot_date, slot_window
    ADD COLUMN slot_date         date,
    ADD COLUMN slot_window       text,
    ADD COLUMN courier_id        text,
    ADD COLUMN courier_name      text,
    ADD COLUMN courier_phone     text,
    ADD COLUMN delivery_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN delivery_failure  text;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_status_check;
CREATE INDEX orders_delivery_slot ON orders (city, market_id, slot_date, slot_window) WHERE slot_date IS NOT NULL;
CREATE INDEX orders_ready_deliveries ON orders (city, market_id) WHERE fulfilment = 'delivery' AND status = 'ready';
