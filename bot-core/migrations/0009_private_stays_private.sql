-- Private stays private: summaries that cannot be differenced, facilitators
-- paged at most once a day, and less voice presence kept.

-- The zone a group's check-in weeks are cut in, fixed at its first use. A
-- summary covers whole past weeks (Monday to Monday in this zone); were the
-- zone to follow the group's, a facilitator could move the week's edges by
-- scheduling a meeting in another zone and subtract the two answers.
ALTER TABLE groups ADD COLUMN checkin_zone TEXT;

-- What stays of an erased member's answers to a group in weeks already
-- closed: one row per person and week, their mood for that week (the mean
-- of their moods, NULL for passes only), and nothing that names them. A
-- closed week's summary never changes, so /forgetme cannot be subtracted
-- from it to reveal one person's mood.
CREATE TABLE checkin_erased (
    group_id    INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    week_start  INTEGER NOT NULL,   -- Unix seconds: the Monday 00:00 the week begins, in checkin_zone
    mood        REAL CHECK (mood BETWEEN 1 AND 5)
);
CREATE INDEX checkin_erased_by_week ON checkin_erased (group_id, week_start);

-- When the member's facilitators were last told that a day is hard (Unix
-- seconds): they are told at most once a day, however often the member answers.
ALTER TABLE checkin_settings ADD COLUMN told_at INTEGER;

-- Voice presence is now kept only in channels where a circle runs (the rest
-- is held in memory while the bot runs): what an earlier version stored for
-- everyone else goes.
DELETE FROM voice_presence
WHERE NOT EXISTS (
    SELECT 1 FROM circles c
    WHERE c.community_id = voice_presence.community_id
      AND c.channel = voice_presence.channel
      AND c.ended_at IS NULL
);
