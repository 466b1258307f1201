-- 0007: the aggregates of the admin dashboard (see dashboard.go). Each is
-- kept in the transaction of the write that changes it: by the answers'
-- group commit in Go (answers), and by triggers for the rarer writes of
-- subscriptions, deliveries and review items. Each is built here from
-- the rows already stored; lessonbot db check recounts them.
--
-- Times: a quarter is a quarter of an hour, unix seconds / 900 (as in
-- answer_quarters), so that a day in any zone, 30- and 45-minute offsets
-- included, is a range of quarters. Weeks are UTC weeks numbered as
-- WeekOf(t, time.UTC): (unix seconds / 86400 + 3) / 7. Division of
-- integers truncates in PostgreSQL as in SQLite.

-- The bounds of the buckets of the delay and lateness histograms, in
-- seconds: one second wide up to 16 s, then eight buckets per doubling
-- (each at most 12.5% of its lower bound wide), up to 2^22 s (48 days);
-- the last one holds everything above. A value's bucket is the largest
-- lo at or below it: (SELECT max(lo) FROM delay_buckets WHERE lo <= v).
-- bucketOf in Go is the same function.
-- lo is a plain bigint key, not an identity: its values are the bounds.
CREATE TABLE delay_buckets (
    lo bigint PRIMARY KEY
);

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
ALTER TABLE subscriptions ADD COLUMN updated_at bigint;
ALTER TABLE subscriptions ADD COLUMN gone integer NOT NULL DEFAULT 0 CHECK (gone IN (0, 1));
ALTER TABLE subscriptions ADD COLUMN cohort bigint;

-- Chats subscribed, unsubscribed and gone, per quarter and platform.
-- Chats that leave by a merge into a subscribed chat (MoveChat) or a
-- deletion of their data count as unsubscribed.
CREATE TABLE chat_changes (
    quarter  bigint NOT NULL,
    platform text   NOT NULL,
    change   text   NOT NULL CHECK (change IN ('subscribed', 'unsubscribed', 'gone')),
    chats    bigint NOT NULL,
    PRIMARY KEY (quarter, platform, change)
);

-- Chats per cohort. cohort is a plain bigint key, not an identity.
CREATE TABLE cohorts (
    cohort bigint PRIMARY KEY,
    chats  bigint NOT NULL
);

-- The UTC weeks in which a chat had at least one answer.
CREATE TABLE chat_weeks (
    chat text   NOT NULL,
    week bigint NOT NULL,
    PRIMARY KEY (chat, week)
);

-- Per cohort and week (from the cohort's own on), the chats of the
-- cohort with at least one answer that week.
CREATE TABLE cohort_weeks (
    cohort bigint NOT NULL,
    week   bigint NOT NULL,
    chats  bigint NOT NULL,
    PRIMARY KEY (cohort, week)
);

-- Answers. delay is the time from the first message of the chat's
-- delivery of the lesson to the answer, in seconds; NULL when the chat
-- has no delivery of it (or the answer came first).
ALTER TABLE answers ADD COLUMN delay bigint;

-- Per question and choice: how often it was the first try.
CREATE TABLE question_choices (
    question_key text    NOT NULL,
    choice       integer NOT NULL,
    answered     bigint  NOT NULL,
    correct      bigint  NOT NULL,
    PRIMARY KEY (question_key, choice)
);

-- Per lesson, the answers by bucket of their delay.
CREATE TABLE lesson_delays (
    lesson_id text   NOT NULL,
    lo        bigint NOT NULL,
    answers   bigint NOT NULL,
    PRIMARY KEY (lesson_id, lo)
);

-- The learners who answered since a time: a range of this index (a
-- learner who answered in several chats is in it once per chat).
CREATE INDEX chat_scores_last ON chat_scores (last_at, learner_id);

-- Deliveries. first_sent_at is when the first message went out (unix
-- seconds), set with that message's id; NULL before 0007 and for a
-- lesson sent on demand, whose slot is its send time.
ALTER TABLE deliveries ADD COLUMN first_sent_at bigint;

-- The deliveries in a final state, per quarter of their slot and state,
-- with their unknown messages.
CREATE TABLE delivery_quarters (
    quarter    bigint NOT NULL,
    state      text   NOT NULL,
    deliveries bigint NOT NULL,
    unknown    bigint NOT NULL,
    PRIMARY KEY (quarter, state)
);

-- The deliveries of a lesson in a final state, per state.
CREATE TABLE lesson_deliveries (
    lesson_id  text   NOT NULL,
    state      text   NOT NULL,
    deliveries bigint NOT NULL,
    PRIMARY KEY (lesson_id, state)
);

-- Per quarter of the slot, the deliveries by bucket of the lateness of
-- their first message against the slot; and the same per hour (unix
-- seconds / 3600), which a day reads for its whole UTC hours (a fourth of
-- the rows), and the quarters only for the hour it starts or ends in
-- under a 30- or 45-minute offset.
CREATE TABLE delivery_lateness (
    quarter    bigint NOT NULL,
    lo         bigint NOT NULL,
    deliveries bigint NOT NULL,
    PRIMARY KEY (quarter, lo)
);

CREATE TABLE delivery_lateness_hours (
    hour       bigint NOT NULL,
    lo         bigint NOT NULL,
    deliveries bigint NOT NULL,
    PRIMARY KEY (hour, lo)
);

-- The platforms' "too many requests" answers (429), per quarter and
-- platform, and the waits they asked for. Nothing else records them, so
-- there is nothing to recount them from.
CREATE TABLE rate_limits (
    quarter        bigint NOT NULL,
    platform       text   NOT NULL,
    hits           bigint NOT NULL,
    retry_after_ms bigint NOT NULL,
    PRIMARY KEY (quarter, platform)
);

-- Per word (lesson and term), the learners' review items, and how many
-- came from a missed quiz question.
CREATE TABLE word_items (
    lesson_id text   NOT NULL,
    term      text   NOT NULL,
    items     bigint NOT NULL,
    missed    bigint NOT NULL,
    PRIMARY KEY (lesson_id, term)
);

-- The history already stored. (SQLite's page cache settings and index
-- hints have no PostgreSQL counterpart and are left out.)
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

-- Answers. SQLite fills answers.delay here from the chats' deliveries;
-- PostgreSQL has no answers to fill (0005 could only add week to an empty
-- table), so that step is left out and every delay stays NULL.
INSERT INTO question_choices (question_key, choice, answered, correct)
    SELECT question_key, choice, count(*), sum(correct) FROM answers GROUP BY 1, 2;
INSERT INTO lesson_delays (lesson_id, lo, answers)
    SELECT lesson_id, (SELECT max(lo) FROM delay_buckets WHERE lo <= delay), count(*)
    FROM answers WHERE delay IS NOT NULL GROUP BY 1, 2;
INSERT INTO chat_weeks (chat, week)
    SELECT DISTINCT chat, (answered_at / 86400000 + 3) / 7 FROM answers;
INSERT INTO cohort_weeks (cohort, week, chats)
    SELECT s.cohort, w.week, count(*)
    FROM subscriptions s JOIN chat_weeks w
        ON w.chat = s.platform || ':' || s.chat_id || CASE s.thread_id WHEN '' THEN '' ELSE ':' || s.thread_id END
        AND w.week >= s.cohort
    WHERE s.cohort IS NOT NULL GROUP BY 1, 2;

-- Deliveries and review items. (A SQLite boolean is 0 or 1; PostgreSQL
-- needs a CASE to count one.)
INSERT INTO delivery_quarters (quarter, state, deliveries, unknown)
    SELECT slot / 900, state, count(*), sum(unknown) FROM deliveries
    WHERE state IN ('sent', 'failed', 'unknown', 'exhausted') GROUP BY 1, 2;
INSERT INTO lesson_deliveries (lesson_id, state, deliveries)
    SELECT lesson_id, state, count(*) FROM deliveries
    WHERE lesson_id IS NOT NULL AND state IN ('sent', 'failed', 'unknown', 'exhausted') GROUP BY 1, 2;
INSERT INTO word_items (lesson_id, term, items, missed)
    SELECT lesson_id, term, count(*), sum(CASE WHEN source = 'missed' THEN 1 ELSE 0 END) FROM review_items GROUP BY 1, 2;

-- What keeps them from now on. Each SQLite trigger is a PL/pgSQL function
-- (the trigger's name with _fn) and a row trigger with the same event and
-- WHEN condition. PostgreSQL wants the column on the right of an upsert's
-- SET qualified by its table, greatest() for SQLite's two-argument max()
-- (the same here: its argument is never NULL where it is used), IS
-- DISTINCT FROM for IS NOT, and a CASE to make 0 or 1 of a comparison.

-- A chat is subscribed when its row is written active, and counted in
-- its cohort the first time.
CREATE FUNCTION dashboard_subscription_insert_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_changes (quarter, platform, change, chats)
        VALUES (coalesce(NEW.updated_at, NEW.created_at) / 900, NEW.platform, 'subscribed', 1)
        ON CONFLICT (quarter, platform, change) DO UPDATE SET chats = chat_changes.chats + 1;
    UPDATE subscriptions SET cohort = (coalesce(NEW.updated_at, NEW.created_at) / 86400 + 3) / 7
        WHERE id = NEW.id AND cohort IS NULL;
    RETURN NULL;
END;
$$;
CREATE TRIGGER dashboard_subscription_insert AFTER INSERT ON subscriptions
    FOR EACH ROW WHEN (NEW.active = 1) EXECUTE FUNCTION dashboard_subscription_insert_fn();

CREATE FUNCTION dashboard_subscription_active_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_changes (quarter, platform, change, chats)
        VALUES (coalesce(NEW.updated_at, NEW.created_at) / 900, NEW.platform,
            CASE WHEN NEW.active = 1 THEN 'subscribed' WHEN NEW.gone = 1 THEN 'gone' ELSE 'unsubscribed' END, 1)
        ON CONFLICT (quarter, platform, change) DO UPDATE SET chats = chat_changes.chats + 1;
    UPDATE subscriptions SET cohort = (coalesce(NEW.updated_at, NEW.created_at) / 86400 + 3) / 7
        WHERE id = NEW.id AND NEW.active = 1 AND cohort IS NULL;
    RETURN NULL;
END;
$$;
CREATE TRIGGER dashboard_subscription_active AFTER UPDATE OF active ON subscriptions
    FOR EACH ROW WHEN (OLD.active != NEW.active) EXECUTE FUNCTION dashboard_subscription_active_fn();

-- A chat joins its cohort with the weeks it already had answers in.
CREATE FUNCTION dashboard_cohort_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cohorts (cohort, chats) VALUES (NEW.cohort, 1)
        ON CONFLICT (cohort) DO UPDATE SET chats = cohorts.chats + 1;
    INSERT INTO cohort_weeks (cohort, week, chats)
        SELECT NEW.cohort, week, 1 FROM chat_weeks
        WHERE chat = NEW.platform || ':' || NEW.chat_id || CASE NEW.thread_id WHEN '' THEN '' ELSE ':' || NEW.thread_id END
            AND week >= NEW.cohort
        ON CONFLICT (cohort, week) DO UPDATE SET chats = cohort_weeks.chats + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER dashboard_cohort AFTER UPDATE OF cohort ON subscriptions
    FOR EACH ROW WHEN (OLD.cohort IS NULL AND NEW.cohort IS NOT NULL) EXECUTE FUNCTION dashboard_cohort_fn();

-- A chat removed while active leaves (the store turns it off first, at
-- the time it is removed), and leaves its cohort.
CREATE FUNCTION dashboard_subscription_delete_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_changes (quarter, platform, change, chats)
        SELECT coalesce(OLD.updated_at, OLD.created_at) / 900, OLD.platform, 'unsubscribed', 1 WHERE OLD.active = 1
        ON CONFLICT (quarter, platform, change) DO UPDATE SET chats = chat_changes.chats + 1;
    UPDATE cohorts SET chats = chats - 1 WHERE cohort = OLD.cohort;
    UPDATE cohort_weeks SET chats = chats - 1 WHERE cohort = OLD.cohort AND week IN (
        SELECT week FROM chat_weeks
        WHERE chat = OLD.platform || ':' || OLD.chat_id || CASE OLD.thread_id WHEN '' THEN '' ELSE ':' || OLD.thread_id END
            AND week >= OLD.cohort);
    RETURN NULL;
END;
$$;
CREATE TRIGGER dashboard_subscription_delete AFTER DELETE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION dashboard_subscription_delete_fn();

-- A delivery counts once it is in a final state; one that leaves it
-- (sent again) stops counting until it reaches one again.
CREATE FUNCTION dashboard_delivery_insert_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_quarters (quarter, state, deliveries, unknown) VALUES (NEW.slot / 900, NEW.state, 1, NEW.unknown)
        ON CONFLICT (quarter, state) DO UPDATE
        SET deliveries = delivery_quarters.deliveries + 1, unknown = delivery_quarters.unknown + excluded.unknown;
    INSERT INTO lesson_deliveries (lesson_id, state, deliveries)
        SELECT NEW.lesson_id, NEW.state, 1 WHERE NEW.lesson_id IS NOT NULL
        ON CONFLICT (lesson_id, state) DO UPDATE SET deliveries = lesson_deliveries.deliveries + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER dashboard_delivery_insert AFTER INSERT ON deliveries
    FOR EACH ROW WHEN (NEW.state IN ('sent', 'failed', 'unknown', 'exhausted'))
    EXECUTE FUNCTION dashboard_delivery_insert_fn();

CREATE FUNCTION dashboard_delivery_update_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE delivery_quarters SET deliveries = deliveries - 1, unknown = unknown - OLD.unknown
        WHERE quarter = OLD.slot / 900 AND state = OLD.state AND OLD.state IN ('sent', 'failed', 'unknown', 'exhausted');
    UPDATE lesson_deliveries SET deliveries = deliveries - 1
        WHERE lesson_id = OLD.lesson_id AND state = OLD.state AND OLD.state IN ('sent', 'failed', 'unknown', 'exhausted');
    INSERT INTO delivery_quarters (quarter, state, deliveries, unknown)
        SELECT NEW.slot / 900, NEW.state, 1, NEW.unknown WHERE NEW.state IN ('sent', 'failed', 'unknown', 'exhausted')
        ON CONFLICT (quarter, state) DO UPDATE
        SET deliveries = delivery_quarters.deliveries + 1, unknown = delivery_quarters.unknown + excluded.unknown;
    INSERT INTO lesson_deliveries (lesson_id, state, deliveries)
        SELECT NEW.lesson_id, NEW.state, 1 WHERE NEW.lesson_id IS NOT NULL AND NEW.state IN ('sent', 'failed', 'unknown', 'exhausted')
        ON CONFLICT (lesson_id, state) DO UPDATE SET deliveries = lesson_deliveries.deliveries + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER dashboard_delivery_update AFTER UPDATE OF state, unknown, lesson_id, slot ON deliveries
    FOR EACH ROW WHEN (OLD.state IN ('sent', 'failed', 'unknown', 'exhausted') OR NEW.state IN ('sent', 'failed', 'unknown', 'exhausted'))
    EXECUTE FUNCTION dashboard_delivery_update_fn();

-- The lateness of a delivery counts once its first message has gone out.
CREATE FUNCTION dashboard_delivery_first_sent_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE delivery_lateness SET deliveries = deliveries - 1
        WHERE quarter = OLD.slot / 900 AND OLD.first_sent_at IS NOT NULL
            AND lo = (SELECT max(lo) FROM delay_buckets WHERE lo <= greatest(0, OLD.first_sent_at - OLD.slot));
    UPDATE delivery_lateness_hours SET deliveries = deliveries - 1
        WHERE hour = OLD.slot / 3600 AND OLD.first_sent_at IS NOT NULL
            AND lo = (SELECT max(lo) FROM delay_buckets WHERE lo <= greatest(0, OLD.first_sent_at - OLD.slot));
    INSERT INTO delivery_lateness (quarter, lo, deliveries)
        SELECT NEW.slot / 900, (SELECT max(lo) FROM delay_buckets WHERE lo <= greatest(0, NEW.first_sent_at - NEW.slot)), 1
        WHERE NEW.first_sent_at IS NOT NULL
        ON CONFLICT (quarter, lo) DO UPDATE SET deliveries = delivery_lateness.deliveries + 1;
    INSERT INTO delivery_lateness_hours (hour, lo, deliveries)
        SELECT NEW.slot / 3600, (SELECT max(lo) FROM delay_buckets WHERE lo <= greatest(0, NEW.first_sent_at - NEW.slot)), 1
        WHERE NEW.first_sent_at IS NOT NULL
        ON CONFLICT (hour, lo) DO UPDATE SET deliveries = delivery_lateness_hours.deliveries + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER dashboard_delivery_first_sent AFTER UPDATE OF first_sent_at, slot ON deliveries
    FOR EACH ROW WHEN (OLD.first_sent_at IS DISTINCT FROM NEW.first_sent_at OR OLD.slot != NEW.slot)
    EXECUTE FUNCTION dashboard_delivery_first_sent_fn();

CREATE FUNCTION dashboard_delivery_delete_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE delivery_quarters SET deliveries = deliveries - 1, unknown = unknown - OLD.unknown
        WHERE quarter = OLD.slot / 900 AND state = OLD.state AND OLD.state IN ('sent', 'failed', 'unknown', 'exhausted');
    UPDATE lesson_deliveries SET deliveries = deliveries - 1
        WHERE lesson_id = OLD.lesson_id AND state = OLD.state AND OLD.state IN ('sent', 'failed', 'unknown', 'exhausted');
    UPDATE delivery_lateness SET deliveries = deliveries - 1
        WHERE quarter = OLD.slot / 900 AND OLD.first_sent_at IS NOT NULL
            AND lo = (SELECT max(lo) FROM delay_buckets WHERE lo <= greatest(0, OLD.first_sent_at - OLD.slot));
    UPDATE delivery_lateness_hours SET deliveries = deliveries - 1
        WHERE hour = OLD.slot / 3600 AND OLD.first_sent_at IS NOT NULL
            AND lo = (SELECT max(lo) FROM delay_buckets WHERE lo <= greatest(0, OLD.first_sent_at - OLD.slot));
    RETURN NULL;
END;
$$;
CREATE TRIGGER dashboard_delivery_delete AFTER DELETE ON deliveries
    FOR EACH ROW EXECUTE FUNCTION dashboard_delivery_delete_fn();

CREATE FUNCTION dashboard_review_item_insert_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO word_items (lesson_id, term, items, missed)
        VALUES (NEW.lesson_id, NEW.term, 1, CASE WHEN NEW.source = 'missed' THEN 1 ELSE 0 END)
        ON CONFLICT (lesson_id, term) DO UPDATE SET items = word_items.items + 1, missed = word_items.missed + excluded.missed;
    RETURN NULL;
END;
$$;
CREATE TRIGGER dashboard_review_item_insert AFTER INSERT ON review_items
    FOR EACH ROW EXECUTE FUNCTION dashboard_review_item_insert_fn();

CREATE FUNCTION dashboard_review_item_update_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE word_items SET items = items - 1, missed = missed - CASE WHEN OLD.source = 'missed' THEN 1 ELSE 0 END
        WHERE lesson_id = OLD.lesson_id AND term = OLD.term;
    INSERT INTO word_items (lesson_id, term, items, missed)
        VALUES (NEW.lesson_id, NEW.term, 1, CASE WHEN NEW.source = 'missed' THEN 1 ELSE 0 END)
        ON CONFLICT (lesson_id, term) DO UPDATE SET items = word_items.items + 1, missed = word_items.missed + excluded.missed;
    RETURN NULL;
END;
$$;
CREATE TRIGGER dashboard_review_item_update AFTER UPDATE OF lesson_id, term, source ON review_items
    FOR EACH ROW EXECUTE FUNCTION dashboard_review_item_update_fn();

CREATE FUNCTION dashboard_review_item_delete_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE word_items SET items = items - 1, missed = missed - CASE WHEN OLD.source = 'missed' THEN 1 ELSE 0 END
        WHERE lesson_id = OLD.lesson_id AND term = OLD.term;
    RETURN NULL;
END;
$$;
CREATE TRIGGER dashboard_review_item_delete AFTER DELETE ON review_items
    FOR EACH ROW EXECUTE FUNCTION dashboard_review_item_delete_fn();
