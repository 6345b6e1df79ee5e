-- Issue 29: Hearth serves a community's groups on the web only when its
-- admins opt in (`/community publish on`). A community that has not is
-- answered 404 at every URL, the same as a slug no one uses. The row stays
-- when publishing is turned off, so the slug stays theirs and comes back
-- with `publish on`; `published` says whether anything is served.
CREATE TABLE published_communities (
    community_id BIGINT PRIMARY KEY REFERENCES communities (id) ON DELETE CASCADE,
    slug         TEXT NOT NULL UNIQUE,
    published    BOOLEAN NOT NULL,
    changed_at   BIGINT NOT NULL
);

-- A member's private "my meetings" calendar link. Only a SHA-256 of the
-- token is kept: a copy of the database gives no one a working link.
-- `member_id` names the member, so /mydata shows it and /forgetme erases it.
CREATE TABLE calendar_feeds (
    token_hash TEXT PRIMARY KEY,
    member_id  BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX calendar_feeds_by_member ON calendar_feeds (member_id);
