-- 0006: signing in to the admin dashboard. An admin gets a single-use
-- login token from the bot (or lessonbot dashboard-link) as a link, and
-- posting it opens a session kept in a cookie. Only the SHA-256 of a
-- token or of a session id is stored, so a copy of the database (a
-- backup) lets nobody in. Times are unix seconds. SQLite's BLOB is bytea.

-- Login tokens: valid 10 minutes, used once. created_at also counts the
-- links an admin asked for lately (at most 5 in 10 minutes), through the
-- admin index.
CREATE TABLE dashboard_logins (
    hash       bytea  PRIMARY KEY,
    platform   text   NOT NULL,
    user_id    text   NOT NULL,
    name       text   NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    used_at    bigint
);

CREATE INDEX dashboard_logins_admin ON dashboard_logins (platform, user_id, created_at);
CREATE INDEX dashboard_logins_expiry ON dashboard_logins (expires_at);

-- Sessions: a session ends 12 hours after it was last seen, and 7 days
-- after it began (expires_at) however busy it is.
CREATE TABLE dashboard_sessions (
    hash         bytea  PRIMARY KEY,
    platform     text   NOT NULL,
    user_id      text   NOT NULL,
    name         text   NOT NULL,
    created_at   bigint NOT NULL,
    last_seen_at bigint NOT NULL,
    expires_at   bigint NOT NULL
);

CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
CREATE INDEX dashboard_sessions_seen ON dashboard_sessions (last_seen_at);
CREATE INDEX dashboard_sessions_admin ON dashboard_sessions (platform, user_id);
