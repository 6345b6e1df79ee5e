-- A group's capacity is the number of places at each of its meetings
-- (issue 29): a yes past it waits in line for a place, and the first in
-- line takes the next one that frees. The line is kept here, not in rsvps:
-- a waiting member has not got a place, and every count of 'yes' stays a
-- count of those going. `id` gives the order (a later yes, a larger id);
-- a member waits at most once for one occurrence (keyed by its original
-- start, as rsvps are). `member_id` names the member, so /mydata and
-- /forgetme find the table from the schema.
CREATE TABLE rsvp_waitlist (
    id         INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    occurrence INTEGER NOT NULL,
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    asked_at   INTEGER NOT NULL,
    UNIQUE (meeting_id, occurrence, member_id)
);
CREATE INDEX rsvp_waitlist_in_line ON rsvp_waitlist (meeting_id, occurrence, id);
CREATE INDEX rsvp_waitlist_by_member ON rsvp_waitlist (member_id);
