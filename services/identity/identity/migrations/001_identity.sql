-- The identity service's own data: accounts (one per phone), grants of roles per city, sign-in challenges
-- (codes stored only as a keyed hash), refresh tokens (stored only as a hash, in rotation families), and a
-- projection of catalog's vendors (market of each vendor) for market admins' invitations.

CREATE TABLE accounts (
    account_id  text PRIMARY KEY,
    phone       text UNIQUE,                 -- the 08… form (shared.phone); NULL once deleted
    name        text,
    home_city   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);

-- city '*' for operators (they span cities)
CREATE TABLE grants (
    grant_id    text PRIMARY KEY,
    account_id  text NOT NULL REFERENCES accounts(account_id),
    city        text NOT NULL,
    role        text NOT NULL,
    scope       text,
    granted_by  text NOT NULL,
    reason      text,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    revoked_by  text,
    revoke_reason text
);
CREATE UNIQUE INDEX grants_live ON grants (account_id, city, role, coalesce(scope, '')) WHERE revoked_at IS NULL;
CREATE INDEX grants_city ON grants (city) WHERE revoked_at IS NULL;

CREATE TABLE challenges (
    challenge_id text PRIMARY KEY,
    city         text NOT NULL,
    phone        text NOT NULL,
    client_addr  text NOT NULL,
    purpose      text NOT NULL,
    code_hash    bytea NOT NULL,
    tries        int NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX challenges_phone ON challenges (phone, created_at);
CREATE INDEX challenges_addr ON challenges (client_addr, created_at);

CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    family_id   text NOT NULL,
    account_id  text NOT NULL REFERENCES accounts(account_id),
    city        text NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_family ON refresh_tokens (family_id);
CREATE INDEX refresh_account ON refresh_tokens (account_id);

CREATE TABLE vendors (
    vendor_id   text PRIMARY KEY,
    city        text NOT NULL,
    market_id   text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
