package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/quiz"
	"github.com/lessonbot/lessonbot/internal/store"
)

// TestDBCheck runs lessonbot db check on a database a chat session
// wrote (ok, exit 0), then on the same database with one score changed
// behind lessonbot's back and with a schema from a newer lessonbot (each
// a one-line problem, exit 1), and on no database at all.
func TestDBCheck(t *testing.T) {
	lessonsDir, err := filepath.Abs("../../lessons")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := writeChatConfig(t, dir, lessonsDir)
	dbPath := filepath.Join(dir, "lessonbot.db")
	res := lesson.LoadDir(lessonsDir)
	qs := quiz.Questions(res.Library.Lessons()[0], res.Library, 3)
	runChatOnce(t, cfg, fmt.Sprintf("/subscribe 07:30 Europe/Paris\n/lesson\n%d\n%d\n", qs[0].Correct+1, qs[1].Correct%len(qs[1].Choices)+1))

	r := run(t, "db", "check", "--config", cfg)
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("db check on a good database: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if want := dbPath + ": ok: "; !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, "1 chat, 1 learner, 2 answers") {
		t.Errorf("db check on a good database printed %q, want %q… with 1 chat, 1 learner, 2 answers", r.stdout, want)
	}

	tamper := func(stmt string) {
		t.Helper()
		db, err := sql.Open("sqlite", dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	tamper(`UPDATE chat_scores SET correct = correct + 1`)
	r = run(t, "db", "check", "--config", cfg)
	if r.code != exitFailure {
		t.Errorf("db check on a tampered score: exit %d, want %d; stdout:\n%s", r.code, exitFailure, r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], dbPath+": chat_scores: ") {
		t.Errorf("db check on a tampered score printed:\n%s\nwant two lines %s: chat_scores: …", r.stdout, dbPath)
	}

	tamper(`UPDATE chat_scores SET correct = correct - 1`)
	tamper(`PRAGMA user_version = 99`)
	r = run(t, "db", "check", "--config", cfg)
	if r.code != exitFailure || !strings.Contains(r.stdout, "schema version 99 is newer than this lessonbot's") {
		t.Errorf("db check on a newer schema: exit %d, stdout:\n%s", r.code, r.stdout)
	}

	missing := writeChatConfig(t, t.TempDir(), lessonsDir)
	r = run(t, "db", "check", "--config", missing)
	if r.code != exitFailure || !strings.Contains(r.stderr, "no database at") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("db check without a database: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// chatDatabase writes a database with a chat session that answers the
// first lesson's first two questions, and returns the config naming it.
func chatDatabase(t *testing.T) (cfg, dbPath string) {
	t.Helper()
	lessonsDir, err := filepath.Abs("../../lessons")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg = writeChatConfig(t, dir, lessonsDir)
	res := lesson.LoadDir(lessonsDir)
	qs := quiz.Questions(res.Library.Lessons()[0], res.Library, 3)
	runChatOnce(t, cfg, fmt.Sprintf("/subscribe 07:30 Europe/Paris\n/lesson\n%d\n%d\n", qs[0].Correct+1, qs[1].Correct%len(qs[1].Choices)+1))
	return cfg, filepath.Join(dir, "lessonbot.db")
}

// TestDBBackup backs up a database a chat session wrote: one line with
// the file, its size and its counts; then refuses the same file again
// unless --force.
func TestDBBackup(t *testing.T) {
	cfg, _ := chatDatabase(t)
	out := filepath.Join(t.TempDir(), "backup.db")

	r := run(t, "db", "backup", out, "--config", cfg)
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("db backup: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s: %.1f KiB, integrity ok, schema version %d; 1 chat, 1 learner, 2 answers\n", out, float64(fi.Size())/1024, schemaHead(t))
	if r.stdout != want {
		t.Errorf("db backup printed %q, want %q", r.stdout, want)
	}

	if err := os.WriteFile(out, []byte("an older backup"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, "db", "backup", "--config", cfg, out)
	if want := "lessonbot db backup: " + out + " exists; use --force to overwrite it\n"; r.code != exitFailure || r.stderr != want {
		t.Errorf("db backup over an existing file: exit %d, stderr %q; want exit 1, %q", r.code, r.stderr, want)
	}
	if b, _ := os.ReadFile(out); string(b) != "an older backup" {
		t.Error("db backup without --force changed the existing file")
	}
	r = run(t, "db", "backup", "--config", cfg, out, "--force")
	if r.code != exitOK || !strings.HasSuffix(r.stdout, "1 chat, 1 learner, 2 answers\n") {
		t.Errorf("db backup --force: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}

	for _, args := range [][]string{{"db", "backup"}, {"db", "backup", "a.db", "b.db"}} {
		if r := run(t, append(args, "--config", cfg)...); r.code != exitUsage || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line", args, r.code, r.stderr)
		}
	}
	missing := writeChatConfig(t, t.TempDir(), "lessons")
	if r := run(t, "db", "backup", filepath.Join(t.TempDir(), "b.db"), "--config", missing); r.code != exitFailure || !strings.Contains(r.stderr, "no database at") {
		t.Errorf("db backup without a database: exit %d, stderr %q", r.code, r.stderr)
	}
	r = run(t, "db", "backup", "--help")
	if r.code != exitOK || !strings.Contains(r.stdout, "lessonbot db backup FILE [--force]") || !strings.Contains(r.stdout, "  -force\n") {
		t.Errorf("db backup --help: exit %d:\n%s", r.code, r.stdout)
	}
}

// schemaHead is the newest schema version this lessonbot knows.
func schemaHead(t *testing.T) int {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "head.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, head, err := st.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// TestDBRestore restores a backup over a database that went on after it,
// which is kept as lessonbot.db.before-restore; then refuses while the
// database is locked, and a backup from a newer lessonbot.
func TestDBRestore(t *testing.T) {
	cfg, dbPath := chatDatabase(t)
	backup := filepath.Join(t.TempDir(), "backup.db")
	if r := run(t, "db", "backup", backup, "--config", cfg); r.code != exitOK {
		t.Fatalf("db backup: exit %d:\n%s", r.code, r.stderr)
	}
	runChatOnce(t, cfg, "/lesson\n1\n") // a third answer, after the backup

	r := run(t, "db", "restore", backup, "--config", cfg)
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("db restore: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 2 || lines[0] != "kept the replaced database as "+dbPath+".before-restore" ||
		!strings.HasPrefix(lines[1], "restored "+backup+" into "+dbPath+": ") || !strings.HasSuffix(lines[1], "1 chat, 1 learner, 2 answers") {
		t.Errorf("db restore printed:\n%s", r.stdout)
	}
	if r := run(t, "db", "check", "--config", cfg); r.code != exitOK || !strings.Contains(r.stdout, "1 chat, 1 learner, 2 answers") {
		t.Errorf("db check after the restore: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(dbPath + ".before-restore"); err != nil {
		t.Error(err)
	}

	t.Run("ErrLocked", func(t *testing.T) {
		lock, err := store.LockDatabase(dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Release()
		r := run(t, "db", "restore", backup, "--config", cfg)
		want := fmt.Sprintf("lessonbot db restore: a lessonbot run (pid %d) is using the database %s: stop it first\n", os.Getpid(), dbPath)
		if r.code != exitFailure || r.stderr != want {
			t.Errorf("db restore while locked: exit %d, stderr %q; want %q", r.code, r.stderr, want)
		}
	})
	t.Run("ErrNewerSchema", func(t *testing.T) {
		newer := filepath.Join(t.TempDir(), "newer.db")
		if r := run(t, "db", "backup", newer, "--config", cfg); r.code != exitOK {
			t.Fatalf("db backup: exit %d:\n%s", r.code, r.stderr)
		}
		db, err := sql.Open("sqlite", newer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaHead(t)+1)); err != nil {
			t.Fatal(err)
		}
		db.Close()
		r := run(t, "db", "restore", newer, "--config", cfg)
		want := fmt.Sprintf("lessonbot db restore: %s is at schema version %d; this lessonbot knows up to %d: upgrade lessonbot first\n", newer, schemaHead(t)+1, schemaHead(t))
		if r.code != exitFailure || r.stderr != want {
			t.Errorf("db restore of a newer schema: exit %d, stderr %q; want %q", r.code, r.stderr, want)
		}
	})
	t.Run("ErrNotSQLite", func(t *testing.T) {
		r := run(t, "db", "restore", cfg, "--config", cfg) // the config file
		want := "lessonbot db restore: " + cfg + " is not an SQLite database\n"
		if r.code != exitFailure || r.stderr != want {
			t.Errorf("db restore of a text file: exit %d, stderr %q; want %q", r.code, r.stderr, want)
		}
	})
}
