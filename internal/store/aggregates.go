package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
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

// addAggregates adds the answers (each stored for the first time) to the
// aggregates, inside tx: a multi-row upsert per aggregate, of the batch's
// totals by key.
func (s *Store) addAggregates(ctx context.Context, tx *sql.Tx, answers []Answer) error {
	if len(answers) == 0 {
		return nil
	}
	type chatKey struct {
		chat    string
		learner int64
	}
	type weekKey struct {
		chat    string
		week    int64
		learner int64
	}
	type questionKey struct{ key, lesson string }
	chats := map[chatKey]*tally{}
	weeks := map[weekKey]*tally{}
	questions := map[questionKey]*tally{}
	quarters := map[int64]*tally{}
	for _, a := range answers {
		ms := a.At.UnixMilli()
		week := a.Week
		if week == 0 {
			week = WeekOf(a.At, time.UTC)
		}
		for _, t := range []*tally{
			tallyOf(chats, chatKey{a.Chat, a.LearnerID}),
			tallyOf(weeks, weekKey{a.Chat, week, a.LearnerID}),
			tallyOf(questions, questionKey{a.QuestionKey, a.LessonID}),
			tallyOf(quarters, quarterOf(ms)),
		} {
			t.add(a)
		}
	}
	var rows [][]any
	for k, t := range chats {
		rows = append(rows, []any{k.chat, k.learner, t.answered, t.correct, t.last})
	}
	if err := s.upsertRows(ctx, tx, `INSERT INTO chat_scores (chat, learner_id, answered, correct, last_at) VALUES `, 5,
		` ON CONFLICT (chat, learner_id) DO UPDATE SET answered = answered + excluded.answered,
			correct = correct + excluded.correct, last_at = max(last_at, excluded.last_at)`, rows); err != nil {
		return fmt.Errorf("chat scores: %w", err)
	}
	rows = rows[:0]
	for k, t := range weeks {
		rows = append(rows, []any{k.chat, k.week, k.learner, t.answered, t.correct, t.last})
	}
	if err := s.upsertRows(ctx, tx, `INSERT INTO week_scores (chat, week, learner_id, answered, correct, last_at) VALUES `, 6,
		` ON CONFLICT (chat, week, learner_id) DO UPDATE SET answered = answered + excluded.answered,
			correct = correct + excluded.correct, last_at = max(last_at, excluded.last_at)`, rows); err != nil {
		return fmt.Errorf("week scores: %w", err)
	}
	rows = rows[:0]
	for k, t := range questions {
		rows = append(rows, []any{k.key, k.lesson, t.answered, t.correct})
	}
	if err := s.upsertRows(ctx, tx, `INSERT INTO question_stats (question_key, lesson_id, answered, correct) VALUES `, 4,
		` ON CONFLICT (question_key) DO UPDATE SET answered = answered + excluded.answered,
			correct = correct + excluded.correct`, rows); err != nil {
		return fmt.Errorf("question stats: %w", err)
	}
	rows = rows[:0]
	for q, t := range quarters {
		rows = append(rows, []any{q, t.answered, t.correct})
	}
	if err := s.upsertRows(ctx, tx, `INSERT INTO answer_quarters (quarter, answered, correct) VALUES `, 3,
		` ON CONFLICT (quarter) DO UPDATE SET answered = answered + excluded.answered,
			correct = correct + excluded.correct`, rows); err != nil {
		return fmt.Errorf("answer quarters: %w", err)
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
// up to maxRowsPerStatement rows, each prepared once per row count. The
// rows are sorted first, so that a batch writes the index pages in order.
func (s *Store) upsertRows(ctx context.Context, tx *sql.Tx, head string, width int, tail string, rows [][]any) error {
	slices.SortFunc(rows, func(a, b []any) int { return compareRow(a, b) })
	one := "(?" + strings.Repeat(", ?", width-1) + ")"
	for chunk := range slices.Chunk(rows, maxRowsPerStatement) {
		query := head + one + strings.Repeat(", "+one, len(chunk)-1) + tail
		st, err := s.txStmt(ctx, tx, query)
		if err != nil {
			return err
		}
		args := make([]any, 0, width*len(chunk))
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

// querier runs queries: a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// chatZones returns the time zone of each chat that has a row (only of
// chat, unless chat is ""), by its key (chat.Address.Key()); a chat
// without one counts in UTC, as the tutor does.
func chatZones(ctx context.Context, q querier, chat string) (map[string]*time.Location, error) {
	query, args := `SELECT platform, chat_id, thread_id, zone FROM subscriptions`, []any{}
	if chat != "" {
		query += ` WHERE platform || ':' || chat_id || CASE thread_id WHEN '' THEN '' ELSE ':' || thread_id END = ?
			AND platform = ? AND chat_id = ?`
		platform, rest, _ := strings.Cut(chat, ":")
		chatID, _, _ := strings.Cut(rest, ":")
		args = []any{chat, platform, chatID}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	zones := map[string]*time.Location{}
	byName := map[string]*time.Location{}
	for rows.Next() {
		var platform, chatID, thread, zone string
		if err := rows.Scan(&platform, &chatID, &thread, &zone); err != nil {
			return nil, err
		}
		loc, ok := byName[zone]
		if !ok {
			if loc, err = time.LoadLocation(zone); err != nil || zone == "" || zone == "Local" {
				loc = time.UTC
			}
			byName[zone] = loc
		}
		key := platform + ":" + chatID
		if thread != "" {
			key += ":" + thread
		}
		zones[key] = loc
	}
	return zones, rows.Err()
}

// weekRow is a row of week_scores.
type weekRow struct {
	chat    string
	week    int64
	learner int64
}

// countWeeks recounts week_scores from the answers (of chat only, unless
// chat is ""), each in its chat's time zone.
func countWeeks(ctx context.Context, q querier, chat string) (map[weekRow]*tally, error) {
	zones, err := chatZones(ctx, q, chat)
	if err != nil {
		return nil, err
	}
	query, args := `SELECT chat, learner_id, correct, answered_at FROM answers`, []any{}
	if chat != "" {
		query, args = query+` WHERE chat = ?`, []any{chat}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	weeks := map[weekRow]*tally{}
	var (
		key     string
		learner int64
		correct bool
		ms      int64
	)
	for rows.Next() {
		if err := rows.Scan(&key, &learner, &correct, &ms); err != nil {
			return nil, err
		}
		loc := zones[key]
		if loc == nil {
			loc = time.UTC
		}
		at := time.UnixMilli(ms)
		tallyOf(weeks, weekRow{key, WeekOf(at, loc), learner}).add(Answer{Correct: correct, At: at})
	}
	return weeks, rows.Err()
}

// rebuildWeeks replaces week_scores (of chat only, unless chat is "") with
// a recount in tx.
func rebuildWeeks(ctx context.Context, tx *sql.Tx, chat string) error {
	weeks, err := countWeeks(ctx, tx, chat)
	if err != nil {
		return fmt.Errorf("recount weeks: %w", err)
	}
	if chat == "" {
		_, err = tx.ExecContext(ctx, `DELETE FROM week_scores`)
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM week_scores WHERE chat = ?`, chat)
	}
	if err != nil {
		return fmt.Errorf("recount weeks: %w", err)
	}
	rows := make([][]any, 0, len(weeks))
	for k, t := range weeks {
		rows = append(rows, []any{k.chat, k.week, k.learner, t.answered, t.correct, t.last})
	}
	slices.SortFunc(rows, compareRow)
	one := "(?, ?, ?, ?, ?, ?)"
	for chunk := range slices.Chunk(rows, 500) {
		args := make([]any, 0, 6*len(chunk))
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO week_scores (chat, week, learner_id, answered, correct, last_at) VALUES `+
			one+strings.Repeat(", "+one, len(chunk)-1), args...); err != nil {
			return fmt.Errorf("recount weeks: %w", err)
		}
	}
	return nil
}

// RebuildWeeks recounts the weekly scores of chat (a chat.Address.Key())
// in its time zone as stored now: after a chat changes zone, its weeks
// start at its new midnight, past answers included.
func (s *Store) RebuildWeeks(ctx context.Context, chat string) error {
	var any int
	switch err := s.db.QueryRowContext(ctx, `SELECT 1 FROM answers WHERE chat = ? LIMIT 1`, chat).Scan(&any); {
	case errors.Is(err, sql.ErrNoRows):
		return nil // nothing to recount
	case err != nil:
		return fmt.Errorf("store: recount the weeks of %s: %w", chat, err)
	}
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("store: recount the weeks of %s: %w", chat, err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: recount the weeks of %s: %w", chat, err)
	}
	defer tx.Rollback()
	if err := rebuildWeeks(ctx, tx, chat); err != nil {
		return fmt.Errorf("store: recount the weeks of %s: %w", chat, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: recount the weeks of %s: %w", chat, err)
	}
	return nil
}

// maxReported bounds the differences CheckAggregates reports per aggregate.
const maxReported = 5

// CheckAggregates recounts every aggregate from what it counts (the
// answers, the subscriptions) and returns one line per difference with
// what is stored, at most a few per aggregate and then how many more; none
// when they all agree. It only reads: lessonbot db check runs it on a
// database a running lessonbot serves.
func (s *Store) CheckAggregates(ctx context.Context) ([]string, error) {
	var problems []string
	for _, c := range []struct {
		name, stored, recount string
	}{
		{"chat_scores", `SELECT chat, learner_id, answered, correct, last_at FROM chat_scores`,
			`SELECT chat, learner_id, count(*), sum(correct), max(answered_at) FROM answers GROUP BY chat, learner_id`},
		{"question_stats", `SELECT question_key, lesson_id, answered, correct FROM question_stats`,
			`SELECT question_key, min(lesson_id), count(*), sum(correct) FROM answers GROUP BY question_key`},
		{"answer_quarters", `SELECT quarter, answered, correct FROM answer_quarters`,
			`SELECT answered_at / 900000, count(*), sum(correct) FROM answers GROUP BY 1`},
		{"chat_counts", `SELECT platform, kind, active FROM chat_counts WHERE active != 0`,
			`SELECT platform, kind, count(*) FROM subscriptions WHERE active = 1 GROUP BY 1, 2`},
	} {
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
	weeks, err := countWeeks(ctx, s.db, "")
	if err != nil {
		return nil, fmt.Errorf("store: check week_scores: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT chat, week, learner_id, answered, correct, last_at FROM week_scores`)
	if err != nil {
		return nil, fmt.Errorf("store: check week_scores: %w", err)
	}
	var wrong []string
	for rows.Next() {
		var k weekRow
		var t tally
		if err := rows.Scan(&k.chat, &k.week, &k.learner, &t.answered, &t.correct, &t.last); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: check week_scores: %w", err)
		}
		want := weeks[k]
		delete(weeks, k)
		if want == nil || *want != t {
			wrong = append(wrong, fmt.Sprintf("[%s %d %d] %d %d %d", k.chat, k.week, k.learner, t.answered, t.correct, t.last))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: check week_scores: %w", err)
	}
	problems = append(problems, report("week_scores", "stored row does not match a recount:", wrong)...)
	var missing []string
	for k, t := range weeks {
		missing = append(missing, fmt.Sprintf("[%s %d %d] %d %d %d", k.chat, k.week, k.learner, t.answered, t.correct, t.last))
	}
	slices.Sort(missing)
	problems = append(problems, report("week_scores", "recounted row is not stored:", missing)...)
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
