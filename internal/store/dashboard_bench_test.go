package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkDashboardReads times what each page of the admin dashboard
// reads on the store SeedDashboard makes by default (100,000 chats,
// 1,000,000 answers, 30 days of deliveries), kept in the temporary folder
// between runs (SeededFile; the first run builds it, in about a minute).
// Each sub-benchmark is one method, or for the overview the methods its
// page calls; run it with -benchtime 50x for 50 calls. It reports the
// median and the 95th percentile of the calls, in milliseconds, against
// the target of issue 15 (a page's reads at p95 ≤ 100 ms). Where a naive
// read of the raw rows (answers, deliveries) can stand in for the
// aggregates, every tenth call also runs it, and its median and the ratio
// of the medians are reported beside.
func BenchmarkDashboardReads(b *testing.B) {
	ctx := context.Background()
	opt := SeedOptions{}.withDefaults()
	start := time.Now()
	path, err := SeededFile(ctx, opt)
	if err != nil {
		b.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		b.Logf("seeded %s in %v", path, d.Round(time.Second))
	}
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	now := opt.Now
	zones := []*time.Location{time.UTC}
	for _, name := range []string{"Asia/Kolkata", "America/New_York", "Asia/Kathmandu", "Europe/Paris"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			b.Fatal(err)
		}
		zones = append(zones, loc)
	}
	var words []Word
	for _, l := range opt.Lessons {
		for _, q := range l.Questions {
			words = append(words, Word{l.ID, q.Term})
		}
	}
	must := func(b *testing.B, err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	type read struct {
		name  string
		read  func(b *testing.B, i int)
		naive func(b *testing.B, i int) // nil: none
	}
	reads := []read{
		{"Overview", func(b *testing.B, i int) {
			loc := zones[i%len(zones)]
			y, m, d := now.In(loc).Date()
			today := time.Date(y, m, d, 0, 0, 0, 0, loc)
			_, err := s.ChatCounts(ctx)
			must(b, err)
			_, err = s.Growth(ctx, now.AddDate(0, 0, -6), now, loc)
			must(b, err)
			_, err = s.DeliveryHealth(ctx, now, now, loc)
			must(b, err)
			_, err = s.Queue(ctx)
			must(b, err)
			_, err = s.AnswerCount(ctx, today)
			must(b, err)
			_, err = s.ActiveLearners(ctx, now.Add(-24*time.Hour))
			must(b, err)
		}, func(b *testing.B, i int) {
			// What /stats and the operator's metrics read: today's
			// deliveries by state from the slot index, and the outbox by
			// platform and state.
			today := now.Truncate(24 * time.Hour)
			_, err := s.DeliveryCounts(ctx, today)
			must(b, err)
			_, err = s.UnknownMessages(ctx, today)
			must(b, err)
			_, err = s.Outbox(ctx, now)
			must(b, err)
		}},
		{"Growth90Days", func(b *testing.B, i int) {
			days, err := s.Growth(ctx, now.AddDate(0, 0, -89), now, zones[i%len(zones)])
			must(b, err)
			if len(days) != 90 {
				b.Fatalf("%d days", len(days))
			}
		}, nil},
		{"Retention12Weeks", func(b *testing.B, i int) {
			cohorts, err := s.Retention(ctx, now, 12)
			must(b, err)
			if cohorts[0].Chats == 0 {
				b.Fatal("an empty cohort")
			}
		}, func(b *testing.B, i int) {
			// Each cohort's chats with an answer in each week, from the
			// answers.
			queryAll(b, s.db, `SELECT s.cohort, w.week, count(*) FROM subscriptions s
				JOIN (SELECT DISTINCT chat, (answered_at / 86400000 + 3) / 7 AS week FROM answers) w
					ON w.chat = `+chatKeySQL+` AND w.week >= s.cohort
				WHERE s.cohort >= ? GROUP BY 1, 2`, WeekOf(now, time.UTC)-11)
		}},
		{"Activity90Days", func(b *testing.B, i int) {
			h, err := s.Activity(ctx, now.AddDate(0, 0, -90), now, zones[i%len(zones)])
			must(b, err)
			if h.Total == 0 {
				b.Fatal("no answers")
			}
		}, func(b *testing.B, i int) {
			// Every answer's time, bucketed in Go.
			loc := zones[i%len(zones)]
			var h Heatmap
			rows, err := s.db.QueryContext(ctx, `SELECT answered_at FROM answers WHERE answered_at >= ? AND answered_at < ?`,
				now.AddDate(0, 0, -90).UnixMilli(), now.UnixMilli())
			must(b, err)
			for rows.Next() {
				var ms int64
				must(b, rows.Scan(&ms))
				t := time.UnixMilli(ms).In(loc)
				h.Answers[(t.Weekday()+6)%7][t.Hour()]++
			}
			rows.Close()
		}},
		{"LessonStats", func(b *testing.B, i int) {
			stats, err := s.LessonStats(ctx)
			must(b, err)
			if len(stats) != len(opt.Lessons) {
				b.Fatalf("%d lessons", len(stats))
			}
		}, func(b *testing.B, i int) {
			// Deliveries by lesson and state, answers by lesson, and
			// every answer's delay for the medians.
			queryAll(b, s.db, `SELECT lesson_id, state, count(*) FROM deliveries WHERE lesson_id IS NOT NULL GROUP BY 1, 2`)
			queryAll(b, s.db, `SELECT lesson_id, count(*), sum(correct) FROM answers GROUP BY 1`)
			queryAll(b, s.db, `SELECT lesson_id, delay FROM answers WHERE delay IS NOT NULL ORDER BY lesson_id, delay`)
		}},
		{"LessonReport", func(b *testing.B, i int) {
			rep, err := s.LessonReport(ctx, opt.Lessons[i%len(opt.Lessons)].ID)
			must(b, err)
			if len(rep) == 0 {
				b.Fatal("no questions")
			}
		}, nil},
		{"HardestWords", func(b *testing.B, i int) {
			qs, err := s.HardestQuestions(ctx, 100, 20)
			must(b, err)
			if len(qs) != 20 {
				b.Fatalf("%d questions", len(qs))
			}
			_, err = s.ReviewItemCounts(ctx, words[:20])
			must(b, err)
		}, nil},
		{"DeliveryHealth30Days", func(b *testing.B, i int) {
			days, err := s.DeliveryHealth(ctx, now.AddDate(0, 0, -29), now, zones[i%len(zones)])
			must(b, err)
			if days[0].Sent == 0 || days[0].Measured == 0 {
				b.Fatalf("first day %+v", days[0])
			}
		}, func(b *testing.B, i int) {
			// The deliveries of the 30 days by slot, from the slot index.
			queryAll(b, s.db, `SELECT slot / 900, state, count(*), sum(unknown) FROM deliveries
				WHERE slot >= ? AND slot < ? GROUP BY 1, 2`, now.AddDate(0, 0, -30).Unix(), now.Unix())
			queryAll(b, s.db, `SELECT slot / 900, first_sent_at - slot FROM deliveries
				WHERE slot >= ? AND slot < ? AND first_sent_at IS NOT NULL ORDER BY 1, 2`, now.AddDate(0, 0, -30).Unix(), now.Unix())
		}},
		{"ActiveLearners24h", func(b *testing.B, i int) {
			n, err := s.ActiveLearners(ctx, now.Add(-24*time.Hour))
			must(b, err)
			if n == 0 {
				b.Fatal("no active learner")
			}
		}, func(b *testing.B, i int) {
			queryAll(b, s.db, `SELECT count(DISTINCT learner_id) FROM answers WHERE answered_at >= ?`, now.Add(-24*time.Hour).UnixMilli())
		}},
	}
	for _, r := range reads {
		b.Run(r.name, func(b *testing.B) {
			var times, naive []time.Duration
			i := 0
			for b.Loop() {
				t0 := time.Now()
				r.read(b, i)
				times = append(times, time.Since(t0))
				if r.naive != nil && i%10 == 0 {
					t0 := time.Now()
					r.naive(b, i)
					naive = append(naive, time.Since(t0))
				}
				i++
			}
			reportTimes(b, times, naive)
		})
	}

	// The writes, on a copy.
	b.Run("Writes", func(b *testing.B) {
		copyPath := filepath.Join(b.TempDir(), "copy.db")
		copyFile(b, path, copyPath)
		w, err := Open(ctx, copyPath)
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		b.Run("RecordRateLimited", func(b *testing.B) {
			var times []time.Duration
			i := 0
			for b.Loop() {
				t0 := time.Now()
				must(b, w.RecordRateLimited(ctx, "telegram", now.Add(time.Duration(i)*time.Second), time.Second))
				times = append(times, time.Since(t0))
				i++
			}
			reportTimes(b, times, nil)
		})
		b.Run("ResendUnknown", func(b *testing.B) {
			// The slots of the last days with unknown messages.
			var slots []int64
			rows, err := w.db.QueryContext(ctx, `SELECT DISTINCT slot FROM deliveries INDEXED BY deliveries_slot
				WHERE slot >= ? AND state = 'unknown'`, now.AddDate(0, 0, -7).Unix())
			must(b, err)
			for rows.Next() {
				var slot int64
				must(b, rows.Scan(&slot))
				slots = append(slots, slot)
			}
			rows.Close()
			var times []time.Duration
			resent := 0
			i := 0
			for b.Loop() {
				t0 := time.Now()
				n, err := w.ResendUnknown(ctx, time.Unix(slots[i%len(slots)], 0))
				must(b, err)
				times = append(times, time.Since(t0))
				resent += n
				i++
			}
			b.ReportMetric(float64(resent)/float64(i), "resent/call")
			reportTimes(b, times, nil)
		})
	})
}

// reportTimes reports the median and 95th percentile of times, and of naive
// beside them when there are any.
func reportTimes(b *testing.B, times, naive []time.Duration) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	p50, p95 := percentile(times, 0.5), percentile(times, 0.95)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p95), "p95-ms")
	if p95 > 100*time.Millisecond {
		b.Logf("p95 %v is over the 100 ms of issue 15", p95)
	}
	if len(naive) > 0 {
		n50 := percentile(naive, 0.5)
		b.ReportMetric(ms(n50), "naive-p50-ms")
		b.ReportMetric(ms(percentile(naive, 0.95)), "naive-p95-ms")
		b.ReportMetric(float64(n50)/float64(max(p50, time.Microsecond)), "naive/aggregates")
	}
	b.ReportMetric(0, "ns/op") // the percentiles say it
}

// percentile returns the p-quantile of ds by nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := int(float64(len(sorted))*p + 0.999999)
	return sorted[max(0, min(len(sorted), rank)-1)]
}
