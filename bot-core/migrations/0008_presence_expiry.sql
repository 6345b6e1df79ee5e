-- A presence that ends by itself: a Matrix call membership lapses at its
-- expiry (created_ts or origin_server_ts + expires) unless renewed. The
-- time the platform gave (unix seconds), or NULL when it gave none (a
-- Discord voice channel, a console join). A job lets the person leave then.
ALTER TABLE voice_presence ADD COLUMN until INTEGER;

-- An unmute (or unsuppress) of a recorded mute has been asked for and not
-- yet reported: another input does not ask again meanwhile. Cleared when
-- the person comes back to voice, so that a later turn can unmute them.
ALTER TABLE circle_mutes ADD COLUMN releasing INTEGER NOT NULL DEFAULT 0;
