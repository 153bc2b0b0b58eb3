-- The audit list of back-office changes, in every service's own schema: who (subject and roles), when, what
-- (entity, id, action) and before → after (only the fields that changed). Append-only: nothing updates or
-- deletes a row (a personal-data deletion replaces the actor's subject, see shared/audit.py).
CREATE TABLE IF NOT EXISTS audit_log (
    id             bigserial   PRIMARY KEY,
    city           text        NOT NULL,
    actor          text        NOT NULL,
    actor_roles    text[]      NOT NULL DEFAULT '{}',
    entity         text        NOT NULL,
    entity_id      text        NOT NULL,
    action         text        NOT NULL,
    before         jsonb,
    after          jsonb,
    correlation_id text        NOT NULL DEFAULT '',
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_log_entity ON audit_log (city, entity, entity_id, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_city ON audit_log (city, id DESC);
