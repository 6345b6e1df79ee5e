-- A meeting's script: a group's format as ordered, typed steps that Hearth
-- walks the chair through, and each run of it. A run's record is its steps
-- and their times: nothing members type is kept here. The script itself is
-- the facilitators' words (or a reading's link and credit), never members'.
CREATE TABLE script_steps (
    id          INTEGER PRIMARY KEY,
    group_id    INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    -- 0, 1, 2, …: the order the steps run in.
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('say', 'reading', 'guidelines', 'round', 'shares', 'timed',
                                              'donation', 'announcements', 'milestones')),
    title       TEXT NOT NULL,
    -- The planned length, so the panel can say how far over the meeting runs.
    minutes     INTEGER NOT NULL,
    -- What the chair reads (say), the reading's own text, or the step's words.
    body        TEXT,
    -- A reading given as a link: a short excerpt and a credit line beside it.
    link        TEXT,
    excerpt     TEXT,
    credit      TEXT,
    -- Round and shares steps: the talking stick's mode and share time.
    mode        TEXT CHECK (mode IN ('round', 'queue', 'balanced')),
    share_secs  INTEGER,
    UNIQUE (group_id, position)
);

-- A run of a group's script. At most one is open per group; the chair is
-- who started it. Crash-safe: the step, when it began and the time added
-- are here, so a restart continues where it was.
CREATE TABLE meeting_runs (
    id              INTEGER PRIMARY KEY,
    group_id        INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    -- The scheduled meeting and occurrence (Unix seconds of its original
    -- start, as jobs.occurrence) it runs, when it runs one.
    meeting_id      INTEGER REFERENCES meetings (id) ON DELETE SET NULL,
    occurrence      INTEGER,
    -- Erased with the member (/forgetme): the run goes on, pressed by the
    -- group's facilitators.
    chair_member_id INTEGER REFERENCES members (id) ON DELETE SET NULL,
    -- The meeting's channel: public steps are posted there.
    channel         TEXT NOT NULL,
    -- The current step's position, since when it runs, and the +2 min given to it.
    step            INTEGER NOT NULL DEFAULT 0,
    step_started_at INTEGER NOT NULL,
    extra_secs      INTEGER NOT NULL DEFAULT 0,
    -- The talking stick a round or shares step runs (the last one, once ended).
    circle_id       INTEGER REFERENCES circles (id) ON DELETE SET NULL,
    started_at      INTEGER NOT NULL,   -- Unix seconds
    ended_at        INTEGER
);
CREATE UNIQUE INDEX meeting_runs_open_by_group ON meeting_runs (group_id) WHERE ended_at IS NULL;
CREATE INDEX meeting_runs_by_occurrence ON meeting_runs (meeting_id, occurrence, started_at);
CREATE INDEX meeting_runs_by_chair ON meeting_runs (chair_member_id);

-- The time each step of a run took (several visits, with Back, add up).
CREATE TABLE meeting_run_steps (
    run_id    INTEGER NOT NULL REFERENCES meeting_runs (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    used_secs INTEGER NOT NULL DEFAULT 0,
    skipped   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, position)
);

-- The group's payment handles, as the Meeting Guide spec names them; the
-- donation step shows them, never pressing anyone.
ALTER TABLE groups ADD COLUMN venmo TEXT;
ALTER TABLE groups ADD COLUMN square TEXT;
ALTER TABLE groups ADD COLUMN paypal TEXT;
ALTER TABLE groups ADD COLUMN homegroup_online TEXT;
