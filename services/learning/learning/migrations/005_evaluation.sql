-- Programme evaluation (issue #14): the order's total rides along with each completed sale (from
-- orders.order.v1 OrderCompleted.total), so the report can give the sales value of trained vendors.
-- Rows projected before this migration keep 0 (documented in docs/evaluation.md).
ALTER TABLE vendor_sales ADD COLUMN IF NOT EXISTS order_total bigint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS vendor_sales_city_sold ON vendor_sales (city, sold_at);
