-- Service roles: the jobs online groups share out (chair, co-host, timekeeper,
-- secretary, reader, greeter), each held for a term with a back-up.
--
-- A row of group_roles says the group uses the role; with no holder it is
-- open, for someone to sign up. The set of kinds is fixed here and in
-- roles::Kind, so that a gate (only the chair moves the script's steps)
-- means the same in every group.
CREATE TABLE group_roles (
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL
        CHECK (kind IN ('chair', 'cohost', 'timekeeper', 'secretary', 'reader', 'greeter')),
    PRIMARY KEY (group_id, kind)
);

-- Who holds a role, and who backs them up: one row each, named by member_id,
-- so that /mydata shows a member both and /forgetme erases exactly theirs
-- (the role itself stays, open). last_day is the term's last day as the
-- group's calendar reads it (YYYY-MM-DD, local to the group, like a card's
-- ends); none is until someone changes it.
CREATE TABLE role_holders (
    group_id    INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    backup      INTEGER NOT NULL DEFAULT 0 CHECK (backup IN (0, 1)),
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    last_day    TEXT,
    assigned_at INTEGER NOT NULL,   -- Unix seconds
    PRIMARY KEY (group_id, kind, backup),
    FOREIGN KEY (group_id, kind) REFERENCES group_roles (group_id, kind) ON DELETE CASCADE
);
-- A member's roles, for /mydata, /forgetme and a reminder plan scoped to them.
CREATE INDEX role_holders_by_member ON role_holders (member_id);
