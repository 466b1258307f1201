package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
)

// The aggregates of the answers, kept in the transaction that records them
// (the group commit's batch included): per chat and learner
// (chat_scores), per chat, week and learner (week_scores), per question
// (question_stats) and per quarter of an hour (answer_quarters). Every
// read of a score, a leaderboard or a statistic is a few rows of them by
// an index, never a scan of the answers.

// WeekOf returns the week that holds t in loc: weeks run from Monday 00:00
// to Sunday 24:00 local time, numbered from the week of 1970-01-01 (a
// Thursday). "This week" on a chat's leaderboard is WeekOf(now, its zone).
func WeekOf(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86_400
	return (days + 3) / 7
}

// weekFunction is WeekOf for SQL, lessonbot_week(unix_ms, zone), with
// which migration 0005 numbers the weeks of the answers stored before it.
// An unknown zone counts as UTC, as the tutor does.
func weekFunction(ctx *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	ms, ok := args[0].(int64)
	if !ok {
		return nil, fmt.Errorf("lessonbot_week: a time in unix milliseconds, not %T", args[0])
	}
	name, _ := args[1].(string)
	loc, ok := zoneCache.Load(name)
	if !ok {
		l, err := time.LoadLocation(name)
		if err != nil || name == "" || name == "Local" {
			l = time.UTC
		}
		loc, _ = zoneCache.LoadOrStore(name, l)
	}
	return WeekOf(time.UnixMilli(ms), loc.(*time.Location)), nil
}

// zoneCache holds the zones lessonbot_week has loaded, by name.
var zoneCache sync.Map

func init() {
	sqlite.MustRegisterDeterministicScalarFunction("lessonbot_week", 2, weekFunction)
}

// quarterOf numbers the quarter of an hour that holds ms.
func quarterOf(ms int64) int64 { return ms / 900_000 }

// tally is what an aggregate row adds up.
type tally struct {
	answered, correct int
	last              int64 // unix ms of the latest answer
}

func (t *tally) add(a Answer) {
	t.answered++
	if a.Correct {
		t.correct++
	}
	t.last = max(t.last, a.At.UnixMilli())
}

// counts are the aggregates of some answers by key: what a batch adds to
// the tables, or all of them when migration 0005 builds the tables.
type counts struct {
	chats     map[chatKey]*tally
	weeks     map[weekRow]*tally
	questions map[questionKey]*tally
	quarters  map[int64]*tally
}

// chatKey is a row of chat_scores.
type chatKey struct {
	chat    string
	learner int64
}

// questionKey is a row of question_stats.
type questionKey struct{ key, lesson string }

func newCounts() *counts {
	return &counts{chats: map[chatKey]*tally{}, weeks: map[weekRow]*tally{},
		questions: map[questionKey]*tally{}, quarters: map[int64]*tally{}}
}

// add counts a.
func (c *counts) add(a Answer) {
	tallyOf(c.chats, chatKey{a.Chat, a.LearnerID}).add(a)
	tallyOf(c.weeks, weekRow{a.Chat, a.week(), a.LearnerID}).add(a)
	tallyOf(c.questions, questionKey{a.QuestionKey, a.LessonID}).add(a)
	tallyOf(c.quarters, quarterOf(a.At.UnixMilli())).add(a)
}

// write adds the counts to the aggregate tables in tx: a multi-row upsert
// per table, in statements of up to perStatement rows, each prepared by
// prepare. The rows go in key order, so that the index pages are written
// in order.
func (c *counts) write(ctx context.Context, tx *sql.Tx, prepare func(query string) (*sql.Stmt, error), perStatement int) error {
	var rows [][]any
	for k, t := range c.chats {
		rows = append(rows, []any{k.chat, k.learner, t.answered, t.correct, t.last})
	}
	if err := upsertRows(ctx, prepare, perStatement, `INSERT INTO chat_scores (chat, learner_id, answered, correct, last_at) VALUES `, 5,
		` ON CONFLICT (chat, learner_id) DO UPDATE SET answered = chat_scores.answered + excluded.answered,
			correct = chat_scores.correct + excluded.correct, last_at = max(chat_scores.last_at, excluded.last_at)`, rows); err != nil {
		return fmt.Errorf("chat scores: %w", err)
	}
	rows = rows[:0]
	for k, t := range c.weeks {
		rows = append(rows, []any{k.chat, k.week, k.learner, t.answered, t.correct, t.last})
	}
	if err := upsertRows(ctx, prepare, perStatement, `INSERT INTO week_scores (chat, week, learner_id, answered, correct, last_at) VALUES `, 6,
		` ON CONFLICT (chat, week, learner_id) DO UPDATE SET answered = week_scores.answered + excluded.answered,
			correct = week_scores.correct + excluded.correct, last_at = max(week_scores.last_at, excluded.last_at)`, rows); err != nil {
		return fmt.Errorf("week scores: %w", err)
	}
	rows = rows[:0]
	for k, t := range c.questions {
		rows = append(rows, []any{k.key, k.lesson, t.answered, t.correct})
	}
	if err := upsertRows(ctx, prepare, perStatement, `INSERT INTO question_stats (question_key, lesson_id, answered, correct) VALUES `, 4,
		` ON CONFLICT (question_key) DO UPDATE SET answered = question_stats.answered + excluded.answered,
			correct = question_stats.correct + excluded.correct`, rows); err != nil {
		return fmt.Errorf("question stats: %w", err)
	}
	rows = rows[:0]
	for q, t := range c.quarters {
		rows = append(rows, []any{q, t.answered, t.correct})
	}
	if err := upsertRows(ctx, prepare, perStatement, `INSERT INTO answer_quarters (quarter, answered, correct) VALUES `, 3,
		` ON CONFLICT (quarter) DO UPDATE SET answered = answer_quarters.answered + excluded.answered,
			correct = answer_quarters.correct + excluded.correct`, rows); err != nil {
		return fmt.Errorf("answer quarters: %w", err)
	}
	return nil
}

// addAggregates adds the answers (each stored for the first time) to the
// aggregates, inside tx: the batch's totals by key, a multi-row upsert per
// aggregate with statements the store keeps prepared. about is what
// answerContext read of their chats before they were written.
func (s *Store) addAggregates(ctx context.Context, tx *sql.Tx, answers []Answer, about answerContext) error {
	if len(answers) == 0 {
		return nil
	}
	c := newCounts()
	for _, a := range answers {
		c.add(a)
	}
	prepare := func(query string) (*sql.Stmt, error) { return s.txStmt(ctx, tx, query) }
	if err := c.write(ctx, tx, prepare, maxRowsPerStatement); err != nil {
		return err
	}
	return addDashboard(ctx, tx, prepare, answers, about)
}

// buildAggregates fills the empty aggregate tables from every answer
// stored, in one pass over the answers in the order they are stored (the
// hook of migration 0005: far faster than grouping them in SQL, which
// reads the table in the order of an index, a page per row).
func buildAggregates(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT chat, learner_id, lesson_id, question_key, correct, answered_at, week FROM answers`)
	if err != nil {
		return fmt.Errorf("build the aggregates: %w", err)
	}
	c := newCounts()
	var (
		a  Answer
		ms int64
	)
	for rows.Next() {
		if err := rows.Scan(&a.Chat, &a.LearnerID, &a.LessonID, &a.QuestionKey, &a.Correct, &ms, &a.Week); err != nil {
			rows.Close()
			return fmt.Errorf("build the aggregates: %w", err)
		}
		a.At = time.UnixMilli(ms)
		c.add(a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("build the aggregates: %w", err)
	}
	prepared := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range prepared {
			st.Close()
		}
	}()
	prepare := func(query string) (*sql.Stmt, error) {
		if st := prepared[query]; st != nil {
			return st, nil
		}
		st, err := tx.PrepareContext(ctx, query)
		if err == nil {
			prepared[query] = st
		}
		return st, err
	}
	if err := c.write(ctx, tx, prepare, 500); err != nil {
		return fmt.Errorf("build the aggregates: %w", err)
	}
	return nil
}

func tallyOf[K comparable](m map[K]*tally, k K) *tally {
	t := m[k]
	if t == nil {
		t = &tally{}
		m[k] = t
	}
	return t
}

// upsertRows runs head + "(?, ...), ..." + tail with rows, in statements of
// up to perStatement rows, each prepared by prepare. The rows are sorted
// first, so that the statements write the index pages in order.
func upsertRows(ctx context.Context, prepare func(string) (*sql.Stmt, error), perStatement int,
	head string, width int, tail string, rows [][]any) error {
	slices.SortFunc(rows, compareRow)
	one := "(?" + strings.Repeat(", ?", width-1) + ")"
	args := make([]any, 0, width*min(len(rows), perStatement))
	for chunk := range slices.Chunk(rows, perStatement) {
		st, err := prepare(head + one + strings.Repeat(", "+one, len(chunk)-1) + tail)
		if err != nil {
			return err
		}
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// compareRow orders rows by their key columns as the indexes do.
func compareRow(a, b []any) int {
	for i := range min(len(a), len(b)) {
		switch x := a[i].(type) {
		case string:
			if c := strings.Compare(x, b[i].(string)); c != 0 {
				return c
			}
		case int64:
			y := b[i].(int64)
			if x != y {
				if x < y {
					return -1
				}
				return 1
			}
		default:
			return 0
		}
	}
	return 0
}

// weekRow is a row of week_scores.
type weekRow struct {
	chat    string
	week    int64
	learner int64
}

// maxReported bounds the differences CheckAggregates reports per aggregate.
const maxReported = 5

// aggregateCheck is one aggregate as CheckAggregates compares it: the
// rows stored and the rows a recount finds, each a query of the same
// columns. build, when set, is the INSERT that the recount's rows fill the
// empty table with (SeedDashboard builds its aggregates that way).
type aggregateCheck struct {
	name, stored, recount, build string
}

// aggregateChecks are the aggregates CheckAggregates recounts.
func aggregateChecks() []aggregateCheck {
	// The UTC week of an answer, as utcWeekOfMs.
	const answerWeek = `(answered_at / 86400000 + 3) / 7`
	// The bucket of a delay, as bucketOf.
	bucket := func(v string) string { return `(SELECT max(lo) FROM delay_buckets WHERE lo <= ` + v + `)` }
	// The recounts that group whole tables read them in their own order
	// (NOT INDEXED) and sort: walking an index that does not hold every
	// column counted costs a random read of the table per row, which on
	// millions of rows is many times slower.
	return []aggregateCheck{
		{"chat_scores", `SELECT chat, learner_id, answered, correct, last_at FROM chat_scores`,
			`SELECT chat, learner_id, count(*), sum(correct), max(answered_at) FROM answers NOT INDEXED GROUP BY chat, learner_id`,
			`INSERT INTO chat_scores (chat, learner_id, answered, correct, last_at) `},
		{"week_scores", `SELECT chat, week, learner_id, answered, correct, last_at FROM week_scores`,
			`SELECT chat, week, learner_id, count(*), sum(correct), max(answered_at) FROM answers NOT INDEXED GROUP BY chat, week, learner_id`,
			`INSERT INTO week_scores (chat, week, learner_id, answered, correct, last_at) `},
		{"question_stats", `SELECT question_key, lesson_id, answered, correct FROM question_stats`,
			`SELECT question_key, min(lesson_id), count(*), sum(correct) FROM answers NOT INDEXED GROUP BY question_key`,
			`INSERT INTO question_stats (question_key, lesson_id, answered, correct) `},
		{"answer_quarters", `SELECT quarter, answered, correct FROM answer_quarters`,
			`SELECT answered_at / 900000, count(*), sum(correct) FROM answers NOT INDEXED GROUP BY 1`,
			`INSERT INTO answer_quarters (quarter, answered, correct) `},
		{"chat_counts", `SELECT platform, kind, active FROM chat_counts WHERE active != 0`,
			`SELECT platform, kind, count(*) FROM subscriptions WHERE active = 1 GROUP BY 1, 2`,
			`INSERT INTO chat_counts (platform, kind, active) `},
		{"question_choices", `SELECT question_key, choice, answered, correct FROM question_choices WHERE answered != 0`,
			`SELECT question_key, choice, count(*), sum(correct) FROM answers NOT INDEXED GROUP BY 1, 2`,
			`INSERT INTO question_choices (question_key, choice, answered, correct) `},
		{"lesson_delays", `SELECT lesson_id, lo, answers FROM lesson_delays WHERE answers != 0`,
			`SELECT lesson_id, ` + bucket("delay") + `, count(*) FROM answers NOT INDEXED WHERE delay IS NOT NULL GROUP BY 1, 2`,
			`INSERT INTO lesson_delays (lesson_id, lo, answers) `},
		// The index by chat and time holds both columns, in order.
		{"chat_weeks", `SELECT chat, week FROM chat_weeks`,
			`SELECT DISTINCT chat, ` + answerWeek + ` FROM answers INDEXED BY answers_chat_time`,
			`INSERT INTO chat_weeks (chat, week) `},
		{"cohorts", `SELECT cohort, chats FROM cohorts WHERE chats != 0`,
			`SELECT cohort, count(*) FROM subscriptions WHERE cohort IS NOT NULL GROUP BY 1`,
			`INSERT INTO cohorts (cohort, chats) `},
		{"cohort_weeks", `SELECT cohort, week, chats FROM cohort_weeks WHERE chats != 0`,
			`SELECT s.cohort, w.week, count(*) FROM subscriptions s
				JOIN (SELECT DISTINCT chat, ` + answerWeek + ` AS week FROM answers INDEXED BY answers_chat_time) w
					ON w.chat = ` + chatKeySQL + ` AND w.week >= s.cohort
				WHERE s.cohort IS NOT NULL GROUP BY 1, 2`,
			`INSERT INTO cohort_weeks (cohort, week, chats) `},
		// No row is kept of each change, so the changes are checked
		// against what they add up to: the chats subscribed now.
		{"chat_changes (added up by platform)",
			`SELECT platform, sum(CASE change WHEN 'subscribed' THEN chats ELSE -chats END) FROM chat_changes
				GROUP BY platform HAVING sum(CASE change WHEN 'subscribed' THEN chats ELSE -chats END) != 0`,
			`SELECT platform, count(*) FROM subscriptions WHERE active = 1 GROUP BY 1`, ""},
		// The index by slot holds every column counted.
		{"delivery_quarters", `SELECT quarter, state, deliveries, unknown FROM delivery_quarters WHERE deliveries != 0 OR unknown != 0`,
			`SELECT slot / 900, state, count(*), sum(unknown) FROM deliveries INDEXED BY deliveries_slot
				WHERE state IN ` + finalStates + ` GROUP BY 1, 2`,
			`INSERT INTO delivery_quarters (quarter, state, deliveries, unknown) `},
		{"lesson_deliveries", `SELECT lesson_id, state, deliveries FROM lesson_deliveries WHERE deliveries != 0`,
			`SELECT lesson_id, state, count(*) FROM deliveries NOT INDEXED
				WHERE lesson_id IS NOT NULL AND state IN ` + finalStates + ` GROUP BY 1, 2`,
			`INSERT INTO lesson_deliveries (lesson_id, state, deliveries) `},
		{"delivery_lateness", `SELECT quarter, lo, deliveries FROM delivery_lateness WHERE deliveries != 0`,
			`SELECT slot / 900, ` + bucket("max(0, first_sent_at - slot)") + `, count(*) FROM deliveries NOT INDEXED
				WHERE first_sent_at IS NOT NULL GROUP BY 1, 2`,
			`INSERT INTO delivery_lateness (quarter, lo, deliveries) `},
		{"delivery_lateness_hours", `SELECT hour, lo, deliveries FROM delivery_lateness_hours WHERE deliveries != 0`,
			`SELECT slot / 3600, ` + bucket("max(0, first_sent_at - slot)") + `, count(*) FROM deliveries NOT INDEXED
				WHERE first_sent_at IS NOT NULL GROUP BY 1, 2`,
			`INSERT INTO delivery_lateness_hours (hour, lo, deliveries) `},
		{"word_items", `SELECT lesson_id, term, items, missed FROM word_items WHERE items != 0`,
			`SELECT lesson_id, term, count(*), count(*) FILTER (WHERE source = 'missed') FROM review_items NOT INDEXED GROUP BY 1, 2`,
			`INSERT INTO word_items (lesson_id, term, items, missed) `},
	}
}

// CheckAggregates recounts every aggregate from what it counts (the
// answers, the subscriptions, the deliveries, the review items) and
// returns one line per difference with what is stored, at most a few per
// aggregate and then how many more; none when they all agree. It only
// reads: lessonbot db check runs it on a database a running lessonbot
// serves. The rate limits (RecordRateLimited) are kept nowhere else, and
// are not checked.
func (s *Store) CheckAggregates(ctx context.Context) ([]string, error) {
	var problems []string
	for _, c := range aggregateChecks() {
		for _, way := range []struct{ a, b, says string }{
			{c.stored, c.recount, "stored row does not match a recount:"},
			{c.recount, c.stored, "recounted row is not stored:"},
		} {
			found, err := s.differences(ctx, way.a+` EXCEPT `+way.b)
			if err != nil {
				return nil, fmt.Errorf("store: check %s: %w", c.name, err)
			}
			problems = append(problems, report(c.name, way.says, found)...)
		}
	}
	return problems, nil
}

// differences runs a query of differences and writes each row found.
func (s *Store) differences(ctx context.Context, query string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprint(vals))
	}
	return out, rows.Err()
}

// report writes the differences of one aggregate found one way.
func report(name, says string, found []string) []string {
	var out []string
	for i, f := range found {
		if i == maxReported {
			out = append(out, fmt.Sprintf("%s: and %d more like these", name, len(found)-i))
			break
		}
		out = append(out, fmt.Sprintf("%s: %s %s", name, says, f))
	}
	return out
}
