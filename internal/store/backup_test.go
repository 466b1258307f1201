package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// countAnswers counts the answers in the database file at path, opened by
// SQLite alone (with its -wal, when one is beside it).
func countAnswers(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", readOnlyDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM answers`).Scan(&n); err != nil {
		t.Fatalf("count the answers of %s: %v", path, err)
	}
	return n
}

// answerKeys returns the question keys of the answers in the database
// file at path.
func answerKeys(t *testing.T, path string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", readOnlyDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT question_key FROM answers`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	keys := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys[k] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// writeAnswers records n answers of one learner to the questions
// prefix0, prefix1, ...
func writeAnswers(t *testing.T, s *Store, learner int64, prefix string, n int) {
	t.Helper()
	for i := range n {
		record(t, s, Answer{LearnerID: learner, Chat: "telegram:7", LessonID: "l", QuestionKey: fmt.Sprint(prefix, i), At: time.Now()})
	}
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestBackupWhileWriting backs up a database through a read-only store, as
// lessonbot db backup does, while another store answers questions as fast
// as it can: the copy passes the integrity check and holds every answer
// committed before the backup began.
func TestBackupWhileWriting(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "lessonbot.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	learner := learnerForTest(t, s, "ada")
	subscribeForTest(t, s, "telegram", "7")

	var (
		mu        sync.Mutex
		committed []string
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("w%d-%d", w, i)
				_, _, err := s.RecordAnswer(ctx, Answer{LearnerID: learner, Chat: "telegram:7", LessonID: "l", QuestionKey: key, At: time.Now()})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				committed = append(committed, key)
				mu.Unlock()
			}
		})
	}
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			mu.Lock()
			got := len(committed)
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d answers committed after 10 s", got)
			}
		}
	}
	waitFor(2000)

	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	mu.Lock()
	before := slices.Clone(committed)
	mu.Unlock()
	out := filepath.Join(dir, "copy.db")
	info, err := ro.Backup(ctx, out, false)
	mu.Lock()
	after := len(committed)
	mu.Unlock()
	waitFor(after + 500) // the writers went on
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}

	keys := answerKeys(t, out)
	missing := 0
	for _, k := range before {
		if !keys[k] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("the copy lacks %d of the %d answers committed before the backup began", missing, len(before))
	}
	if info.Counts.Answers != len(keys) || info.Counts.Answers < len(before) || info.Counts.Answers > after {
		t.Errorf("Backup counted %d answers; the copy has %d; %d were committed before it, %d after it", info.Counts.Answers, len(keys), len(before), after)
	}
	if info.Counts.Learners != 1 || info.Counts.Chats != 1 || info.Version != latestVersion(t) {
		t.Errorf("Backup = %+v, want 1 learner, 1 chat, version %d", info, latestVersion(t))
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() != info.Size {
		t.Errorf("the copy's size: %v, %v; Backup said %d", fi, err, info.Size)
	}
	// The copy is a file of its own: no -wal beside it, nothing left over.
	if names := dirNames(t, dir); slices.ContainsFunc(names, func(n string) bool {
		return strings.HasPrefix(n, "copy.db") && n != "copy.db" || strings.Contains(n, ".tmp-")
	}) {
		t.Errorf("files beside the copy: %q", names)
	}
	c, err := OpenReadOnly(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
	t.Logf("%d answers committed before the backup, %d in the copy, %d by its end", len(before), len(keys), after)
}

// TestBackupRefusesExisting: an existing file is left alone unless
// overwrite.
func TestBackupRefusesExisting(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	ctx := context.Background()
	s := openTest(t)
	learner := learnerForTest(t, s, "ada")
	writeAnswers(t, s, learner, "k", 3)
	dir := t.TempDir()
	out := filepath.Join(dir, "copy.db")
	if err := os.WriteFile(out, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrExists", func(t *testing.T) {
		if _, err := s.Backup(ctx, out, false); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("Backup over an existing file: %v, want fs.ErrExist", err)
		}
		if b, _ := os.ReadFile(out); string(b) != "keep me" {
			t.Errorf("the existing file was changed")
		}
	})
	t.Run("OKOverwrite", func(t *testing.T) {
		info, err := s.Backup(ctx, out, true)
		if err != nil {
			t.Fatal(err)
		}
		if info.Counts.Answers != 3 || countAnswers(t, out) != 3 {
			t.Errorf("the overwritten copy: %+v", info)
		}
	})
	if names := dirNames(t, dir); !slices.Equal(names, []string{"copy.db"}) {
		t.Errorf("the folder holds %q, want copy.db only", names)
	}
	t.Run("ErrDatabaseItself", func(t *testing.T) {
		var db string
		if err := s.db.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&db); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{db, db + "-wal"} {
			if _, err := s.Backup(ctx, p, true); err == nil || !strings.Contains(err.Error(), "is the database itself") {
				t.Errorf("Backup over %s: %v", p, err)
			}
		}
		if n := countAnswers(t, db); n != 3 {
			t.Errorf("the database has %d answers, want its 3", n)
		}
	})
}

// backupForTest writes a database with n answers and returns a backup
// of it, made by Backup, in a folder of its own.
func backupForTest(t *testing.T, n int) string {
	t.Helper()
	s := openTest(t)
	learner := learnerForTest(t, s, "ada")
	subscribeForTest(t, s, "telegram", "7")
	writeAnswers(t, s, learner, "b", n)
	out := filepath.Join(t.TempDir(), "backup.db")
	if _, err := s.Backup(context.Background(), out, false); err != nil {
		t.Fatal(err)
	}
	return out
}

// crashedDatabase returns a database whose last n answers are still in
// its -wal, as a power cut would leave it.
func crashedDatabase(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	live := filepath.Join(t.TempDir(), "live.db")
	s, err := Open(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	learner := learnerForTest(t, s, "bob")
	if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	writeAnswers(t, s, learner, "c", n)
	path := filepath.Join(t.TempDir(), "lessonbot.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(live + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+suffix, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("no answers in the -wal: %v, %v", fi, err)
	}
	return path
}

func TestRestore(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	ctx := context.Background()
	head := latestVersion(t)

	t.Run("OK", func(t *testing.T) {
		backup := backupForTest(t, 5)
		path := crashedDatabase(t, 9)
		backupBytes, _ := os.ReadFile(backup)
		ri, err := Restore(ctx, path, backup)
		if err != nil {
			t.Fatal(err)
		}
		if ri.Before != path+".before-restore" || ri.FromVersion != head || ri.Restored.Version != head || ri.Restored.Counts.Answers != 5 || ri.Restored.Path != path {
			t.Errorf("Restore = %+v", ri)
		}
		// The backup is left as it was.
		if b, _ := os.ReadFile(backup); !slices.Equal(b, backupBytes) {
			t.Error("Restore changed the backup file")
		}
		// The replaced database went with its -wal, whose answers it
		// still has; the restored one got none of them.
		if n := countAnswers(t, ri.Before); n != 9 {
			t.Errorf("the kept database has %d answers, want 9", n)
		}
		if _, err := os.Stat(path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a -wal beside the restored database: %v", err)
		}
		if fi, err := os.Stat(path); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o644 {
			t.Errorf("the restored database's mode is %v, want the replaced one's 0644", fi.Mode())
		}
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.IntegrityCheck(ctx); err != nil {
			t.Error(err)
		}
		if c, err := s.Count(ctx); err != nil || c.Answers != 5 || c.Chats != 1 {
			t.Errorf("the restored database counts %+v, %v; want 1 chat and 5 answers", c, err)
		}
		if keys := answerKeys(t, path); keys["c0"] || !keys["b4"] {
			t.Errorf("the restored database has answers %v, want the backup's b0..b4", keys)
		}
	})

	t.Run("OKBeforeRestoreTaken", func(t *testing.T) {
		backup := backupForTest(t, 2)
		path := crashedDatabase(t, 4)
		if _, err := Restore(ctx, path, backup); err != nil {
			t.Fatal(err)
		}
		ri, err := Restore(ctx, path, backup)
		if err != nil {
			t.Fatal(err)
		}
		if ri.Before != path+".before-restore.2" {
			t.Errorf("the second restore kept the database as %s, want %s.before-restore.2", ri.Before, path)
		}
		if n := countAnswers(t, path+".before-restore"); n != 4 {
			t.Errorf("the first restore's kept database has %d answers, want 4 (untouched)", n)
		}
		if n := countAnswers(t, ri.Before); n != 2 {
			t.Errorf("the second restore's kept database has %d answers, want 2", n)
		}
	})

	t.Run("OKNoDatabase", func(t *testing.T) {
		backup := backupForTest(t, 3)
		path := filepath.Join(t.TempDir(), "new-disk", "lessonbot.db")
		ri, err := Restore(ctx, path, backup)
		if err != nil {
			t.Fatal(err)
		}
		if ri.Before != "" || ri.Restored.Counts.Answers != 3 {
			t.Errorf("Restore = %+v", ri)
		}
		if fi, err := os.Stat(path); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("the new database's mode is %v, want 0600", fi.Mode())
		}
		if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, []string{"lessonbot.db", "lessonbot.db.lock"}) {
			t.Errorf("the database's folder holds %q", names)
		}
	})

	t.Run("OKMigratesOldVersion", func(t *testing.T) {
		backup := filepath.Join(t.TempDir(), "v3.db")
		db := oldSchema(t, backup, 3)
		if _, err := db.Exec(`INSERT INTO learners (id, platform, user_id, created_at) VALUES (1, 'telegram', '1', 0);
			INSERT INTO answers (learner_id, chat, lesson_id, question_key, choice, correct, answered_at) VALUES (1, 'telegram:1', 'l', 'k', 0, 1, 1772000000000)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		path := filepath.Join(t.TempDir(), "lessonbot.db")
		ri, err := Restore(ctx, path, backup)
		if err != nil {
			t.Fatal(err)
		}
		if ri.FromVersion != 3 || ri.Restored.Version != head || ri.Restored.Counts.Answers != 1 {
			t.Errorf("Restore = %+v, want from version 3 to %d with 1 answer", ri, head)
		}
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if v := userVersion(t, s); v != head {
			t.Errorf("the restored database is at version %d, want %d", v, head)
		}
		checkAggregates(t, s)
	})

	// Each refusal is one line, and leaves the database as it was.
	refusals := []struct {
		name string
		file func(t *testing.T) string
		want string
		is   error
	}{
		{"ErrNewerSchema", func(t *testing.T) string {
			backup := backupForTest(t, 1)
			db, err := sql.Open("sqlite", dsn(backup))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, head+1)); err != nil {
				t.Fatal(err)
			}
			return backup
		}, fmt.Sprintf("backup.db is at schema version %d; this lessonbot knows up to %d: upgrade lessonbot first", head+1, head), ErrNewerSchema},
		{"ErrNotLessonbot", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "backup.db")
			db, err := sql.Open("sqlite", dsn(path))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE notes (body TEXT); PRAGMA user_version = 1`); err != nil {
				t.Fatal(err)
			}
			return path
		}, "backup.db is an SQLite database but not a lessonbot one (it has no subscriptions table)", nil},
		{"ErrNotSQLite", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "backup.db")
			if err := os.WriteFile(path, []byte(strings.Repeat("This is a shopping list, not a database.\n", 200)), 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}, "backup.db is not an SQLite database", nil},
		{"ErrEmpty", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "backup.db")
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}, "backup.db is empty, not a lessonbot database", nil},
		{"ErrMissing", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "backup.db")
		}, "backup.db: cannot read it: no such file or directory", nil},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			backup := tt.file(t)
			path := crashedDatabase(t, 3)
			_, err := Restore(ctx, path, backup)
			if err == nil {
				t.Fatal("Restore succeeded")
			}
			if got := strings.ReplaceAll(err.Error(), backup, "backup.db"); got != tt.want {
				t.Errorf("Restore said %q, want %q", got, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Restore's error %v is not %v", err, tt.is)
			}
			if n := countAnswers(t, path); n != 3 {
				t.Errorf("the database has %d answers after the refusal, want its 3", n)
			}
			dir := filepath.Dir(path)
			if names := dirNames(t, dir); !slices.Equal(names, []string{"lessonbot.db", "lessonbot.db-shm", "lessonbot.db-wal", "lessonbot.db.lock"}) &&
				!slices.Equal(names, []string{"lessonbot.db", "lessonbot.db-wal", "lessonbot.db.lock"}) {
				t.Errorf("the database's folder holds %q after the refusal", names)
			}
		})
	}

	t.Run("ErrLocked", func(t *testing.T) {
		backup := backupForTest(t, 1)
		path := crashedDatabase(t, 3)
		lock, err := LockDatabase(path)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Release()
		_, err = Restore(ctx, path, backup)
		var locked *LockedError
		if !errors.As(err, &locked) || locked.Path != path || locked.PID != os.Getpid() {
			t.Fatalf("Restore while the lock is held: %v, want a *LockedError naming this process", err)
		}
		if n := countAnswers(t, path); n != 3 {
			t.Errorf("the database has %d answers, want its 3", n)
		}
	})

	t.Run("ErrSameFile", func(t *testing.T) {
		path := crashedDatabase(t, 3)
		if _, err := Restore(ctx, path, path); err == nil || !strings.HasSuffix(err.Error(), "is the database itself") {
			t.Errorf("Restore of the database onto itself: %v", err)
		}
	})
}
