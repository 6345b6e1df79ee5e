-- Who may do what: Hearth lends no platform power, and registration means
-- registration.

-- Whether the platform lets this person mute others in the voice channel
-- they are in (Discord: Mute Members or Administrator there). The talking
-- stick never mutes them. Rows from before this column are taken as able to
-- mute: nobody whose permission was never read is muted.
ALTER TABLE voice_presence ADD COLUMN may_mute INTEGER NOT NULL DEFAULT 1;

-- A circle whose place is a voice channel or call (its starter was in one):
-- only those there take part, so `/circle join` from elsewhere is refused
-- and nobody outside it is ever muted for it.
ALTER TABLE circles ADD COLUMN in_voice INTEGER NOT NULL DEFAULT 0;

-- A group that needs registration: whether someone asking to join is named
-- to its facilitators.
ALTER TABLE groups ADD COLUMN tell_facilitators INTEGER NOT NULL DEFAULT 0;

-- Who asked to join a group that needs registration, and when its
-- facilitators were last told: at most once a day per person, so a request
-- repeated is no way to page them. Gone once the person is admitted.
CREATE TABLE join_requests (
    group_id  INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    told_at   INTEGER NOT NULL,  -- unix seconds
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX join_requests_by_member ON join_requests (member_id);
