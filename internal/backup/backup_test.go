package backup

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

// openStore opens a database with one learner in a new folder; the store
// closes at the end of the test (or of its bubble).
func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "lessonbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Learner(context.Background(), chat.User{Platform: chat.Telegram, ID: "1", Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	return st
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("not a backup of this run"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runFor starts Run in the bubble and returns a function that stops it
// and waits for it to return.
func runFor(t *testing.T, st *store.Store, opts Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { Run(ctx, st, opts) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// TestRunRotates backs up at start (the folder has no backup yet), then
// every hour, and keeps the newest three of its own files, leaving the
// folder's other files alone.
func TestRunRotates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		dir := filepath.Join(t.TempDir(), "backups")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		foreign := []string{"README.txt", "lessonbot-manual.db", "lessonbot-20000101T000000Z.db.bak", "lessonbot-19991231T000000Z.db-wal"}
		for _, n := range foreign {
			touch(t, filepath.Join(dir, n))
		}
		// A temporary file of a backup that a crash interrupted.
		touch(t, filepath.Join(dir, ".lessonbot-19991231T000000Z.db.tmp-12345"))
		var logs logtest.Buffer
		stop := runFor(t, st, Options{Dir: dir, Every: time.Hour, Keep: 3, Log: slog.New(slog.NewTextHandler(&logs, nil))})
		synctest.Wait()
		start := time.Now()
		if got, want := names(t, dir), append(slices.Clone(foreign), Name(start)); !sameSet(got, want) {
			t.Errorf("after the start the folder holds %q, want %q", got, want)
		}
		time.Sleep(4*time.Hour + time.Minute)
		synctest.Wait()
		stop()
		want := append(slices.Clone(foreign), Name(start.Add(2*time.Hour)), Name(start.Add(3*time.Hour)), Name(start.Add(4*time.Hour)))
		if got := names(t, dir); !sameSet(got, want) {
			t.Errorf("after 4 hours the folder holds %q, want %q", got, want)
		}
		if n := strings.Count(logs.String(), "database backed up"); n != 5 {
			t.Errorf("%d backups logged, want 5:\n%s", n, logs.String())
		}
		if n := strings.Count(logs.String(), "old backup removed"); n != 3 {
			t.Errorf("%d removals logged, want 3 (two backups and the crash's file):\n%s", n, logs.String())
		}
		// Each backup is a database of its own.
		c, err := store.OpenReadOnly(context.Background(), filepath.Join(dir, Name(start.Add(4*time.Hour))))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if counts, err := c.Count(context.Background()); err != nil || counts.Learners != 1 {
			t.Errorf("the last backup counts %+v, %v; want 1 learner", counts, err)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestRunFirstBackup: the first backup is due one interval after the
// newest in the folder; at once when that is older than the interval.
func TestRunFirstBackup(t *testing.T) {
	for _, tt := range []struct {
		name    string
		age     time.Duration // of the newest backup at start
		firstIn time.Duration
	}{
		{"OKRecentBackup", 20 * time.Minute, 40 * time.Minute},
		{"OKStaleBackup", 3 * time.Hour, 0},
		{"OKFutureBackup", -48 * time.Hour, time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := openStore(t)
				dir := t.TempDir()
				start := time.Now()
				touch(t, filepath.Join(dir, Name(start.Add(-tt.age))))
				stop := runFor(t, st, Options{Dir: dir, Every: time.Hour, Keep: 7, Log: slog.New(slog.DiscardHandler)})
				defer stop()
				if tt.firstIn > 0 {
					time.Sleep(tt.firstIn - time.Second)
					synctest.Wait()
					if n := len(names(t, dir)); n != 1 {
						t.Fatalf("%v after the start the folder holds %q, want the old backup only", tt.firstIn-time.Second, names(t, dir))
					}
					time.Sleep(time.Second)
				}
				synctest.Wait()
				if _, err := os.Stat(filepath.Join(dir, Name(start.Add(tt.firstIn)))); err != nil {
					t.Errorf("no backup %v after the start: the folder holds %q", tt.firstIn, names(t, dir))
				}
			})
		})
	}
}

// TestRunRetries: a backup that fails is logged with its error and tried
// again at the next interval.
func TestRunRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		parent := t.TempDir()
		dir := filepath.Join(parent, "backups")
		touch(t, dir) // a file where the folder should be
		var logs logtest.Buffer
		stop := runFor(t, st, Options{Dir: dir, Every: time.Hour, Keep: 7, Log: slog.New(slog.NewTextHandler(&logs, nil))})
		defer stop()
		synctest.Wait()
		if !strings.Contains(logs.String(), `msg="database backup failed"`) || !strings.Contains(logs.String(), "err=") {
			t.Fatalf("the failure was not logged with its error:\n%s", logs.String())
		}
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := names(t, dir); len(got) != 1 || got[0] != Name(time.Now()) {
			t.Errorf("an hour after the failure the folder holds %q, want %s", got, Name(time.Now()))
		}
	})
}

func TestRunOff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	Run(t.Context(), nil, Options{Dir: dir, Every: 0, Keep: 7})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("backups off made the folder: %v", err)
	}
}

func TestName(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	if got, want := Name(at), "lessonbot-20261206T080000Z.db"; got != want {
		t.Errorf("Name(%v) = %s, want %s", at, got, want)
	}
	if !namePattern.MatchString(Name(at)) {
		t.Errorf("Name's result does not match the pattern Rotate removes")
	}
}

func TestRotate(t *testing.T) {
	dir := t.TempDir()
	var backups []string
	for i := range 5 {
		backups = append(backups, Name(time.Date(2026, 1, 1+i, 8, 0, 0, 0, time.UTC)))
	}
	for _, n := range append(slices.Clone(backups), "other.db", "lessonbot-20260101T080000Z.db.note") {
		touch(t, filepath.Join(dir, n))
	}
	if err := os.Mkdir(filepath.Join(dir, "lessonbot-20250101T080000Z.db"), 0o755); err != nil {
		t.Fatal(err)
	}
	removed, err := Rotate(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 3 || filepath.Base(removed[0]) != backups[0] {
		t.Errorf("Rotate removed %q, want the three oldest", removed)
	}
	want := append(slices.Clone(backups[3:]), "other.db", "lessonbot-20260101T080000Z.db.note", "lessonbot-20250101T080000Z.db")
	if got := names(t, dir); !sameSet(got, want) {
		t.Errorf("after Rotate the folder holds %q, want %q", got, want)
	}
	if removed, err := Rotate(filepath.Join(dir, "missing"), 2); err != nil || len(removed) != 0 {
		t.Errorf("Rotate of a missing folder: %q, %v", removed, err)
	}
}
