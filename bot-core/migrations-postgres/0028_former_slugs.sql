-- A community's former web addresses stay its own: when its admins give it a
-- new slug, the old one is kept here, so no other community can take it and
-- serve its own pages to the old address's calendar subscribers and the
-- sites that embed its feed. The old address sends them on to the new one.
CREATE TABLE former_slugs (
    slug         TEXT PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities (id) ON DELETE CASCADE
);
CREATE INDEX former_slugs_by_community ON former_slugs (community_id);
