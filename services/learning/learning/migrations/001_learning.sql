-- The learning service's own data: programmes, sessions, trainers, participants, enrolments (with their
-- history), attendance, certificates; plus projections of other services' events (RW hubs, vendors, sales)
-- that feed venue lookups and the funnel report. Every row carries its city.

CREATE TABLE rw_hubs (
    rw_hub_id   text PRIMARY KEY,
    city        text NOT NULL,
    name        text NOT NULL,
    kelurahan   text NOT NULL,
    rw          text NOT NULL,
    address     text NOT NULL DEFAULT '',
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rw_hubs_city ON rw_hubs (city);

CREATE TABLE trainers (
    trainer_id  text PRIMARY KEY,
    city        text NOT NULL,
    name        text NOT NULL,
    subject     text NOT NULL,           -- the `sub` of the trainer's token
    phone       text,
    expertise   text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (city, subject)
);

CREATE TABLE programmes (
    programme_id text PRIMARY KEY,
    city         text NOT NULL,
    title        text NOT NULL,
    style        text NOT NULL CHECK (style IN ('in_person', 'webinar', 'hybrid')),
    partner      text,
    modules      text[] NOT NULL DEFAULT '{}',
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX programmes_city ON programmes (city);

CREATE TABLE sessions (
    session_id     text PRIMARY KEY,
    city           text NOT NULL,
    programme_id   text NOT NULL REFERENCES programmes (programme_id),
    title          text NOT NULL,
    module         text,
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL CHECK (ends_at > starts_at),
    rw_hub_id      text,                  -- venue of in-person sessions (an RW hub of catalog)
    meeting_link   text,                  -- webinars
    capacity       integer NOT NULL CHECK (capacity > 0),
    trainer_id     text REFERENCES trainers (trainer_id),
    required       boolean NOT NULL DEFAULT true,   -- needed to complete the programme
    checkin_secret text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_city_programme ON sessions (city, programme_id, starts_at);
CREATE INDEX sessions_trainer ON sessions (trainer_id);

CREATE TABLE participants (
    participant_id text PRIMARY KEY,
    city           text NOT NULL,
    name           text NOT NULL,
    phone          text NOT NULL,
    grp            text NOT NULL CHECK (grp IN ('pkk', 'pelaku_usaha', 'pengurus_rw', 'karang_taruna', 'lpm', 'umum')),
    rw             text,
    kelurahan      text,
    vendor_id      text,
    subject        text NOT NULL,         -- the `sub` of the participant's token
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (city, subject),
    UNIQUE (city, phone)
);
CREATE INDEX participants_vendor ON participants (vendor_id) WHERE vendor_id IS NOT NULL;

CREATE TABLE enrolments (
    enrolment_id   text PRIMARY KEY,
    seq            bigserial NOT NULL,    -- order of arrival (taken under the session lock): waitlist order
    city           text NOT NULL,
    session_id     text NOT NULL REFERENCES sessions (session_id),
    programme_id   text NOT NULL REFERENCES programmes (programme_id),
    participant_id text NOT NULL REFERENCES participants (participant_id),
    status         text NOT NULL CHECK (status IN ('booked', 'waitlisted', 'cancelled', 'attended', 'no_show')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- One live enrolment per participant and session (a cancelled one may be followed by a new one).
CREATE UNIQUE INDEX enrolments_one_live ON enrolments (session_id, participant_id) WHERE status <> 'cancelled';
CREATE INDEX enrolments_session_status ON enrolments (session_id, status, seq);
CREATE INDEX enrolments_participant ON enrolments (participant_id);

CREATE TABLE enrolment_history (
    id            bigserial PRIMARY KEY,
    enrolment_id  text NOT NULL REFERENCES enrolments (enrolment_id),
    city          text NOT NULL,
    from_status   text,
    to_status     text NOT NULL,
    reason        text NOT NULL,
    actor         text,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enrolment_history_enrolment ON enrolment_history (enrolment_id, id);

CREATE TABLE attendance (
    enrolment_id   text PRIMARY KEY REFERENCES enrolments (enrolment_id),
    city           text NOT NULL,
    session_id     text NOT NULL,
    participant_id text NOT NULL,
    method         text NOT NULL CHECK (method IN ('check_in_code', 'trainer')),
    recorded_by    text,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE certificates (
    code           text PRIMARY KEY,
    city           text NOT NULL,
    programme_id   text NOT NULL REFERENCES programmes (programme_id),
    participant_id text NOT NULL REFERENCES participants (participant_id),
    enrolment_id   text NOT NULL,
    issued_on      date NOT NULL,
    issued_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (programme_id, participant_id)
);

-- Projections for the funnel (fed by catalog.vendor.v1 and orders.order.v1 only).
CREATE TABLE vendor_links (
    vendor_id      text PRIMARY KEY,
    city           text NOT NULL,
    participant_id text,
    drafted_at     timestamptz,
    badge_at       timestamptz,
    activated_at   timestamptz,
    suspended_at   timestamptz
);
CREATE INDEX vendor_links_participant ON vendor_links (participant_id);

CREATE TABLE vendor_sales (
    vendor_id  text NOT NULL,
    order_id   text NOT NULL,
    city       text NOT NULL,
    sold_at    timestamptz NOT NULL,
    PRIMARY KEY (vendor_id, order_id)
);
