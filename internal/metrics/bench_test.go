package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/metrics"
	"github.com/lessonbot/lessonbot/internal/store"
)

// BenchmarkScrape gathers every metric, the store's figures read afresh
// each time, from a store of 30,000 subscribed chats with yesterday's
// slot delivered (30,000 sent rows), a slot of 30,000 deliveries pending
// now, and 30 days of older history (900,000 rows) that a scrape must not
// read.
func BenchmarkScrape(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, b.TempDir()+"/lessonbot.db")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now().Truncate(time.Second)
	const chats = 30_000
	// Plain SQL: the store's API writes one chat at a time.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO subscriptions (platform, chat_id, kind, hour, minute, zone, active, created_at)
			SELECT 'telegram', 'c' || i, CASE WHEN i % 10 = 0 THEN 'group' ELSE 'private' END, 8, 0, 'UTC', 1, 0 FROM n`, []any{chats}},
		{`WITH RECURSIVE d(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM d WHERE k < 31)
			INSERT INTO deliveries (subscription_id, kind, slot, state, due_at, created_at, updated_at)
			SELECT s.id, 'lesson', ? - k * 86400, 'sent', ? - k * 86400, 0, 0 FROM subscriptions s, d`, []any{now.Unix(), now.Unix()}},
		{`INSERT INTO deliveries (subscription_id, kind, slot, state, due_at, created_at, updated_at)
			SELECT id, 'lesson', ?, 'pending', ?, 0, 0 FROM subscriptions`, []any{now.Unix() - 60, now.Unix() - 60}},
		{`ANALYZE`, nil},
	} {
		if _, err := st.DB().ExecContext(ctx, q.sql, q.args...); err != nil {
			b.Fatal(err)
		}
	}
	m := metrics.New(metrics.Build{})
	m.WatchDB(st.DB(), "lessonbot")
	m.WatchStore(st, time.Now, 0)
	b.Run("ours", func(b *testing.B) {
		for b.Loop() {
			families, err := m.Registry().Gather()
			if err != nil || len(families) == 0 {
				b.Fatal(err)
			}
		}
		stats, err := st.Outbox(ctx, now)
		if err != nil {
			b.Fatal(err)
		}
		rows := 0
		for _, n := range stats.Rows {
			rows += n
		}
		b.ReportMetric(float64(rows), "rows_counted")
	})
	// The naive way: every delivery by platform and state, the whole
	// history read at each scrape.
	b.Run("whole_outbox", func(b *testing.B) {
		for b.Loop() {
			rows, err := st.DB().QueryContext(ctx, `SELECT s.platform, d.state, count(*) FROM deliveries d
				JOIN subscriptions s ON s.id = d.subscription_id GROUP BY 1, 2`)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			rows.Close()
		}
	})
}
