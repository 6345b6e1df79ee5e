-- How a member writes numeric dates, when their zone does not say: 03/12 is
-- 3 December to some and 12 March to others, and Hearth asks rather than
-- guess until it knows. A table of its own, named by member_id, so that
-- /mydata shows it and /forgetme erases it without a list to remember.
CREATE TABLE date_settings (
    member_id  INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    date_order TEXT NOT NULL CHECK (date_order IN ('day_first', 'month_first'))
);
