-- The jobs engine for every feature: reminders, roll-overs, native events,
-- notices of changes, and the timers and prompts of later features.
--
-- * `kind` is no longer a CHECK list: each feature module owns its kinds.
-- * `due_at` is when the job was meant to go out (messages say "late" from
--   it); `run_at` is when the engine next looks at it: `due_at` at first, a
--   lease's end while a sender holds it, a retry's time after a failure. The
--   due index is on `run_at`, so claimed jobs cost an idle tick nothing.
-- * `lease_owner`/`lease_until`: a sender claims a job before sending it; a
--   second process never sends what the first holds, and a crashed sender's
--   claim runs out soon.
-- * `subject`: the row of the owning feature (a circle, a check-in schedule).
-- * `payload`: a delivery rendered when it was asked for (a notice of a
--   change), sent as it is.
-- * `error`: why a job failed for good or was dropped, for admins and logs.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt
-- with the same rows.

CREATE TABLE jobs_new (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    due_at      INTEGER NOT NULL,
    run_at      INTEGER NOT NULL,
    platform    TEXT NOT NULL,
    meeting_id  INTEGER REFERENCES meetings (id) ON DELETE CASCADE,
    occurrence  INTEGER NOT NULL DEFAULT 0,
    starts_at   INTEGER NOT NULL DEFAULT 0,
    lead_secs   INTEGER NOT NULL DEFAULT 0,
    member_id   INTEGER REFERENCES members (id) ON DELETE CASCADE,
    subject     INTEGER NOT NULL DEFAULT 0,
    payload     TEXT,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dropped', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    error       TEXT,
    done_at     INTEGER
);
INSERT INTO jobs_new (id, key, kind, due_at, run_at, platform, meeting_id, occurrence, starts_at, lead_secs,
                      member_id, state, attempts, done_at)
    SELECT id, key, kind, due_at, due_at, platform, meeting_id, occurrence, starts_at, lead_secs,
           member_id, state, attempts, done_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_pending_by_run ON jobs (platform, run_at) WHERE state = 'pending';
CREATE INDEX jobs_by_meeting ON jobs (meeting_id, occurrence) WHERE state = 'pending';
CREATE INDEX jobs_by_subject ON jobs (kind, subject) WHERE state = 'pending';
CREATE INDEX jobs_by_member ON jobs (member_id) WHERE member_id IS NOT NULL;
-- Retention sweeps old finished jobs by when they finished.
CREATE INDEX jobs_done ON jobs (done_at) WHERE state <> 'pending';
