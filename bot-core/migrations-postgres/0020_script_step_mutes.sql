-- A round or shares step may run its talking stick with mute_others (on
-- Discord: the others in the voice channel are server-muted while one holds
-- the stick), as `/circle start mute_others:yes` does. Numbered 0020:
-- main holds 0018 and 0019.
ALTER TABLE script_steps ADD COLUMN mute_others BOOLEAN NOT NULL DEFAULT FALSE;
