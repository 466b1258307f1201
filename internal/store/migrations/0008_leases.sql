-- 0008: several lessonbot instances on one database (PostgreSQL; the
-- tables exist in SQLite too, so that both schemas stay one).

-- A role that one instance holds at a time: "scheduler", or per bot token
-- "sender:telegram:ID", "poller:telegram:ID"... Its holder renews it before
-- expires_at; once that has passed, another instance may take it. Times are
-- unix milliseconds by the database's clock, so that instances whose clocks
-- differ agree on when a lease ran out.
CREATE TABLE leases (
    role        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The due deliveries, in the order claims take them: a claim walks this
-- index alone, however many rows were delivered before.
CREATE INDEX deliveries_due ON deliveries (due_at, id) WHERE state = 'pending';

-- The claims being sent, by the end of their lease: each claim first looks
-- here for the leases that ran out, among however many rows are being sent.
CREATE INDEX deliveries_leases ON deliveries (lease_until) WHERE state = 'sending';
