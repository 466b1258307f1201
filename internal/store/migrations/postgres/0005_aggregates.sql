-- 0005: aggregates kept in the same transaction as the answers, so that
-- scores, leaderboards and statistics read a few rows by an index instead
-- of scanning the answers. Each is built from the answers already stored,
-- in Go after this script and in the same transaction (buildAggregates);
-- lessonbot db check recounts them.

-- The answers are unique by question first, then learner: the learners
-- of a group answer the same few questions together, so a batch of their
-- answers writes one or two pages of that index, where keyed by learner
-- first it wrote one page per learner. The index by time goes
-- (answer_quarters counts by time now), and nothing reads the answers by
-- learner alone any more: a learner's answers are found through their
-- questions (question_stats holds every question answered).
--
-- Each answer keeps its week: Monday 00:00 to Sunday 24:00 in the chat's
-- time zone when it was given, numbered from the week of 1970-01-01 (a
-- Thursday): (days from 1970-01-01 to the local date + 3) / 7. A later
-- change of zone moves no answer to another week.
-- SQLite copies the table to change its UNIQUE and fills week with
-- lessonbot_week, a Go function that PostgreSQL lacks. On PostgreSQL the
-- table is changed in place (week is added last, as in the copy) and has
-- no answers to fill: lessonbot never ran on PostgreSQL before these
-- migrations, so they only ever run on a new, empty database.
ALTER TABLE answers ADD COLUMN week bigint NOT NULL;
ALTER TABLE answers DROP CONSTRAINT answers_learner_id_question_key_key;
DROP INDEX answers_time;
-- The first answer of a learner to a question counts: a later one hits
-- this index and is ignored.
CREATE UNIQUE INDEX answers_question_learner ON answers (question_key, learner_id);
-- answers_chat_time (chat, answered_at), which SQLite makes again on the
-- copy, stays as it is.

-- Per chat and learner, all time. last_at (unix ms) is when the learner
-- last answered there: among learners with the same score, who got there
-- first ranks first.
CREATE TABLE chat_scores (
    chat       text   NOT NULL,
    learner_id bigint NOT NULL,
    answered   bigint NOT NULL,
    correct    bigint NOT NULL,
    last_at    bigint NOT NULL,
    PRIMARY KEY (chat, learner_id)
);

-- A leaderboard is a range of this index: more correct, then fewer
-- answered, then who got there first, then the learner.
CREATE INDEX chat_scores_board ON chat_scores (chat, correct DESC, answered, last_at, learner_id);
CREATE INDEX chat_scores_learner ON chat_scores (learner_id);

-- Per chat, week (the answers' week) and learner.
CREATE TABLE week_scores (
    chat       text   NOT NULL,
    week       bigint NOT NULL,
    learner_id bigint NOT NULL,
    answered   bigint NOT NULL,
    correct    bigint NOT NULL,
    last_at    bigint NOT NULL,
    PRIMARY KEY (chat, week, learner_id)
);

CREATE INDEX week_scores_board ON week_scores (chat, week, correct DESC, answered, last_at, learner_id);
CREATE INDEX week_scores_learner ON week_scores (learner_id);

-- Per question, for /stats' accuracy per lesson and hardest question.
CREATE TABLE question_stats (
    question_key text   PRIMARY KEY,
    lesson_id    text   NOT NULL,
    answered     bigint NOT NULL,
    correct      bigint NOT NULL
);

-- Per quarter of an hour (answered_at / 900000), for counts over any
-- span in any zone: answers today, answers by hour.
-- quarter is a plain bigint key, not an identity: its values always come
-- from the answers (in SQLite it is a rowid alias only by its declaration).
CREATE TABLE answer_quarters (
    quarter  bigint PRIMARY KEY,
    answered bigint NOT NULL,
    correct  bigint NOT NULL
);

-- Go fills chat_scores, week_scores, question_stats and answer_quarters
-- after this script, in the same transaction, in one pass over the
-- answers (see buildAggregates).

-- Active chats by platform and kind, kept by triggers on every write of a
-- subscription (they are rare: commands, a chat gone or moved).
CREATE TABLE chat_counts (
    platform text   NOT NULL,
    kind     text   NOT NULL,
    active   bigint NOT NULL,
    PRIMARY KEY (platform, kind)
);

INSERT INTO chat_counts (platform, kind, active)
    SELECT platform, kind, count(*) FROM subscriptions WHERE active = 1 GROUP BY 1, 2;

-- Each SQLite trigger is a PL/pgSQL function, named after the trigger with
-- _fn, and a row trigger with the same event and WHEN condition. In an
-- upsert, PostgreSQL wants the column on the right of SET qualified by its
-- table (excluded has the same columns).
CREATE FUNCTION chat_counts_insert_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_counts (platform, kind, active) VALUES (NEW.platform, NEW.kind, 1)
        ON CONFLICT (platform, kind) DO UPDATE SET active = chat_counts.active + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER chat_counts_insert AFTER INSERT ON subscriptions
    FOR EACH ROW WHEN (NEW.active = 1) EXECUTE FUNCTION chat_counts_insert_fn();

CREATE FUNCTION chat_counts_delete_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chat_counts SET active = active - 1 WHERE platform = OLD.platform AND kind = OLD.kind;
    RETURN NULL;
END;
$$;
CREATE TRIGGER chat_counts_delete AFTER DELETE ON subscriptions
    FOR EACH ROW WHEN (OLD.active = 1) EXECUTE FUNCTION chat_counts_delete_fn();

CREATE FUNCTION chat_counts_update_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chat_counts SET active = active - 1 WHERE OLD.active = 1 AND platform = OLD.platform AND kind = OLD.kind;
    INSERT INTO chat_counts (platform, kind, active) SELECT NEW.platform, NEW.kind, 1 WHERE NEW.active = 1
        ON CONFLICT (platform, kind) DO UPDATE SET active = chat_counts.active + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER chat_counts_update AFTER UPDATE OF active, kind, platform ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION chat_counts_update_fn();

-- The deliveries of a day, by state, read from a range of this index.
CREATE INDEX deliveries_slot ON deliveries (slot, state, unknown);
