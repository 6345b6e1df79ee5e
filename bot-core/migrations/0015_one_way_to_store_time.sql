-- One way to store time (issue 26).
--
-- * An instant (when something happened or is due) is INTEGER Unix seconds,
--   UTC, in every table. Before this migration eleven columns held RFC 3339
--   text as sqlx wrote a chrono DateTime: "2026-03-19T10:00:00+00:00", with
--   a fraction of a second when the clock had one ("…:00.123456789+00:00");
--   an RSVP copied by `/meeting edit` held the naive form
--   "2026-03-19 10:00:00.123" (UTC). Each is converted to the same second
--   chrono's `timestamp()` gives: the fraction is cut off before SQLite reads
--   the text, since SQLite itself rounds to the nearest millisecond
--   (".9996" would become the next second), and any offset is applied.
-- * A value whose meaning is local stays local, in one format each, and is
--   read in a zone named beside it:
--     meetings.start_local, checkin_schedules.start_local: "YYYY-MM-DD HH:MM:SS",
--       in the row's own `timezone` column;
--     reminder_settings.quiet_start/quiet_end: "HH:MM", in the member's
--       zone (members.timezone), else the meeting's zone (meetings.timezone);
--     checkin_settings.remind_at: "HH:MM", in members.timezone, else
--       checkin_settings.zone.
--   Times of day were "HH:MM:SS" for quiet hours and "HH:MM" for the daily
--   check-in; both are "HH:MM" now (what people type and are shown).
--   groups.ends is a date ("YYYY-MM-DD"), not an instant, and stays.
--
-- Columns are converted in place (ADD COLUMN, UPDATE, DROP COLUMN, RENAME
-- COLUMN), never by rebuilding a table: this runs in a transaction with
-- foreign keys on, where dropping a table others reference would cascade
-- its deletes into them. A column that was NOT NULL stays NOT NULL (SQLite
-- only adds one with a default, 0): a value that does not read as a time
-- fails that constraint, and the whole upgrade is rolled back rather than
-- anything lost. The one nullable column, circles.ended_at, is checked the
-- same way through the `unreadable` table below.

CREATE TEMP TABLE unreadable (value TEXT NOT NULL, never INTEGER NOT NULL);

-- Indexes that name circles.ended_at go while it is replaced.
DROP INDEX circles_open_by_place;
DROP INDEX circles_open_by_home;

-- communities.created_at
ALTER TABLE communities ADD COLUMN created_at_unix INTEGER NOT NULL DEFAULT 0;
UPDATE communities SET created_at_unix = CASE typeof(created_at) WHEN 'integer' THEN created_at
    ELSE unixepoch(substr(created_at, 1, 19) || ltrim(substr(created_at, 20), '.0123456789')) END;
ALTER TABLE communities DROP COLUMN created_at;
ALTER TABLE communities RENAME COLUMN created_at_unix TO created_at;

-- members.created_at
ALTER TABLE members ADD COLUMN created_at_unix INTEGER NOT NULL DEFAULT 0;
UPDATE members SET created_at_unix = CASE typeof(created_at) WHEN 'integer' THEN created_at
    ELSE unixepoch(substr(created_at, 1, 19) || ltrim(substr(created_at, 20), '.0123456789')) END;
ALTER TABLE members DROP COLUMN created_at;
ALTER TABLE members RENAME COLUMN created_at_unix TO created_at;

-- groups.created_at
ALTER TABLE groups ADD COLUMN created_at_unix INTEGER NOT NULL DEFAULT 0;
UPDATE groups SET created_at_unix = CASE typeof(created_at) WHEN 'integer' THEN created_at
    ELSE unixepoch(substr(created_at, 1, 19) || ltrim(substr(created_at, 20), '.0123456789')) END;
ALTER TABLE groups DROP COLUMN created_at;
ALTER TABLE groups RENAME COLUMN created_at_unix TO created_at;

-- group_members.joined_at
ALTER TABLE group_members ADD COLUMN joined_at_unix INTEGER NOT NULL DEFAULT 0;
UPDATE group_members SET joined_at_unix = CASE typeof(joined_at) WHEN 'integer' THEN joined_at
    ELSE unixepoch(substr(joined_at, 1, 19) || ltrim(substr(joined_at, 20), '.0123456789')) END;
ALTER TABLE group_members DROP COLUMN joined_at;
ALTER TABLE group_members RENAME COLUMN joined_at_unix TO joined_at;

-- meetings.created_at
ALTER TABLE meetings ADD COLUMN created_at_unix INTEGER NOT NULL DEFAULT 0;
UPDATE meetings SET created_at_unix = CASE typeof(created_at) WHEN 'integer' THEN created_at
    ELSE unixepoch(substr(created_at, 1, 19) || ltrim(substr(created_at, 20), '.0123456789')) END;
ALTER TABLE meetings DROP COLUMN created_at;
ALTER TABLE meetings RENAME COLUMN created_at_unix TO created_at;

-- rsvps.answered_at
ALTER TABLE rsvps ADD COLUMN answered_at_unix INTEGER NOT NULL DEFAULT 0;
UPDATE rsvps SET answered_at_unix = CASE typeof(answered_at) WHEN 'integer' THEN answered_at
    ELSE unixepoch(substr(answered_at, 1, 19) || ltrim(substr(answered_at, 20), '.0123456789')) END;
ALTER TABLE rsvps DROP COLUMN answered_at;
ALTER TABLE rsvps RENAME COLUMN answered_at_unix TO answered_at;

-- circles.started_at
ALTER TABLE circles ADD COLUMN started_at_unix INTEGER NOT NULL DEFAULT 0;
UPDATE circles SET started_at_unix = CASE typeof(started_at) WHEN 'integer' THEN started_at
    ELSE unixepoch(substr(started_at, 1, 19) || ltrim(substr(started_at, 20), '.0123456789')) END;
ALTER TABLE circles DROP COLUMN started_at;
ALTER TABLE circles RENAME COLUMN started_at_unix TO started_at;

-- circles.ended_at
ALTER TABLE circles ADD COLUMN ended_at_unix INTEGER;
UPDATE circles SET ended_at_unix = CASE typeof(ended_at) WHEN 'integer' THEN ended_at
    ELSE unixepoch(substr(ended_at, 1, 19) || ltrim(substr(ended_at, 20), '.0123456789')) END WHERE ended_at IS NOT NULL;
INSERT INTO unreadable SELECT 'circles.ended_at: ' || ended_at, NULL FROM circles WHERE ended_at IS NOT NULL AND ended_at_unix IS NULL;
ALTER TABLE circles DROP COLUMN ended_at;
ALTER TABLE circles RENAME COLUMN ended_at_unix TO ended_at;

-- voice_presence.since
ALTER TABLE voice_presence ADD COLUMN since_unix INTEGER NOT NULL DEFAULT 0;
UPDATE voice_presence SET since_unix = CASE typeof(since) WHEN 'integer' THEN since
    ELSE unixepoch(substr(since, 1, 19) || ltrim(substr(since, 20), '.0123456789')) END;
ALTER TABLE voice_presence DROP COLUMN since;
ALTER TABLE voice_presence RENAME COLUMN since_unix TO since;

-- circle_mutes.muted_at
ALTER TABLE circle_mutes ADD COLUMN muted_at_unix INTEGER NOT NULL DEFAULT 0;
UPDATE circle_mutes SET muted_at_unix = CASE typeof(muted_at) WHEN 'integer' THEN muted_at
    ELSE unixepoch(substr(muted_at, 1, 19) || ltrim(substr(muted_at, 20), '.0123456789')) END;
ALTER TABLE circle_mutes DROP COLUMN muted_at;
ALTER TABLE circle_mutes RENAME COLUMN muted_at_unix TO muted_at;

-- checkin_schedules.created_at
ALTER TABLE checkin_schedules ADD COLUMN created_at_unix INTEGER NOT NULL DEFAULT 0;
UPDATE checkin_schedules SET created_at_unix = CASE typeof(created_at) WHEN 'integer' THEN created_at
    ELSE unixepoch(substr(created_at, 1, 19) || ltrim(substr(created_at, 20), '.0123456789')) END;
ALTER TABLE checkin_schedules DROP COLUMN created_at;
ALTER TABLE checkin_schedules RENAME COLUMN created_at_unix TO created_at;

-- resources.created_at
ALTER TABLE resources ADD COLUMN created_at_unix INTEGER NOT NULL DEFAULT 0;
UPDATE resources SET created_at_unix = CASE typeof(created_at) WHEN 'integer' THEN created_at
    ELSE unixepoch(substr(created_at, 1, 19) || ltrim(substr(created_at, 20), '.0123456789')) END;
ALTER TABLE resources DROP COLUMN created_at;
ALTER TABLE resources RENAME COLUMN created_at_unix TO created_at;

CREATE UNIQUE INDEX circles_open_by_place ON circles (community_id, channel) WHERE ended_at IS NULL;
CREATE INDEX circles_open_by_home ON circles (community_id, home_channel) WHERE ended_at IS NULL;

DROP TABLE unreadable;

-- Times of day: one format, "HH:MM".
UPDATE reminder_settings SET quiet_start = strftime('%H:%M', quiet_start) WHERE quiet_start IS NOT NULL;
UPDATE reminder_settings SET quiet_end = strftime('%H:%M', quiet_end) WHERE quiet_end IS NOT NULL;
UPDATE checkin_settings SET remind_at = strftime('%H:%M', remind_at) WHERE remind_at IS NOT NULL;
