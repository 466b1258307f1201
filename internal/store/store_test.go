package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/pgtest"
)

// openTest opens a store on a database of its own and closes it at the
// end of the test: a new file in t.TempDir, or, when the tests run beside
// a PostgreSQL server (pgtest.EnvURL), a database there that holds what a
// new one would (pgtest.Reused). Each test has its own, so tests that open
// their stores with openTest run in parallel.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), testDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// testDatabase returns where a test's store lives: a PostgreSQL URL when
// the tests run beside a PostgreSQL server, else a new file. The test must
// close its stores before it ends and leave the schema as it found it.
func testDatabase(t testing.TB) string {
	t.Helper()
	if pgtest.ServerURL() != "" {
		return pgtest.Reused(t)
	}
	return filepath.Join(t.TempDir(), "lessonbot.db")
}

// sqliteOnly skips a test of what only the SQLite store has (its file, its
// lock, its backups, its query plans) in the PostgreSQL run: the SQLite run
// covers it.
func sqliteOnly(t testing.TB) {
	t.Helper()
	if pgtest.ServerURL() != "" {
		t.Skip("a SQLite test: the run without a PostgreSQL server covers it")
	}
}

// latestVersion is the newest schema version embedded in the binary.
func latestVersion(t testing.TB) int {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

func userVersion(t testing.TB, s *Store) int {
	t.Helper()
	var v int
	if err := s.db.QueryRowContext(context.Background(), `PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpen(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	latest := latestVersion(t)

	t.Run("OK", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lessonbot.db")
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if got := userVersion(t, s); got != latest {
			t.Errorf("user_version = %d, want %d", got, latest)
		}
		pragmas := []struct {
			name string
			want string
		}{
			{"journal_mode", "wal"},
			{"foreign_keys", "1"},
			{"synchronous", "2"}, // FULL
			{"busy_timeout", "5000"},
			{"wal_autocheckpoint", "4096"},
			{"journal_size_limit", "33554432"},
		}
		for _, p := range pragmas {
			var got string
			if err := s.db.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != p.want {
				t.Errorf("PRAGMA %s = %q, want %q", p.name, got, p.want)
			}
		}
		if err := s.IntegrityCheck(ctx); err != nil {
			t.Error(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("OKReopen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lessonbot.db")
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetValue(ctx, "offset", "42"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := userVersion(t, s); got != latest {
			t.Errorf("user_version = %d, want %d", got, latest)
		}
		if got, err := s.Value(ctx, "offset"); err != nil || got != "42" {
			t.Errorf("Value(offset) = %q, %v; want 42 kept across re-open", got, err)
		}
	})

	t.Run("OKPathNeedsEscaping", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a dir?with #odd %20chars")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "my?db#1.db")
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("database not at the path given: %v", err)
		}
	})

	t.Run("OKRelativePath", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		s, err := Open(ctx, "lessonbot.db")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "lessonbot.db")); err != nil {
			t.Errorf("database not in the current directory: %v", err)
		}
	})

	t.Run("ErrNewerSchema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lessonbot.db")
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		newer := latest + 3
		if _, err := s.db.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(newer)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(ctx, path)
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded on a database from a newer lessonbot")
		}
		if !errors.Is(err, ErrNewerSchema) {
			t.Errorf("error %v does not wrap ErrNewerSchema", err)
		}
		msg := err.Error()
		for _, want := range []string{strconv.Itoa(newer), strconv.Itoa(latest), "upgrade lessonbot"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %q", msg, want)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("error %q is more than one line", msg)
		}
	})

	t.Run("ErrEmptyPath", func(t *testing.T) {
		if s, err := Open(ctx, ""); err == nil {
			s.Close()
			t.Error("Open(\"\") succeeded")
		}
	})
}

// TestMigrationsNumbered guards the naming rule migrations relies on.
func TestMigrationsNumbered(t *testing.T) {
	t.Parallel()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range ms {
		if m.version != i+1 || strings.TrimSpace(m.sql) == "" {
			t.Errorf("migration %d: %s, version %d", i, m.name, m.version)
		}
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	ctx := context.Background()

	t.Run("ErrRecordAnswerAfterClose", func(t *testing.T) {
		s, err := Open(ctx, filepath.Join(t.TempDir(), "lessonbot.db"))
		if err != nil {
			t.Fatal(err)
		}
		id, err := s.Learner(ctx, chat.User{Platform: chat.Console, ID: "1", Name: "Ada"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		done := make(chan error, 1)
		go func() {
			_, _, err := s.RecordAnswer(ctx, Answer{LearnerID: id, QuestionKey: "q", At: time.Now()})
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Error("RecordAnswer after Close succeeded")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("RecordAnswer after Close hangs")
		}
	})

	t.Run("OKCloseCommitsQueuedAnswers", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lessonbot.db")
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		id, err := s.Learner(ctx, chat.User{Platform: chat.Console, ID: "1", Name: "Ada"})
		if err != nil {
			t.Fatal(err)
		}
		const n = 200
		errs := make(chan error, n)
		for i := range n {
			go func() {
				_, _, err := s.RecordAnswer(ctx, Answer{LearnerID: id, QuestionKey: "q" + strconv.Itoa(i), At: time.Now()})
				errs <- err
			}()
		}
		time.Sleep(time.Millisecond)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		ok := 0
		for range n {
			if err := <-errs; err == nil {
				ok++
			}
		}
		s, err = Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, answered, err := s.Score(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if answered != ok {
			t.Errorf("%d answers stored, %d calls reported success", answered, ok)
		}
	})
}

func TestIntegrityCheck(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	if err := s.IntegrityCheck(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestDSN(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	tests := []struct {
		name, path, want string
	}{
		{"OKRelative", "lessonbot.db", "file:lessonbot.db?" + dsnParams},
		{"OKRelativeDir", "data/lessonbot.db", "file:data/lessonbot.db?" + dsnParams},
		{"OKAbsolute", "/var/lib/lessonbot.db", "file:///var/lib/lessonbot.db?" + dsnParams},
		{"OKEscaped", "/tmp/a b?c#d%e.db", "file:///tmp/a%20b%3Fc%23d%25e.db?" + dsnParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dsn(tt.path); got != tt.want {
				t.Errorf("dsn(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

// oldSchema creates a database at path with the schema of the first
// version migrations only, as an older lessonbot left it, for upgrade
// tests to fill with plain SQL. The caller closes it.
func oldSchema(tb testing.TB, path string, version int) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		tb.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range ms[:version] {
		if err := applyMigration(context.Background(), db, m); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}
