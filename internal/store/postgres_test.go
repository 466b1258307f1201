package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/pgtest"
)

func TestPostgresSQL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?', "a?" FROM t WHERE b = ?`, `SELECT '?', "a?" FROM t WHERE b = $1`},
		{"SELECT 1 -- why?\nFROM t WHERE a = ?", "SELECT 1 -- why?\nFROM t WHERE a = $1"},
		{`SELECT count(*) FROM deliveries INDEXED BY deliveries_slot WHERE slot >= ?`, `SELECT count(*) FROM deliveries  WHERE slot >= $1`},
		{`SELECT x FROM answers NOT INDEXED GROUP BY 1`, `SELECT x FROM answers  GROUP BY 1`},
		{`SELECT max(a), min(b) FROM t`, `SELECT max(a), min(b) FROM t`},
		{`SET last_at = max(t.last_at, excluded.last_at)`, `SET last_at = greatest(t.last_at, excluded.last_at)`},
		{`WHERE n >= max(?, 1) AND m < min(coalesce(a, 0), (SELECT max(x) FROM y))`, `WHERE n >= greatest($1, 1) AND m < least(coalesce(a, 0), (SELECT max(x) FROM y))`},
		{`SELECT max(f(a, b)) FROM t`, `SELECT max(f(a, b)) FROM t`},
		{`FROM v CROSS JOIN subscriptions s ON s.id = v.id`, `FROM v JOIN subscriptions s ON s.id = v.id`},
		{"FROM d\n\t\tCROSS JOIN chat_changes c ON c.q = d.q", "FROM d\n\t\tJOIN chat_changes c ON c.q = d.q"},
		{`FROM s CROSS JOIN k WHERE s.kind != 'private'`, `FROM s CROSS JOIN k WHERE s.kind != 'private'`},
		{`SELECT tmax(a, b), NOTINDEXED FROM t`, `SELECT tmax(a, b), NOTINDEXED FROM t`},
	} {
		if got := pgSQL(c.in); got != c.want {
			t.Errorf("pgSQL(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestIsPostgres(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"postgres://u@h/db": true, "postgresql://h/db": true, "lessonbot.db": false, "/var/lib/postgres/x.db": false,
	} {
		if IsPostgres(in) != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", in, !want, want)
		}
	}
	if got := RedactURL("postgres://bot:s3cret@db:5432/lessonbot?sslmode=disable"); got != "postgres://bot:xxxxx@db:5432/lessonbot?sslmode=disable" {
		t.Errorf("RedactURL = %q", got)
	}
}

// TestPostgresOpenTogether starts three stores on a new database at once,
// as three instances deployed together do: the migrations run once, under
// the lock, and every store finds the schema at head.
func TestPostgresOpenTogether(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	ctx := context.Background()
	stores := make([]*Store, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(ctx, url) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("store %d: %v", i, errs[i])
		}
		defer s.Close()
		have, head, err := s.SchemaVersion(ctx)
		if err != nil || have != head || head != latestVersion(t) {
			t.Errorf("store %d: SchemaVersion = %d, %d, %v; want %d twice", i, have, head, err, latestVersion(t))
		}
	}
	var rows int
	if err := stores[0].db.QueryRowContext(ctx, `SELECT count(*) FROM schema_version`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("schema_version has %d rows (%v), want 1", rows, err)
	}
	// A table that a second run of 0001 would have failed to create twice
	// holds what the migrations put there, once.
	var backfill int
	if err := stores[0].db.QueryRowContext(ctx, `SELECT count(*) FROM kv WHERE key = 'review.backfill'`).Scan(&backfill); err != nil || backfill != 1 {
		t.Errorf("kv review.backfill rows = %d (%v), want 1", backfill, err)
	}
}

// TestPostgresNewerSchema refuses a database that a newer lessonbot
// migrated, naming both versions.
func TestPostgresNewerSchema(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	ctx := context.Background()
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE schema_version SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(ctx, url)
	head := latestVersion(t)
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), fmt.Sprintf("version %d, this lessonbot knows up to %d", head+1, head)) {
		t.Errorf("Open of a newer schema = %v, want ErrNewerSchema naming %d and %d", err, head+1, head)
	}
}

// TestPostgresURLRedacted keeps the password of a PostgreSQL URL out of
// Open's errors.
func TestPostgresURLRedacted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, url := range []string{
		"postgres://bot:s3cretpass@127.0.0.1:1/lessonbot?sslmode=disable&connect_timeout=2",
		"postgres://bot:s3cretpass@127.0.0.1:1/lessonbot?sslmode=bogus",
	} {
		s, err := Open(ctx, url)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%s) succeeded", url)
		}
		if strings.Contains(err.Error(), "s3cretpass") {
			t.Errorf("Open's error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "xxxxx") {
			t.Errorf("Open's error does not name the database: %v", err)
		}
	}
}

// TestPostgresBackupRefused points to PostgreSQL's own tools.
func TestPostgresBackupRefused(t *testing.T) {
	t.Parallel()
	s := openPostgresTest(t)
	if _, err := s.Backup(context.Background(), filepath.Join(t.TempDir(), "b.db"), false); !errors.Is(err, ErrPostgresBackup) {
		t.Errorf("Backup on PostgreSQL = %v, want ErrPostgresBackup", err)
	}
	if _, err := Restore(context.Background(), pgtest.ServerURL(), filepath.Join(t.TempDir(), "b.db")); !errors.Is(err, ErrPostgresBackup) {
		t.Errorf("Restore into PostgreSQL = %v, want ErrPostgresBackup", err)
	}
}

// openPostgresTest opens a store on a new PostgreSQL database, skipping t
// when no server is configured.
func openPostgresTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
