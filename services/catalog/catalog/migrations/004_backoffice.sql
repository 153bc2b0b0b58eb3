-- Back office (issue #13): an RW hub is the city's internet point — its opening hours and the capacity of its
-- hall (training venue); stalls can be edited (their edits are audited, and `_update` stamps updated_at).
ALTER TABLE rw_hubs
    ADD COLUMN opens_at      text,
    ADD COLUMN closes_at     text,
    ADD COLUMN hall_capacity integer CHECK (hall_capacity IS NULL OR hall_capacity BETWEEN 1 AND 10000);

ALTER TABLE stalls ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
