package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSeedDashboard seeds small stores: the aggregates equal a recount,
// the history has what the dashboard's pages show, and the same options
// give the same history.
func TestSeedDashboard(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	ctx := context.Background()
	opt := SeedOptions{Chats: 600, Answers: 5000}
	s := openTest(t)
	start := time.Now()
	if err := SeedDashboard(ctx, s, opt); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded in %v", time.Since(start))
	checkAggregates(t, s)

	t.Run("OKFigures", func(t *testing.T) {
		c, err := s.Count(ctx)
		if err != nil || c.Chats != 600 || c.Answers != 5000 {
			t.Errorf("Count = %+v, %v; want 600 chats and 5000 answers", c, err)
		}
		for _, q := range []string{
			`SELECT count(DISTINCT state) = 5 FROM deliveries`,
			`SELECT count(DISTINCT change) = 3 FROM chat_changes`,
			`SELECT count(DISTINCT kind) = 3 AND count(DISTINCT platform) = 2 FROM subscriptions`,
			`SELECT count(DISTINCT zone) = 8 FROM subscriptions`,
			`SELECT count(*) > 0 FROM subscriptions WHERE cohort IS NULL`,
			`SELECT max(cohort) - min(cohort) >= 12 FROM subscriptions`,
			`SELECT count(*) > 0 FROM deliveries WHERE state = 'sent' AND unknown > 0`,
			`SELECT count(*) = 0 FROM answers WHERE delay IS NULL OR delay < 0`,
			fmt.Sprint(`SELECT count(*) = 0 FROM answers WHERE answered_at > `, SeedOptions{}.withDefaults().Now.UnixMilli()),
			`SELECT count(DISTINCT chat) > 100 FROM answers`,
			`SELECT count(*) > 0 FROM review_items`,
			`SELECT count(*) > 0 FROM rate_limits`,
			`SELECT count(*) > 0 FROM delivery_lateness WHERE lo >= 60`,
		} {
			var ok bool
			if err := s.db.QueryRowContext(ctx, q).Scan(&ok); err != nil || !ok {
				t.Errorf("%s: %v, %v", q, ok, err)
			}
		}
		// Every page has something to show.
		now := SeedOptions{}.withDefaults().Now
		growth, err := s.Growth(ctx, now.AddDate(0, 0, -89), now, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		var subscribed, left int
		for _, g := range growth {
			subscribed += g.Subscribed
			left += g.Unsubscribed + g.Gone
		}
		if subscribed < 500 || left < 20 {
			t.Errorf("Growth over 90 days: %d subscribed, %d left", subscribed, left)
		}
		// The answers come in the 30 days of deliveries: the cohorts of
		// the weeks before have none in their first weeks.
		cohorts, err := s.Retention(ctx, now, 12)
		if err != nil {
			t.Fatal(err)
		}
		if c := cohorts[0]; c.Chats == 0 || c.Active[0] != 0 || c.Active[len(c.Active)-2] == 0 {
			t.Errorf("the cohort of 12 weeks ago: %+v", c)
		}
		if c := cohorts[len(cohorts)-4]; c.Chats == 0 || c.Active[0] == 0 || c.Active[1] == 0 || c.Active[2] == 0 {
			t.Errorf("the cohort of 4 weeks ago: %+v", c)
		}
		stats, err := s.LessonStats(ctx)
		if err != nil || len(stats) != 40 || stats[0].Sent == 0 || stats[0].MedianDelay == 0 {
			t.Errorf("LessonStats = %d lessons (%+v), %v", len(stats), stats[:min(1, len(stats))], err)
		}
		days, err := s.DeliveryHealth(ctx, now.AddDate(0, 0, -29), now, time.UTC)
		if err != nil || days[0].Sent == 0 || days[0].LatenessP95 <= days[0].LatenessP50 {
			t.Errorf("DeliveryHealth: %+v, %v", days[0], err)
		}
		if q, err := s.Queue(ctx); err != nil || q.Pending == 0 {
			t.Errorf("Queue = %+v, %v; want today's later slots pending", q, err)
		}
	})
	t.Run("OKSameHistory", func(t *testing.T) {
		again := openTest(t)
		if err := SeedDashboard(ctx, again, opt); err != nil {
			t.Fatal(err)
		}
		if a, b := seedDigest(t, s), seedDigest(t, again); a != b {
			t.Error("the same options gave another history")
		}
	})
	t.Run("OKLessons", func(t *testing.T) {
		other := openTest(t)
		lessons := []SeedLesson{
			{ID: "harbour", Questions: []SeedQuestion{{Key: "h1", Choices: 3, Right: 2, Term: "crane"}, {Key: "h2", Choices: 2}}},
			{ID: "marathon", Questions: []SeedQuestion{{Key: "m1", Choices: 4, Right: 1, Term: "rule out"}}},
		}
		if err := SeedDashboard(ctx, other, SeedOptions{Chats: 50, Answers: 100, Days: 2, Lessons: lessons}); err != nil {
			t.Fatal(err)
		}
		checkAggregates(t, other)
		var bad int
		other.db.QueryRow(`SELECT count(*) FROM answers WHERE question_key NOT IN ('h1', 'h2', 'm1')
			OR (question_key = 'h1' AND (choice > 2 OR correct != (choice = 2))) OR (question_key = 'h2' AND choice > 1)`).Scan(&bad)
		if bad != 0 {
			t.Errorf("%d answers do not fit the lessons given", bad)
		}
	})
	t.Run("ErrNotEmpty", func(t *testing.T) {
		if err := SeedDashboard(ctx, s, opt); err == nil || !strings.Contains(err.Error(), "has chats or answers") {
			t.Errorf("seeding a store seeded = %v", err)
		}
	})
	t.Run("ErrTooFewLessons", func(t *testing.T) {
		err := SeedDashboard(ctx, openTest(t), SeedOptions{Chats: 10, Answers: 10, Days: 3,
			Lessons: []SeedLesson{{ID: "a", Questions: []SeedQuestion{{Key: "a1"}}}}})
		if err == nil || !strings.Contains(err.Error(), "1 lessons for 3 days") {
			t.Errorf("SeedDashboard = %v", err)
		}
	})
}

// seedDigest hashes the rows a seed writes.
func seedDigest(t *testing.T, s *Store) string {
	t.Helper()
	h := sha256.New()
	for _, q := range []string{
		`SELECT * FROM subscriptions ORDER BY id`, `SELECT * FROM deliveries ORDER BY id`, `SELECT * FROM answers ORDER BY id`,
		`SELECT * FROM review_items ORDER BY id`, `SELECT * FROM rate_limits`, `SELECT * FROM chat_changes`,
	} {
		found, err := s.differences(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(h, found)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestSeededFile(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	t.Setenv("TMPDIR", t.TempDir())
	opt := SeedOptions{Chats: 100, Answers: 500}
	path, err := SeededFile(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if dir := filepath.Join(os.TempDir(), "lessonbot-bench"); filepath.Dir(path) != dir {
		t.Errorf("SeededFile = %s, want a file in %s", path, dir)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := SeededFile(ctx, opt)
	if err != nil || again != path {
		t.Fatalf("SeededFile again = %s, %v; want %s", again, err, path)
	}
	if info2, _ := os.Stat(path); !info2.ModTime().Equal(info.ModTime()) {
		t.Error("SeededFile built the file again")
	}
	if other, _ := SeededFile(ctx, SeedOptions{Chats: 101, Answers: 500}); other == path {
		t.Error("other options gave the same file")
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, err := s.Count(ctx); err != nil || c.Chats != 100 || c.Answers != 500 {
		t.Errorf("Count = %+v, %v", c, err)
	}
	checkAggregates(t, s)
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*.building*"))
	if len(leftovers) > 0 {
		t.Errorf("left behind: %v", leftovers)
	}
}
