-- 0001: the first schema. Times are INTEGER unix seconds in UTC, except
-- answers.answered_at, in unix milliseconds so that a burst of answers keeps
-- its order.

-- A chat the bot knows. A chat that only used /lesson has a row with
-- active = 0, so subscriptions double as the chats table.
CREATE TABLE subscriptions (
    id           INTEGER PRIMARY KEY,
    platform     TEXT    NOT NULL,
    chat_id      TEXT    NOT NULL,
    thread_id    TEXT    NOT NULL DEFAULT '',
    kind         TEXT    NOT NULL CHECK (kind IN ('private', 'group', 'channel')),
    hour         INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
    minute       INTEGER NOT NULL CHECK (minute BETWEEN 0 AND 59),
    zone         TEXT    NOT NULL,
    weekdays     INTEGER NOT NULL DEFAULT 127 CHECK (weekdays BETWEEN 0 AND 127),
    level        TEXT    NOT NULL DEFAULT '',
    language     TEXT    NOT NULL DEFAULT '',
    paused_until INTEGER,
    active       INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    created_by   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    UNIQUE (platform, chat_id, thread_id)
) STRICT;

-- The outbox: one row per subscription per slot. lesson_id is NULL for a
-- slot that found no lesson left (state 'exhausted'); NULLs do not collide
-- in UNIQUE (subscription_id, lesson_id).
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    lesson_id       TEXT,
    slot            INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'exhausted')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    message_ids     TEXT    NOT NULL DEFAULT '[]',
    last_error      TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (subscription_id, slot),
    UNIQUE (subscription_id, lesson_id)
) STRICT;

CREATE INDEX deliveries_state_lease ON deliveries (state, lease_until);

-- A person who answered a question, per platform.
CREATE TABLE learners (
    id         INTEGER PRIMARY KEY,
    platform   TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    name       TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (platform, user_id)
) STRICT;

-- Quiz answers. The first answer of a learner to a question counts: a later
-- one hits UNIQUE (learner_id, question_key) and is ignored. The learner is
-- checked at COMMIT (deferred), not after each statement: a statement that
-- cannot fail midway needs no statement journal, so the multi-row INSERT of
-- a batch of answers does not copy every page it touches first (see
-- answers.go). A missing learner still fails the transaction.
CREATE TABLE answers (
    id           INTEGER PRIMARY KEY,
    learner_id   INTEGER NOT NULL REFERENCES learners (id) DEFERRABLE INITIALLY DEFERRED,
    chat         TEXT    NOT NULL,
    lesson_id    TEXT    NOT NULL,
    question_key TEXT    NOT NULL,
    choice       INTEGER NOT NULL,
    correct      INTEGER NOT NULL CHECK (correct IN (0, 1)),
    answered_at  INTEGER NOT NULL,
    UNIQUE (learner_id, question_key)
) STRICT;

CREATE INDEX answers_chat_time ON answers (chat, answered_at);
CREATE INDEX answers_time ON answers (answered_at);

-- Small persistent state, such as the Telegram update offset.
CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
