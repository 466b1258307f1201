package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// The admin dashboard's figures (issue 15). Every read here is a range of
// an aggregate's primary key, or a whole small table whose size follows
// the lessons written (question_stats, question_choices of one lesson,
// lesson_deliveries, lesson_delays), never the answers or the
// deliveries' history: a page costs the same with 1,000 answers or
// 10,000,000. The aggregates (migration 0007) are kept in the transaction
// of each write that changes them: the answers' group commit below, and
// triggers on subscriptions, deliveries and review items.
//
// Days are local days in the zone asked for, to the quarter hour: the
// aggregates that have a time are kept per quarter of an hour (unix
// seconds / 900), and every zone's midnight, 30- and 45-minute offsets
// included, falls on a quarter. Cohorts and their weeks are UTC weeks
// (WeekOf(t, time.UTC)).

// finalStates are the states a delivery ends in, those delivery_quarters
// and lesson_deliveries count.
const finalStates = `('sent', 'failed', 'unknown', 'exhausted')`

// chatKeySQL is chat.Address.Key() of the subscription s, in SQL.
const chatKeySQL = `s.platform || ':' || s.chat_id || CASE s.thread_id WHEN '' THEN '' ELSE ':' || s.thread_id END`

// bucketOf returns the lower bound of the histogram bucket that holds v
// seconds: the rows of delay_buckets (migration 0007), computed. Buckets
// are one second wide below 16 s, then eight per doubling, each at most
// 12.5% of its lower bound wide; the last starts at 2^22 s (48 days).
func bucketOf(v int64) int64 {
	switch {
	case v < 0:
		return 0
	case v < 16:
		return v
	case v >= 1<<22:
		return 1 << 22
	}
	step := int64(1) << (bits.Len64(uint64(v)) - 4)
	return v / step * step
}

// bucketMid is the value a histogram reports for the bucket that starts
// at lo: lo itself for the one-second buckets and the last one, else the
// bucket's middle, which is at most 6.25% away from any value in it.
func bucketMid(lo int64) int64 {
	if lo < 16 || lo >= 1<<22 {
		return lo
	}
	step := int64(1) << (bits.Len64(uint64(lo)) - 4)
	return lo + step/2
}

// histogram counts values by bucket (bucketOf).
type histogram map[int64]int

// quantile returns the value (bucketMid) of the bucket that holds the
// q-quantile of the counted values by nearest rank, and the number of
// values; 0, 0 when there are none.
func (h histogram) quantile(q float64) (time.Duration, int) {
	n := 0
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return 0, 0
	}
	los := make([]int64, 0, len(h))
	for lo := range h {
		los = append(los, lo)
	}
	slices.Sort(los)
	rank := max(1, int(math.Ceil(q*float64(n))))
	seen := 0
	for _, lo := range los {
		if seen += h[lo]; seen >= rank {
			return time.Duration(bucketMid(lo)) * time.Second, n
		}
	}
	return time.Duration(bucketMid(los[len(los)-1])) * time.Second, n
}

// chatLesson is a chat (chat.Address.Key()) and a lesson.
type chatLesson struct{ chat, lesson string }

// answerContext is what the dashboard's aggregates of a batch of answers
// need to know of their chats, read in the batch's transaction before the
// answers are written: the cohort of each chat that has one, and when
// each chat's delivery of each lesson sent its first message (unix
// seconds).
type answerContext struct {
	cohorts map[string]int64
	starts  map[chatLesson]int64
}

// delay is the value of a's delay column: seconds from the first message
// of its chat's delivery of its lesson to a, or NULL when there is no
// such delivery or a came first.
func (c answerContext) delay(a Answer) any {
	start, ok := c.starts[chatLesson{a.Chat, a.LessonID}]
	if !ok {
		return nil
	}
	if d := a.At.UnixMilli()/1000 - start; d >= 0 {
		return d
	}
	return nil
}

// lookupSQL reads the cohort and the delivery of n (chat, lesson) pairs:
// the subscription by its address, the delivery by (subscription_id,
// lesson_id), both unique. The start of a delivery from before migration
// 0007, which recorded no first message, is its slot, as the migration
// takes it; so is that of a lesson sent on demand.
func lookupSQL(n int) string {
	var b strings.Builder
	b.WriteString(`WITH v (chat, platform, chat_id, thread_id, lesson_id) AS (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?)")
	}
	b.WriteString(`)
		SELECT v.chat, v.lesson_id, s.cohort, coalesce(d.first_sent_at, d.slot)
		FROM v CROSS JOIN subscriptions s ON s.platform = v.platform AND s.chat_id = v.chat_id AND s.thread_id = v.thread_id
		LEFT JOIN deliveries d ON d.subscription_id = s.id AND d.lesson_id = v.lesson_id`)
	return b.String()
}

// addressOf is the address whose chat.Address.Key() is key. (Platforms
// and chat ids hold no colon.)
func addressOf(key string) chat.Address {
	var a chat.Address
	var rest string
	a.Platform, rest, _ = strings.Cut(key, ":")
	a.ChatID, a.ThreadID, _ = strings.Cut(rest, ":")
	return a
}

// answerContext reads, inside tx, what addDashboard and the delay column
// need to know of the chats and lessons of answers.
func (s *Store) answerContext(ctx context.Context, tx *sql.Tx, answers []Answer) (answerContext, error) {
	c := answerContext{cohorts: map[string]int64{}, starts: map[chatLesson]int64{}}
	seen := map[chatLesson]bool{}
	var pairs []chatLesson
	for _, a := range answers {
		k := chatLesson{a.Chat, a.LessonID}
		if !seen[k] {
			seen[k] = true
			pairs = append(pairs, k)
		}
	}
	args := make([]any, 0, 5*min(len(pairs), maxRowsPerStatement))
	for chunk := range slices.Chunk(pairs, maxRowsPerStatement) {
		st, err := s.batchStmt(ctx, s.batch.lookup[:], len(chunk), lookupSQL)
		if err != nil {
			return c, err
		}
		args = args[:0]
		for _, p := range chunk {
			a := addressOf(p.chat)
			args = append(args, p.chat, a.Platform, a.ChatID, a.ThreadID, p.lesson)
		}
		rows, err := tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		if err != nil {
			return c, fmt.Errorf("read the chats of the answers: %w", err)
		}
		for rows.Next() {
			var (
				p             chatLesson
				cohort, start sql.NullInt64
			)
			if err := rows.Scan(&p.chat, &p.lesson, &cohort, &start); err != nil {
				rows.Close()
				return c, fmt.Errorf("read the chats of the answers: %w", err)
			}
			if cohort.Valid {
				c.cohorts[p.chat] = cohort.Int64
			}
			if start.Valid {
				c.starts[p] = start.Int64
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return c, fmt.Errorf("read the chats of the answers: %w", err)
		}
	}
	return c, nil
}

// utcWeekOfMs is WeekOf(t, time.UTC) of a time in unix milliseconds, as
// SQL computes it: (ms / 86400000 + 3) / 7.
func utcWeekOfMs(ms int64) int64 { return (ms/86_400_000 + 3) / 7 }

// addDashboard adds answers (each stored for the first time) to the
// dashboard's aggregates inside tx: the choices of each question, the
// delays of each lesson, and the weeks each chat answered in with the
// cohorts they count in.
func addDashboard(ctx context.Context, tx *sql.Tx, prepare func(string) (*sql.Stmt, error), answers []Answer, about answerContext) error {
	type choiceKey struct {
		question string
		choice   int64
	}
	type delayKey struct {
		lesson string
		lo     int64
	}
	choices := map[choiceKey]*tally{}
	delays := map[delayKey]int64{}
	weeks := map[chatWeek]bool{}
	for _, a := range answers {
		tallyOf(choices, choiceKey{a.QuestionKey, int64(a.Choice)}).add(a)
		if d, ok := about.delay(a).(int64); ok {
			delays[delayKey{a.LessonID, bucketOf(d)}]++
		}
		weeks[chatWeek{a.Chat, utcWeekOfMs(a.At.UnixMilli())}] = true
	}
	var rows [][]any
	for k, t := range choices {
		rows = append(rows, []any{k.question, k.choice, int64(t.answered), int64(t.correct)})
	}
	if err := upsertRows(ctx, prepare, maxRowsPerStatement, `INSERT INTO question_choices (question_key, choice, answered, correct) VALUES `, 4,
		` ON CONFLICT (question_key, choice) DO UPDATE SET answered = question_choices.answered + excluded.answered,
			correct = question_choices.correct + excluded.correct`, rows); err != nil {
		return fmt.Errorf("question choices: %w", err)
	}
	rows = rows[:0]
	for k, n := range delays {
		rows = append(rows, []any{k.lesson, k.lo, n})
	}
	if err := upsertRows(ctx, prepare, maxRowsPerStatement, `INSERT INTO lesson_delays (lesson_id, lo, answers) VALUES `, 3,
		` ON CONFLICT (lesson_id, lo) DO UPDATE SET answers = lesson_delays.answers + excluded.answers`, rows); err != nil {
		return fmt.Errorf("lesson delays: %w", err)
	}
	rows = rows[:0]
	for w := range weeks {
		rows = append(rows, []any{w.chat, w.week})
	}
	added, err := insertChatWeeks(ctx, prepare, rows)
	if err != nil {
		return fmt.Errorf("chat weeks: %w", err)
	}
	cohortWeeks := map[[2]int64]int64{}
	for _, w := range added {
		if cohort, ok := about.cohorts[w.chat]; ok && w.week >= cohort {
			cohortWeeks[[2]int64{cohort, w.week}]++
		}
	}
	rows = rows[:0]
	for k, n := range cohortWeeks {
		rows = append(rows, []any{k[0], k[1], n})
	}
	if err := upsertRows(ctx, prepare, maxRowsPerStatement, `INSERT INTO cohort_weeks (cohort, week, chats) VALUES `, 3,
		` ON CONFLICT (cohort, week) DO UPDATE SET chats = cohort_weeks.chats + excluded.chats`, rows); err != nil {
		return fmt.Errorf("cohort weeks: %w", err)
	}
	return nil
}

// chatWeek is a row of chat_weeks.
type chatWeek struct {
	chat string
	week int64
}

// insertChatWeeks adds the (chat, week) rows to chat_weeks and returns
// those that were not there yet: the first answer of a chat in a week.
func insertChatWeeks(ctx context.Context, prepare func(string) (*sql.Stmt, error), rows [][]any) ([]chatWeek, error) {
	slices.SortFunc(rows, compareRow)
	var added []chatWeek
	for chunk := range slices.Chunk(rows, maxRowsPerStatement) {
		st, err := prepare(`INSERT INTO chat_weeks (chat, week) VALUES (?, ?)` + strings.Repeat(", (?, ?)", len(chunk)-1) +
			` ON CONFLICT (chat, week) DO NOTHING RETURNING chat, week`)
		if err != nil {
			return nil, err
		}
		args := make([]any, 0, 2*len(chunk))
		for _, r := range chunk {
			args = append(args, r...)
		}
		res, err := st.QueryContext(ctx, args...)
		if err != nil {
			return nil, err
		}
		for res.Next() {
			var w chatWeek
			if err := res.Scan(&w.chat, &w.week); err != nil {
				res.Close()
				return nil, err
			}
			added = append(added, w)
		}
		res.Close()
		if err := res.Err(); err != nil {
			return nil, err
		}
	}
	return added, nil
}

// deletedAnswer is what removing an answer takes out of the dashboard's
// aggregates.
type deletedAnswer struct {
	chat, lesson, question string
	choice                 int64
	correct                bool
	at                     int64 // unix ms
	delay                  sql.NullInt64
}

// removeDashboard takes answers, deleted in tx already, out of the
// dashboard's aggregates: the choices, the delays, and each week of a
// chat that no answer of the chat is left in, with its cohort's count.
func removeDashboard(ctx context.Context, tx *sql.Tx, gone []deletedAnswer) error {
	type choiceKey struct {
		question string
		choice   int64
	}
	type delayKey struct {
		lesson string
		lo     int64
	}
	choices := map[choiceKey][2]int{}
	delays := map[delayKey]int{}
	weeks := map[chatWeek]bool{}
	for _, a := range gone {
		c := choices[choiceKey{a.question, a.choice}]
		c[0]++
		if a.correct {
			c[1]++
		}
		choices[choiceKey{a.question, a.choice}] = c
		if a.delay.Valid {
			delays[delayKey{a.lesson, bucketOf(a.delay.Int64)}]++
		}
		weeks[chatWeek{a.chat, utcWeekOfMs(a.at)}] = true
	}
	for k, c := range choices {
		if _, err := tx.ExecContext(ctx, `UPDATE question_choices SET answered = answered - ?, correct = correct - ?
			WHERE question_key = ? AND choice = ?`, c[0], c[1], k.question, k.choice); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM question_choices WHERE question_key = ? AND choice = ? AND answered = 0`,
			k.question, k.choice); err != nil {
			return err
		}
	}
	for k, n := range delays {
		if _, err := tx.ExecContext(ctx, `UPDATE lesson_delays SET answers = answers - ? WHERE lesson_id = ? AND lo = ?`,
			n, k.lesson, k.lo); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM lesson_delays WHERE lesson_id = ? AND lo = ? AND answers = 0`,
			k.lesson, k.lo); err != nil {
			return err
		}
	}
	for w := range weeks {
		// Week w runs from day 7w-3 (a Monday) for seven days.
		from := (7*w.week - 3) * 86_400_000
		var left bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM answers WHERE chat = ? AND answered_at >= ? AND answered_at < ?)`,
			w.chat, from, from+7*86_400_000).Scan(&left); err != nil {
			return err
		}
		if left {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM chat_weeks WHERE chat = ? AND week = ?`, w.chat, w.week); err != nil {
			return err
		}
		a := addressOf(w.chat)
		if _, err := tx.ExecContext(ctx, `UPDATE cohort_weeks SET chats = chats - 1
			WHERE week = ? AND cohort = (SELECT cohort FROM subscriptions WHERE platform = ? AND chat_id = ? AND thread_id = ? AND cohort <= ?)`,
			w.week, a.Platform, a.ChatID, a.ThreadID, w.week); err != nil {
			return err
		}
	}
	return nil
}

// countChatWeeks adds sign (1 or -1) times the weeks of the chat at addr
// that count in its subscription's cohort to cohort_weeks: what moving a
// chat's answers to another address takes out and puts back.
func countChatWeeks(ctx context.Context, tx *sql.Tx, addr chat.Address, sign int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO cohort_weeks (cohort, week, chats)
		SELECT s.cohort, w.week, ? FROM subscriptions s JOIN chat_weeks w ON w.chat = ? AND w.week >= s.cohort
		WHERE s.platform = ? AND s.chat_id = ? AND s.thread_id = ? AND s.cohort IS NOT NULL
		ON CONFLICT (cohort, week) DO UPDATE SET chats = cohort_weeks.chats + excluded.chats`,
		sign, addr.Key(), addr.Platform, addr.ChatID, addr.ThreadID)
	return err
}

// moveChatWeeks moves the weeks of the answers of chat from to chat to,
// when MoveChat moves the answers.
func moveChatWeeks(ctx context.Context, tx *sql.Tx, from, to string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO chat_weeks (chat, week) SELECT ?, week FROM chat_weeks WHERE chat = ?
		ON CONFLICT (chat, week) DO NOTHING`, to, from); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM chat_weeks WHERE chat = ?`, from)
	return err
}

// ErrBadRange is returned, wrapped, by the dashboard's reads of a span of
// days that ends before it starts, or that is longer than maxDays.
var ErrBadRange = errors.New("bad range of days")

// maxDays bounds the days a read of days returns: about ten years.
const maxDays = 3700

// dayRange is the local days from one date to another in a zone.
type dayRange struct {
	// starts are the days' local midnights, and one more: the end.
	starts []time.Time
}

// localDays returns the local days in loc from the date of from to the
// date of to, both included.
func localDays(from, to time.Time, loc *time.Location) (dayRange, error) {
	if loc == nil {
		loc = time.UTC
	}
	var r dayRange
	fy, fm, fd := from.In(loc).Date()
	ty, tm, td := to.In(loc).Date()
	last := time.Date(ty, tm, td, 12, 0, 0, 0, time.UTC)
	n := int(last.Sub(time.Date(fy, fm, fd, 12, 0, 0, 0, time.UTC)).Hours()/24) + 1
	if n <= 0 || n > maxDays {
		return r, fmt.Errorf("%w: from %s to %s", ErrBadRange, from.In(loc).Format(time.DateOnly), to.In(loc).Format(time.DateOnly))
	}
	for i := range n + 1 {
		r.starts = append(r.starts, time.Date(fy, fm, fd+i, 0, 0, 0, 0, loc))
	}
	return r, nil
}

// days is the number of days.
func (r dayRange) days() int { return len(r.starts) - 1 }

// perDay returns query, which reads a table of quarters joined to the
// days as "days d" (columns i, the day's index, and lo and hi, its first
// quarter and the one after its last; hlo and hhi, the first whole UTC
// hour in it and the one after the last), after the common table
// expression of the days, with the arguments of both: SQLite adds up the
// quarters of each day, and a page reads a row per day rather than per
// quarter.
func (r dayRange) perDay(query string, args ...any) (string, []any) {
	var b strings.Builder
	b.WriteString(`WITH days (i, lo, hi, hlo, hhi) AS (VALUES `)
	for i := range r.days() {
		if i > 0 {
			b.WriteString(", ")
		}
		lo, hi := quarterOfUnix(r.starts[i].Unix()), quarterOfUnix(r.starts[i+1].Unix())
		hlo, hhi := (lo+3)/4, hi/4
		if lo < 0 || hhi < hlo {
			hlo, hhi = hi/4, hi/4 // no whole hour: the quarters say it all
		}
		// Numbers written in the statement, not as parameters: the
		// days' columns then have a type (bigint) on PostgreSQL too.
		fmt.Fprintf(&b, "(%d, %d, %d, %d, %d)", i, lo, hi, hlo, hhi)
	}
	b.WriteString(") ")
	b.WriteString(query)
	return b.String(), args
}

// quarterOfUnix numbers the quarter of an hour that holds unix second t.
func quarterOfUnix(t int64) int64 {
	q := t / 900
	if t < 0 && t%900 != 0 {
		q--
	}
	return q
}

// queryRows runs query and calls scan for each row.
func (s *Store) queryRows(ctx context.Context, what, query string, scan func(*sql.Rows) error, args ...any) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// GrowthDay is one local day of chats coming and going.
type GrowthDay struct {
	// Day is the day's start: midnight in the zone asked for.
	Day time.Time
	// Subscribed counts the chats that subscribed, or subscribed again,
	// that day. Unsubscribed counts those that unsubscribed, were merged
	// into another subscribed chat (a Telegram group that became a
	// supergroup the bot was in already), or went with their person's
	// data (/deletemydata). Gone counts those the bot lost: blocked,
	// kicked or removed.
	Subscribed, Unsubscribed, Gone int
	// Net is Subscribed - Unsubscribed - Gone.
	Net int
}

// Growth returns the chats that subscribed, unsubscribed and were lost by
// the bot on each local day in loc from the date of from to the date of
// to, both included: one GrowthDay per day, quiet days too. A database
// upgraded by migration 0007 has the subscription of each chat then
// active on the day its row was created, and no earlier unsubscription:
// when those happened was not recorded.
func (s *Store) Growth(ctx context.Context, from, to time.Time, loc *time.Location) ([]GrowthDay, error) {
	r, err := localDays(from, to, loc)
	if err != nil {
		return nil, fmt.Errorf("store: growth: %w", err)
	}
	out := make([]GrowthDay, r.days())
	for i := range out {
		out[i].Day = r.starts[i]
	}
	query, args := r.perDay(`SELECT d.i, c.change, sum(c.chats) FROM days d
		CROSS JOIN chat_changes c ON c.quarter >= d.lo AND c.quarter < d.hi GROUP BY 1, 2`)
	err = s.queryRows(ctx, "growth", query, func(rows *sql.Rows) error {
		var (
			i      int
			change string
			n      int
		)
		if err := rows.Scan(&i, &change, &n); err != nil {
			return err
		}
		switch change {
		case "subscribed":
			out[i].Subscribed += n
		case "unsubscribed":
			out[i].Unsubscribed += n
		case "gone":
			out[i].Gone += n
		}
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Net = out[i].Subscribed - out[i].Unsubscribed - out[i].Gone
	}
	return out, nil
}

// Cohort is the chats whose first subscription fell in one UTC week, and
// how many of them answered in each week since.
type Cohort struct {
	// Week is the cohort's week, WeekOf(first subscription, time.UTC).
	Week int64
	// Start is the week's start: Monday 00:00 UTC.
	Start time.Time
	// Chats is the cohort's size: its chats that still have a row.
	Chats int
	// Active[k] counts the cohort's chats with at least one answer in the
	// week Week+k (UTC), from the cohort's own week (k = 0) to the week of
	// the time asked about. Chats that answered in a week before they
	// first subscribed count from their cohort's week on.
	Active []int
}

// Retention returns the cohorts of the last weeks UTC weeks up to the
// week of now, oldest first, one per week, empty weeks too. A database
// upgraded by migration 0007 puts the chats it had in the week their row
// was created (a chat that first only asked for a lesson on demand
// subscribed later than that), those that had left included when they
// had a scheduled delivery.
func (s *Store) Retention(ctx context.Context, now time.Time, weeks int) ([]Cohort, error) {
	if weeks <= 0 || weeks > maxDays/7 {
		return nil, fmt.Errorf("store: retention: %w: %d weeks", ErrBadRange, weeks)
	}
	current := WeekOf(now, time.UTC)
	first := current - int64(weeks) + 1
	out := make([]Cohort, weeks)
	for i := range out {
		w := first + int64(i)
		out[i] = Cohort{Week: w, Start: weekStart(w), Active: make([]int, current-w+1)}
	}
	err := s.queryRows(ctx, "retention", `SELECT cohort, chats FROM cohorts WHERE cohort >= ? AND cohort <= ?`,
		func(rows *sql.Rows) error {
			var w int64
			var n int
			if err := rows.Scan(&w, &n); err != nil {
				return err
			}
			out[w-first].Chats = n
			return nil
		}, first, current)
	if err != nil {
		return nil, err
	}
	err = s.queryRows(ctx, "retention", `SELECT cohort, week, chats FROM cohort_weeks WHERE cohort >= ? AND cohort <= ?`,
		func(rows *sql.Rows) error {
			var c, w int64
			var n int
			if err := rows.Scan(&c, &w, &n); err != nil {
				return err
			}
			if k := w - c; k >= 0 && w <= current {
				out[c-first].Active[k] = n
			}
			return nil
		}, first, current)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// weekStart is the start of week w (WeekOf in UTC): Monday 00:00 UTC.
func weekStart(w int64) time.Time {
	return time.Unix((7*w-3)*86_400, 0).UTC()
}

// Heatmap counts answers by local weekday and hour.
type Heatmap struct {
	// Answers[d][h] counts the answers given on weekday d, Monday being 0
	// and Sunday 6, during hour h, local time.
	Answers [7][24]int
	// Total is the sum of Answers.
	Total int
}

// Activity returns the answers given from from to to, both taken to the
// start of their quarter of an hour, by weekday and hour in loc. It reads
// answer_quarters: one row per quarter of an hour with answers.
func (s *Store) Activity(ctx context.Context, from, to time.Time, loc *time.Location) (Heatmap, error) {
	if loc == nil {
		loc = time.UTC
	}
	var h Heatmap
	if to.Before(from) {
		return h, fmt.Errorf("store: activity: %w: %s is before %s", ErrBadRange, to, from)
	}
	err := s.queryRows(ctx, "activity", `SELECT quarter, answered FROM answer_quarters WHERE quarter >= ? AND quarter < ?`,
		func(rows *sql.Rows) error {
			var q int64
			var n int
			if err := rows.Scan(&q, &n); err != nil {
				return err
			}
			t := time.Unix(q*900, 0).In(loc)
			h.Answers[(t.Weekday()+6)%7][t.Hour()] += n
			h.Total += n
			return nil
		}, quarterOf(from.UnixMilli()), quarterOf(to.UnixMilli()))
	return h, err
}

// LessonStat is how one lesson fares.
type LessonStat struct {
	LessonID string
	// Sent counts its deliveries sent, scheduled or asked for with
	// /lesson; Unknown those that may or may not have arrived (their
	// post's send timed out); Failed those that failed.
	Sent, Unknown, Failed int
	// Answered and Correct count the first tries at its questions.
	Answered, Correct int
	// Delays counts the answers whose delay is known: the time from the
	// first message of their chat's delivery of the lesson to the answer.
	// MedianDelay is their median, to within 6.25% (and to the second
	// below 16 s; see bucketMid). Answers stored before migration 0007
	// count from their delivery's slot.
	Delays      int
	MedianDelay time.Duration
}

// LessonStats returns the figures of every lesson that has deliveries or
// answers, by lesson id. It reads three tables of a few rows per lesson.
func (s *Store) LessonStats(ctx context.Context) ([]LessonStat, error) {
	stats := map[string]*LessonStat{}
	of := func(id string) *LessonStat {
		st := stats[id]
		if st == nil {
			st = &LessonStat{LessonID: id}
			stats[id] = st
		}
		return st
	}
	err := s.queryRows(ctx, "lesson stats", `SELECT lesson_id, state, deliveries FROM lesson_deliveries WHERE deliveries != 0`,
		func(rows *sql.Rows) error {
			var id, state string
			var n int
			if err := rows.Scan(&id, &state, &n); err != nil {
				return err
			}
			switch DeliveryState(state) {
			case DeliverySent:
				of(id).Sent += n
			case DeliveryUnknown:
				of(id).Unknown += n
			case DeliveryFailed:
				of(id).Failed += n
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = s.queryRows(ctx, "lesson stats", `SELECT lesson_id, sum(answered), sum(correct) FROM question_stats GROUP BY lesson_id`,
		func(rows *sql.Rows) error {
			var id string
			var answered, correct int
			if err := rows.Scan(&id, &answered, &correct); err != nil {
				return err
			}
			if answered > 0 {
				st := of(id)
				st.Answered, st.Correct = answered, correct
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	delays := map[string]histogram{}
	err = s.queryRows(ctx, "lesson stats", `SELECT lesson_id, lo, answers FROM lesson_delays WHERE answers > 0`,
		func(rows *sql.Rows) error {
			var id string
			var lo int64
			var n int
			if err := rows.Scan(&id, &lo, &n); err != nil {
				return err
			}
			if delays[id] == nil {
				delays[id] = histogram{}
			}
			delays[id][lo] += n
			return nil
		})
	if err != nil {
		return nil, err
	}
	for id, h := range delays {
		st := of(id)
		st.MedianDelay, st.Delays = h.quantile(0.5)
	}
	out := make([]LessonStat, 0, len(stats))
	for _, st := range stats {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b LessonStat) int { return strings.Compare(a.LessonID, b.LessonID) })
	return out, nil
}

// ChoiceCount is how often one choice of a question was the first try.
type ChoiceCount struct {
	// Choice is the choice's index in the question.
	Choice int
	// Answered counts the first tries that picked it, Correct those that
	// were right: all of them or none, unless the lesson changed its
	// right choice meanwhile.
	Answered, Correct int
}

// QuestionReport is how the first tries at one question went.
type QuestionReport struct {
	QuestionKey string
	// Answered and Correct count the first tries and the right ones.
	Answered, Correct int
	// Choices are the choices picked at least once, by index.
	Choices []ChoiceCount
}

// MostChosenWrong returns the wrong choice picked most often (the lower
// index among equals), and false when no wrong choice was picked.
func (q QuestionReport) MostChosenWrong() (ChoiceCount, bool) {
	var best ChoiceCount
	found := false
	for _, c := range q.Choices {
		if c.Correct == 0 && c.Answered > 0 && (!found || c.Answered > best.Answered) {
			best, found = c, true
		}
	}
	return best, found
}

// LessonReport returns, for each question of the lesson that has answers,
// by question key, the first tries and the count of each choice. The
// lesson library tells the questions' text and order; a question with no
// answer is absent.
func (s *Store) LessonReport(ctx context.Context, lessonID string) ([]QuestionReport, error) {
	var out []QuestionReport
	err := s.queryRows(ctx, "report of lesson "+lessonID, `SELECT q.question_key, q.answered, q.correct, c.choice, c.answered, c.correct
		FROM question_stats q JOIN question_choices c ON c.question_key = q.question_key
		WHERE q.lesson_id = ? AND q.answered > 0 AND c.answered > 0
		ORDER BY q.question_key, c.choice`, func(rows *sql.Rows) error {
		var q QuestionReport
		var c ChoiceCount
		if err := rows.Scan(&q.QuestionKey, &q.Answered, &q.Correct, &c.Choice, &c.Answered, &c.Correct); err != nil {
			return err
		}
		if n := len(out); n == 0 || out[n-1].QuestionKey != q.QuestionKey {
			out = append(out, q)
		}
		last := &out[len(out)-1]
		last.Choices = append(last.Choices, c)
		return nil
	}, lessonID)
	return out, err
}

// HardestQuestions returns up to limit questions with at least minAnswers
// first tries, the lowest share right first, then the most answered,
// then by question key. It sorts question_stats, one row per question of
// the lessons written.
func (s *Store) HardestQuestions(ctx context.Context, minAnswers, limit int) ([]QuestionStat, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []QuestionStat
	err := s.queryRows(ctx, "hardest questions", `SELECT lesson_id, question_key, correct, answered FROM question_stats
		WHERE answered >= max(?, 1) ORDER BY correct * 1.0 / answered, answered DESC, question_key LIMIT ?`,
		func(rows *sql.Rows) error {
			var q QuestionStat
			if err := rows.Scan(&q.LessonID, &q.QuestionKey, &q.Correct, &q.Answered); err != nil {
				return err
			}
			out = append(out, q)
			return nil
		}, minAnswers, limit)
	return out, err
}

// Word is a vocabulary term of a lesson, as review items name it.
type Word struct {
	LessonID, Term string
}

// WordItems counts the learners' review items of one word.
type WordItems struct {
	// Items counts the learners who have the word in their review, and
	// Missed those of them who got it there by missing its quiz question.
	Items, Missed int
}

// ReviewItemCounts returns the review items of each word, in the order
// asked (zero for a word nobody has). Review items name a word, not a
// question: the lesson library maps a question to its word.
func (s *Store) ReviewItemCounts(ctx context.Context, words []Word) ([]WordItems, error) {
	out := make([]WordItems, len(words))
	index := map[Word][]int{}
	for i, w := range words {
		index[w] = append(index[w], i)
	}
	for chunk := range slices.Chunk(words, maxRowsPerStatement) {
		args := make([]any, 0, 2*len(chunk))
		for _, w := range chunk {
			args = append(args, w.LessonID, w.Term)
		}
		err := s.queryRows(ctx, "review item counts", `SELECT lesson_id, term, items, missed FROM word_items
			WHERE (lesson_id, term) IN (VALUES (?, ?)`+strings.Repeat(", (?, ?)", len(chunk)-1)+`)`,
			func(rows *sql.Rows) error {
				var w Word
				var c WordItems
				if err := rows.Scan(&w.LessonID, &w.Term, &c.Items, &c.Missed); err != nil {
					return err
				}
				for _, i := range index[w] {
					out[i] = c
				}
				return nil
			}, args...)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeliveryDay is how the deliveries of one local day fared.
type DeliveryDay struct {
	// Day is the day's start: midnight in the zone asked for.
	Day time.Time
	// Sent, Failed, Unknown and Exhausted count the deliveries whose slot
	// fell that day by the final state they reached (Unknown: the post
	// may or may not have arrived; Exhausted: no lesson was left to
	// send). Deliveries still pending or being sent are not counted.
	Sent, Failed, Unknown, Exhausted int
	// UnknownMessages counts the messages of those deliveries that may or
	// may not have arrived.
	UnknownMessages int
	// ChatsGone counts the chats the bot lost that day (blocked, kicked,
	// removed).
	ChatsGone int
	// RateLimited counts the platforms' "too many requests" answers that
	// day (RecordRateLimited), and RetryAfter the waits they asked for.
	RateLimited int
	RetryAfter  time.Duration
	// Measured counts the deliveries whose first message went out, with
	// the lateness of that message against the slot known (since
	// migration 0007); LatenessP50 and LatenessP95 are its median and
	// 95th percentile, to within 6.25% (to the second below 16 s).
	Measured                 int
	LatenessP50, LatenessP95 time.Duration
}

// DeliveryHealth returns the deliveries of each local day in loc from the
// date of from to the date of to, both included, one DeliveryDay per day.
// A delivery counts on the day of its slot; a chat lost and a rate limit
// on the day they happened.
func (s *Store) DeliveryHealth(ctx context.Context, from, to time.Time, loc *time.Location) ([]DeliveryDay, error) {
	r, err := localDays(from, to, loc)
	if err != nil {
		return nil, fmt.Errorf("store: delivery health: %w", err)
	}
	out := make([]DeliveryDay, r.days())
	late := make([]histogram, r.days())
	for i := range out {
		out[i].Day = r.starts[i]
		late[i] = histogram{}
	}
	query, args := r.perDay(`SELECT d.i, q.state, sum(q.deliveries), sum(q.unknown) FROM days d
		CROSS JOIN delivery_quarters q ON q.quarter >= d.lo AND q.quarter < d.hi GROUP BY 1, 2`)
	err = s.queryRows(ctx, "delivery health", query, func(rows *sql.Rows) error {
		var (
			i          int
			state      string
			n, unknown int
		)
		if err := rows.Scan(&i, &state, &n, &unknown); err != nil {
			return err
		}
		d := &out[i]
		switch DeliveryState(state) {
		case DeliverySent:
			d.Sent += n
		case DeliveryFailed:
			d.Failed += n
		case DeliveryUnknown:
			d.Unknown += n
		case DeliveryExhausted:
			d.Exhausted += n
		}
		d.UnknownMessages += unknown
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	// The whole hours of each day from the hours, the quarters before the
	// first and after the last from the quarters.
	query, args = r.perDay(`SELECT i, lo, sum(n) FROM (
			SELECT d.i, l.lo, l.deliveries AS n FROM days d
				CROSS JOIN delivery_lateness_hours l ON l.hour >= d.hlo AND l.hour < d.hhi
			UNION ALL
			SELECT d.i, l.lo, l.deliveries FROM days d
				CROSS JOIN delivery_lateness l ON l.quarter >= d.lo AND l.quarter < d.hlo * 4
			UNION ALL
			SELECT d.i, l.lo, l.deliveries FROM days d
				CROSS JOIN delivery_lateness l ON l.quarter >= max(d.hhi * 4, d.lo) AND l.quarter < d.hi) AS lateness
		GROUP BY 1, 2`)
	err = s.queryRows(ctx, "delivery health", query, func(rows *sql.Rows) error {
		var i int
		var lo int64
		var n int
		if err := rows.Scan(&i, &lo, &n); err != nil {
			return err
		}
		late[i][lo] += n
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	query, args = r.perDay(`SELECT d.i, sum(c.chats) FROM days d
		CROSS JOIN chat_changes c ON c.quarter >= d.lo AND c.quarter < d.hi AND c.change = 'gone' GROUP BY 1`)
	err = s.queryRows(ctx, "delivery health", query, func(rows *sql.Rows) error {
		var i, n int
		if err := rows.Scan(&i, &n); err != nil {
			return err
		}
		out[i].ChatsGone += n
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	query, args = r.perDay(`SELECT d.i, sum(l.hits), sum(l.retry_after_ms) FROM days d
		CROSS JOIN rate_limits l ON l.quarter >= d.lo AND l.quarter < d.hi GROUP BY 1`)
	err = s.queryRows(ctx, "delivery health", query, func(rows *sql.Rows) error {
		var i, n int
		var ms int64
		if err := rows.Scan(&i, &n, &ms); err != nil {
			return err
		}
		out[i].RateLimited += n
		out[i].RetryAfter += time.Duration(ms) * time.Millisecond
		return nil
	}, args...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].LatenessP50, out[i].Measured = late[i].quantile(0.5)
		out[i].LatenessP95, _ = late[i].quantile(0.95)
	}
	return out, nil
}

// Queue is the outbox as it stands, for the overview.
type Queue struct {
	// Pending counts the deliveries waiting to be sent, due or not yet
	// (a day's later slots); Sending those being sent.
	Pending, Sending int
	// OldestDue is when the pending delivery to a subscribed chat that
	// fell due first did so (the zero time when there is none): the
	// outbox is late by now - OldestDue when that is before now.
	OldestDue time.Time
}

// Queue returns the outbox as it stands: two reads of the index of the
// deliveries by state and due time, which hold only the deliveries
// waiting or under way, whatever the history.
func (s *Store) Queue(ctx context.Context) (Queue, error) {
	var q Queue
	err := s.queryRows(ctx, "queue", `SELECT state, count(*) FROM deliveries INDEXED BY deliveries_state_due
		WHERE state IN ('pending', 'sending') GROUP BY state`, func(rows *sql.Rows) error {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return err
		}
		if DeliveryState(state) == DeliveryPending {
			q.Pending = n
		} else {
			q.Sending = n
		}
		return nil
	})
	if err != nil {
		return q, err
	}
	// In due order, the first whose chat is subscribed (the others wait
	// for nobody).
	var due sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT d.due_at FROM deliveries d INDEXED BY deliveries_state_due
			CROSS JOIN subscriptions s ON s.id = d.subscription_id
		WHERE d.state = 'pending' AND s.active = 1 ORDER BY d.due_at LIMIT 1`).Scan(&due)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return q, fmt.Errorf("store: queue: %w", err)
	}
	if due.Valid {
		q.OldestDue = fromUnix(due.Int64)
	}
	return q, nil
}

// RecordRateLimited counts a platform's "too many requests" answer at at,
// which asked to wait retryAfter: one upsert, committed with the other
// writes under way.
func (s *Store) RecordRateLimited(ctx context.Context, platform string, at time.Time, retryAfter time.Duration) error {
	_, err := s.exec(ctx, "record a rate limit of "+platform,
		`INSERT INTO rate_limits (quarter, platform, hits, retry_after_ms) VALUES (?, ?, 1, ?)
		ON CONFLICT (quarter, platform) DO UPDATE SET hits = rate_limits.hits + 1, retry_after_ms = rate_limits.retry_after_ms + excluded.retry_after_ms`,
		quarterOfUnix(at.Unix()), platform, max(0, retryAfter.Milliseconds()))
	return err
}

// ActiveLearners returns how many learners answered at or after since, in
// any chat: a range of an index of chat_scores by the time of each
// learner's last answer in each chat.
func (s *Store) ActiveLearners(ctx context.Context, since time.Time) (int, error) {
	var n int
	// Without INDEXED BY the planner reads the whole index by learner, for
	// the DISTINCT.
	if err := s.db.QueryRowContext(ctx, `SELECT count(DISTINCT learner_id) FROM chat_scores INDEXED BY chat_scores_last WHERE last_at >= ?`,
		since.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: active learners: %w", err)
	}
	return n, nil
}

// ResendUnknown puts the deliveries of the slot at slot whose last
// messages may or may not have arrived back in the queue, due at once, to
// send those messages again; it returns how many it put back.
//
// A delivery resumes after its last message recorded as sent, so only the
// uncertain messages at its end can be sent again without sending twice a
// message known to have arrived: those of a delivery ended unknown (its
// post: nothing was sent after it), and the trailing ones of a delivery
// sent whose last questions were uncertain. An uncertain message followed
// by one that arrived stays unknown. Only deliveries to chats still
// subscribed are put back (the queue serves no other). Whoever resends
// accepts that an uncertain message that did arrive arrives twice; the
// delivery pool picks the deliveries up when it next looks at the queue.
func (s *Store) ResendUnknown(ctx context.Context, slot time.Time) (int, error) {
	what := "resend the unknown messages of slot " + slot.UTC().Format(time.RFC3339)
	if err := s.lockWrite(ctx); err != nil {
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	defer tx.Rollback()
	todo, err := resendable(ctx, tx, slot)
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	now := s.now().Unix()
	for _, r := range todo {
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', message_ids = ?, unknown = unknown - ?,
				due_at = ?, inflight = NULL, claimed_by = NULL, lease_until = NULL,
				last_error = 'resending ' || ? || ' unknown message(s): ' || last_error, updated_at = ?
			WHERE id = ?`, r.ids, r.dropped, now, strconv.Itoa(r.dropped), now, r.id); err != nil {
			return 0, fmt.Errorf("store: %s: delivery %d: %w", what, r.id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	return len(todo), nil
}

// Resendable returns what ResendUnknown would put back in the queue for
// the slot at slot, changing nothing: how many deliveries, and how many
// of their messages it would send again. The dashboard asks before it
// resends.
func (s *Store) Resendable(ctx context.Context, slot time.Time) (deliveries, messages int, err error) {
	todo, err := resendable(ctx, s.db, slot)
	if err != nil {
		return 0, 0, fmt.Errorf("store: what slot %s could resend: %w", slot.UTC().Format(time.RFC3339), err)
	}
	for _, r := range todo {
		messages += r.dropped
	}
	return len(todo), messages, nil
}

// resend is a delivery ResendUnknown puts back: its message ids without
// the trailing unknown ones (as JSON), and how many it dropped.
type resend struct {
	id      int64
	ids     string
	dropped int
}

// resendable reads the deliveries of the slot at slot that ResendUnknown
// puts back: ended sent or unknown, with trailing unknown messages, to a
// chat still subscribed. It reads a range of the slot index.
func resendable(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, slot time.Time) ([]resend, error) {
	rows, err := q.QueryContext(ctx, `SELECT d.id, d.message_ids FROM deliveries d INDEXED BY deliveries_slot
			CROSS JOIN subscriptions s ON s.id = d.subscription_id
		WHERE d.slot = ? AND d.state IN ('sent', 'unknown') AND d.unknown > 0 AND s.active = 1`, slot.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var todo []resend
	for rows.Next() {
		var id int64
		var idsJSON string
		if err := rows.Scan(&id, &idsJSON); err != nil {
			return nil, err
		}
		kept, dropped, err := dropTrailingUnknown(idsJSON)
		if err != nil {
			return nil, fmt.Errorf("delivery %d: %w", id, err)
		}
		if dropped > 0 {
			todo = append(todo, resend{id, kept, dropped})
		}
	}
	return todo, rows.Err()
}

// dropTrailingUnknown removes the unknown messages (null ids) at the end
// of a delivery's message ids, and returns what is left, as JSON, and how
// many it removed.
func dropTrailingUnknown(idsJSON string) (string, int, error) {
	var ids []*string
	if err := json.Unmarshal([]byte(idsJSON), &ids); err != nil {
		return "", 0, err
	}
	n := len(ids)
	for n > 0 && ids[n-1] == nil {
		n--
	}
	kept, err := json.Marshal(ids[:n])
	return string(kept), len(ids) - n, err
}
