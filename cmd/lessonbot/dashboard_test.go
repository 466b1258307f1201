package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/config"
	"github.com/lessonbot/lessonbot/internal/console"
	"github.com/lessonbot/lessonbot/internal/store"
)

// dashConfig writes a config with the given extra YAML and a database
// that exists, and returns the config's path and the database's.
func dashConfig(t *testing.T, extra string) (cfg, db string) {
	t.Helper()
	dir := t.TempDir()
	db = filepath.Join(dir, "lessonbot.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cfg = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("database: %q\n%s", db, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, db
}

var linkLine = regexp.MustCompile(`^(http://127\.0\.0\.1:9090|https://lessonbot\.example\.org)/login\?t=([0-9a-f]{64})\n$`)

// tokenAdmin returns whom the token of a printed link was made for.
func tokenAdmin(t *testing.T, db, stdout string) chat.User {
	t.Helper()
	m := linkLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("stdout %q is not one link", stdout)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.LoginToken(context.Background(), m[2], time.Now())
	if err != nil {
		t.Fatalf("the printed token: %v", err)
	}
	return u
}

func TestDashboardLinkCommand(t *testing.T) {
	const twoAdmins = "telegram:\n  admins: [42]\ndiscord:\n  admins: [\"80351110224678912\"]\n"
	t.Run("OKOnlyAdmin", func(t *testing.T) {
		cfg, db := dashConfig(t, "telegram:\n  admins: [42]\n")
		r := run(t, "dashboard-link", "--config", cfg)
		if r.code != exitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if u := tokenAdmin(t, db, r.stdout); u != (chat.User{Platform: chat.Telegram, ID: "42", Name: "telegram:42"}) {
			t.Errorf("the link is for %+v", u)
		}
		if !strings.Contains(r.stderr, "Signs in telegram:42 once, within 10 minutes; keep it to yourself.\n") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("OKKnownName", func(t *testing.T) {
		cfg, db := dashConfig(t, "telegram:\n  admins: [42]\n")
		st, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Learner(context.Background(), chat.User{Platform: chat.Telegram, ID: "42", Name: "Ada"}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		r := run(t, "dashboard-link", "--config", cfg)
		if u := tokenAdmin(t, db, r.stdout); u.Name != "Ada" {
			t.Errorf("the link is for %+v, want the name Ada", u)
		}
		if !strings.HasPrefix(r.stderr, "Signs in Ada (telegram:42) once") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("ErrNoAdmin", func(t *testing.T) {
		cfg, _ := dashConfig(t, "")
		r := run(t, "dashboard-link", "--config", cfg)
		if r.code != exitUsage || r.stdout != "" ||
			r.stderr != "lessonbot dashboard-link: the config names no admin: add your user id to telegram.admins or discord.admins\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("ErrSeveralAdmins", func(t *testing.T) {
		cfg, _ := dashConfig(t, twoAdmins)
		r := run(t, "dashboard-link", "--config", cfg)
		want := "lessonbot dashboard-link: the config names several admins; say which: lessonbot dashboard-link ADMIN, one of telegram:42, discord:80351110224678912\n"
		if r.code != exitUsage || r.stdout != "" || r.stderr != want {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("OKOneOfSeveral", func(t *testing.T) {
		cfg, db := dashConfig(t, twoAdmins)
		for arg, want := range map[string]chat.User{
			"discord:80351110224678912": {Platform: chat.Discord, ID: "80351110224678912", Name: "discord:80351110224678912"},
			"80351110224678912":         {Platform: chat.Discord, ID: "80351110224678912", Name: "discord:80351110224678912"},
			"telegram:42":               {Platform: chat.Telegram, ID: "42", Name: "telegram:42"},
			"42":                        {Platform: chat.Telegram, ID: "42", Name: "telegram:42"},
		} {
			r := run(t, "dashboard-link", arg, "--config", cfg)
			if r.code != exitOK {
				t.Fatalf("%s: exit %d: %s", arg, r.code, r.stderr)
			}
			if u := tokenAdmin(t, db, r.stdout); u != want {
				t.Errorf("%s: the link is for %+v, want %+v", arg, u, want)
			}
		}
	})
	t.Run("ErrUnknownAdmin", func(t *testing.T) {
		cfg, _ := dashConfig(t, twoAdmins)
		for _, arg := range []string{"7", "discord:42", "telegram:80351110224678912"} {
			r := run(t, "dashboard-link", "--config", cfg, arg)
			want := "lessonbot dashboard-link: " + arg + " is not an admin in the config (admins: telegram:42, discord:80351110224678912)\n"
			if r.code != exitUsage || r.stdout != "" || r.stderr != want {
				t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, r.code, r.stdout, r.stderr)
			}
		}
	})
	t.Run("ErrSameIDOnTwoPlatforms", func(t *testing.T) {
		cfg, _ := dashConfig(t, "telegram:\n  admins: [42]\ndiscord:\n  admins: [\"42\"]\n")
		r := run(t, "dashboard-link", "42", "--config", cfg)
		if r.code != exitUsage || !strings.Contains(r.stderr, "42 is an admin on several platforms; say which: telegram:42, discord:42") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("ErrTwoArguments", func(t *testing.T) {
		cfg, _ := dashConfig(t, twoAdmins)
		if r := run(t, "dashboard-link", "42", "7", "--config", cfg); r.code != exitUsage || r.stdout != "" {
			t.Errorf("exit %d, stdout %q", r.code, r.stdout)
		}
	})
	t.Run("OKPublicURL", func(t *testing.T) {
		cfg, _ := dashConfig(t, "telegram:\n  admins: [42]\ndashboard:\n  public_url: https://lessonbot.example.org/\n")
		r := run(t, "dashboard-link", "--config", cfg)
		if r.code != exitOK || !strings.HasPrefix(r.stdout, "https://lessonbot.example.org/login?t=") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("ErrDashboardOff", func(t *testing.T) {
		cfg, _ := dashConfig(t, "telegram:\n  admins: [42]\nadmin:\n  listen: \"\"\n")
		r := run(t, "dashboard-link", "--config", cfg)
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "the dashboard is off") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("ErrNoDatabase", func(t *testing.T) {
		cfg, db := dashConfig(t, "telegram:\n  admins: [42]\n")
		os.Remove(db)
		r := run(t, "dashboard-link", "--config", cfg)
		if r.code != exitFailure || !strings.Contains(r.stderr, "no database at "+db) {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		if _, err := os.Stat(db); err == nil {
			t.Error("dashboard-link made a database")
		}
	})
	t.Run("ErrTooManyLinks", func(t *testing.T) {
		cfg, _ := dashConfig(t, "telegram:\n  admins: [42]\n")
		for i := range store.MaxLinks {
			if r := run(t, "dashboard-link", "--config", cfg); r.code != exitOK {
				t.Fatalf("link %d: exit %d %s", i+1, r.code, r.stderr)
			}
		}
		r := run(t, "dashboard-link", "--config", cfg)
		if r.code != exitFailure || r.stdout != "" || !strings.Contains(r.stderr, "too many sign-in links for telegram:42: at most 5 in 10 minutes") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}

// TestRunServesDashboard signs in to the dashboard of a running bot with
// a link from lessonbot dashboard-link: the admin listener's own
// endpoints stay open, and the dashboard's pages need the session.
func TestRunServesDashboard(t *testing.T) {
	srv, _ := fakeTelegram(t, http.StatusOK)
	dir := t.TempDir()
	lessons, err := filepath.Abs("../../lessons")
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "lessonbot.db")
	cfg := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf("database: %q\nlessons: %q\ntelegram:\n  api_url: %q\n  admins: [42]\nadmin:\n  listen: 127.0.0.1:0\n", db, lessons, srv.URL)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s := serveConfig(t, cfg, db)
	s.waitFor(t, "/readyz", http.StatusOK, 5*time.Second)
	if !strings.Contains(s.stderr.String(), `"msg":"admin dashboard ready","addr":"http://`+s.addr+`"`) {
		t.Errorf("no log line of the dashboard at http://%s:\n%s", s.addr, s.stderr.String())
	}

	r := run(t, "dashboard-link", "--config", cfg)
	m := regexp.MustCompile(`/login\?t=([0-9a-f]{64})\n$`).FindStringSubmatch(r.stdout)
	if r.code != exitOK || m == nil {
		t.Fatalf("dashboard-link: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	base := "http://" + s.addr
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(method, path string, form url.Values) (*http.Response, string) {
		t.Helper()
		var rd io.Reader
		if form != nil {
			rd = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, base+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
		}
		res, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	if res, _ := fetch(http.MethodGet, "/", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("/ without a session: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, page := fetch(http.MethodGet, "/login?t="+m[1], nil); res.StatusCode != http.StatusOK || !strings.Contains(page, "Sign in as telegram:42") {
		t.Fatalf("the link's page: %d\n%s", res.StatusCode, page)
	}
	if res, _ := fetch(http.MethodPost, "/login", url.Values{"t": {m[1]}}); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("sign-in: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, page := fetch(http.MethodGet, "/", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Overview</h1>") || !strings.Contains(page, "Signed in as telegram:42") {
		t.Errorf("the overview: %d\n%s", res.StatusCode, page)
	}
	for _, path := range []string{"/livez", "/healthz", "/readyz", "/metrics"} {
		if code, _, err := s.get(path); err != nil || code != http.StatusOK {
			t.Errorf("%s without a session: %d %v", path, code, err)
		}
	}
	if res, page := fetch(http.MethodPost, "/actions/reload", url.Values{}); res.StatusCode != http.StatusOK || !strings.Contains(page, "Lessons reloaded") {
		t.Errorf("reload: %d\n%s", res.StatusCode, page)
	}
	// Every page, with the lessons of the folder.
	for path, want := range map[string]string{
		"/growth": "<h1>Growth</h1>", "/retention": "<h1>Retention</h1>", "/activity": "<h1>Activity</h1>",
		"/words": "<h1>Hardest words</h1>", "/delivery": "<h1>Delivery</h1>", "/actions": "<h1>Actions</h1>",
		"/lessons":                     `<a href="/lessons/coffee-prices-cafes">Soaring coffee prices force small cafés to rethink their menus</a>`,
		"/lessons/coffee-prices-cafes": "<h1>Soaring coffee prices force small cafés to rethink their menus</h1>",
	} {
		if res, page := fetch(http.MethodGet, path, nil); res.StatusCode != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("%s: %d, want %s\n%s", path, res.StatusCode, want, page)
		}
	}
	// The preview is the post and the quiz (three questions, the
	// default) as the tutor composes them.
	res, page = fetch(http.MethodPost, "/actions/preview", url.Values{"id": {"coffee-prices-cafes"}})
	if res.StatusCode != http.StatusOK || strings.Count(page, `<pre class="message">`) != 4 ||
		!strings.Contains(page, `<pre class="message">Soaring coffee prices force small cafés to rethink their menus`) ||
		!strings.Contains(page, `<pre class="message">Question 1/3: `) || !strings.Contains(page, `<pre class="message">Question 3/3: `) {
		t.Errorf("preview: %d\n%s", res.StatusCode, page)
	}
}

func TestLessonPreview(t *testing.T) {
	cfg := config.Default()
	cfg.Database = filepath.Join(t.TempDir(), "lessonbot.db")
	cfg.Lessons = "../../lessons"
	a, err := openApp(context.Background(), cfg, slog.New(slog.DiscardHandler), time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	l, ok := a.lessons.Library().Lookup("coffee-prices-cafes")
	if !ok {
		t.Fatal("no lesson coffee-prices-cafes")
	}
	got := lessonPreview(a.tutor, "fr")(l)
	msgs := a.tutor.LessonMessages(l, "fr")
	if len(got) != len(msgs) || len(got) != 1+cfg.Quiz.Questions {
		t.Fatalf("%d messages, want the post and %d questions", len(got), cfg.Quiz.Questions)
	}
	for i, m := range msgs {
		if got[i] != console.RenderText(m) {
			t.Errorf("message %d: %q, want %q", i, got[i], console.RenderText(m))
		}
	}
	if !strings.HasPrefix(got[1], "Question 1/3 : ") {
		t.Errorf("the first question, in French: %q", got[1])
	}
}
