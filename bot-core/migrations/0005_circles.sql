-- The talking stick. A circle is bound to one place (a voice or stage
-- channel, a room, a console channel); at most one is open per place.
-- Times the state machine reasons about are unix seconds.
CREATE TABLE circles (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    -- The place: the voice channel, the room, the console channel.
    channel         TEXT NOT NULL,
    -- Where it was started: its notices and its status message go there.
    home_channel    TEXT NOT NULL,
    group_id        INTEGER REFERENCES groups (id) ON DELETE SET NULL,
    facilitator_id  INTEGER REFERENCES members (id) ON DELETE SET NULL,
    mode            TEXT NOT NULL CHECK (mode IN ('round', 'queue', 'balanced')),
    share_secs      INTEGER,
    auto_advance    INTEGER NOT NULL DEFAULT 0,
    mute_others     INTEGER NOT NULL DEFAULT 0,
    holder_id       INTEGER REFERENCES members (id) ON DELETE SET NULL,
    turn_started_at INTEGER,
    -- Counts the turns given, so each turn's timer jobs have their own keys.
    turn            INTEGER NOT NULL DEFAULT 0,
    -- The next join or raise order number.
    next_seq        INTEGER NOT NULL DEFAULT 0,
    -- The platform's id of the status message, to edit it as the stick moves.
    status_message  TEXT,
    started_at      TEXT NOT NULL,
    ended_at        TEXT
);
CREATE UNIQUE INDEX circles_open_by_place ON circles (community_id, channel) WHERE ended_at IS NULL;
CREATE INDEX circles_open_by_home ON circles (community_id, home_channel) WHERE ended_at IS NULL;

-- Who takes part in a circle: the member's own row (for /mydata, /forgetme).
-- Counts and seconds, never anything that was said.
CREATE TABLE circle_participants (
    circle_id   INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    present     INTEGER NOT NULL,
    hand_at     INTEGER,
    hand_seq    INTEGER,
    spoken_secs INTEGER NOT NULL DEFAULT 0,
    shares      INTEGER NOT NULL DEFAULT 0,
    passes      INTEGER NOT NULL DEFAULT 0,
    had_turn    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (circle_id, member_id)
);
CREATE INDEX circle_participants_by_member ON circle_participants (member_id);

-- Who is in which voice channel or call now, as the platform reports it, so
-- that a circle started there begins with those present.
CREATE TABLE voice_presence (
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    channel      TEXT NOT NULL,
    member_id    INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    since        TEXT NOT NULL,
    PRIMARY KEY (community_id, channel, member_id)
);
CREATE INDEX voice_presence_by_member ON voice_presence (member_id);

-- Every server mute (or stage suppress) the bot applied and has not undone:
-- undone at circle end, at shutdown and at start-up after a crash, and
-- never for a mute the bot did not apply.
CREATE TABLE circle_mutes (
    community_id INTEGER NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
    member_id    INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    channel      TEXT NOT NULL,
    circle_id    INTEGER REFERENCES circles (id) ON DELETE SET NULL,
    stage        INTEGER NOT NULL,
    muted_at     TEXT NOT NULL,
    PRIMARY KEY (community_id, member_id)
);
CREATE INDEX circle_mutes_by_member ON circle_mutes (member_id);
