package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/quiz"
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
