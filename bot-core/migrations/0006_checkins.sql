-- Check-ins: moods and notes, group prompt schedules, and each member's
-- check-in settings. Every row a member wrote or chose names that member
-- (member_id), so /mydata and /forgetme can cover it. A note is read back to
-- its author only; summaries read moods, never notes nor who answered.

-- One answer. `mood` NULL is a pass: recorded as such, never counted as low.
CREATE TABLE checkins (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    -- The group whose anonymous summary counts it (from a prompt's buttons or
    -- a `group` option); NULL: it counts for no group, it is the member's own.
    group_id    INTEGER REFERENCES groups (id) ON DELETE SET NULL,
    -- The prompt answered, so a second press replaces the first answer.
    prompt      TEXT,
    mood        INTEGER CHECK (mood BETWEEN 1 AND 5),
    note        TEXT,
    at          INTEGER NOT NULL   -- Unix seconds
);
CREATE INDEX checkins_by_member ON checkins (member_id, at);
CREATE INDEX checkins_by_group ON checkins (group_id, at) WHERE group_id IS NOT NULL;
CREATE UNIQUE INDEX checkins_one_per_prompt ON checkins (member_id, prompt) WHERE prompt IS NOT NULL;

-- A group's check-in prompts: a series like a meeting's (local start + IANA
-- zone + RFC 5545 rule, expanded in local time), or one prompt as each of the
-- group's meetings begins (`at_meeting_start`).
CREATE TABLE checkin_schedules (
    id               INTEGER PRIMARY KEY,
    group_id         INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    start_local      TEXT,             -- NULL when at meeting start
    timezone         TEXT NOT NULL,
    repeat           TEXT NOT NULL,    -- once, daily, weekly, biweekly, monthly, custom, meeting_start
    rrule            TEXT,             -- NULL when at meeting start
    question         TEXT,
    stopped          INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL
);
CREATE INDEX checkin_schedules_by_group ON checkin_schedules (group_id);

-- A member's own check-in settings.
CREATE TABLE checkin_settings (
    member_id         INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    remind_at         TEXT,      -- HH:MM, local; NULL: no daily prompt
    zone              TEXT,      -- the zone to read it in while the member has set none
    community_id      INTEGER REFERENCES communities (id) ON DELETE SET NULL,  -- where it was asked for
    tell_facilitators INTEGER NOT NULL DEFAULT 0
);
