-- Work that must have one owner at a time across Hearth processes (the
-- Matrix account's sync, the retention sweep) is held by a lease: a row
-- naming its holder (a process id) and until when. A holder renews it well
-- before it runs out; when a holder dies, its lease runs out and another
-- process takes it.
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  BIGINT NOT NULL    -- Unix seconds
);
