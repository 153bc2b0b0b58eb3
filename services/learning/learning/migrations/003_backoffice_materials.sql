-- Back office for training (issue #13): materials per module and per session — links, recordings (a link shown
-- after the session) and uploaded files (PDF, PNG, JPEG; type sniffed from the content). The bytes live behind
-- learning.storage's adapter; by default in material_blobs (bytea), so object storage can replace it.
CREATE TABLE materials (
    material_id   text PRIMARY KEY,
    city          text NOT NULL,
    programme_id  text NOT NULL REFERENCES programmes (programme_id),
    module        text,
    session_id    text REFERENCES sessions (session_id),
    kind          text NOT NULL CHECK (kind IN ('link', 'file', 'recording')),
    title         text NOT NULL,
    url           text,
    content_type  text,
    size_bytes    integer,
    storage_key   text,
    created_by    text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX materials_programme ON materials (programme_id);
CREATE INDEX materials_session ON materials (session_id);

CREATE TABLE material_blobs (
    storage_key  text PRIMARY KEY,
    city         text NOT NULL,
    content      bytea NOT NULL
);

CREATE INDEX sessions_trainer_time ON sessions (trainer_id, starts_at);
CREATE INDEX sessions_hub_time ON sessions (rw_hub_id, starts_at);
