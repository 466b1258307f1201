-- 0004: spaced review, streaks, weekly summaries.
--
-- Days are review.Day numbers: days since 1970-01-01 of the learner's
-- local calendar, where a day starts at 04:00.

-- A learner's streak, kept up to date by each graded answer (quiz or
-- review), and the zone of the chat of their last answer, whose local day
-- the streak counts in.
ALTER TABLE learners ADD COLUMN zone TEXT NOT NULL DEFAULT '';
ALTER TABLE learners ADD COLUMN streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE learners ADD COLUMN best_streak INTEGER NOT NULL DEFAULT 0;
-- The last day active or frozen; NULL before the first graded answer.
ALTER TABLE learners ADD COLUMN streak_last INTEGER;
ALTER TABLE learners ADD COLUMN freezes INTEGER NOT NULL DEFAULT 0 CHECK (freezes BETWEEN 0 AND 2);
ALTER TABLE learners ADD COLUMN freeze_progress INTEGER NOT NULL DEFAULT 0;
ALTER TABLE learners ADD COLUMN ever_held_freeze INTEGER NOT NULL DEFAULT 0 CHECK (ever_held_freeze IN (0, 1));
-- The UTC offset of the zone of the last answer, in seconds, and when the
-- zone last changed (unix seconds): a change of zone never breaks a streak.
ALTER TABLE learners ADD COLUMN zone_offset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE learners ADD COLUMN zone_changed_at INTEGER;

-- The days a learner was active (a graded answer) or covered by a freeze.
CREATE TABLE streak_days (
    learner_id INTEGER NOT NULL REFERENCES learners (id),
    day        INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('active', 'frozen')),
    PRIMARY KEY (learner_id, day)
) STRICT, WITHOUT ROWID;

-- A word a learner is learning: a vocabulary term of a lesson. It enters
-- when the learner misses the word's quiz question ('missed', graded Again
-- at once) or as the lesson's word of the day ('lesson', new). Stability
-- and difficulty are FSRS-6's, 0 until the first grade; a 'known' item
-- ("I know this") never falls due again.
CREATE TABLE review_items (
    id          INTEGER PRIMARY KEY,
    learner_id  INTEGER NOT NULL REFERENCES learners (id),
    lesson_id   TEXT    NOT NULL,
    term        TEXT    NOT NULL,
    source      TEXT    NOT NULL CHECK (source IN ('missed', 'lesson')),
    state       TEXT    NOT NULL CHECK (state IN ('new', 'review', 'known')),
    stability   REAL    NOT NULL DEFAULT 0,
    difficulty  REAL    NOT NULL DEFAULT 0,
    due         INTEGER NOT NULL,
    -- The day of the last grade: only the first graded answer of a day
    -- changes the item.
    graded      INTEGER,
    reps        INTEGER NOT NULL DEFAULT 0,
    lapses      INTEGER NOT NULL DEFAULT 0,
    last_result TEXT    NOT NULL DEFAULT '' CHECK (last_result IN ('', 'right', 'wrong', 'known')),
    added_at    INTEGER NOT NULL,
    UNIQUE (learner_id, lesson_id, term)
) STRICT;

-- A learner's due items in review order: oldest due, lowest stability, id.
CREATE INDEX review_items_due ON review_items (learner_id, due, stability, id) WHERE state != 'known';

-- The words a group's members missed, for the group's review: counts that
-- name nobody.
CREATE TABLE chat_words (
    chat        TEXT    NOT NULL,
    lesson_id   TEXT    NOT NULL,
    term        TEXT    NOT NULL,
    misses      INTEGER NOT NULL,
    last_missed INTEGER NOT NULL,
    -- The day the group's review last showed it.
    shown       INTEGER,
    PRIMARY KEY (chat, lesson_id, term)
) STRICT, WITHOUT ROWID;

CREATE INDEX chat_words_misses ON chat_words (chat, misses DESC, last_missed DESC);

-- The weekly summary: NULL is the default (on in private chats, off
-- elsewhere), 1 on, 0 off.
ALTER TABLE subscriptions ADD COLUMN summary INTEGER CHECK (summary IN (0, 1));

-- The outbox gains a kind (a lesson or a weekly summary, each once per
-- slot) and the review items a lesson carries, chosen once when it is
-- composed so that a resumed delivery sends the same ones. A UNIQUE
-- constraint cannot change in place: the table is copied.
CREATE TABLE deliveries_new (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL DEFAULT 'lesson' CHECK (kind IN ('lesson', 'summary')),
    lesson_id       TEXT,
    slot            INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'exhausted')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    message_ids     TEXT    NOT NULL DEFAULT '[]',
    last_error      TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    inflight        INTEGER,
    due_at          INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT,
    unknown         INTEGER NOT NULL DEFAULT 0,
    review          TEXT,
    UNIQUE (subscription_id, slot, kind),
    UNIQUE (subscription_id, lesson_id)
) STRICT;

INSERT INTO deliveries_new (id, subscription_id, lesson_id, slot, state, attempts, message_ids, last_error,
        lease_until, created_at, updated_at, inflight, due_at, claimed_by, unknown)
    SELECT id, subscription_id, lesson_id, slot, state, attempts, message_ids, last_error,
        lease_until, created_at, updated_at, inflight, due_at, claimed_by, unknown
    FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_state_lease ON deliveries (state, lease_until);
CREATE INDEX deliveries_state_due ON deliveries (state, due_at);
CREATE INDEX deliveries_claimed_by ON deliveries (claimed_by) WHERE state = 'sending';

-- Review items are made from the answers already stored, with the lesson
-- library, at the first start of this version (the tutor does it).
INSERT INTO kv (key, value) VALUES ('review.backfill', 'pending')
    ON CONFLICT (key) DO UPDATE SET value = 'pending';
