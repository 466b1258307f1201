-- 0007: the aggregates of the admin dashboard (see dashboard.go). Each is
-- kept in the transaction of the write that changes it: by the answers'
-- group commit in Go (answers), and by triggers for the rarer writes of
-- subscriptions, deliveries and review items. Each is built here from
-- the rows already stored; lessonbot db check recounts them.
--
-- Times: a quarter is a quarter of an hour, unix seconds / 900 (as in
-- answer_quarters), so that a day in any zone, 30- and 45-minute offsets
-- included, is a range of quarters. Weeks are UTC weeks numbered as
-- WeekOf(t, time.UTC): (unix seconds / 86400 + 3) / 7.

-- The bounds of the buckets of the delay and lateness histograms, in
-- seconds: one second wide up to 16 s, then eight buckets per doubling
-- (each at most 12.5% of its lower bound wide), up to 2^22 s (48 days);
-- the last one holds everything above. A value's bucket is the largest
-- lo at or below it: (SELECT max(lo) FROM delay_buckets WHERE lo <= v).
-- bucketOf in Go is the same function.
CREATE TABLE delay_buckets (
    lo INTEGER PRIMARY KEY
) STRICT;

WITH RECURSIVE b(lo, step) AS (
    SELECT 0, 1
    UNION ALL
    SELECT lo + step, CASE WHEN lo + step >= 16 * step THEN 2 * step ELSE step END FROM b WHERE lo + step <= 4194304
)
INSERT INTO delay_buckets (lo) SELECT lo FROM b;

-- Chats. updated_at is when a store method last wrote the row (unix
-- seconds; NULL before 0007: created_at stands for it), the time of the
-- change of active that the triggers below count. gone tells, of a chat
-- turned off, that the bot lost it (blocked, kicked, removed) rather
-- than that it unsubscribed. cohort is the UTC week of the chat's first
-- subscription, NULL for a chat never subscribed.
ALTER TABLE subscriptions ADD COLUMN updated_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN gone INTEGER NOT NULL DEFAULT 0 CHECK (gone IN (0, 1));
ALTER TABLE subscriptions ADD COLUMN cohort INTEGER;

-- Chats subscribed, unsubscribed and gone, per quarter and platform.
-- Chats that leave by a merge into a subscribed chat (MoveChat) or a
-- deletion of their data count as unsubscribed.
CREATE TABLE chat_changes (
    quarter  INTEGER NOT NULL,
    platform TEXT    NOT NULL,
    change   TEXT    NOT NULL CHECK (change IN ('subscribed', 'unsubscribed', 'gone')),
    chats    INTEGER NOT NULL,
    PRIMARY KEY (quarter, platform, change)
) STRICT, WITHOUT ROWID;

-- Chats per cohort.
CREATE TABLE cohorts (
    cohort INTEGER PRIMARY KEY,
    chats  INTEGER NOT NULL
) STRICT;

-- The UTC weeks in which a chat had at least one answer.
CREATE TABLE chat_weeks (
    chat TEXT    NOT NULL,
    week INTEGER NOT NULL,
    PRIMARY KEY (chat, week)
) STRICT, WITHOUT ROWID;

-- Per cohort and week (from the cohort's own on), the chats of the
-- cohort with at least one answer that week.
CREATE TABLE cohort_weeks (
    cohort INTEGER NOT NULL,
    week   INTEGER NOT NULL,
    chats  INTEGER NOT NULL,
    PRIMARY KEY (cohort, week)
) STRICT, WITHOUT ROWID;

-- Answers. delay is the time from the first message of the chat's
-- delivery of the lesson to the answer, in seconds; NULL when the chat
-- has no delivery of it (or the answer came first).
ALTER TABLE answers ADD COLUMN delay INTEGER;

-- Per question and choice: how often it was the first try.
CREATE TABLE question_choices (
    question_key TEXT    NOT NULL,
    choice       INTEGER NOT NULL,
    answered     INTEGER NOT NULL,
    correct      INTEGER NOT NULL,
    PRIMARY KEY (question_key, choice)
) STRICT, WITHOUT ROWID;

-- Per lesson, the answers by bucket of their delay.
CREATE TABLE lesson_delays (
    lesson_id TEXT    NOT NULL,
    lo        INTEGER NOT NULL,
    answers   INTEGER NOT NULL,
    PRIMARY KEY (lesson_id, lo)
) STRICT, WITHOUT ROWID;

-- The learners who answered since a time: a range of this index (a
-- learner who answered in several chats is in it once per chat).
CREATE INDEX chat_scores_last ON chat_scores (last_at, learner_id);

-- Deliveries. first_sent_at is when the first message went out (unix
-- seconds), set with that message's id; NULL before 0007 and for a
-- lesson sent on demand, whose slot is its send time.
ALTER TABLE deliveries ADD COLUMN first_sent_at INTEGER;

-- The deliveries in a final state, per quarter of their slot and state,
-- with their unknown messages.
CREATE TABLE delivery_quarters (
    quarter    INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    deliveries INTEGER NOT NULL,
    unknown    INTEGER NOT NULL,
    PRIMARY KEY (quarter, state)
) STRICT, WITHOUT ROWID;

-- The deliveries of a lesson in a final state, per state.
CREATE TABLE lesson_deliveries (
    lesson_id  TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    deliveries INTEGER NOT NULL,
    PRIMARY KEY (lesson_id, state)
) STRICT, WITHOUT ROWID;

-- Per quarter of the slot, the deliveries by bucket of the lateness of
-- their first message against the slot; and the same per hour (unix
-- seconds / 3600), which a day reads for its whole UTC hours (a fourth of
-- the rows), and the quarters only for the hour it starts or ends in
-- under a 30- or 45-minute offset.
CREATE TABLE delivery_lateness (
    quarter    INTEGER NOT NULL,
    lo         INTEGER NOT NULL,
    deliveries INTEGER NOT NULL,
    PRIMARY KEY (quarter, lo)
) STRICT, WITHOUT ROWID;

CREATE TABLE delivery_lateness_hours (
    hour       INTEGER NOT NULL,
    lo         INTEGER NOT NULL,
    deliveries INTEGER NOT NULL,
    PRIMARY KEY (hour, lo)
) STRICT, WITHOUT ROWID;

-- The platforms' "too many requests" answers (429), per quarter and
-- platform, and the waits they asked for. Nothing else records them, so
-- there is nothing to recount them from.
CREATE TABLE rate_limits (
    quarter        INTEGER NOT NULL,
    platform       TEXT    NOT NULL,
    hits           INTEGER NOT NULL,
    retry_after_ms INTEGER NOT NULL,
    PRIMARY KEY (quarter, platform)
) STRICT, WITHOUT ROWID;

-- Per word (lesson and term), the learners' review items, and how many
-- came from a missed quiz question.
CREATE TABLE word_items (
    lesson_id TEXT    NOT NULL,
    term      TEXT    NOT NULL,
    items     INTEGER NOT NULL,
    missed    INTEGER NOT NULL,
    PRIMARY KEY (lesson_id, term)
) STRICT, WITHOUT ROWID;

-- The history already stored, built with a page cache of 256 MB (2 MB
-- is the default, set back at the end): SQLite otherwise writes the
-- pages of this one large transaction to the WAL again and again.
PRAGMA cache_size = -262144;
--
-- Subscriptions: a chat active now subscribed when its row was created;
-- one that is not was subscribed once if it has a scheduled delivery (a
-- lesson sent on demand is the only kind recorded 'sent' with no message
-- id). When chats unsubscribed or went before this upgrade is unknown: a
-- chat that left before it counts nowhere in chat_changes, so that the
-- changes add up to the active chats.
UPDATE subscriptions SET cohort = (created_at / 86400 + 3) / 7
    WHERE active = 1 OR EXISTS (SELECT 1 FROM deliveries d WHERE d.subscription_id = subscriptions.id
        AND (d.state != 'sent' OR d.message_ids != '[]'));
INSERT INTO cohorts (cohort, chats)
    SELECT cohort, count(*) FROM subscriptions WHERE cohort IS NOT NULL GROUP BY cohort;
INSERT INTO chat_changes (quarter, platform, change, chats)
    SELECT created_at / 900, platform, 'subscribed', count(*) FROM subscriptions WHERE active = 1 GROUP BY 1, 2;

-- Answers: a delivery's first message is taken to have gone out at its
-- slot (its lateness was not recorded before).
CREATE TEMP TABLE chat_subscriptions (chat TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO chat_subscriptions (chat, id)
    SELECT platform || ':' || chat_id || CASE thread_id WHEN '' THEN '' ELSE ':' || thread_id END, id FROM subscriptions;
UPDATE answers SET delay = (
    SELECT CASE WHEN answers.answered_at / 1000 >= coalesce(d.first_sent_at, d.slot)
        THEN answers.answered_at / 1000 - coalesce(d.first_sent_at, d.slot) END
    FROM chat_subscriptions c JOIN deliveries d ON d.subscription_id = c.id AND d.lesson_id = answers.lesson_id
    WHERE c.chat = answers.chat);
DROP TABLE chat_subscriptions;

INSERT INTO question_choices (question_key, choice, answered, correct)
    SELECT question_key, choice, count(*), sum(correct) FROM answers NOT INDEXED GROUP BY 1, 2;
INSERT INTO lesson_delays (lesson_id, lo, answers)
    SELECT lesson_id, (SELECT max(lo) FROM delay_buckets WHERE lo <= delay), count(*)
    FROM answers NOT INDEXED WHERE delay IS NOT NULL GROUP BY 1, 2;
INSERT INTO chat_weeks (chat, week)
    SELECT DISTINCT chat, (answered_at / 86400000 + 3) / 7 FROM answers INDEXED BY answers_chat_time;
INSERT INTO cohort_weeks (cohort, week, chats)
    SELECT s.cohort, w.week, count(*)
    FROM subscriptions s JOIN chat_weeks w
        ON w.chat = s.platform || ':' || s.chat_id || CASE s.thread_id WHEN '' THEN '' ELSE ':' || s.thread_id END
        AND w.week >= s.cohort
    WHERE s.cohort IS NOT NULL GROUP BY 1, 2;

-- Deliveries and review items. (A grouping of a whole table reads it in
-- its own order, NOT INDEXED, unless an index holds every column it
-- needs: an index that does not costs a random read per row.)
INSERT INTO delivery_quarters (quarter, state, deliveries, unknown)
    SELECT slot / 900, state, count(*), sum(unknown) FROM deliveries INDEXED BY deliveries_slot
    WHERE state IN ('sent', 'failed', 'unknown', 'exhausted') GROUP BY 1, 2;
INSERT INTO lesson_deliveries (lesson_id, state, deliveries)
    SELECT lesson_id, state, count(*) FROM deliveries NOT INDEXED
    WHERE lesson_id IS NOT NULL AND state IN ('sent', 'failed', 'unknown', 'exhausted') GROUP BY 1, 2;
INSERT INTO word_items (lesson_id, term, items, missed)
    SELECT lesson_id, term, count(*), sum(source = 'missed') FROM review_items NOT INDEXED GROUP BY 1, 2;

-- What keeps them from now on.

-- A chat is subscribed when its row is written active, and counted in
-- its cohort the first time.
CREATE TRIGGER dashboard_subscription_insert AFTER INSERT ON subscriptions WHEN NEW.active = 1 BEGIN
    INSERT INTO chat_changes (quarter, platform, change, chats)
        VALUES (coalesce(NEW.updated_at, NEW.created_at) / 900, NEW.platform, 'subscribed', 1)
        ON CONFLICT (quarter, platform, change) DO UPDATE SET chats = chats + 1;
    UPDATE subscriptions SET cohort = (coalesce(NEW.updated_at, NEW.created_at) / 86400 + 3) / 7
        WHERE id = NEW.id AND cohort IS NULL;
END;

CREATE TRIGGER dashboard_subscription_active AFTER UPDATE OF active ON subscriptions
WHEN OLD.active != NEW.active BEGIN
    INSERT INTO chat_changes (quarter, platform, change, chats)
        VALUES (coalesce(NEW.updated_at, NEW.created_at) / 900, NEW.platform,
            CASE WHEN NEW.active = 1 THEN 'subscribed' WHEN NEW.gone = 1 THEN 'gone' ELSE 'unsubscribed' END, 1)
        ON CONFLICT (quarter, platform, change) DO UPDATE SET chats = chats + 1;
    UPDATE subscriptions SET cohort = (coalesce(NEW.updated_at, NEW.created_at) / 86400 + 3) / 7
        WHERE id = NEW.id AND NEW.active = 1 AND cohort IS NULL;
END;

-- A chat joins its cohort with the weeks it already had answers in.
CREATE TRIGGER dashboard_cohort AFTER UPDATE OF cohort ON subscriptions
WHEN OLD.cohort IS NULL AND NEW.cohort IS NOT NULL BEGIN
    INSERT INTO cohorts (cohort, chats) VALUES (NEW.cohort, 1)
        ON CONFLICT (cohort) DO UPDATE SET chats = chats + 1;
    INSERT INTO cohort_weeks (cohort, week, chats)
        SELECT NEW.cohort, week, 1 FROM chat_weeks
        WHERE chat = NEW.platform || ':' || NEW.chat_id || CASE NEW.thread_id WHEN '' THEN '' ELSE ':' || NEW.thread_id END
            AND week >= NEW.cohort
        ON CONFLICT (cohort, week) DO UPDATE SET chats = chats + 1;
END;

-- A chat removed while active leaves (the store turns it off first, at
-- the time it is removed), and leaves its cohort.
CREATE TRIGGER dashboard_subscription_delete AFTER DELETE ON subscriptions BEGIN
    INSERT INTO chat_changes (quarter, platform, change, chats)
        SELECT coalesce(OLD.updated_at, OLD.created_at) / 900, OLD.platform, 'unsubscribed', 1 WHERE OLD.active = 1
        ON CONFLICT (quarter, platform, change) DO UPDATE SET chats = chats + 1;
    UPDATE cohorts SET chats = chats - 1 WHERE cohort = OLD.cohort;
    UPDATE cohort_weeks SET chats = chats - 1 WHERE cohort = OLD.cohort AND week IN (
        SELECT week FROM chat_weeks
        WHERE chat = OLD.platform || ':' || OLD.chat_id || CASE OLD.thread_id WHEN '' THEN '' ELSE ':' || OLD.thread_id END
            AND week >= OLD.cohort);
END;

-- A delivery counts once it is in a final state; one that leaves it
-- (sent again) stops counting until it reaches one again.
CREATE TRIGGER dashboard_delivery_insert AFTER INSERT ON deliveries
WHEN NEW.state IN ('sent', 'failed', 'unknown', 'exhausted') BEGIN
    INSERT INTO delivery_quarters (quarter, state, deliveries, unknown) VALUES (NEW.slot / 900, NEW.state, 1, NEW.unknown)
        ON CONFLICT (quarter, state) DO UPDATE SET deliveries = deliveries + 1, unknown = unknown + excluded.unknown;
    INSERT INTO lesson_deliveries (lesson_id, state, deliveries)
        SELECT NEW.lesson_id, NEW.state, 1 WHERE NEW.lesson_id IS NOT NULL
        ON CONFLICT (lesson_id, state) DO UPDATE SET deliveries = deliveries + 1;
END;

CREATE TRIGGER dashboard_delivery_update AFTER UPDATE OF state, unknown, lesson_id, slot ON deliveries
WHEN OLD.state IN ('sent', 'failed', 'unknown', 'exhausted') OR NEW.state IN ('sent', 'failed', 'unknown', 'exhausted') BEGIN
    UPDATE delivery_quarters SET deliveries = deliveries - 1, unknown = unknown - OLD.unknown
        WHERE quarter = OLD.slot / 900 AND state = OLD.state AND OLD.state IN ('sent', 'failed', 'unknown', 'exhausted');
    UPDATE lesson_deliveries SET deliveries = deliveries - 1
        WHERE lesson_id = OLD.lesson_id AND state = OLD.state AND OLD.state IN ('sent', 'failed', 'unknown', 'exhausted');
    INSERT INTO delivery_quarters (quarter, state, deliveries, unknown)
        SELECT NEW.slot / 900, NEW.state, 1, NEW.unknown WHERE NEW.state IN ('sent', 'failed', 'unknown', 'exhausted')
        ON CONFLICT (quarter, state) DO UPDATE SET deliveries = deliveries + 1, unknown = unknown + excluded.unknown;
    INSERT INTO lesson_deliveries (lesson_id, state, deliveries)
        SELECT NEW.lesson_id, NEW.state, 1 WHERE NEW.lesson_id IS NOT NULL AND NEW.state IN ('sent', 'failed', 'unknown', 'exhausted')
        ON CONFLICT (lesson_id, state) DO UPDATE SET deliveries = deliveries + 1;
END;

-- The lateness of a delivery counts once its first message has gone out.
CREATE TRIGGER dashboard_delivery_first_sent AFTER UPDATE OF first_sent_at, slot ON deliveries
WHEN OLD.first_sent_at IS NOT NEW.first_sent_at OR OLD.slot != NEW.slot BEGIN
    UPDATE delivery_lateness SET deliveries = deliveries - 1
        WHERE quarter = OLD.slot / 900 AND OLD.first_sent_at IS NOT NULL
            AND lo = (SELECT max(lo) FROM delay_buckets WHERE lo <= max(0, OLD.first_sent_at - OLD.slot));
    UPDATE delivery_lateness_hours SET deliveries = deliveries - 1
        WHERE hour = OLD.slot / 3600 AND OLD.first_sent_at IS NOT NULL
            AND lo = (SELECT max(lo) FROM delay_buckets WHERE lo <= max(0, OLD.first_sent_at - OLD.slot));
    INSERT INTO delivery_lateness (quarter, lo, deliveries)
        SELECT NEW.slot / 900, (SELECT max(lo) FROM delay_buckets WHERE lo <= max(0, NEW.first_sent_at - NEW.slot)), 1
        WHERE NEW.first_sent_at IS NOT NULL
        ON CONFLICT (quarter, lo) DO UPDATE SET deliveries = deliveries + 1;
    INSERT INTO delivery_lateness_hours (hour, lo, deliveries)
        SELECT NEW.slot / 3600, (SELECT max(lo) FROM delay_buckets WHERE lo <= max(0, NEW.first_sent_at - NEW.slot)), 1
        WHERE NEW.first_sent_at IS NOT NULL
        ON CONFLICT (hour, lo) DO UPDATE SET deliveries = deliveries + 1;
END;

CREATE TRIGGER dashboard_delivery_delete AFTER DELETE ON deliveries BEGIN
    UPDATE delivery_quarters SET deliveries = deliveries - 1, unknown = unknown - OLD.unknown
        WHERE quarter = OLD.slot / 900 AND state = OLD.state AND OLD.state IN ('sent', 'failed', 'unknown', 'exhausted');
    UPDATE lesson_deliveries SET deliveries = deliveries - 1
        WHERE lesson_id = OLD.lesson_id AND state = OLD.state AND OLD.state IN ('sent', 'failed', 'unknown', 'exhausted');
    UPDATE delivery_lateness SET deliveries = deliveries - 1
        WHERE quarter = OLD.slot / 900 AND OLD.first_sent_at IS NOT NULL
            AND lo = (SELECT max(lo) FROM delay_buckets WHERE lo <= max(0, OLD.first_sent_at - OLD.slot));
    UPDATE delivery_lateness_hours SET deliveries = deliveries - 1
        WHERE hour = OLD.slot / 3600 AND OLD.first_sent_at IS NOT NULL
            AND lo = (SELECT max(lo) FROM delay_buckets WHERE lo <= max(0, OLD.first_sent_at - OLD.slot));
END;

CREATE TRIGGER dashboard_review_item_insert AFTER INSERT ON review_items BEGIN
    INSERT INTO word_items (lesson_id, term, items, missed) VALUES (NEW.lesson_id, NEW.term, 1, NEW.source = 'missed')
        ON CONFLICT (lesson_id, term) DO UPDATE SET items = items + 1, missed = missed + excluded.missed;
END;

CREATE TRIGGER dashboard_review_item_update AFTER UPDATE OF lesson_id, term, source ON review_items BEGIN
    UPDATE word_items SET items = items - 1, missed = missed - (OLD.source = 'missed')
        WHERE lesson_id = OLD.lesson_id AND term = OLD.term;
    INSERT INTO word_items (lesson_id, term, items, missed) VALUES (NEW.lesson_id, NEW.term, 1, NEW.source = 'missed')
        ON CONFLICT (lesson_id, term) DO UPDATE SET items = items + 1, missed = missed + excluded.missed;
END;

CREATE TRIGGER dashboard_review_item_delete AFTER DELETE ON review_items BEGIN
    UPDATE word_items SET items = items - 1, missed = missed - (OLD.source = 'missed')
        WHERE lesson_id = OLD.lesson_id AND term = OLD.term;
END;

PRAGMA cache_size = -2000;
