-- Communities, people, groups and roles. Instants are UTC, RFC 3339 text.

-- A community is a Discord guild, a Matrix space (or lone room), or the console.
CREATE TABLE communities (
    id          INTEGER PRIMARY KEY,
    platform    TEXT NOT NULL,
    external_id TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (platform, external_id)
);

-- A person on one platform. Settings follow them across that platform's communities.
CREATE TABLE members (
    id           INTEGER PRIMARY KEY,
    platform     TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    display_name TEXT NOT NULL,
    timezone     TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (platform, external_id)
);

-- Admins recorded by Hearth itself (the console's first speaker); platform
-- admins (Manage Server, power level 100) are mapped by adapters and not stored.
CREATE TABLE community_admins (
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    member_id    INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (community_id, member_id)
);

CREATE TABLE groups (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    topic           TEXT NOT NULL,
    led_by          TEXT NOT NULL CHECK (led_by IN ('peer', 'professional')),
    description     TEXT,
    format          TEXT NOT NULL CHECK (format IN ('online', 'in_person', 'hybrid')),
    location        TEXT,
    capacity        INTEGER,
    cost            TEXT,
    registration    TEXT,
    ends            TEXT,
    home_channel    TEXT NOT NULL,
    guideline       TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (community_id, name_key)
);

CREATE TABLE group_members (
    group_id  INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    joined_at TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_by_member ON group_members (member_id);

CREATE TABLE group_facilitators (
    group_id  INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_facilitators_by_member ON group_facilitators (member_id);
