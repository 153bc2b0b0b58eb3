-- A deliberately non-idempotent effect: a duplicate delivery would show as a second row.
CREATE TABLE effects (
    id      bigserial PRIMARY KEY,
    run_id  text NOT NULL,
    seq     int  NOT NULL,
    applied timestamptz NOT NULL DEFAULT now()
);
