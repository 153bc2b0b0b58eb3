-- The compacted state topics (catalog.product-state.v1, catalog.vendor-state.v1) start with this release:
-- products and vendors made before it are published once, by the first replica that starts (handlers.
-- publish_state_backfill). A fresh schema has nothing to publish; its rows get their state with every change.
CREATE TABLE state_backfill (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    done_at timestamptz
);
INSERT INTO state_backfill (id) VALUES (true);
