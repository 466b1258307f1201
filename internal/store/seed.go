package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// SeedOptions shape the history SeedDashboard writes. The zero value of a
// field takes its default.
type SeedOptions struct {
	// Chats is how many chats the bot knows (100,000): three in four on
	// Telegram (private chats, groups and a few channels), the others on
	// Discord (channels, a few direct messages). 85% are subscribed, 7%
	// went (the bot was blocked or removed), 6% unsubscribed and 2% only
	// ever asked for a lesson on demand.
	Chats int
	// Answers is how many answers the learners gave (1,000,000), each
	// some time after its delivery's first message; fewer when the
	// deliveries sent cannot hold that many (three questions each, one
	// learner in a private chat and up to five in a group).
	Answers int
	// SubscribeDays is the span over which the chats first subscribed
	// (90), and Days the span of the deliveries before Now (30): one a
	// day for each subscribed chat, at its hour. The answers come in
	// those days only, so the cohorts of the weeks before them show no
	// answers in their first weeks.
	SubscribeDays, Days int
	// Lessons are the lessons delivered, one a day in a chat, so at
	// least Days of them (40 lessons "seed-00".."seed-39" of 3 questions
	// with 4 choices, each about a word "word-L-Q"). Tests that show the
	// data through a lesson library pass its lessons here.
	Lessons []SeedLesson
	// Now is the end of the history (2026-03-18 12:00 UTC, a Wednesday).
	Now time.Time
}

// SeedLesson is a lesson SeedDashboard delivers and whose questions it
// has answered.
type SeedLesson struct {
	ID        string
	Questions []SeedQuestion
}

// SeedQuestion is a question of a SeedLesson.
type SeedQuestion struct {
	// Key is the question's key (quiz.Question.Key).
	Key string
	// Choices is how many choices it has (at least 2), and Right the
	// index of the right one.
	Choices, Right int
	// Term is the word it asks about, which wrong answers put in the
	// learner's review; "" for none.
	Term string
}

// withDefaults fills the zero fields of o.
func (o SeedOptions) withDefaults() SeedOptions {
	if o.Chats == 0 {
		o.Chats = 100_000
	}
	if o.Answers == 0 {
		o.Answers = 1_000_000
	}
	if o.SubscribeDays == 0 {
		o.SubscribeDays = 90
	}
	if o.Days == 0 {
		o.Days = 30
	}
	if o.Now.IsZero() {
		o.Now = time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)
	}
	if len(o.Lessons) == 0 {
		for l := range 40 {
			lesson := SeedLesson{ID: fmt.Sprintf("seed-%02d", l)}
			for q := range 3 {
				lesson.Questions = append(lesson.Questions, SeedQuestion{Key: fmt.Sprintf("seed-%02d:%d", l, q),
					Choices: 4, Right: (l + q) % 4, Term: fmt.Sprintf("word-%d-%d", l, q)})
			}
			o.Lessons = append(o.Lessons, lesson)
		}
	}
	return o
}

// seedVersion names what SeedDashboard writes: change it whenever the
// generator changes, so that SeededFile builds its files again.
const seedVersion = "s1"

// SeededFile returns the path of a database that SeedDashboard filled
// with opt, built on first use and kept in the system's temporary folder
// (lessonbot-bench, named after the options, the schema and the
// generator), so that benchmarks and tests of other packages share one.
// Open it to read it; copy it first to write to it.
func SeededFile(ctx context.Context, opt SeedOptions) (string, error) {
	opt = opt.withDefaults()
	ms, err := migrations()
	if err != nil {
		return "", fmt.Errorf("store: seeded file: %w", err)
	}
	h := sha256.New()
	for _, m := range ms {
		io.WriteString(h, m.sql)
	}
	fmt.Fprintf(h, "%d %d %d %d %d %v", opt.Chats, opt.Answers, opt.SubscribeDays, opt.Days, opt.Now.Unix(), opt.Lessons)
	dir := filepath.Join(os.TempDir(), "lessonbot-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("store: seeded file: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("dashboard-%s-%dx%d-%x.db", seedVersion, opt.Chats, opt.Answers, h.Sum(nil)[:6]))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp := fmt.Sprintf("%s.building-%d", path, os.Getpid())
	defer func() {
		for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
			os.Remove(p)
		}
	}()
	s, err := Open(ctx, tmp)
	if err != nil {
		return "", err
	}
	err = SeedDashboard(ctx, s, opt)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("store: seeded file: %w", err)
	}
	return path, nil
}

// SeedDashboard fills an empty store with the history opt describes, for
// the dashboard's tests and benchmarks: chats, learners, deliveries,
// answers, review items and rate limits, written with plain multi-row
// SQL, then every aggregate built from them (as the migrations and db
// check count them) in the same transaction. The history is the same for
// the same options. It refuses a store that has chats or answers.
func SeedDashboard(ctx context.Context, s *Store, opt SeedOptions) error {
	if s.pg() {
		return errors.New("store: seed: the dashboard seed writes SQLite files only")
	}
	opt = opt.withDefaults()
	if len(opt.Lessons) < opt.Days {
		return fmt.Errorf("store: seed: %d lessons for %d days: a chat gets each lesson once", len(opt.Lessons), opt.Days)
	}
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	defer s.unlockWrite()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	defer conn.Close()
	// A large page cache for the one transaction that writes it all: with
	// the default 2 MB, SQLite spills dirty pages to the WAL over and over.
	if _, err := conn.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA cache_size = -2000`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	defer tx.Rollback()
	var used int
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM subscriptions) + (SELECT count(*) FROM answers)`).Scan(&used); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	if used > 0 {
		return errors.New("store: seed: the store has chats or answers already")
	}
	if err := seed(ctx, tx, opt); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	return nil
}

// seedHash is a hash of x in SQL, in [0, 2^32): Knuth's multiplicative.
func seedHash(x string) string { return `((` + x + `) * 2654435761 % 4294967296)` }

// seed writes the history inside tx.
func seed(ctx context.Context, tx *sql.Tx, opt SeedOptions) error {
	exec := func(query string, args ...any) error {
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("%.60s: %w", query, err)
		}
		return nil
	}
	// The triggers and the indexes of the large tables go while the rows
	// are written, and come back after: the aggregates are built whole
	// at the end, and an index built at once is sorted once.
	var restore []string
	rows, err := tx.QueryContext(ctx, `SELECT name, type, sql FROM sqlite_schema
		WHERE sql IS NOT NULL AND (type = 'trigger' OR (type = 'index' AND tbl_name IN ('answers', 'deliveries', 'review_items')))`)
	if err != nil {
		return err
	}
	var drops []string
	for rows.Next() {
		var name, kind, text string
		if err := rows.Scan(&name, &kind, &text); err != nil {
			rows.Close()
			return err
		}
		drops = append(drops, `DROP `+kind+` "`+name+`"`)
		restore = append(restore, text)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, d := range drops {
		if err := exec(d); err != nil {
			return err
		}
	}

	now := opt.Now.Unix()
	today := now - now%86_400
	if err := seedTables(exec, opt); err != nil {
		return err
	}
	h := seedHash
	steps := []struct {
		query string
		args  []any
	}{
		// Chats: chat i (from 1) first subscribed at created_at, spread
		// over SubscribeDays; the inactive left at updated_at.
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?),
			c AS (SELECT i, ` + h("i") + ` AS h1, ` + h("i * 7 + 3") + ` AS h2, ` + h("i * 13 + 5") + ` AS h3,
				? + (i - 1) * ? / ? + ` + h("i * 17 + 1") + ` % 3600 AS created FROM n),
			p AS (SELECT *, CASE WHEN h1 % 100 < 75 THEN 'telegram' ELSE 'discord' END AS platform,
				CASE WHEN h1 % 100 < 75 THEN (CASE WHEN h2 % 100 < 60 THEN 'private' WHEN h2 % 100 < 95 THEN 'group' ELSE 'channel' END)
					ELSE (CASE WHEN h2 % 100 < 20 THEN 'private' ELSE 'channel' END) END AS kind,
				CASE WHEN h3 % 100 < 85 THEN 'on' WHEN h3 % 100 < 92 THEN 'gone' WHEN h3 % 100 < 98 THEN 'off' ELSE 'never' END AS fate
				FROM c)
			INSERT INTO subscriptions (id, platform, chat_id, thread_id, kind, hour, minute, zone, weekdays, language, active,
				created_by, created_at, updated_at, gone, cohort)
			SELECT i, platform,
				CASE WHEN platform = 'discord' THEN '9' || (100000000 + i) WHEN kind = 'private' THEN '' || (100000 + i)
					ELSE '-100' || (100000000 + i) END,
				'', kind, 6 + h2 / 100 % 15, h2 / 1500 % 4 * 15, z.zone, 127, 'en', fate = 'on',
				CASE WHEN kind = 'private' THEN '' || (100000 + i) ELSE 'u' || i END, created,
				CASE WHEN fate IN ('gone', 'off') THEN created + (? - created) * (h3 / 100 % 100) / 100 ELSE created END,
				fate = 'gone', CASE WHEN fate = 'never' THEN NULL ELSE (created / 86400 + 3) / 7 END
			FROM p JOIN seed_zones z ON z.idx = p.h1 / 100 % 8 WHERE true`,
			[]any{opt.Chats, now - int64(opt.SubscribeDays)*86_400, int64(opt.SubscribeDays) * 86_400, opt.Chats, now}},
		{`INSERT INTO chat_changes (quarter, platform, change, chats)
			SELECT q, platform, change, count(*) FROM (
				SELECT created_at / 900 AS q, platform, 'subscribed' AS change FROM subscriptions WHERE cohort IS NOT NULL
				UNION ALL
				SELECT updated_at / 900, platform, CASE gone WHEN 1 THEN 'gone' ELSE 'unsubscribed' END FROM subscriptions
				WHERE cohort IS NOT NULL AND active = 0)
			GROUP BY 1, 2, 3`, nil},
		// Learners: one in a private chat, five in a group or channel.
		{`WITH k(k) AS (VALUES (0), (1), (2), (3), (4))
			INSERT INTO learners (id, platform, user_id, name, created_at)
			SELECT s.id * 5 + k.k, s.platform, 'u' || (s.id * 5 + k.k), 'Learner ' || (s.id * 5 + k.k), s.created_at
			FROM subscriptions s CROSS JOIN k WHERE s.kind != 'private' OR k.k = 0`, nil},
		// Deliveries: one a day at the chat's hour while it was
		// subscribed, the lesson of the day in its own order. The
		// lateness of the first message: 0-4 s for half, up to a minute
		// for a third, up to 10 minutes, rarely up to an hour.
		{`WITH RECURSIVE d(d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM d WHERE d < ? - 1),
			x AS (SELECT s.id AS sub, d.d, l.lesson_id,
					? - (? - 1 - d.d) * 86400 + s.hour * 3600 + s.minute * 60 - z.utc_offset AS slot,
					` + h("s.id * 31 + d.d") + ` % 1000 AS fate, ` + h("s.id * 17 + d.d") + ` % 100 AS late,
					s.created_at, s.updated_at, s.active
				FROM subscriptions s CROSS JOIN d JOIN seed_zones z ON z.zone = s.zone
				JOIN seed_lessons l ON l.idx = (d.d + ` + h("s.id") + `) % ?
				WHERE s.cohort IS NOT NULL),
			y AS (SELECT *, CASE WHEN late < 50 THEN late % 5 WHEN late < 85 THEN 5 + late * 7 % 55
					WHEN late < 97 THEN 60 + late * 131 % 540 ELSE 600 + late * 997 % 3000 END AS lateness,
				CASE WHEN slot > ? THEN 'pending' WHEN fate < 930 THEN 'sent' WHEN fate < 950 THEN 'failed'
					WHEN fate < 965 THEN 'unknown' WHEN fate < 975 THEN 'exhausted' ELSE 'uncertain' END AS state
				FROM x WHERE slot >= created_at AND (active = 1 OR slot < updated_at))
			INSERT INTO deliveries (subscription_id, kind, lesson_id, slot, state, attempts, message_ids, last_error,
				created_at, updated_at, due_at, unknown, first_sent_at)
			SELECT sub, 'lesson', CASE WHEN state = 'exhausted' THEN NULL ELSE lesson_id END, slot,
				CASE state WHEN 'uncertain' THEN 'sent' ELSE state END, state != 'pending',
				CASE state WHEN 'sent' THEN '["1","2","3","4"]' WHEN 'uncertain' THEN '["1","2","3",null]'
					WHEN 'unknown' THEN '[null]' ELSE '[]' END,
				CASE state WHEN 'failed' THEN 'refused' ELSE '' END,
				slot, CASE WHEN state = 'pending' THEN slot ELSE slot + lateness END, slot, state IN ('unknown', 'uncertain'),
				CASE WHEN state IN ('sent', 'uncertain') THEN slot + lateness END
			FROM y`,
			[]any{opt.Days, today, opt.Days, len(opt.Lessons), now}},
	}
	for _, st := range steps {
		if err := exec(st.query, st.args...); err != nil {
			return err
		}
	}
	if err := seedAnswers(ctx, tx, exec, opt); err != nil {
		return err
	}
	// Review items of the words missed; a few 429s a day.
	steps = []struct {
		query string
		args  []any
	}{
		{`INSERT OR IGNORE INTO review_items (learner_id, lesson_id, term, source, state, due, added_at)
			SELECT a.learner_id, a.lesson_id, q.term, 'missed', 'new', a.answered_at / 86400000, a.answered_at / 1000
			FROM answers a JOIN seed_questions q ON q.key = a.question_key WHERE a.correct = 0 AND q.term != ''`, nil},
		{`WITH RECURSIVE r(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM r WHERE k < ? * 12 - 1)
			INSERT INTO rate_limits (quarter, platform, hits, retry_after_ms)
			SELECT (? - ` + h("k") + ` % (? * 86400)) / 900 AS q, CASE k % 3 WHEN 0 THEN 'discord' ELSE 'telegram' END,
				1 + k % 4, 1000 * (1 + ` + h("k + 1") + ` % 30)
			FROM r WHERE true ON CONFLICT (quarter, platform) DO UPDATE SET hits = rate_limits.hits + excluded.hits,
				retry_after_ms = rate_limits.retry_after_ms + excluded.retry_after_ms`, []any{opt.Days, now, opt.Days}},
	}
	for _, st := range steps {
		if err := exec(st.query, st.args...); err != nil {
			return err
		}
	}
	for _, text := range restore {
		if !isTrigger(text) {
			if err := exec(text); err != nil {
				return err
			}
		}
	}
	// The aggregates, as db check counts them.
	for _, c := range aggregateChecks() {
		query := c.build + c.recount
		if c.name == "delivery_lateness_hours" {
			// The same counts, added up from the quarters: four times
			// faster than reading the deliveries again.
			query = c.build + `SELECT quarter / 4, lo, sum(deliveries) FROM delivery_lateness GROUP BY 1, 2`
		}
		if c.build != "" {
			if err := exec(query); err != nil {
				return err
			}
		}
	}
	for _, text := range restore {
		if isTrigger(text) {
			if err := exec(text); err != nil {
				return err
			}
		}
	}
	for _, t := range []string{"seed_zones", "seed_lessons", "seed_questions"} {
		if err := exec(`DROP TABLE temp.` + t); err != nil {
			return err
		}
	}
	return nil
}

// isTrigger tells a CREATE TRIGGER from a CREATE INDEX.
func isTrigger(ddl string) bool {
	return len(ddl) > 14 && ddl[:14] == "CREATE TRIGGER"
}

// seedTables writes the zones and lessons the generator draws from into
// temporary tables.
func seedTables(exec func(string, ...any) error, opt SeedOptions) error {
	if err := exec(`CREATE TEMP TABLE seed_zones (idx INTEGER PRIMARY KEY, zone TEXT NOT NULL UNIQUE, utc_offset INTEGER NOT NULL)`); err != nil {
		return err
	}
	// Their offsets in winter: the slots ignore daylight saving time.
	if err := exec(`INSERT INTO seed_zones (idx, zone, utc_offset) VALUES (0, 'UTC', 0), (1, 'Europe/Paris', 3600),
		(2, 'Europe/London', 0), (3, 'America/New_York', -18000), (4, 'America/Sao_Paulo', -10800),
		(5, 'Asia/Kolkata', 19800), (6, 'Asia/Kathmandu', 20700), (7, 'Asia/Tokyo', 32400)`); err != nil {
		return err
	}
	if err := exec(`CREATE TEMP TABLE seed_lessons (idx INTEGER PRIMARY KEY, lesson_id TEXT NOT NULL, questions INTEGER NOT NULL)`); err != nil {
		return err
	}
	if err := exec(`CREATE TEMP TABLE seed_questions (lesson_id TEXT NOT NULL, q INTEGER NOT NULL, key TEXT NOT NULL UNIQUE,
		choices INTEGER NOT NULL, right INTEGER NOT NULL, term TEXT NOT NULL, accuracy INTEGER NOT NULL, PRIMARY KEY (lesson_id, q))`); err != nil {
		return err
	}
	for i, l := range opt.Lessons {
		if len(l.Questions) == 0 {
			return fmt.Errorf("lesson %s has no question", l.ID)
		}
		if err := exec(`INSERT INTO seed_lessons (idx, lesson_id, questions) VALUES (?, ?, ?)`, i, l.ID, len(l.Questions)); err != nil {
			return err
		}
		for j, q := range l.Questions {
			// Each question has its accuracy, 35% to 95%.
			if err := exec(`INSERT INTO seed_questions (lesson_id, q, key, choices, right, term, accuracy) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				l.ID, j, q.Key, max(2, q.Choices), q.Right, q.Term, 35+(i*37+j*11)%61); err != nil {
				return err
			}
		}
	}
	return nil
}

// seedAnswers writes the answers: the learners of a chat answer the
// questions of some of its deliveries sent, chosen by a hash so that
// they spread over chats and days, each some time after the first
// message (half within 5 minutes, most within 2 hours, the rest within
// 20) and not after Now. A wrong answer is the choice after the right one
// six times in ten.
func seedAnswers(ctx context.Context, tx *sql.Tx, exec func(string, ...any) error, opt SeedOptions) error {
	// How many answers the deliveries sent hold: their questions times
	// their chats' learners.
	var capacity float64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(CASE s.kind WHEN 'private' THEN 1 ELSE 5 END * l.questions), 0)
		FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id JOIN seed_lessons l ON l.lesson_id = d.lesson_id
		WHERE d.state = 'sent'`).Scan(&capacity); err != nil {
		return err
	}
	if capacity == 0 {
		return nil
	}
	// Of the (delivery, learner) pairs, those whose hash falls below
	// share answer: a few more than needed, for those after Now; a random
	// draw of the surplus (by a hash) goes after.
	share := min(10_000, int64(float64(opt.Answers)/capacity*10_000*1.06)+1)
	h := seedHash
	err := exec(`WITH k(k) AS (VALUES (0), (1), (2), (3), (4)),
		p AS (SELECT d.id, d.lesson_id, d.first_sent_at AS start, s.id * 5 + k.k AS learner,
				s.platform || ':' || s.chat_id AS chat, s.zone, `+h("d.id * 5 + k.k")+` AS h
			FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id CROSS JOIN k
			WHERE d.state = 'sent' AND d.lesson_id IS NOT NULL AND (s.kind != 'private' OR k.k = 0)
				AND `+h("d.id * 5 + k.k")+` % 10000 < ?),
		a AS (SELECT p.*, q.key, q.choices, q.right, q.accuracy, `+h("p.h + q.q")+` AS g,
				p.start * 1000 + CASE WHEN p.h % 10 < 5 THEN 10000 + p.h % 290000
					WHEN p.h % 10 < 8 THEN 300000 + p.h % 6900000 ELSE 7200000 + p.h % 64800000 END + q.q * 20000 AS at
			FROM p JOIN seed_questions q ON q.lesson_id = p.lesson_id)
		INSERT INTO answers (learner_id, chat, lesson_id, question_key, choice, correct, answered_at, week, delay)
		SELECT learner, chat, lesson_id, key,
			CASE WHEN g % 100 < accuracy THEN right WHEN g / 100 % 10 < 6 THEN (right + 1) % choices
				ELSE (right + 1 + g / 1000 % (choices - 1)) % choices END,
			g % 100 < accuracy, at, lessonbot_week(at, zone), at / 1000 - start
		FROM a WHERE at <= ?`,
		share, opt.Now.UnixMilli())
	if err != nil {
		return err
	}
	return exec(`DELETE FROM answers WHERE id IN (SELECT id FROM answers ORDER BY `+h("id")+`, id
		LIMIT max(0, (SELECT max(id) FROM answers) - ?))`, opt.Answers)
}
