package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// press is one quiz answer the load generator gave: who, to which
// question (its key, as the answers table keeps it).
type press struct {
	user int64
	key  string
}

// quizLoad presses the quiz buttons of one group's lesson as one new
// learner after another, until stopped, and remembers every press by its
// callback query id.
type quizLoad struct {
	api       *telegramtest.FakeAPI
	group     telegramtest.FakeChat
	questions []telegramtest.SentMessage

	mu      sync.Mutex
	presses map[string]press

	stop chan struct{}
	done chan struct{}
}

// inFlight bounds the presses the load has made that the bot has not
// answered yet.
const inFlight = 30

var answerButton = regexp.MustCompile(`^a:([a-z0-9-]+:[0-9a-f]{8}):[0-9]$`)

func (l *quizLoad) run() {
	defer close(l.done)
	pushed := 0
	for user := int64(1_000_000); ; user++ {
		// A closed loop: at most inFlight presses wait for their answer,
		// so the load follows the bot's pace (slower under the race
		// detector) instead of piling up presses it answers late, without
		// a notice.
		for pushed-l.api.AnswerCount() >= inFlight {
			select {
			case <-l.stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
		select {
		case <-l.stop:
			return
		default:
		}
		pushed += len(l.questions)
		u := telegramtest.FakeUser{ID: user, FirstName: "Learner " + strconv.FormatInt(user, 10)}
		for i, q := range l.questions {
			data := q.Buttons[int(user+int64(i))%len(q.Buttons)][0].CallbackData
			// As api.Press, but the press is remembered before the bot
			// can answer it.
			id := l.api.NextUpdateID()
			cb := fmt.Sprintf("cb%d", id)
			l.mu.Lock()
			l.presses[cb] = press{user: user, key: answerButton.FindStringSubmatch(data)[1]}
			l.mu.Unlock()
			l.api.Push(telegramtest.CallbackUpdate(id, cb, l.group, u, q.MessageID, data))
		}
	}
}

// acknowledged returns the presses the bot has answered as a first answer
// (right or wrong), which it does once the answer is committed.
func (l *quizLoad) acknowledged() []press {
	var out []press
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.api.Answers() {
		if strings.HasPrefix(a.Text, "✅") || strings.HasPrefix(a.Text, "❌") {
			p, ok := l.presses[a.ID]
			if !ok {
				panic("an answer to a press the load did not make: " + a.ID)
			}
			out = append(out, p)
		}
	}
	return out
}

// TestRestoreDrill is the restore drill: lessonbot run serves a group
// whose learners answer its quiz without pause; lessonbot db backup is
// taken in the middle; run stops; the database, its -wal and -shm are
// deleted; lessonbot db restore puts the backup back; and run serves
// again. Every answer the bot had acknowledged before the backup began
// is in the restored database, which passes the integrity check and
// db check, and the bot answers a command.
func TestRestoreDrill(t *testing.T) {
	start := time.Now()
	api := telegramtest.NewFakeAPI(runTestToken)
	srv := api.Server(t)
	dir := t.TempDir()
	lessonsDir, err := filepath.Abs("../../lessons")
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "lessonbot.db")
	cfg := filepath.Join(dir, "config.yaml")
	// Periodic backups on: the first is written at start, beside the
	// drill's own.
	body := fmt.Sprintf("database: %q\nlessons: %q\ntelegram:\n  api_url: %q\ndb:\n  backup_every: 1h\nadmin:\n  listen: \"\"\n", dbPath, lessonsDir, srv.URL)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(stderr io.Writer) Env {
		return Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: stderr,
			Getenv: func(k string) string {
				if k == "TELEGRAM_BOT_TOKEN" {
					return runTestToken
				}
				return ""
			}}
	}
	// startRun starts lessonbot run and waits for its first poll; stop
	// stops it as SIGTERM does and returns its exit code.
	startRun := func(log *logtest.Buffer) (stop func() int) {
		t.Helper()
		polls := len(api.Offsets())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() { done <- Main(ctx, []string{"run", "--config", cfg}, env(log)) }()
		waitUntil(t, 10*time.Second, "run polls", func() bool {
			select {
			case code := <-done:
				t.Fatalf("run exited %d:\n%s", code, log.String())
			default:
			}
			return len(api.Offsets()) > polls
		})
		return func() int {
			cancel()
			select {
			case code := <-done:
				return code
			case <-time.After(15 * time.Second):
				t.Fatalf("run did not stop within 15 s:\n%s", log.String())
				return -1
			}
		}
	}

	var log1 logtest.Buffer
	stop := startRun(&log1)
	group := telegramtest.FakeChat{ID: -100777, Type: "supergroup", Title: "Reading club"}
	api.SendText(group, &telegramtest.FakeUser{ID: 42, FirstName: "Host"}, "/lesson")
	var questions []telegramtest.SentMessage
	waitUntil(t, 5*time.Second, "the lesson's quiz", func() bool {
		questions = questions[:0]
		for _, m := range api.SentTo(group.ID) {
			if len(m.Buttons) > 0 && answerButton.MatchString(m.Buttons[0][0].CallbackData) {
				questions = append(questions, m)
			}
		}
		return len(questions) == 3
	})

	load := &quizLoad{api: api, group: group, questions: questions, presses: map[string]press{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go load.run()
	stopLoad := func() {
		select {
		case <-load.stop:
		default:
			close(load.stop)
			<-load.done
		}
	}
	defer stopLoad()
	// Limits are generous for the race detector; without it the 150
	// answers take about 0.3 s.
	waitUntil(t, 30*time.Second, "150 answers", func() bool { return len(load.acknowledged()) >= 150 })

	// The backup, while the answers keep coming.
	before := load.acknowledged()
	backupFile := filepath.Join(t.TempDir(), "drill.db")
	r := run(t, "db", "backup", backupFile, "--config", cfg)
	during := len(load.acknowledged()) - len(before)
	if r.code != exitOK {
		t.Fatalf("db backup beside run: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	waitUntil(t, 30*time.Second, "answers after the backup", func() bool { return len(load.acknowledged()) >= len(before)+150 })
	stopLoad()
	if code := stop(); code != exitOK {
		t.Fatalf("run exited %d:\n%s", code, log1.String())
	}
	total := len(load.acknowledged())
	t.Logf("backup: %s; %d answers acknowledged before it began, %d while it ran, %d by the stop", strings.TrimSpace(r.stdout), len(before), during, total)
	if names, _ := filepath.Glob(filepath.Join(dir, "backups", "lessonbot-*.db")); len(names) != 1 {
		t.Errorf("run's periodic backup at start: %q, want one file", names)
	}

	// The disk dies.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(dbPath + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	r = run(t, "db", "restore", backupFile, "--config", cfg)
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "no database at "+dbPath) {
		t.Fatalf("db restore: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("restore: %s", strings.ReplaceAll(strings.TrimSpace(r.stdout), "\n", "; "))

	missing, stored := answersMissing(t, dbPath, before)
	if missing > 0 {
		t.Errorf("the restored database lacks %d of the %d answers acknowledged before the backup began", missing, len(before))
	}
	if stored < len(before) || stored > total {
		t.Errorf("the restored database has %d answers; %d were acknowledged before the backup, %d by the stop", stored, len(before), total)
	}
	if r := run(t, "db", "check", "--config", cfg); r.code != exitOK {
		t.Errorf("db check of the restored database: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The bot serves again from the restored database.
	var log2 logtest.Buffer
	stop = startRun(&log2)
	dm := telegramtest.FakeChat{ID: 5150, Type: "private"}
	api.SendText(dm, &telegramtest.FakeUser{ID: 5150, FirstName: "Ines"}, "/help")
	waitUntil(t, 5*time.Second, "the reply to /help", func() bool { return len(api.SentTo(dm.ID)) > 0 })
	if code := stop(); code != exitOK {
		t.Errorf("the second run exited %d:\n%s", code, log2.String())
	}
	if strings.Contains(log1.String()+log2.String(), "RUN-TEST-TOKEN") {
		t.Error("the token appears in the log")
	}
	t.Logf("the drill took %v", time.Since(start).Round(time.Millisecond))
}

// answersMissing opens the database at path, checks its integrity, and
// returns how many of the presses have no answer in it and how many
// answers it has.
func answersMissing(t *testing.T, path string, presses []press) (missing, stored int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check of the restored database: %q, %v", check, err)
	}
	rows, err := db.Query(`SELECT l.user_id, a.question_key FROM answers a JOIN learners l ON l.id = a.learner_id WHERE l.platform = 'telegram'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[press]bool{}
	for rows.Next() {
		var user, key string
		if err := rows.Scan(&user, &key); err != nil {
			t.Fatal(err)
		}
		id, _ := strconv.ParseInt(user, 10, 64)
		have[press{user: id, key: key}] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, p := range presses {
		if !have[p] {
			missing++
		}
	}
	return missing, len(have)
}

// waitUntil polls cond every 5 ms until it holds, failing the test after
// limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, limit)
		}
	}
}
