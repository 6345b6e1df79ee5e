-- Milestones a member chose to have said at a group's meeting (the
-- script's `milestones` step): one row per member and group, only while
-- they want it. The date something began is the member's own, as their
-- group's calendar reads it (YYYY-MM-DD, local, like a role's last_day);
-- name is what they want to be called by, or none for their display name.
-- Named by member_id, so /mydata shows it and /forgetme erases it; leaving
-- the group or /milestone clear deletes the row at once.
CREATE TABLE milestones (
    group_id  BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    began_on  TEXT NOT NULL,
    name      TEXT,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX milestones_by_member ON milestones (member_id);
