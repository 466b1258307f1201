package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

// serving is a lessonbot run started in-process against a fake Bot API,
// with its admin listener on a free port.
type serving struct {
	*instance
	addr string // the admin listener's host:port
	db   string // the database file
}

// serve starts lessonbot run against a quiet fake Bot API and waits for
// its admin listener.
func serve(t *testing.T) *serving {
	t.Helper()
	srv, _ := fakeTelegram(t, http.StatusOK)
	cfg := writeRunConfig(t, srv.URL)
	return serveConfig(t, cfg, filepath.Join(filepath.Dir(cfg), "lessonbot.db"))
}

// serveConfig starts lessonbot run on the config file cfg, whose database
// is db, and waits for its admin listener.
func serveConfig(t *testing.T, cfg, db string) *serving {
	t.Helper()
	s := &serving{instance: startInstance(t, cfg), db: db}
	deadline := time.Now().Add(20 * time.Second)
	for s.addr == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no admin listener within 20 s:\n%s", s.stderr.String())
		}
		select {
		case <-s.done:
			t.Fatalf("run exited %d:\n%s", s.code, s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "admin listener ready" {
				s.addr = rec.Addr
			}
		}
	}
	return s
}

// get fetches path from the admin listener.
func (s *serving) get(path string) (int, string, error) {
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + s.addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// waitFor polls path until it answers code, for up to limit, and returns
// how long that took.
func (s *serving) waitFor(t *testing.T, path string, code int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got, body, err := s.get(path)
		if err == nil && got == code {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s did not answer %d within %v: last %d %q %v", path, code, limit, got, body, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAdminListener serves the three endpoints from a running bot: the
// metrics with the build, liveness and readiness.
func TestAdminListener(t *testing.T) {
	s := serve(t)
	s.waitFor(t, "/readyz", http.StatusOK, 5*time.Second)
	for _, path := range []string{"/livez", "/healthz"} {
		if code, body, err := s.get(path); err != nil || code != http.StatusOK || body != "ok\n" {
			t.Errorf("%s = %d %q %v, want 200 ok", path, code, body, err)
		}
	}
	// The first long poll tells that Telegram answers.
	var body string
	for start := time.Now(); !strings.Contains(body, `lessonbot_platform_up{platform="telegram"} 1`) && time.Since(start) < 5*time.Second; {
		code, b, err := s.get("/metrics")
		if err != nil || code != http.StatusOK {
			t.Fatalf("/metrics = %d %v", code, err)
		}
		body = b
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{
		`lessonbot_build_info{goversion="go`, "lessonbot_lessons_loaded ", "lessonbot_scheduler_last_tick_timestamp_seconds ",
		"lessonbot_sender_last_heartbeat_timestamp_seconds ", `go_sql_open_connections{db_name="lessonbot"}`,
		"go_goroutines ", "process_resident_memory_bytes ", `lessonbot_lesson_reloads_total{result="ok"} 1`,
		`lessonbot_platform_up{platform="telegram"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "RUN-TEST-TOKEN") || strings.Contains(s.stderr.String(), "RUN-TEST-TOKEN") {
		t.Error("the token appears in the metrics or the log")
	}
	// The container's health check asks the same listener.
	var out logtest.Buffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if code := Main(context.Background(), []string{"health", "--url", "http://" + s.addr + "/livez"}, env); code != exitOK {
		t.Errorf("lessonbot health on the running bot: exit %d: %s", code, out.String())
	}
}

// TestReadyzFollowsTheDatabase takes the database file away while the bot
// runs: /livez stays 200 (a restart would not help), /readyz turns 503
// within 5 s and back to 200 within 5 s of the file's return.
func TestReadyzFollowsTheDatabase(t *testing.T) {
	s := serve(t)
	s.waitFor(t, "/readyz", http.StatusOK, 5*time.Second)
	away := s.db + ".away"
	if err := os.Rename(s.db, away); err != nil {
		t.Fatal(err)
	}
	took := s.waitFor(t, "/readyz", http.StatusServiceUnavailable, 5*time.Second)
	_, body, _ := s.get("/readyz")
	if !strings.HasPrefix(body, "database: the database file ") {
		t.Errorf("/readyz without the database says %q", body)
	}
	if code, _, err := s.get("/livez"); err != nil || code != http.StatusOK {
		t.Errorf("/livez without the database = %d %v, want 200", code, err)
	}
	if err := os.Rename(away, s.db); err != nil {
		t.Fatal(err)
	}
	back := s.waitFor(t, "/readyz", http.StatusOK, 5*time.Second)
	t.Logf("/readyz turned 503 %v after the file went, 200 %v after it came back", took.Round(time.Millisecond), back.Round(time.Millisecond))

	if os.Geteuid() == 0 {
		t.Log("running as root: a file without read permission stays readable, so that case is not tried")
		return
	}
	if err := os.Chmod(s.db, 0); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "/readyz", http.StatusServiceUnavailable, 5*time.Second)
	if code, _, err := s.get("/livez"); err != nil || code != http.StatusOK {
		t.Errorf("/livez with the database unreadable = %d %v, want 200", code, err)
	}
	if err := os.Chmod(s.db, 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "/readyz", http.StatusOK, 5*time.Second)
}

// TestReadyzFirstOnStop stops the bot as SIGTERM does while a client polls
// /readyz: after the stop, it answers 503 (never 200) until the listener
// closes.
func TestReadyzFirstOnStop(t *testing.T) {
	s := serve(t)
	s.waitFor(t, "/readyz", http.StatusOK, 5*time.Second)
	var mu sync.Mutex
	var after []int // answers to requests sent after the stop
	var stopped time.Time
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			mu.Lock()
			stoppedAt := stopped
			mu.Unlock()
			code, _, err := s.get("/readyz")
			if err != nil {
				if !stoppedAt.IsZero() {
					return // the listener closed
				}
				continue
			}
			if !stoppedAt.IsZero() {
				mu.Lock()
				after = append(after, code)
				mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	stopped = time.Now()
	mu.Unlock()
	s.stop()
	select {
	case <-s.done:
		if s.code != exitOK {
			t.Errorf("run exited %d:\n%s", s.code, s.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
	<-polled
	mu.Lock()
	defer mu.Unlock()
	if len(after) == 0 {
		t.Fatal("no /readyz answer between the stop and the listener's close")
	}
	for i, code := range after {
		if code != http.StatusServiceUnavailable {
			t.Fatalf("answer %d after the stop was %d, want 503: %v", i, code, after)
		}
	}
	t.Logf("%d answers of 503 after the stop, then the listener closed", len(after))
}

// TestAlertToAdminChat runs the bot with a broken lesson file and an alert
// chat: the bot posts the alert there, through the Bot API, by itself.
func TestAlertToAdminChat(t *testing.T) {
	posted := make(chan url.Values, 10)
	api := fakeBotAPI(t, func(w http.ResponseWriter, form url.Values) {
		posted <- form
		io.WriteString(w, `{"ok":true,"result":{"message_id":7,"date":0,"chat":{"id":-100777,"type":"supergroup"}}}`)
	})
	dir := t.TempDir()
	lessons := filepath.Join(dir, "lessons")
	if err := os.CopyFS(lessons, os.DirFS("../../lessons")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lessons, "999-broken.md"), []byte("---\nid: broken\n---\nno title, no article\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf("database: %q\nlessons: %q\ntelegram:\n  api_url: %q\nadmin:\n  listen: \"\"\nalerts:\n  telegram_chat: -100777\n",
		filepath.Join(dir, "lessonbot.db"), lessons, api.URL)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr logtest.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
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
	defer func() {
		cancel()
		<-done
	}()
	select {
	case form := <-posted:
		if form.Get("chat_id") != "-100777" {
			t.Errorf("the alert went to chat %q, want -100777", form.Get("chat_id"))
		}
		if text := form.Get("text"); !strings.Contains(text, "lessonbot alert: a lesson file does not validate: ") || !strings.Contains(text, "999-broken.md") {
			t.Errorf("alert text = %q", text)
		}
	case code := <-done:
		t.Fatalf("run exited %d:\n%s", code, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("no alert posted within 20 s:\n%s", stderr.String())
	}
}

// TestMetricsMatchPlatform delivers a slot to 12 chats through the fake
// Bot API, which refuses some sends with a 429, and checks that
// messages_sent_total{result="ok"} is exactly the messages it accepted.
func TestMetricsMatchPlatform(t *testing.T) {
	var mu sync.Mutex
	accepted, refused := 0, 0
	api := fakeBotAPI(t, func(w http.ResponseWriter, form url.Values) {
		mu.Lock()
		defer mu.Unlock()
		if (accepted+refused)%9 == 4 {
			refused++
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`)
			return
		}
		accepted++
		fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"date":0,"chat":{"id":%s,"type":"private"}}}`, accepted, form.Get("chat_id"))
	})
	cfg := writeRunConfig(t, api.URL)
	db := filepath.Join(filepath.Dir(cfg), "lessonbot.db")
	const chats = 12
	seedDue(t, db, chats)

	s := serveConfig(t, cfg, db)
	deadline := time.Now().Add(40 * time.Second)
	for {
		_, body, err := s.get("/metrics")
		// Done: nothing waits or is under way, and something was sent.
		if err == nil && !strings.Contains(body, "lessonbot_outbox_rows{") &&
			strings.Contains(body, `lessonbot_messages_sent_total{platform="telegram",result="ok"}`) {
			mu.Lock()
			ok, limited := accepted, refused
			mu.Unlock()
			if got := metricLine(body, `lessonbot_messages_sent_total{platform="telegram",result="ok"}`); got != fmt.Sprint(ok) {
				t.Errorf(`messages_sent_total{result="ok"} = %s, the platform accepted %d`, got, ok)
			}
			if got := metricLine(body, `lessonbot_messages_sent_total{platform="telegram",result="rate_limited"}`); got != fmt.Sprint(limited) || limited == 0 {
				t.Errorf(`messages_sent_total{result="rate_limited"} = %s, the platform refused %d`, got, limited)
			}
			t.Logf("%d chats: %d messages accepted, %d refused with 429, as counted by both sides", chats, ok, limited)
			// The dashboard's Delivery page counts them too: each 429
			// asked to wait a second.
			st, err := store.OpenReadOnly(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			now := time.Now()
			days, err := st.DeliveryHealth(context.Background(), now.Add(-time.Hour), now, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			hits, waits := 0, time.Duration(0)
			for _, d := range days {
				hits, waits = hits+d.RateLimited, waits+d.RetryAfter
			}
			if hits != limited || waits != time.Duration(limited)*time.Second {
				t.Errorf("the store counts %d 429s asking %v, want %d asking %d s", hits, waits, limited, limited)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot was not delivered within 40 s:\n%s\n%s", body, s.stderr.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// metricLine returns the value of the series line that starts with
// series in a text exposition, or "" when there is none.
func metricLine(body, series string) string {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// seedDue subscribes n private Telegram chats in the database at path and
// writes each a lesson delivery due now.
func seedDue(t *testing.T, path string, n int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []int64
	for i := range n {
		sub, err := st.EnsureChat(ctx, store.Subscription{
			Address: chat.Address{Platform: chat.Telegram, ChatID: fmt.Sprint(5000 + i)}, Kind: chat.Private,
			Hour: 3, Zone: "UTC", Weekdays: store.EveryDay, Language: "en",
		})
		if err != nil {
			t.Fatal(err)
		}
		sub.Active = true
		if err := st.SaveSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
	}
	if _, err := st.EnqueueSlot(ctx, ids, time.Now().Truncate(time.Second)); err != nil {
		t.Fatal(err)
	}
}

// fakeBotAPI answers what lessonbot run asks of the Bot API at start and
// empty long polls, and hands each sendMessage's form to sendMessage.
func fakeBotAPI(t *testing.T, sendMessage func(w http.ResponseWriter, form url.Values)) *httptest.Server {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		w.Header().Set("Content-Type", "application/json")
		switch method {
		case "getMe":
			io.WriteString(w, `{"ok":true,"result":{"id":123456,"is_bot":true,"first_name":"Lessons","username":"lessons_test_bot"}}`)
		case "getUpdates":
			select {
			case <-r.Context().Done():
			case <-time.After(200 * time.Millisecond):
			}
			io.WriteString(w, `{"ok":true,"result":[]}`)
		case "sendMessage":
			r.ParseForm()
			sendMessage(w, r.PostForm)
		default:
			io.WriteString(w, `{"ok":true,"result":true}`)
		}
	}))
	t.Cleanup(api.Close)
	return api
}
