-- Meetings as series in local time, their exceptions, RSVPs, reminder
-- settings and the jobs table the scheduler works from. Instants used for
-- ordering and keys are Unix seconds (UTC).

-- The zone a group meets in: set from its first meeting unless given.
ALTER TABLE groups ADD COLUMN timezone TEXT;
-- The group's default reminder lead times, e.g. "24h,1h".
ALTER TABLE groups ADD COLUMN reminder_leads TEXT NOT NULL DEFAULT '24h,1h';

-- A series: local start + IANA zone + RFC 5545 rule, expanded in local time.
CREATE TABLE meetings (
    id               INTEGER PRIMARY KEY,
    group_id         INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    title            TEXT,
    start_local      TEXT NOT NULL,   -- e.g. 2026-03-19T19:00:00, in `timezone`
    timezone         TEXT NOT NULL,
    repeat           TEXT NOT NULL,   -- once, daily, weekly, biweekly, monthly or custom
    rrule            TEXT NOT NULL,   -- the RRULE value, e.g. FREQ=WEEKLY;COUNT=8
    duration_minutes INTEGER NOT NULL,
    location         TEXT,
    cancelled        INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL
);
CREATE INDEX meetings_by_group ON meetings (group_id);

-- One occurrence cancelled or moved; `occurrence` is its original start
-- (the iCalendar RECURRENCE-ID).
CREATE TABLE meeting_exceptions (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    occurrence INTEGER NOT NULL,
    moved_to   INTEGER,               -- NULL: cancelled
    PRIMARY KEY (meeting_id, occurrence)
);

CREATE TABLE rsvps (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    occurrence INTEGER NOT NULL,
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    answer     TEXT NOT NULL CHECK (answer IN ('yes', 'maybe', 'no')),
    answered_at TEXT NOT NULL,
    PRIMARY KEY (meeting_id, occurrence, member_id)
);
CREATE INDEX rsvps_by_member ON rsvps (member_id);

-- A member's own reminder settings; NULL means "the default".
CREATE TABLE reminder_settings (
    member_id   INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    leads       TEXT,
    dm          INTEGER,
    quiet_start TEXT,
    quiet_end   TEXT
);

-- Pending and past deliveries. `key` is unique per (meeting, occurrence,
-- start, lead, recipient): a restart neither loses nor repeats a reminder.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('reminder', 'advance')),
    due_at      INTEGER NOT NULL,
    platform    TEXT NOT NULL,
    meeting_id  INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    occurrence  INTEGER NOT NULL,
    starts_at   INTEGER NOT NULL,
    lead_secs   INTEGER NOT NULL,
    member_id   INTEGER REFERENCES members (id) ON DELETE CASCADE,  -- NULL: the group's channel
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dropped', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    done_at     INTEGER
);
CREATE INDEX jobs_pending_by_due ON jobs (platform, due_at) WHERE state = 'pending';
CREATE INDEX jobs_by_meeting ON jobs (meeting_id, occurrence) WHERE state = 'pending';
