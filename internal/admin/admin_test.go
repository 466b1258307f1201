package admin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/admin"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestLivez(t *testing.T) {
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	tick := now.Add(-90 * time.Second)
	look := now.Add(-10 * time.Second)
	s := admin.New(admin.Options{
		Now: func() time.Time { return now },
		Loops: []admin.Loop{
			{Name: "scheduler", Last: func() time.Time { return tick }, Period: time.Minute},
			{Name: "delivery", Last: func() time.Time { return look }, Period: 30 * time.Second},
		},
		// Liveness never runs the readiness checks.
		Ready: []admin.Check{{Name: "database", Run: func(context.Context) error { return errors.New("down") }}},
	})
	for _, path := range []string{"/livez", "/healthz"} {
		if code, body := get(t, s, path); code != http.StatusOK || body != "ok\n" {
			t.Errorf("%s with fresh loops and the database down = %d %q, want 200 ok", path, code, body)
		}
	}
	look = now.Add(-61 * time.Second)
	code, body := get(t, s, "/livez")
	if want := "delivery: last heartbeat 1m1s ago (want within 1m0s)\n"; code != http.StatusServiceUnavailable || body != want {
		t.Errorf("/livez with a stale loop = %d %q, want 503 %q", code, body, want)
	}
}

func TestReadyz(t *testing.T) {
	var dbErr error
	s := admin.New(admin.Options{Ready: []admin.Check{
		{Name: "database", Run: func(context.Context) error { return dbErr }},
		{Name: "lessons", Run: func(context.Context) error { return nil }},
		{Name: "slow", Run: func(ctx context.Context) error { return nil }},
	}})
	if code, body := get(t, s, "/readyz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/readyz all well = %d %q", code, body)
	}
	dbErr = errors.New("the database file lessonbot.db is gone\nsecond line")
	code, body := get(t, s, "/readyz")
	if want := "database: the database file lessonbot.db is gone\n"; code != http.StatusServiceUnavailable || body != want {
		t.Errorf("/readyz with the database gone = %d %q, want 503 %q", code, body, want)
	}
	dbErr = nil
	s.Stopping()
	code, body = get(t, s, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "stopping:") {
		t.Errorf("/readyz while stopping = %d %q, want 503 stopping", code, body)
	}
	if code, _ := get(t, s, "/livez"); code != http.StatusOK {
		t.Errorf("/livez while stopping = %d, want 200: the process is alive", code)
	}
}

func TestReadyzTimeout(t *testing.T) {
	s := admin.New(admin.Options{Ready: []admin.Check{
		{Name: "database", Run: func(ctx context.Context) error { <-ctx.Done(); return nil }},
	}})
	start := time.Now()
	code, body := get(t, s, "/readyz")
	if code != http.StatusServiceUnavailable || body != "database: no answer within 1s\n" {
		t.Errorf("/readyz with a hung check = %d %q", code, body)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("/readyz took %v with a hung check, want about 1 s", took)
	}
}

func TestServeStops(t *testing.T) {
	ln, err := admin.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- admin.Serve(ctx, ln, admin.New(admin.Options{})) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/livez")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after the stop = %v, want nil", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/livez"); err == nil {
		t.Error("the listener still answers after the stop")
	}
	if _, err := admin.Listen("bad address"); err == nil || !strings.HasPrefix(err.Error(), "admin listener:") {
		t.Errorf("Listen(bad) = %v", err)
	}
}

// TestDashboard mounts a dashboard: it gets every path but the admin
// endpoints, which answer as before without it.
func TestDashboard(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "metrics\n") })
	dash := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "dashboard "+r.Method+" "+r.URL.Path)
	})
	s := admin.New(admin.Options{Metrics: metrics, Dashboard: dash})
	for path, want := range map[string]string{"/metrics": "metrics\n", "/livez": "ok\n", "/healthz": "ok\n", "/readyz": "ok\n"} {
		if code, body := get(t, s, path); code != http.StatusOK || body != want {
			t.Errorf("%s = %d %q, want 200 %q", path, code, body, want)
		}
	}
	for _, path := range []string{"/", "/login?t=x", "/actions", "/static/style.css", "/livez/x"} {
		if code, body := get(t, s, path); code != http.StatusTeapot || !strings.HasPrefix(body, "dashboard GET /") {
			t.Errorf("%s = %d %q, want the dashboard's", path, code, body)
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("")))
	if rec.Code != http.StatusTeapot || rec.Body.String() != "dashboard POST /login" {
		t.Errorf("POST /login = %d %q", rec.Code, rec.Body.String())
	}
	// Without a dashboard, other paths are not found.
	if code, _ := get(t, admin.New(admin.Options{}), "/"); code != http.StatusNotFound {
		t.Errorf("/ without a dashboard = %d, want 404", code)
	}
}
