package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/pgtest"
)

// claimT0 is when the deliveries of the claim tests fall due.
var claimT0 = time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC)

// seedDue writes chats × slots pending deliveries on PostgreSQL, all due
// by claimT0, with one statement per table.
func seedDue(t testing.TB, s *Store, chats, slots int) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO subscriptions (platform, chat_id, kind, hour, minute, zone, active, created_at)
		SELECT 'telegram', g::text, 'private', 8, 0, 'UTC', 1, ? FROM generate_series(1, ?) g`, claimT0.Unix(), chats); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO deliveries (subscription_id, kind, slot, state, due_at, created_at, updated_at)
		SELECT s.id, 'lesson', ? - k * 86400, 'pending', ? - k * 86400, ?, ?
		FROM subscriptions s CROSS JOIN generate_series(0, ? - 1) k`,
		claimT0.Unix(), claimT0.Unix(), claimT0.Unix(), claimT0.Unix(), slots); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
}

// claimRace runs claimers goroutines on each of the stores, each claiming
// batches of batch rows for its store's holder until none is left, and
// returns every id claimed, in the order claimed, and how long it took.
func claimRace(t testing.TB, stores []*Store, claimers, batch int) ([]int64, time.Duration) {
	t.Helper()
	ctx := context.Background()
	var (
		mu      sync.Mutex
		claimed []int64
		wg      sync.WaitGroup
		failed  error
	)
	start := time.Now()
	for i, s := range stores {
		holder := fmt.Sprintf("instance-%d", i)
		for range claimers {
			wg.Go(func() {
				for {
					claims, _, err := s.ClaimDue(ctx, claimT0, holder, time.Hour, batch, false, chat.Telegram)
					mu.Lock()
					if err != nil && failed == nil {
						failed = err
					}
					for _, c := range claims {
						claimed = append(claimed, c.Delivery.ID)
					}
					stop := len(claims) == 0 || failed != nil
					mu.Unlock()
					if stop {
						return
					}
				}
			})
		}
	}
	wg.Wait()
	took := time.Since(start)
	if failed != nil {
		t.Fatal(failed)
	}
	return claimed, took
}

// openInstances opens n stores on the PostgreSQL database at url, as n
// lessonbot instances would, each with its own pool.
func openInstances(t testing.TB, url string, n int) []*Store {
	t.Helper()
	stores := make([]*Store, n)
	for i := range stores {
		s, err := Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	return stores
}

// TestClaimExactlyOnce has three instances with four claimers each claim
// 200,000 due deliveries at once: every row is claimed once, by one
// holder, and none is left behind.
func TestClaimExactlyOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	stores := openInstances(t, url, 3)
	const chats, slots = 2000, 100
	seeding := time.Now()
	seedDue(t, stores[0], chats, slots)
	t.Logf("%d due deliveries written in %v", chats*slots, time.Since(seeding).Round(time.Millisecond))

	claimed, took := claimRace(t, stores, 4, 50)
	seen := make(map[int64]bool, len(claimed))
	twice := 0
	for _, id := range claimed {
		if seen[id] {
			twice++
		}
		seen[id] = true
	}
	if twice > 0 || len(seen) != chats*slots {
		t.Errorf("claimed %d rows, %d distinct, %d twice; want each of %d once", len(claimed), len(seen), twice, chats*slots)
	}
	var pending, sending, holders int
	if err := stores[0].db.QueryRow(`SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'sending'),
		count(DISTINCT claimed_by) FROM deliveries`).Scan(&pending, &sending, &holders); err != nil {
		t.Fatal(err)
	}
	if pending != 0 || sending != chats*slots || holders != 3 {
		t.Errorf("after the race: %d pending, %d sending by %d holders; want 0, %d by 3", pending, sending, holders, chats*slots)
	}
	t.Logf("3 instances × 4 claimers: %d rows claimed once each in %v (%.0f rows/s)",
		len(claimed), took.Round(time.Millisecond), float64(len(claimed))/took.Seconds())
}

// BenchmarkClaimPostgres measures claims on PostgreSQL: three instances
// with four claimers each take 200,000 due deliveries in batches of 50,
// beside one claimer alone (the naive way, one worker). It reports rows
// claimed per second and fails below the guard of 10,000 rows/s.
func BenchmarkClaimPostgres(b *testing.B) {
	const chats, slots = 2000, 100
	for _, c := range []struct {
		name               string
		instances, workers int
	}{{"3x4", 3, 4}, {"1x1", 1, 1}} {
		b.Run(c.name, func(b *testing.B) {
			var rows int
			var took time.Duration
			for range b.N {
				b.StopTimer()
				url := pgtest.Database(b)
				stores := openInstances(b, url, c.instances)
				seedDue(b, stores[0], chats, slots)
				b.StartTimer()
				claimed, d := claimRace(b, stores, c.workers, 50)
				rows += len(claimed)
				took += d
			}
			rate := float64(rows) / took.Seconds()
			b.ReportMetric(rate, "rows/s")
			b.ReportMetric(0, "ns/op")
			if rate < 10_000 {
				b.Errorf("%.0f rows claimed per second, under the guard of 10,000", rate)
			}
		})
	}
}
