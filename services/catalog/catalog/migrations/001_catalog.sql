-- The catalog: markets, stalls, vendors, products, price history, RW hubs and stock reservations.
-- Every business row carries its city. Money is integer rupiah. Times are timestamptz (UTC).

CREATE TABLE markets (
    id          text PRIMARY KEY,
    city        text        NOT NULL,
    slug        text        NOT NULL,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    address     text        NOT NULL DEFAULT '',
    kelurahan   text,
    opens_at    text        NOT NULL DEFAULT '05:00',
    closes_at   text        NOT NULL DEFAULT '14:00',
    description text        NOT NULL DEFAULT '',
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (city, slug)
);

CREATE TABLE stalls (
    id          text PRIMARY KEY,
    city        text        NOT NULL,
    market_id   text        NOT NULL REFERENCES markets(id),
    kind        text        NOT NULL CHECK (kind IN ('blok', 'los', 'kios')),
    block       text        NOT NULL DEFAULT '',
    number      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (market_id, kind, block, number)
);

CREATE TABLE vendors (
    id               text PRIMARY KEY,
    city             text        NOT NULL,
    market_id        text        REFERENCES markets(id),          -- NULL only for drafts
    stall_id         text        REFERENCES stalls(id),
    name             text        NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    owner_name       text        NOT NULL CHECK (length(owner_name) BETWEEN 1 AND 120),
    phone            text,
    whatsapp         text,
    categories       text[]      NOT NULL DEFAULT '{}',
    status           text        NOT NULL CHECK (status IN ('draft', 'pending', 'active', 'suspended')),
    trained          boolean     NOT NULL DEFAULT false,
    certificate_code text,
    participant_id   text,
    suspended_reason text,
    verified_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (status = 'draft' OR market_id IS NOT NULL)
);
CREATE INDEX vendors_market ON vendors (city, market_id, status);
CREATE UNIQUE INDEX vendors_participant ON vendors (city, participant_id) WHERE participant_id IS NOT NULL;

CREATE TABLE products (
    id            text PRIMARY KEY,
    city          text        NOT NULL,
    vendor_id     text        NOT NULL REFERENCES vendors(id),
    market_id     text        NOT NULL REFERENCES markets(id),
    name          text        NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    description   text        NOT NULL DEFAULT '',
    category      text        NOT NULL,
    unit          text        NOT NULL,
    price         bigint      NOT NULL CHECK (price BETWEEN 1 AND 10000000),
    stock         integer     CHECK (stock IS NULL OR stock >= 0),   -- NULL: fresh goods, `available` switch
    available     boolean     NOT NULL DEFAULT true,
    min_per_order integer     NOT NULL DEFAULT 1 CHECK (min_per_order >= 1),
    max_per_order integer     CHECK (max_per_order IS NULL OR max_per_order >= min_per_order),
    photo_url     text,
    active        boolean     NOT NULL DEFAULT true,
    search_text   text        NOT NULL DEFAULT '',   -- folded name, category, vendor + canonical variants
    name_text     text        NOT NULL DEFAULT '',   -- folded name + canonical variants (ranking)
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_city_market ON products (city, market_id, category) WHERE active;
CREATE INDEX products_vendor ON products (vendor_id);

CREATE TABLE price_history (
    id         bigserial PRIMARY KEY,
    city       text        NOT NULL,
    product_id text        NOT NULL REFERENCES products(id),
    price      bigint      NOT NULL CHECK (price BETWEEN 1 AND 10000000),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX price_history_product ON price_history (product_id, changed_at DESC, id DESC);

CREATE TABLE rw_hubs (
    id             text PRIMARY KEY,
    city           text        NOT NULL,
    name           text        NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    kelurahan      text        NOT NULL,
    rw             text        NOT NULL,
    address        text        NOT NULL DEFAULT '',
    bandwidth_mbps integer     CHECK (bandwidth_mbps IS NULL OR bandwidth_mbps BETWEEN 1 AND 100000),
    active         boolean     NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (city, kelurahan, rw)
);

-- One row per order: held → committed | released; rejected orders are recorded too, so a duplicate or
-- late OrderPlaced for the same order never reserves twice.
CREATE TABLE reservations (
    order_id     text PRIMARY KEY,
    city         text        NOT NULL,
    market_id    text,
    status       text        NOT NULL CHECK (status IN ('held', 'committed', 'released', 'restocked', 'rejected')),
    expires_at   timestamptz,
    reason       text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reservations_due ON reservations (expires_at) WHERE status = 'held';

CREATE TABLE reservation_lines (
    order_id   text    NOT NULL REFERENCES reservations(order_id),
    product_id text    NOT NULL,
    quantity   integer NOT NULL CHECK (quantity > 0),
    tracked    boolean NOT NULL,        -- false for available-switch products: nothing to give back
    PRIMARY KEY (order_id, product_id)
);
