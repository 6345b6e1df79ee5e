-- Milestones a member chose to have said at a group's meeting (the
-- script's `milestones` step): one row per member and group, only while
-- they want it. The date something began is the member's own, as their
-- group's calendar reads it (YYYY-MM-DD, local, like a role's last_day);
-- name is what they want to be called by, or none for their display name.
-- Named by member_id, so /mydata shows it and /forgetme erases it; leaving
-- the group or /milestone clear deletes the row at once.
CREATE TABLE milestones (
    group_id  INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    began_on  TEXT NOT NULL,
    name      TEXT,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX milestones_by_member ON milestones (member_id);

-- A group may have its meeting start by itself at each occurrence's start
-- (`/meeting script edit autostart:on`), kept with its script's settings.
-- A run started so says it, so that the job that started it can send its
-- word again after a crash, and nothing else mistakes it for the chair's.
ALTER TABLE groups ADD COLUMN script_autostart BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE meeting_runs ADD COLUMN autostarted BOOLEAN NOT NULL DEFAULT FALSE;
