-- Orders' own projections of catalog events (never read from catalog's schema) and the order process.

CREATE TABLE product_view (
    product_id    text PRIMARY KEY,
    city          text        NOT NULL,
    vendor_id     text        NOT NULL,
    market_id     text        NOT NULL,
    name          text        NOT NULL,
    category      text        NOT NULL DEFAULT '',
    unit          text        NOT NULL DEFAULT '',
    price         bigint      NOT NULL CHECK (price >= 0),
    min_per_order int         NOT NULL DEFAULT 1,
    max_per_order int,
    active        boolean     NOT NULL DEFAULT true,   -- ProductUpdated.active
    available     boolean     NOT NULL DEFAULT true,   -- StockAdjusted.available
    stock         int,
    delisted      boolean     NOT NULL DEFAULT false,  -- ProductDelisted
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX product_view_market ON product_view (city, market_id);

CREATE TABLE market_view (
    market_id  text PRIMARY KEY,
    city       text        NOT NULL,
    name       text        NOT NULL,
    kelurahan  text,
    active     boolean     NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rw_hub_view (
    rw_hub_id  text PRIMARY KEY,
    city       text        NOT NULL,
    name       text        NOT NULL,
    kelurahan  text        NOT NULL,
    rw         text        NOT NULL,
    address    text        NOT NULL,
    active     boolean     NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vendor_view (
    vendor_id  text PRIMARY KEY,
    city       text        NOT NULL,
    market_id  text,
    name       text,
    suspended  boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The order aggregate and process manager state. Every transition: UPDATE ... WHERE version = $n.
CREATE TABLE orders (
    order_id           text PRIMARY KEY,
    city               text        NOT NULL,
    buyer_id           text        NOT NULL,
    market_id          text        NOT NULL,
    status             text        NOT NULL,
    version            int         NOT NULL DEFAULT 1,
    fulfilment         text        NOT NULL,
    rw_hub_id          text,
    delivery_address   text,
    subtotal           bigint      NOT NULL,
    delivery_fee       bigint      NOT NULL DEFAULT 0,
    total              bigint      NOT NULL,
    payment_id         text,
    qris               text,
    payment_expires_at timestamptz,
    paid_amount        bigint      NOT NULL DEFAULT 0,
    refund_requested   bigint      NOT NULL DEFAULT 0,
    refunded_amount    bigint      NOT NULL DEFAULT 0,
    pickup_code        text,
    pickup_attempts    int         NOT NULL DEFAULT 0,
    cancel_reason      text,
    stuck_since        timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    state_changed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_buyer ON orders (city, buyer_id, created_at DESC);
CREATE INDEX orders_pending ON orders (state_changed_at) WHERE status IN ('placed', 'stock_reserved', 'awaiting_payment');

CREATE TABLE order_lines (
    order_id   text   NOT NULL REFERENCES orders(order_id),
    line_id    text   NOT NULL,
    city       text   NOT NULL,
    product_id text   NOT NULL,
    vendor_id  text   NOT NULL,
    name       text   NOT NULL,
    unit       text   NOT NULL,
    quantity   int    NOT NULL CHECK (quantity > 0),
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    note       text,
    status     text   NOT NULL DEFAULT 'pending',
    PRIMARY KEY (order_id, line_id)
);
CREATE INDEX order_lines_vendor ON order_lines (city, vendor_id);

-- What happened to an order, for people (support) and for the tests.
CREATE TABLE order_history (
    id          bigserial PRIMARY KEY,
    order_id    text        NOT NULL,
    city        text        NOT NULL,
    from_status text,
    to_status   text        NOT NULL,
    cause       text        NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_history_order ON order_history (order_id, id);
