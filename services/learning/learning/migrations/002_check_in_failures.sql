-- Wrong check-in codes (issue #18 item 8): one row per wrong code, counted per participant and session (5 →
-- locked for that session; the trainer can still record attendance) and per session in a sliding 10-minute
-- window (50 → every code check of the session refused until the window has room again).
CREATE TABLE check_in_failures (
    id             bigserial PRIMARY KEY,
    session_id     text NOT NULL REFERENCES sessions (session_id),
    participant_id text NOT NULL REFERENCES participants (participant_id),
    city           text NOT NULL,
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX check_in_failures_session_at ON check_in_failures (session_id, at);
CREATE INDEX check_in_failures_participant ON check_in_failures (session_id, participant_id);
