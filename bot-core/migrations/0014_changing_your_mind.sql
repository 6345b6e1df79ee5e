-- `/meeting edit` changes a series from one meeting on. The series keeps its
-- number with the new values; the meetings before the change move to a row
-- of their own that ends there, so they keep their time, their RSVPs and
-- their reminders. `ends_at` is that row's last possible start (Unix
-- seconds, UTC); `continued_by` the series it became, so that a button or a
-- command that names the old number with one of those earlier dates still
-- finds it, and so that feeds which list what a group does from now on
-- (Meeting Guide) leave the ending part out.
ALTER TABLE meetings ADD COLUMN ends_at INTEGER;
ALTER TABLE meetings ADD COLUMN continued_by INTEGER REFERENCES meetings (id) ON DELETE SET NULL;
CREATE INDEX meetings_continued_by ON meetings (continued_by) WHERE continued_by IS NOT NULL;

-- A group may turn its home channel's meeting reminders off (`/reminders
-- group:… channel:off`), keeping the DMs of those who want them: some groups
-- announce their meetings themselves.
ALTER TABLE groups ADD COLUMN channel_reminders INTEGER NOT NULL DEFAULT 1;
