-- 0005: aggregates kept in the same transaction as the answers, so that
-- scores, leaderboards and statistics read a few rows by an index instead
-- of scanning the answers. Each is built from the answers already stored,
-- in Go after this script and in the same transaction (buildAggregates);
-- lessonbot db check recounts them.

-- The answers are unique by question first, then learner: the learners
-- of a group answer the same few questions together, so a batch of their
-- answers writes one or two pages of that index, where keyed by learner
-- first it wrote one page per learner (and a page is what a commit
-- writes and syncs). The UNIQUE of the table cannot be changed in place,
-- so the table is copied; its index by time goes (answer_quarters counts
-- by time now), and nothing reads the answers by learner alone any more:
-- a learner's answers are found through their questions (question_stats
-- holds every question answered).
--
-- Each answer keeps its week: Monday 00:00 to Sunday 24:00 in the chat's
-- time zone when it was given, numbered from the week of 1970-01-01 (a
-- Thursday): (days from 1970-01-01 to the local date + 3) / 7. A later
-- change of zone moves no answer to another week. The answers stored
-- before get theirs from the chat's zone now, by lessonbot_week(unix ms,
-- zone), a function of lessonbot's (see weekFunction); a chat with no row
-- counts in UTC.
CREATE TABLE answers_by_question (
    id           INTEGER PRIMARY KEY,
    learner_id   INTEGER NOT NULL REFERENCES learners (id) DEFERRABLE INITIALLY DEFERRED,
    chat         TEXT    NOT NULL,
    lesson_id    TEXT    NOT NULL,
    question_key TEXT    NOT NULL,
    choice       INTEGER NOT NULL,
    correct      INTEGER NOT NULL CHECK (correct IN (0, 1)),
    answered_at  INTEGER NOT NULL,
    week         INTEGER NOT NULL
) STRICT;
CREATE TEMP TABLE chat_zones (chat TEXT PRIMARY KEY, zone TEXT NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO chat_zones (chat, zone)
    SELECT platform || ':' || chat_id || CASE thread_id WHEN '' THEN '' ELSE ':' || thread_id END, zone FROM subscriptions;
INSERT INTO answers_by_question (id, learner_id, chat, lesson_id, question_key, choice, correct, answered_at, week)
    SELECT a.id, a.learner_id, a.chat, a.lesson_id, a.question_key, a.choice, a.correct, a.answered_at,
        lessonbot_week(a.answered_at, coalesce(z.zone, 'UTC'))
    FROM answers a LEFT JOIN chat_zones z ON z.chat = a.chat ORDER BY a.id;
DROP TABLE chat_zones;
DROP TABLE answers;
ALTER TABLE answers_by_question RENAME TO answers;
-- The first answer of a learner to a question counts: a later one hits
-- this index and is ignored.
CREATE UNIQUE INDEX answers_question_learner ON answers (question_key, learner_id);
CREATE INDEX answers_chat_time ON answers (chat, answered_at);

-- Per chat and learner, all time. last_at (unix ms) is when the learner
-- last answered there: among learners with the same score, who got there
-- first ranks first.
CREATE TABLE chat_scores (
    chat       TEXT    NOT NULL,
    learner_id INTEGER NOT NULL,
    answered   INTEGER NOT NULL,
    correct    INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    PRIMARY KEY (chat, learner_id)
) STRICT, WITHOUT ROWID;

-- A leaderboard is a range of this index: more correct, then fewer
-- answered, then who got there first, then the learner.
CREATE INDEX chat_scores_board ON chat_scores (chat, correct DESC, answered, last_at, learner_id);
CREATE INDEX chat_scores_learner ON chat_scores (learner_id);

-- Per chat, week (the answers' week) and learner.
CREATE TABLE week_scores (
    chat       TEXT    NOT NULL,
    week       INTEGER NOT NULL,
    learner_id INTEGER NOT NULL,
    answered   INTEGER NOT NULL,
    correct    INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    PRIMARY KEY (chat, week, learner_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX week_scores_board ON week_scores (chat, week, correct DESC, answered, last_at, learner_id);
CREATE INDEX week_scores_learner ON week_scores (learner_id);

-- Per question, for /stats' accuracy per lesson and hardest question.
CREATE TABLE question_stats (
    question_key TEXT    PRIMARY KEY,
    lesson_id    TEXT    NOT NULL,
    answered     INTEGER NOT NULL,
    correct      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Per quarter of an hour (answered_at / 900000), for counts over any
-- span in any zone: answers today, answers by hour.
CREATE TABLE answer_quarters (
    quarter  INTEGER PRIMARY KEY,
    answered INTEGER NOT NULL,
    correct  INTEGER NOT NULL
) STRICT;

-- Go fills chat_scores, week_scores, question_stats and answer_quarters
-- after this script, in the same transaction, in one pass over the
-- answers (see buildAggregates).

-- Active chats by platform and kind, kept by triggers on every write of a
-- subscription (they are rare: commands, a chat gone or moved).
CREATE TABLE chat_counts (
    platform TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    active   INTEGER NOT NULL,
    PRIMARY KEY (platform, kind)
) STRICT, WITHOUT ROWID;

INSERT INTO chat_counts (platform, kind, active)
    SELECT platform, kind, count(*) FROM subscriptions WHERE active = 1 GROUP BY 1, 2;

CREATE TRIGGER chat_counts_insert AFTER INSERT ON subscriptions WHEN NEW.active = 1 BEGIN
    INSERT INTO chat_counts (platform, kind, active) VALUES (NEW.platform, NEW.kind, 1)
        ON CONFLICT (platform, kind) DO UPDATE SET active = active + 1;
END;

CREATE TRIGGER chat_counts_delete AFTER DELETE ON subscriptions WHEN OLD.active = 1 BEGIN
    UPDATE chat_counts SET active = active - 1 WHERE platform = OLD.platform AND kind = OLD.kind;
END;

CREATE TRIGGER chat_counts_update AFTER UPDATE OF active, kind, platform ON subscriptions BEGIN
    UPDATE chat_counts SET active = active - 1 WHERE OLD.active = 1 AND platform = OLD.platform AND kind = OLD.kind;
    INSERT INTO chat_counts (platform, kind, active) SELECT NEW.platform, NEW.kind, 1 WHERE NEW.active = 1
        ON CONFLICT (platform, kind) DO UPDATE SET active = active + 1;
END;

-- The deliveries of a day, by state, read from a range of this index.
CREATE INDEX deliveries_slot ON deliveries (slot, state, unknown);

