-- The notifications service's own data: projections of other services' events (who has which phone, what an
-- order holds, where a session is), the send queue (one row per event, recipient and template: the "outbox
-- of sends"), opt-outs, provider webhook receipts, and the built-in simulator's phone inboxes (dev/test).
-- Every row carries its city. Sign-in codes are stored only sealed (shared.sealed), never in clear.

CREATE TABLE accounts (                 -- identity.account.v1: account id (token `sub`) → phone
    account_id text PRIMARY KEY,
    city       text NOT NULL,
    phone      text NOT NULL,
    name       text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_phone ON accounts (phone);

CREATE TABLE vendors (                  -- catalog.vendor.v1
    vendor_id  text PRIMARY KEY,
    city       text NOT NULL,
    market_id  text,
    name       text NOT NULL,
    phone      text,
    stall      text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE places (                   -- catalog.market.v1: markets and RW hubs (pickup points, venues)
    place_id   text PRIMARY KEY,
    city       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('market', 'rw_hub')),
    name       text NOT NULL,
    address    text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (                   -- orders.order.v1 OrderPlaced: what later order events need to render
    order_id   text PRIMARY KEY,
    city       text NOT NULL,
    buyer_id   text NOT NULL,
    market_id  text NOT NULL,
    fulfilment text NOT NULL,
    rw_hub_id  text,
    total      bigint NOT NULL,
    lines      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE enrolments (               -- learning.enrolment.v1: for the reminders before a session
    enrolment_id  text PRIMARY KEY,
    city          text NOT NULL,
    participant_id text NOT NULL,
    phone         text,
    session_id    text,
    session_title text,
    programme_title text,
    starts_at     timestamptz,
    rw_hub_id     text,
    meeting_link  text,
    status        text NOT NULL,        -- booked / waitlisted / cancelled
    day_reminded  boolean NOT NULL DEFAULT false,
    hour_reminded boolean NOT NULL DEFAULT false,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enrolments_due ON enrolments (starts_at) WHERE status = 'booked';

CREATE TABLE opt_outs (                 -- BERHENTI ... MULAI; per city (each city has its own sender number)
    city         text NOT NULL,
    phone        text NOT NULL,
    opted_out_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (city, phone)
);

-- The send queue. Written in the consumer's transaction, with the inbox row; sent by the sender worker.
CREATE TABLE messages (
    message_id    uuid PRIMARY KEY,
    seq           bigserial NOT NULL,
    city          text NOT NULL,
    event_id      uuid NOT NULL,        -- the event that caused it (or a derived id for reminders)
    recipient     text NOT NULL,        -- the 08… phone
    template      text NOT NULL,
    urgent        boolean NOT NULL,     -- codes: never deferred, SMS fallback
    body          text NOT NULL,        -- rendered text; for sign-in codes the code is masked here
    params        jsonb NOT NULL,       -- the template's parameters (WhatsApp template components)
    sealed_code   text,                 -- sign-in codes: shared.sealed form, opened only at send time
    seal_context  text,
    channel       text NOT NULL,        -- whatsapp / sms
    status        text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed')),
    attempts      int  NOT NULL DEFAULT 0,
    not_before    timestamptz NOT NULL DEFAULT now(),   -- quiet hours, back-off, rate limits
    lease_until   timestamptz,
    last_error    text,
    provider_message_id text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    UNIQUE (event_id, recipient, template)
);
CREATE INDEX messages_due ON messages (not_before, seq) WHERE status IN ('queued', 'sending');
CREATE INDEX messages_recipient ON messages (recipient, seq);
CREATE INDEX messages_sent ON messages (city, sent_at) WHERE sent_at IS NOT NULL;
CREATE UNIQUE INDEX messages_provider_id ON messages (provider_message_id) WHERE provider_message_id IS NOT NULL;

-- Provider webhooks already applied (digest of the raw body): a replay changes nothing and is refused.
CREATE TABLE webhook_receipts (
    digest      text PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- The simulator's phones (dev, tests, demo): every message "delivered" to a number, once per message id.
CREATE TABLE simulated_messages (
    message_id  uuid PRIMARY KEY,
    seq         bigserial NOT NULL,
    city        text NOT NULL,
    phone       text NOT NULL,
    channel     text NOT NULL,
    template    text NOT NULL,
    text        text NOT NULL,          -- sealed (context = message id) when it carries a sign-in code
    sealed      boolean NOT NULL DEFAULT false,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX simulated_messages_phone ON simulated_messages (phone, seq);

-- What the simulator is told to do next for a phone: fail N sends with a status code, or time out.
CREATE TABLE simulator_faults (
    phone      text NOT NULL,
    channel    text NOT NULL,
    remaining  int  NOT NULL,
    status     int  NOT NULL,          -- HTTP-like status the provider answers (500, 503, 400) or 0 = timeout
    error      text NOT NULL,
    PRIMARY KEY (phone, channel)
);
