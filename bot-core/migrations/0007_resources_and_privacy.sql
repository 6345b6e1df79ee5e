-- Resources: each community's reading list and local crisis lines. Who added
-- an entry is not stored: the list is the community's, and a name kept here
-- would be one more thing /forgetme has to find.
CREATE TABLE resources (
    id           INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    title_key    TEXT NOT NULL,   -- lower-cased title: one entry per title
    url          TEXT NOT NULL,   -- http(s) only, checked before it is stored
    topic        TEXT NOT NULL,   -- lower-cased; `crisis` entries are local crisis lines
    description  TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (community_id, title_key)
);
CREATE INDEX resources_by_topic ON resources (community_id, topic);

-- Retention deletes RSVPs of occurrences long past, by occurrence.
CREATE INDEX rsvps_by_occurrence ON rsvps (occurrence);

-- A series' slug in the Meeting Guide feed: chosen from its name the first
-- time it is listed, then kept across edits so finders' links keep working.
ALTER TABLE meetings ADD COLUMN guide_slug TEXT;
