-- What changes (a cancel, a move, an edit, an ended or retired group) needs
-- to be remembered so that every feed and job follows it. Instants are Unix
-- seconds (UTC).

-- The latest a job is still worth trying: a reminder until its meeting
-- starts, a native event until the next occurrence starts (it speaks for
-- the series until then, so a failure at one start must not end it). NULL:
-- as before, a reminder's own start and no deadline for the rest.
ALTER TABLE jobs ADD COLUMN give_up_at INTEGER;

-- When a series last changed (a move, a cancel, its group's card edited):
-- the Meeting Guide feed's `updated`, which finders read to refresh their
-- copy. NULL: unchanged since it was created.
ALTER TABLE meetings ADD COLUMN updated_at INTEGER;

-- A retired group is hidden from every list and plans nothing; its rows are
-- kept, as history, until retention removes them this long after.
ALTER TABLE groups ADD COLUMN retired_at INTEGER;
CREATE INDEX groups_retired ON groups (retired_at) WHERE retired_at IS NOT NULL;

-- "Only the reminder closest to its meeting goes, of those overdue at once"
-- is decided over the whole table, not one claimed batch: each recipient's
-- pending reminders of an occurrence, found by one index seek.
CREATE INDEX jobs_reminders_of ON jobs (meeting_id, occurrence, member_id, lead_secs)
    WHERE state = 'pending' AND kind = 'reminder';
