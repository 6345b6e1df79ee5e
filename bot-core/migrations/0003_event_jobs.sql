-- Jobs may also mirror a meeting's next occurrence as a platform's native
-- event (Discord's Guild Scheduled Events). SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with the same rows.

CREATE TABLE jobs_new (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('reminder', 'advance', 'event')),
    due_at      INTEGER NOT NULL,
    platform    TEXT NOT NULL,
    meeting_id  INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    occurrence  INTEGER NOT NULL,
    starts_at   INTEGER NOT NULL,
    lead_secs   INTEGER NOT NULL,
    member_id   INTEGER REFERENCES members (id) ON DELETE CASCADE,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dropped', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    done_at     INTEGER
);
INSERT INTO jobs_new SELECT id, key, kind, due_at, platform, meeting_id, occurrence, starts_at, lead_secs,
                            member_id, state, attempts, done_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_pending_by_due ON jobs (platform, due_at) WHERE state = 'pending';
CREATE INDEX jobs_by_meeting ON jobs (meeting_id, occurrence) WHERE state = 'pending';
