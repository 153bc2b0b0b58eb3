-- The money ledger (payments.ledger): double entry, integer rupiah, append-only.
-- An entry is one movement; its postings (debit > 0, credit < 0) sum to zero, checked by the database for
-- every statement that writes postings (all postings of an entry are written by one statement).
CREATE TABLE ledger_entries (
    entry_id    uuid        PRIMARY KEY,
    city        text        NOT NULL,
    kind        text        NOT NULL,
    dedupe_key  text        NOT NULL,          -- one entry per cause, whatever the redelivery
    payment_id  uuid,
    order_id    text,
    refund_id   uuid,
    payout_id   uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (city, dedupe_key)
);
CREATE INDEX ledger_entries_payment ON ledger_entries (payment_id) WHERE payment_id IS NOT NULL;

CREATE TABLE ledger_postings (
    id          bigserial   PRIMARY KEY,
    entry_id    uuid        NOT NULL REFERENCES ledger_entries (entry_id),
    city        text        NOT NULL,
    account     text        NOT NULL,
    vendor_id   text,
    amount      bigint      NOT NULL CHECK (amount <> 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((account = 'vendor_payable') = (vendor_id IS NOT NULL))
);
CREATE INDEX ledger_postings_entry ON ledger_postings (entry_id);
CREATE INDEX ledger_postings_vendor ON ledger_postings (city, vendor_id, created_at) WHERE vendor_id IS NOT NULL;
CREATE INDEX ledger_postings_day ON ledger_postings (city, created_at);

CREATE FUNCTION ledger_postings_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
    SELECT entry_id, sum(amount) AS total INTO bad FROM new_postings GROUP BY entry_id HAVING sum(amount) <> 0
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry % does not balance (sum %)', bad.entry_id, bad.total;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_balanced();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Vendors as catalog announces them (VendorActivated): names for payouts and reports.
CREATE TABLE vendors (
    city        text        NOT NULL,
    vendor_id   text        NOT NULL,
    market_id   text,
    name        text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (city, vendor_id)
);

-- Where a vendor's payouts go (set by the vendor or market staff in payments' own API).
CREATE TABLE payout_accounts (
    city            text        NOT NULL,
    vendor_id       text        NOT NULL,
    bank_code       text        NOT NULL,
    account_number  text        NOT NULL,
    account_name    text        NOT NULL,
    updated_by      text        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (city, vendor_id)
);

-- A daily payout run per city and local day; never twice for the same day.
CREATE TABLE payout_runs (
    run_id      uuid        PRIMARY KEY,
    city        text        NOT NULL,
    day         date        NOT NULL,
    cutoff      timestamptz NOT NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (city, day)
);

CREATE TABLE payouts (
    payout_id       uuid        PRIMARY KEY,
    run_id          uuid        NOT NULL REFERENCES payout_runs (run_id),
    city            text        NOT NULL,
    vendor_id       text        NOT NULL,
    amount          bigint      NOT NULL CHECK (amount > 0),
    status          text        NOT NULL DEFAULT 'instructed' CHECK (status IN ('instructed', 'paid')),
    bank_reference  text,
    paid_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, vendor_id)
);
CREATE INDEX payouts_vendor ON payouts (city, vendor_id, created_at);

-- What the dev acquirer simulator itself paid (its own record, the source of its settlement file).
CREATE TABLE simulator_settlements (
    city                text        NOT NULL,
    acquirer_reference  text        NOT NULL,
    amount              bigint      NOT NULL,
    fee                 bigint      NOT NULL DEFAULT 0,
    paid_at             timestamptz NOT NULL,
    PRIMARY KEY (city, acquirer_reference)
);

-- Each import of an acquirer's daily settlement file and what reconciling it found.
CREATE TABLE reconciliations (
    reconciliation_id  uuid        PRIMARY KEY,
    city               text        NOT NULL,
    day                date        NOT NULL,
    file_sha256        text        NOT NULL,
    report             jsonb       NOT NULL,
    imported_by        text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reconciliations_day ON reconciliations (city, day, created_at);
