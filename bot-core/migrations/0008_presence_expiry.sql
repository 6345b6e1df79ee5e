-- A presence that ends by itself: a Matrix call membership lapses at its
-- expiry (created_ts or origin_server_ts + expires) unless renewed. The
-- time the platform gave (unix seconds), or NULL when it gave none (a
-- Discord voice channel, a console join). A job lets the person leave then.
ALTER TABLE voice_presence ADD COLUMN until INTEGER;
