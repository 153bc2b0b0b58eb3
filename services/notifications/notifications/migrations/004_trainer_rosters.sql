-- The trainer of each enrolment's session (from learning's enrolment events), for the roster the evening before;
-- `rosters_sent` keeps each (session, day) roster to once.
ALTER TABLE enrolments ADD COLUMN trainer_phone text;

CREATE TABLE rosters_sent (
    session_id text NOT NULL,
    day        date NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, day)
);
