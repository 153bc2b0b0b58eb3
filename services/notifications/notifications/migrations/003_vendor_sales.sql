-- Each vendor's completed sales per local day, from OrderCompleted (lines rejected by the vendor excluded), for
-- the evening summary; `summarised` once it was queued.
ALTER TABLE orders ADD COLUMN rejected jsonb NOT NULL DEFAULT '[]'::jsonb;  -- [{product_id, vendor_id}] from OrderLineRejected

CREATE TABLE vendor_sales (
    vendor_id  text NOT NULL,
    day        date NOT NULL,
    city       text NOT NULL,
    orders     int NOT NULL DEFAULT 0,
    amount     bigint NOT NULL DEFAULT 0,
    summarised boolean NOT NULL DEFAULT false,
    PRIMARY KEY (vendor_id, day)
);
CREATE INDEX vendor_sales_due ON vendor_sales (day) WHERE NOT summarised;
