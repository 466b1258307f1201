package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The read benchmarks run on a generated store the size of a large
// deployment: one chat of 50,000 learners who answered 40 questions each
// (2,000,000 answers) and 2,000 more chats of 100 learners with 40 answers
// each (8,000,000): 10,000,000 answers. It is built with plain SQL in the
// schema before migration 0005 (as the slow reads were measured), kept in
// the system's temporary folder between runs (about 1.6 GB for both
// copies; the first run builds it, in a few minutes), and upgraded by
// Open as a copy. Each benchmark compares the reads of today's code on
// the upgraded copy with the scans the code before 0005 ran, on the old
// copy: the same answers.
const (
	benchBigLearners   = 50_000
	benchOtherChats    = 2_000
	benchOtherLearners = 100 // per chat
	benchAnswersEach   = 40  // per learner
	benchBigChat       = "telegram:-1000000"
	benchBigZone       = "Europe/Paris"
	// benchGeneration names what the generator builds: change it when
	// the generator changes, so that no older file is reused.
	benchGeneration = "g1"
)

// benchNow is the benchmarks' now: a Wednesday noon. The answers span
// the two weeks before it.
var benchNow = time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)

// benchFile returns the path of a generated database in the temporary
// folder, building it with build when it does not exist yet.
func benchFile(b *testing.B, name string, build func(path string)) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "lessonbot-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, name+".db")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".building"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(p)
	}
	start := time.Now()
	build(tmp)
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s in %v", path, time.Since(start).Round(time.Second))
	return path
}

// oldBenchDB returns the generated database in the schema before
// migration 0005; with bigOnly, only the large chat's 2,000,000 answers.
func oldBenchDB(b *testing.B, bigOnly bool) string {
	name := fmt.Sprintf("v4-%dx%d-%dx%d-%s", benchBigLearners, benchAnswersEach, benchOtherChats, benchOtherLearners, benchGeneration)
	if bigOnly {
		name = fmt.Sprintf("v4-%dx%d-%s", benchBigLearners, benchAnswersEach, benchGeneration)
	}
	return benchFile(b, name, func(path string) { generateOld(b, path, bigOnly) })
}

// newBenchDB returns the generated database upgraded by Open.
func newBenchDB(b *testing.B) string {
	old := oldBenchDB(b, false)
	ms, err := migrations()
	if err != nil {
		b.Fatal(err)
	}
	// Named after the migrations, so that a change of schema builds it
	// again.
	h := sha256.New()
	for _, m := range ms {
		io.WriteString(h, m.sql)
	}
	name := fmt.Sprintf("v%d-%x-of-%s", len(ms), h.Sum(nil)[:4], filepath.Base(old[:len(old)-len(".db")]))
	return benchFile(b, name, func(path string) {
		copyFile(b, old, path)
		start := time.Now()
		s, err := Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("upgraded 10,000,000 answers in %v", time.Since(start).Round(time.Millisecond))
	})
}

// generateOld builds the benchmark database at path in the schema of
// migrations 1 to 4, with plain SQL.
func generateOld(b *testing.B, path string, bigOnly bool) {
	ctx := context.Background()
	db := oldSchema(b, path, 4)
	defer db.Close()
	db.SetMaxOpenConns(1)
	others := benchOtherChats
	if bigOnly {
		others = 0
	}
	learners := benchBigLearners + others*benchOtherLearners
	start := benchNow.Add(-14 * 24 * time.Hour).UnixMilli()
	// Answer j of a learner is question j%3 of lesson j/3, about eight
	// hours after their answer j-1, seven in ten of them right.
	steps := []struct {
		query string
		args  []any
	}{
		{`PRAGMA synchronous = OFF`, nil},
		{`DROP INDEX answers_chat_time`, nil},
		{`DROP INDEX answers_time`, nil},
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO learners (id, platform, user_id, name, created_at)
			SELECT i, 'telegram', 'u' || i, 'Learner ' || i, 0 FROM n`, []any{learners}},
		{`INSERT INTO subscriptions (id, platform, chat_id, kind, hour, minute, zone, active, created_at)
			VALUES (1, 'telegram', '-1000000', 'group', 8, 0, ?, 1, 0)`, []any{benchBigZone}},
		{`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
			INSERT INTO subscriptions (id, platform, chat_id, kind, hour, minute, zone, active, created_at)
			SELECT i + 2, 'telegram', '-' || (2000000 + i), CASE i % 3 WHEN 0 THEN 'private' ELSE 'group' END,
				8, 0, CASE i % 4 WHEN 0 THEN 'UTC' WHEN 1 THEN 'America/New_York' WHEN 2 THEN 'Asia/Tokyo' ELSE 'Europe/Paris' END,
				i % 10 != 9, 0
			FROM n WHERE ? > 0`, []any{others, others}},
		// A delivery a day for each chat, over the two weeks.
		{`WITH RECURSIVE d(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM d WHERE k < 13)
			INSERT INTO deliveries (subscription_id, kind, lesson_id, slot, state, created_at, updated_at)
			SELECT s.id, 'lesson', 'news-' || printf('%02d', d.k), ? / 1000 + d.k * 86400 + 7 * 3600,
				CASE WHEN s.id % 50 = 0 THEN 'failed' ELSE 'sent' END, 0, 0
			FROM subscriptions s CROSS JOIN d`, []any{start}},
		{`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?6 - 1)
			INSERT INTO answers (learner_id, chat, lesson_id, question_key, choice, correct, answered_at)
			SELECT 1 + i / ?1,
				CASE WHEN i / ?1 < ?2 THEN ?3 ELSE 'telegram:-' || (2000000 + (i / ?1 - ?2) / ?4) END,
				'news-' || printf('%02d', (i % ?1) / 3),
				'news-' || printf('%02d', (i % ?1) / 3) || ':' || (i % ?1 % 3),
				(i * 7) % 4,
				((i / ?1) * 31 + (i % ?1) * 17) % 10 < 7,
				?5 + (i % ?1) * 30000000 + (i / ?1 % 480) * 60000
			FROM n`, []any{benchAnswersEach, benchBigLearners, benchBigChat, benchOtherLearners, start, learners * benchAnswersEach}},
		{`CREATE INDEX answers_chat_time ON answers (chat, answered_at)`, nil},
		{`CREATE INDEX answers_time ON answers (answered_at)`, nil},
		{`PRAGMA wal_checkpoint(TRUNCATE)`, nil},
	}
	for _, st := range steps {
		if _, err := db.ExecContext(ctx, st.query, st.args...); err != nil {
			b.Fatalf("%s: %v", st.query, err)
		}
	}
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	in, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchStores opens the upgraded store and the old database beside it.
func benchStores(b *testing.B) (*Store, *sql.DB) {
	b.Helper()
	s, err := Open(context.Background(), newBenchDB(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	old, err := sql.Open("sqlite", readOnlyDSN(oldBenchDB(b, false)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { old.Close() })
	return s, old
}

// compare runs each way of reading as a sub-benchmark and logs how many
// times faster the first is than the second.
func compare(b *testing.B, ways ...way) {
	per := make([]time.Duration, len(ways))
	for i, w := range ways {
		b.Run(w.name, func(b *testing.B) {
			for b.Loop() {
				w.read(b)
			}
			per[i] = b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(per[i].Microseconds())/1000, "ms/call")
		})
	}
	if per[0] > 0 && per[1] > 0 {
		b.Logf("%s: %v a call, %s: %v a call; the second takes %.3g times as long", ways[0].name, per[0].Round(time.Microsecond),
			ways[1].name, per[1].Round(time.Microsecond), float64(per[1])/float64(per[0]))
	}
}

// way is one way of reading, named.
type way struct {
	name string
	read func(b *testing.B)
}

// queryAll runs a query (of the code before 0005, or a naive one the
// benchmarks compare with) and reads every row.
func queryAll(b *testing.B, db *sql.DB, query string, args ...any) {
	rows, err := db.Query(query, args...)
	if err != nil {
		b.Fatal(fmt.Errorf("%s: %w", query, err))
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	dest := make([]any, len(cols))
	for i := range dest {
		dest[i] = new(any)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			b.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
}

// oldLeaderboardSQL is the leaderboard of the code before 0005: a scan of
// the chat's answers since a time, grouped by learner.
const oldLeaderboardSQL = `SELECT a.learner_id, l.name, sum(a.correct) AS c, count(*) AS n
	FROM answers a JOIN learners l ON l.id = a.learner_id
	WHERE a.chat = ? AND a.answered_at >= ?
	GROUP BY a.learner_id
	ORDER BY c DESC, n ASC, l.name, a.learner_id
	LIMIT ?`

// BenchmarkLeaderboard is /leaderboard in the chat of 50,000 learners:
// the top ten of this week and of all time.
func BenchmarkLeaderboard(b *testing.B) {
	s, old := benchStores(b)
	ctx := context.Background()
	paris, _ := time.LoadLocation(benchBigZone)
	week := WeekOf(benchNow, paris)
	y, m, d := benchNow.In(paris).Date()
	monday := time.Date(y, m, d-int(benchNow.In(paris).Weekday()+6)%7, 0, 0, 0, 0, paris)
	compare(b,
		way{"aggregates", func(b *testing.B) {
			for _, w := range []int64{week, AllTime} {
				ranks, err := s.Leaderboard(ctx, benchBigChat, w, 10)
				if err != nil || len(ranks) != 10 {
					b.Fatalf("Leaderboard(%d) = %d ranks, %v", w, len(ranks), err)
				}
			}
		}},
		way{"scan-before-0005", func(b *testing.B) {
			queryAll(b, old, oldLeaderboardSQL, benchBigChat, monday.UnixMilli(), 10)
			queryAll(b, old, oldLeaderboardSQL, benchBigChat, 0, 10)
		}},
	)
}

// BenchmarkStats is /stats: chats by platform and kind, today's
// deliveries by state and unknown messages, today's answers, and the
// accuracy of every question.
func BenchmarkStats(b *testing.B) {
	s, old := benchStores(b)
	ctx := context.Background()
	today := time.Date(benchNow.Year(), benchNow.Month(), benchNow.Day(), 0, 0, 0, 0, time.UTC)
	compare(b,
		way{"aggregates", func(b *testing.B) {
			if _, err := s.SubscriptionCounts(ctx); err != nil {
				b.Fatal(err)
			}
			if _, err := s.DeliveryCounts(ctx, today); err != nil {
				b.Fatal(err)
			}
			if _, err := s.UnknownMessages(ctx, today); err != nil {
				b.Fatal(err)
			}
			if n, err := s.AnswerCount(ctx, today); err != nil || n == 0 {
				b.Fatalf("AnswerCount = %d, %v", n, err)
			}
			if qs, err := s.QuestionStats(ctx); err != nil || len(qs) == 0 {
				b.Fatalf("QuestionStats = %d, %v", len(qs), err)
			}
		}},
		way{"scan-before-0005", func(b *testing.B) {
			queryAll(b, old, `SELECT platform, count(*) FROM subscriptions WHERE active = 1 GROUP BY platform`)
			queryAll(b, old, `SELECT state, count(*) FROM deliveries WHERE slot >= ? GROUP BY state`, today.Unix())
			queryAll(b, old, `SELECT coalesce(sum(unknown), 0) FROM deliveries WHERE slot >= ?`, today.Unix())
			queryAll(b, old, `SELECT count(*) FROM answers WHERE answered_at >= ?`, today.UnixMilli())
			queryAll(b, old, `SELECT lesson_id, question_key, sum(correct), count(*)
				FROM answers GROUP BY lesson_id, question_key ORDER BY lesson_id, question_key`)
		}},
	)
}

// BenchmarkScore is /score of a learner of the large chat: alone in a
// private chat (their score and streak), and in the group, where the
// chat's top five follow.
func BenchmarkScore(b *testing.B) {
	s, old := benchStores(b)
	ctx := context.Background()
	const learner = benchBigLearners / 2
	score := func(b *testing.B) {
		if _, answered, err := s.Score(ctx, learner); err != nil || answered != benchAnswersEach {
			b.Fatalf("Score = %d answered, %v", answered, err)
		}
		if _, err := s.LearnerStreak(ctx, learner); err != nil {
			b.Fatal(err)
		}
	}
	// The streak is read by key before and after: the same read.
	oldScore := func(b *testing.B) {
		queryAll(b, old, `SELECT coalesce(sum(correct), 0), count(*) FROM answers WHERE learner_id = ?`, learner)
		queryAll(b, old, `SELECT streak, best_streak, streak_last, freezes, freeze_progress, ever_held_freeze,
			zone_offset, zone_changed_at FROM learners WHERE id = ?`, learner)
	}
	for _, where := range []string{"private", "group"} {
		b.Run(where, func(b *testing.B) {
			compare(b,
				way{"aggregates", func(b *testing.B) {
					score(b)
					if where == "group" {
						if ranks, err := s.Leaderboard(ctx, benchBigChat, AllTime, 5); err != nil || len(ranks) != 5 {
							b.Fatalf("Leaderboard = %d ranks, %v", len(ranks), err)
						}
					}
				}},
				way{"scan-before-0005", func(b *testing.B) {
					oldScore(b)
					if where == "group" {
						queryAll(b, old, oldLeaderboardSQL, benchBigChat, 0, 5)
					}
				}},
			)
		})
	}
}

// BenchmarkUpgrade opens a copy of the large chat's 2,000,000 answers in
// the schema before 0005 for the first time: Open copies the answers into
// their new table and builds every aggregate, in one transaction.
func BenchmarkUpgrade(b *testing.B) {
	old := oldBenchDB(b, true)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "upgrade.db")
		copyFile(b, old, path)
		b.StartTimer()
		s, err := Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		c, err := s.Count(context.Background())
		if err != nil || c.Answers != benchBigLearners*benchAnswersEach {
			b.Fatalf("after the upgrade: %+v, %v", c, err)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/upgrade")
}
