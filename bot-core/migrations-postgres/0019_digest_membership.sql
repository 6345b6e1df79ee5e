-- A delivery that carries several jobs (a digest of reminders to one place
-- due at one instant) goes out under a key made of its jobs' keys, which the
-- platforms de-duplicate (Matrix's transaction id, Discord's nonce). If the
-- sender dies after the platform took it but before the jobs were recorded
-- sent, the jobs go out again once their claim runs out, perhaps claimed in
-- other batches: gathered differently, they would make a new key and be seen
-- twice. So the key a job went out under is kept before it is sent, and a
-- resend gathers exactly those jobs again, under the same key.
ALTER TABLE jobs ADD COLUMN sent_as TEXT;
CREATE INDEX jobs_sent_as ON jobs (sent_as) WHERE state = 'pending' AND sent_as IS NOT NULL;
