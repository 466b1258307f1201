package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/pgtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

// TestPing tells a database that answers from one whose file went away or
// was replaced while open: the open connection would answer either way.
func TestPing(t *testing.T) {
	t.Parallel()
	if pgtest.ServerURL() != "" {
		t.Skip("a SQLite test: the run without a PostgreSQL server covers it")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lessonbot.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping on a healthy database = %v", err)
	}
	if err := os.Rename(path, path+".away"); err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err == nil || !strings.Contains(err.Error(), "is gone") {
		t.Errorf("Ping with the file moved away = %v, want gone", err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err == nil || !strings.Contains(err.Error(), "was replaced") {
		t.Errorf("Ping with another file in its place = %v, want replaced", err)
	}
	if err := os.Rename(path+".away", path); err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Errorf("Ping with the file back = %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := st.Ping(cancelled); err == nil {
		t.Error("Ping with its time run out = nil")
	}
}
