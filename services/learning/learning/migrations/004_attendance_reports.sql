-- Attendance from the meeting platform's report (issue #13): Zoom / Google Meet CSVs imported by the trainer,
-- one row per person of the report (rejoins summed) with how it was matched to the roster; unmatched rows stay
-- listed until the trainer matches them by hand. Attendance recorded from a report has method 'report'.
ALTER TABLE participants ADD COLUMN email text;   -- learnt from a report row matched by hand (next time: by email)

ALTER TABLE attendance DROP CONSTRAINT attendance_method_check;
ALTER TABLE attendance ADD CONSTRAINT attendance_method_check CHECK (method IN ('check_in_code', 'trainer', 'report'));

CREATE TABLE attendance_imports (
    import_id    text PRIMARY KEY,
    city         text NOT NULL,
    session_id   text NOT NULL REFERENCES sessions (session_id),
    filename     text NOT NULL,
    platform     text NOT NULL,              -- zoom / meet / csv
    min_minutes  integer NOT NULL CHECK (min_minutes > 0),
    rows_read    integer NOT NULL,
    imported_by  text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attendance_imports_session ON attendance_imports (session_id, imported_at);

CREATE TABLE attendance_import_rows (
    import_id     text NOT NULL REFERENCES attendance_imports (import_id),
    row_no        integer NOT NULL,
    city          text NOT NULL,
    session_id    text NOT NULL,
    name          text NOT NULL,
    email         text,
    phone         text,
    minutes       integer NOT NULL,
    qualifies     boolean NOT NULL,          -- minutes >= the import's min_minutes
    enrolment_id  text REFERENCES enrolments (enrolment_id),
    matched_by    text CHECK (matched_by IN ('email', 'phone', 'name', 'manual')),
    outcome       text NOT NULL CHECK (outcome IN ('recorded', 'already_attended', 'too_short', 'waitlisted',
                                                   'unmatched')),
    PRIMARY KEY (import_id, row_no)
);
CREATE INDEX attendance_import_rows_unmatched ON attendance_import_rows (session_id) WHERE enrolment_id IS NULL;
