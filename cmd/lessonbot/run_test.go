package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/logtest"
)

const runTestToken = "123456:RUN-TEST-TOKEN-never-printed"

// fakeTelegram answers the Bot API calls that lessonbot run makes at
// start: getMe, setMyCommands, deleteWebhook and empty long polls.
func fakeTelegram(t *testing.T, getMeStatus int) (*httptest.Server, chan string) {
	t.Helper()
	calls := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		select {
		case calls <- method:
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case method == "getMe" && getMeStatus != http.StatusOK:
			w.WriteHeader(getMeStatus)
			io.WriteString(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
		case method == "getMe":
			io.WriteString(w, `{"ok":true,"result":{"id":123456,"is_bot":true,"first_name":"Lessons","username":"lessons_test_bot"}}`)
		case method == "getUpdates":
			select {
			case <-r.Context().Done():
			case <-time.After(200 * time.Millisecond):
			}
			io.WriteString(w, `{"ok":true,"result":[]}`)
		default:
			io.WriteString(w, `{"ok":true,"result":true}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, calls
}

func writeRunConfig(t *testing.T, apiURL string) string {
	t.Helper()
	dir := t.TempDir()
	lessons, err := filepath.Abs("../../lessons")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf("database: %q\nlessons: %q\ntelegram:\n  api_url: %q\nadmin:\n  listen: 127.0.0.1:0\n", filepath.Join(dir, "lessonbot.db"), lessons, apiURL)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunTelegramStopsCleanly starts lessonbot run against a fake Bot API,
// waits for it to poll, stops it as SIGTERM would, and expects exit 0 and
// no token in the output.
func TestRunTelegramStopsCleanly(t *testing.T) {
	srv, calls := fakeTelegram(t, http.StatusOK)
	cfg := writeRunConfig(t, srv.URL)
	var stderr logtest.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"run", "--config", cfg}, Env{
			Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
			Getenv: func(k string) string {
				if k == "TELEGRAM_BOT_TOKEN" {
					return runTestToken
				}
				return ""
			},
		})
	}()
	timeout := time.After(20 * time.Second)
	for polled := false; !polled; {
		select {
		case m := <-calls:
			polled = m == "getUpdates"
		case code := <-done:
			t.Fatalf("run exited %d before polling:\n%s", code, stderr.String())
		case <-timeout:
			t.Fatalf("run never polled:\n%s", stderr.String())
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("run exited %d after the stop, want 0:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop within 15 s")
	}
	if strings.Contains(stderr.String(), "RUN-TEST-TOKEN") {
		t.Errorf("the token appears in the output:\n%s", stderr.String())
	}
}

func TestRunTelegramBadToken(t *testing.T) {
	srv, _ := fakeTelegram(t, http.StatusUnauthorized)
	cfg := writeRunConfig(t, srv.URL)
	var stderr logtest.Buffer
	code := Main(context.Background(), []string{"run", "--config", cfg}, Env{
		Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
		Getenv: func(k string) string {
			if k == "TELEGRAM_BOT_TOKEN" {
				return runTestToken
			}
			return ""
		},
	})
	if code != exitFailure {
		t.Errorf("run exited %d, want %d:\n%s", code, exitFailure, stderr.String())
	}
	if strings.Contains(stderr.String(), "RUN-TEST-TOKEN") {
		t.Errorf("the token appears in the output:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "lessonbot run:") {
		t.Errorf("no explanation:\n%s", stderr.String())
	}
}

// TestRunRefusesSecondRun starts lessonbot run, then a second run on the
// same database: the second exits 1 with one line naming the database and
// the process that holds it, while the first goes on; the terminal chat
// keeps working beside it.
func TestRunRefusesSecondRun(t *testing.T) {
	srv, calls := fakeTelegram(t, http.StatusOK)
	cfg := writeRunConfig(t, srv.URL)
	env := func(stderr io.Writer, stdin string, stdout io.Writer) Env {
		return Env{Stdin: strings.NewReader(stdin), Stdout: stdout, Stderr: stderr,
			Getenv: func(k string) string {
				if k == "TELEGRAM_BOT_TOKEN" {
					return runTestToken
				}
				return ""
			}}
	}
	var first logtest.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- Main(ctx, []string{"run", "--config", cfg}, env(&first, "", io.Discard)) }()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("the first run exited %d, want 0:\n%s", code, first.String())
		}
	}()
	for polled := false; !polled; {
		select {
		case m := <-calls:
			polled = m == "getUpdates"
		case <-time.After(20 * time.Second):
			t.Fatalf("the first run never polled:\n%s", first.String())
		}
	}

	var second logtest.Buffer
	code := Main(context.Background(), []string{"run", "--config", cfg}, env(&second, "", io.Discard))
	if code != exitFailure {
		t.Errorf("the second run exited %d, want %d", code, exitFailure)
	}
	out := second.String()
	db := filepath.Join(filepath.Dir(cfg), "lessonbot.db")
	want := fmt.Sprintf("lessonbot run: the database %s is in use by another lessonbot run (pid %d)\n", db, os.Getpid())
	if out != want {
		t.Errorf("the second run said %q, want %q", out, want)
	}

	var stdout, stderr logtest.Buffer
	if code := Main(context.Background(), []string{"chat", "--config", cfg}, env(&stderr, "/help\n", &stdout)); code != exitOK {
		t.Errorf("chat beside a run exited %d:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "/subscribe") {
		t.Errorf("chat beside a run printed %q, want the help", stdout.String())
	}
}
