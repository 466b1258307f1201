package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/pgtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

// pollingTelegram is a fake Bot API for polling mode that behaves as
// Telegram does when two processes poll one token: a getUpdates that
// arrives while another is open ends the open one with 409 Conflict. It
// hands out /help messages from many chats, confirms them by offset, and
// counts the replies per chat.
type pollingTelegram struct {
	mu        sync.Mutex
	next      int              // the next update id to make
	queue     []map[string]any // updates not yet confirmed
	open      int              // getUpdates calls in progress
	cancel    []chan struct{}  // one per open call: closed to end it with 409
	conflicts int
	replies   map[string]int // sendMessage calls by chat id
	polls     int
}

func newPollingTelegram() *pollingTelegram {
	return &pollingTelegram{next: 1, replies: map[string]int{}}
}

// add queues n messages, from chats 1..n.
func (f *pollingTelegram) add(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		id := f.next
		f.next++
		chat := 1000 + i
		f.queue = append(f.queue, map[string]any{"update_id": id, "message": map[string]any{
			"message_id": id, "date": time.Now().Unix(), "text": "/help",
			"chat": map[string]any{"id": chat, "type": "private"},
			"from": map[string]any{"id": chat, "is_bot": false, "first_name": "L"},
		}})
	}
}

func (f *pollingTelegram) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	switch method {
	case "getMe":
		io.WriteString(w, `{"ok":true,"result":{"id":123456,"is_bot":true,"first_name":"Lessons","username":"lessons_test_bot"}}`)
	case "getUpdates":
		offset, _ := strconv.Atoi(r.PostForm.Get("offset"))
		f.mu.Lock()
		f.polls++
		for _, c := range f.cancel {
			close(c) // a new poll ends the open ones
		}
		f.cancel = nil
		kept := f.queue[:0]
		for _, u := range f.queue {
			if u["update_id"].(int) >= offset {
				kept = append(kept, u)
			}
		}
		f.queue = kept
		if len(f.queue) > 0 {
			out, _ := json.Marshal(map[string]any{"ok": true, "result": f.queue})
			f.mu.Unlock()
			w.Write(out)
			return
		}
		ended := make(chan struct{})
		f.cancel = append(f.cancel, ended)
		f.mu.Unlock()
		select {
		case <-ended:
			f.mu.Lock()
			f.conflicts++
			f.mu.Unlock()
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}`)
		case <-time.After(300 * time.Millisecond):
			f.mu.Lock()
			for i, c := range f.cancel {
				if c == ended {
					f.cancel = append(f.cancel[:i], f.cancel[i+1:]...)
					break
				}
			}
			f.mu.Unlock()
			io.WriteString(w, `{"ok":true,"result":[]}`)
		case <-r.Context().Done():
		}
	case "sendMessage":
		f.mu.Lock()
		f.replies[r.PostForm.Get("chat_id")]++
		n := f.next
		f.mu.Unlock()
		fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"date":%d,"chat":{"id":%s,"type":"private"}}}`, 100000+n, time.Now().Unix(), r.PostForm.Get("chat_id"))
	default:
		io.WriteString(w, `{"ok":true,"result":true}`)
	}
}

// counts returns the 409s so far and the replies per chat.
func (f *pollingTelegram) counts() (conflicts int, replies map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.replies))
	for k, v := range f.replies {
		out[k] = v
	}
	return f.conflicts, out
}

// pollingSetup makes what the polling tests share: a new PostgreSQL
// database, the fake Bot API, the instances' config, and a store to read
// the leases.
func pollingSetup(t *testing.T) (*pollingTelegram, string, *store.Store) {
	t.Helper()
	url := pgtest.Database(t)
	fake := newPollingTelegram()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg := sharedConfig(t, url, srv.URL)
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return fake, cfg, st
}

// sharedConfig writes the config of one instance on the PostgreSQL
// database at url.
func sharedConfig(t *testing.T, url, apiURL string) string {
	t.Helper()
	lessons, err := filepath.Abs("../../lessons")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	body := fmt.Sprintf("database: %q\nlessons: %q\ntelegram:\n  api_url: %q\nadmin:\n  listen: \"\"\n", url, lessons, apiURL)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// instance is one lessonbot run of a test, in this process, with the
// test token in its environment.
type instance struct {
	stop   context.CancelFunc
	done   chan int // closed when run returned, code then set
	code   int
	stderr *logtest.Buffer
}

// startInstance starts lessonbot run with the config at cfg.
func startInstance(t *testing.T, cfg string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{stop: cancel, done: make(chan int), stderr: &logtest.Buffer{}}
	go func() {
		defer close(in.done)
		in.code = Main(ctx, []string{"run", "--config", cfg}, Env{
			Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: in.stderr,
			Getenv: func(k string) string {
				if k == "TELEGRAM_BOT_TOKEN" {
					return runTestToken
				}
				return ""
			},
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-in.done:
		case <-time.After(20 * time.Second):
			t.Error("an instance did not stop within 20 s")
		}
	})
	return in
}

// pollerHolder returns the holder of the poller's lease, "" for none.
func pollerHolder(t *testing.T, st *store.Store) string {
	t.Helper()
	leases, err := st.Leases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases {
		if strings.HasPrefix(l.Role, "poller:telegram:") && l.Expires.After(time.Now()) {
			return l.Holder
		}
	}
	return ""
}

// TestSharedPollingStandby runs two instances in polling mode on one
// PostgreSQL database: one polls and the other waits (no 409 while both
// run); when the poller stops, the other takes over within the retry
// period, from the offset in the database, with at most one 409, and no
// update is lost or handled twice.
func TestSharedPollingStandby(t *testing.T) {
	fake, cfg, st := pollingSetup(t)

	a := startInstance(t, cfg)
	waitUntil(t, 20*time.Second, "a poller", func() bool { return pollerHolder(t, st) != "" })
	first := pollerHolder(t, st)
	b := startInstance(t, cfg)
	fake.add(50)
	waitUntil(t, 20*time.Second, "the first 50 replies", func() bool { _, r := fake.counts(); return len(r) == 50 })
	time.Sleep(3 * time.Second) // both run: the standby must not poll
	if c, _ := fake.counts(); c != 0 {
		t.Fatalf("%d 409s while two instances ran, want 0 (one poller)", c)
	}
	if h := pollerHolder(t, st); h != first {
		t.Fatalf("the poller changed from %s to %s while both ran", first, h)
	}

	// The poller stops (a clean stop gives its lease up); the standby
	// takes over and handles what comes next.
	poller := a
	if strings.Contains(b.stderr.String(), first) {
		poller = b
	} else if !strings.Contains(a.stderr.String(), first) {
		t.Fatalf("no instance logged the poller's holder id %s", first)
	}
	stopped := time.Now()
	poller.stop()
	<-poller.done
	fake.add(50) // chats 1000..1049 again: each gets a second reply
	waitUntil(t, 20*time.Second, "the standby to poll", func() bool { h := pollerHolder(t, st); return h != "" && h != first })
	took := time.Since(stopped)
	waitUntil(t, 20*time.Second, "the next 50 replies", func() bool {
		_, r := fake.counts()
		for _, n := range r {
			if n < 2 {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second)
	conflicts, replies := fake.counts()
	if conflicts > 1 {
		t.Errorf("%d 409s at the hand-over, want at most 1", conflicts)
	}
	for chat, n := range replies {
		if n != 2 {
			t.Errorf("chat %s got %d replies, want 2 (one per update)", chat, n)
		}
	}
	t.Logf("hand-over after a clean stop: the standby polled %v later; %d 409s; %d chats × 2 updates, each answered once", took.Round(time.Millisecond), conflicts, len(replies))
}

// TestSharedDBCommands: db migrate, check, backup and restore on a
// PostgreSQL database: migrate migrates once and says so, check checks,
// backup and restore point to pg_dump, and no message shows the password.
func TestSharedDBCommands(t *testing.T) {
	url := pgtest.Database(t)
	withPassword := strings.Replace(url, "lessonbot@", "lessonbot:pw-never-shown@", 1)
	cfg := sharedConfig(t, withPassword, "http://127.0.0.1:1")
	var outputs []string
	run := func(t *testing.T, args ...string) result {
		r := run(t, args...)
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}
	r := run(t, "db", "migrate", "--config", cfg)
	if r.code != exitOK || !strings.Contains(r.stdout, fmt.Sprintf("schema version %d, migrated from 0", schemaHead(t))) {
		t.Errorf("db migrate on a new database: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, "db", "migrate", "--config", cfg)
	if r.code != exitOK || !strings.Contains(r.stdout, fmt.Sprintf("schema version %d, up to date", schemaHead(t))) {
		t.Errorf("db migrate again: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, "db", "check", "--config", cfg)
	if r.code != exitOK || !strings.Contains(r.stdout, ": ok: integrity, schema version") {
		t.Errorf("db check: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, cmd := range [][]string{{"db", "backup", filepath.Join(t.TempDir(), "b.db")}, {"db", "restore", filepath.Join(t.TempDir(), "b.db")}} {
		r = run(t, append(cmd, "--config", cfg)...)
		if r.code != exitFailure || !strings.Contains(r.stderr, "use pg_dump") {
			t.Errorf("%s: exit %d, stderr %q; want a pointer to pg_dump", strings.Join(cmd, " "), r.code, r.stderr)
		}
	}
	for _, out := range outputs {
		if strings.Contains(out, "pw-never-shown") {
			t.Errorf("the password shows: %q", out)
		}
	}
}

// buildLessonbot builds this lessonbot into a temporary folder, for the
// tests that run it as processes (to kill them).
func buildLessonbot(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lessonbot")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestSharedPollingKill: two lessonbot processes in polling mode on one
// PostgreSQL database; the poller is killed (SIGKILL) while updates keep
// coming; the standby polls within about 20 s (the lease runs out at most
// 15 s after the kill, and the standby asks as it runs out), from the
// offset in the database, and every update is answered: none is lost.
func TestSharedPollingKill(t *testing.T) {
	fake, cfg, st := pollingSetup(t)
	bin := buildLessonbot(t)

	procs := map[int]*exec.Cmd{}
	for range 2 {
		cmd := exec.Command(bin, "run", "--config", cfg)
		cmd.Env = append(os.Environ(), "TELEGRAM_BOT_TOKEN="+runTestToken)
		var out logtest.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[cmd.Process.Pid] = cmd
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			if t.Failed() {
				t.Logf("process %d:\n%s", cmd.Process.Pid, out.String())
			}
		})
	}
	waitUntil(t, 30*time.Second, "a poller", func() bool { return pollerHolder(t, st) != "" })
	fake.add(40)
	waitUntil(t, 20*time.Second, "the first replies", func() bool { _, r := fake.counts(); return len(r) == 40 })

	holder := pollerHolder(t, st)
	pid, _ := strconv.Atoi(strings.Split(holder, ":")[1])
	poller, ok := procs[pid]
	if !ok {
		t.Fatalf("the poller's holder id %s names none of the processes", holder)
	}
	// Updates come while the poller dies and until the standby polls.
	before, _ := fake.counts()
	killed := time.Now()
	if err := poller.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	fake.add(40)
	waitUntil(t, 30*time.Second, "the standby to poll", func() bool { h := pollerHolder(t, st); return h != "" && h != holder })
	took := time.Since(killed)
	waitUntil(t, 20*time.Second, "every update answered", func() bool {
		_, r := fake.counts()
		for _, n := range r {
			if n < 2 {
				return false
			}
		}
		return len(r) == 40
	})
	conflicts, replies := fake.counts()
	if took > 21*time.Second {
		t.Errorf("the standby polled %v after the kill, want about 20 s at most (TTL 15 s + a retry period of 5 s)", took)
	}
	if conflicts-before > 1 {
		t.Errorf("%d 409s at the hand-over, want at most 1", conflicts-before)
	}
	twice := 0
	for _, n := range replies {
		if n > 2 {
			twice++
		}
	}
	t.Logf("poller SIGKILLed: the standby polled %v later, %d 409s; 40 chats × 2 updates all answered (%d chats answered more than once: updates handled but not yet confirmed when the poller died)",
		took.Round(100*time.Millisecond), conflicts-before, twice)
}
