package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/store"
)

// maxPage is the most a page may weigh, in bytes.
const maxPage = 100 << 10

var (
	// t0 is a Monday morning in Paris.
	t0   = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	root = chat.User{Platform: chat.Telegram, ID: "42", Name: "Root <admin>"}
	dee  = chat.User{Platform: chat.Discord, ID: "80351110224678912", Name: "Dee"}
)

// clock is a fake clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a dashboard on a real SQLite store, served by httptest.
type fixture struct {
	t       *testing.T
	st      *store.Store
	clock   *clock
	srv     *Server
	links   *Links
	ts      *httptest.Server
	base    string
	logs    *logtest.Buffer
	reloads atomic.Int32
	wakes   atomic.Int32
	// lib is the lessons in service.
	lib *lesson.Library
	// admins are who IsAdmin accepts; a test may remove one.
	mu     sync.Mutex
	admins map[chat.User]bool
}

// fixtureOptions choose how the fixture serves.
type fixtureOptions struct {
	// tls serves over https.
	tls bool
	// public is the dashboard's public address; empty means the server's
	// own.
	public string
}

func newFixture(t *testing.T, fo fixtureOptions) *fixture {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "lessonbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	f := &fixture{t: t, st: st, clock: &clock{t: t0}, logs: &logtest.Buffer{}, lib: testLibrary(),
		admins: map[chat.User]bool{{Platform: root.Platform, ID: root.ID}: true, {Platform: dee.Platform, ID: dee.ID}: true}}
	st.SetClock(f.clock.Now)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.srv.ServeHTTP(w, r) })
	if fo.tls {
		f.ts = httptest.NewTLSServer(h)
	} else {
		f.ts = httptest.NewServer(h)
	}
	t.Cleanup(f.ts.Close)
	f.base = f.ts.URL
	if fo.public != "" {
		f.base = fo.public
	}
	f.srv, err = New(Options{
		Store: st, BaseURL: f.base, Zone: "Europe/Paris", Now: f.clock.Now,
		Log: slog.New(slog.NewTextHandler(f.logs, nil)),
		IsAdmin: func(u chat.User) bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.admins[chat.User{Platform: u.Platform, ID: u.ID}]
		},
		Reload: func() lesson.Result {
			f.reloads.Add(1)
			return lesson.Result{Library: lesson.NewLibrary(nil), Files: 2, Problems: []lesson.Problem{
				{Path: "lessons/a.md", Line: 3, Message: "the quiz has no right choice <x>"},
			}}
		},
		Lessons:   func() *lesson.Library { return f.lib },
		Questions: testQuestions,
		Preview: func(l *lesson.Lesson) []string {
			return []string{l.Title + "\n" + l.Summary, "Question 1 of 1: <b>?</b>\n  1. yes\n  2. no"}
		},
		Wake: func() { f.wakes.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.links = NewLinks(st, f.base, f.clock.Now)
	return f
}

// browser is a client with a cookie jar that does not follow redirects.
func (f *fixture) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	c := *f.ts.Client() // a copy: the server's client is shared
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request to the test server; form, when not nil, is posted.
func (f *fixture) do(c *http.Client, method, path string, form url.Values, header map[string]string) response {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.ts.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (f *fixture) get(c *http.Client, path string) response {
	f.t.Helper()
	return f.do(c, http.MethodGet, path, nil, nil)
}

func (f *fixture) post(c *http.Client, path string, form url.Values) response {
	f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return f.do(c, http.MethodPost, path, form, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": f.ts.URL})
}

// link makes a sign-in link for u and returns its token.
func (f *fixture) link(u chat.User) string {
	f.t.Helper()
	l, err := f.links.LoginLink(context.Background(), u)
	if err != nil {
		f.t.Fatal(err)
	}
	prefix := f.base + "/login?t="
	if !strings.HasPrefix(l, prefix) {
		f.t.Fatalf("link %q does not start with %q", l, prefix)
	}
	return strings.TrimPrefix(l, prefix)
}

// signIn signs c in as u.
func (f *fixture) signIn(c *http.Client, u chat.User) {
	f.t.Helper()
	res := f.post(c, "/login", url.Values{"t": {f.link(u)}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/" {
		f.t.Fatalf("sign-in: %d to %q: %s", res.status, res.header.Get("Location"), res.body)
	}
}

// wantSignInRedirect checks that res sends the browser to /login.
func wantSignInRedirect(t *testing.T, what string, res response) {
	t.Helper()
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login" {
		t.Errorf("%s: %d to %q, want 303 to /login", what, res.status, res.header.Get("Location"))
	}
}

func TestLogin(t *testing.T) {
	t.Run("OKGetNeverConsumes", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		c := f.browser()
		token := f.link(root)
		for range 3 {
			res := f.get(c, "/login?t="+token)
			if res.status != http.StatusOK || !strings.Contains(res.body, "Sign in as Root &lt;admin&gt;") ||
				!strings.Contains(res.body, `<form method="post" action="/login">`) {
				t.Fatalf("GET: %d\n%s", res.status, res.body)
			}
			if sc := res.header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("GET set cookies %q", sc)
			}
		}
		if _, err := f.st.LoginToken(context.Background(), token, f.clock.Now()); err != nil {
			t.Errorf("after three GETs the token is %v", err)
		}
		// Still no session: the pages send to sign in.
		wantSignInRedirect(t, "overview after GETs", f.get(c, "/"))
	})
	t.Run("OKPostSignsIn", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		c := f.browser()
		token := f.link(root)
		res := f.post(c, "/login", url.Values{"t": {token}})
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/" {
			t.Fatalf("POST: %d to %q", res.status, res.header.Get("Location"))
		}
		page := f.get(c, "/")
		if page.status != http.StatusOK || !strings.Contains(page.body, "Signed in as Root &lt;admin&gt;") ||
			!strings.Contains(page.body, `<form class="who" method="post" action="/logout">`) {
			t.Fatalf("overview: %d\n%s", page.status, page.body)
		}
		if _, err := f.st.LoginToken(context.Background(), token, f.clock.Now()); !errors.Is(err, store.ErrTokenUsed) {
			t.Errorf("after the POST the token is %v, want used", err)
		}
		if !strings.Contains(f.logs.String(), `msg="admin signed in to the dashboard" platform=telegram user_id=42`) {
			t.Errorf("no log line of the sign-in:\n%s", f.logs.String())
		}
	})
	t.Run("ErrSecondUse", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		token := f.link(root)
		if res := f.post(f.browser(), "/login", url.Values{"t": {token}}); res.status != http.StatusSeeOther {
			t.Fatalf("first use: %d", res.status)
		}
		other := f.browser()
		for _, res := range []response{f.get(other, "/login?t="+token), f.post(other, "/login", url.Values{"t": {token}})} {
			if res.status != http.StatusGone || !strings.Contains(res.body, "used already") || !strings.Contains(res.body, "/dashboard") {
				t.Errorf("second use: %d\n%s", res.status, res.body)
			}
			if sc := res.header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("a refused sign-in set cookies %q", sc)
			}
		}
		wantSignInRedirect(t, "overview after a refused sign-in", f.get(other, "/"))
	})
	t.Run("ErrOlderThanTenMinutes", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		c := f.browser()
		token := f.link(root)
		f.clock.Add(10*time.Minute - time.Second)
		if res := f.get(c, "/login?t="+token); res.status != http.StatusOK {
			t.Errorf("at 9:59: %d", res.status)
		}
		f.clock.Add(time.Second)
		for _, res := range []response{f.get(c, "/login?t="+token), f.post(c, "/login", url.Values{"t": {token}})} {
			if res.status != http.StatusGone || !strings.Contains(res.body, "expired") {
				t.Errorf("at 10:00: %d\n%s", res.status, res.body)
			}
		}
		wantSignInRedirect(t, "overview", f.get(c, "/"))
	})
	t.Run("ErrUnknownToken", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		c := f.browser()
		token := f.link(root)
		for _, bad := range []string{strings.Repeat("0", 64), token[:63], token + "0", strings.ToUpper(token), "<script>"} {
			for _, res := range []response{f.get(c, "/login?t="+url.QueryEscape(bad)), f.post(c, "/login", url.Values{"t": {bad}})} {
				if res.status != http.StatusNotFound || !strings.Contains(res.body, "not valid") || strings.Contains(res.body, "<script>") {
					t.Errorf("token %q: %d\n%s", bad, res.status, res.body)
				}
			}
		}
	})
	t.Run("OKNoTokenSaysHow", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		res := f.get(f.browser(), "/login")
		if res.status != http.StatusOK || !strings.Contains(res.body, "Send /dashboard to the bot") ||
			!strings.Contains(res.body, "lessonbot dashboard-link") || strings.Contains(res.body, "password\"") ||
			strings.Contains(res.body, "<input") {
			t.Errorf("%d\n%s", res.status, res.body)
		}
	})
	t.Run("ErrNoLongerAdmin", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		c := f.browser()
		token := f.link(dee)
		f.signIn(c, root)
		f.mu.Lock()
		delete(f.admins, chat.User{Platform: dee.Platform, ID: dee.ID})
		delete(f.admins, chat.User{Platform: root.Platform, ID: root.ID})
		f.mu.Unlock()
		for _, res := range []response{f.get(f.browser(), "/login?t="+token), f.post(f.browser(), "/login", url.Values{"t": {token}})} {
			if res.status != http.StatusForbidden || !strings.Contains(res.body, "is no longer one of lessonbot") {
				t.Errorf("%d\n%s", res.status, res.body)
			}
		}
		wantSignInRedirect(t, "the session of an admin removed since", f.get(c, "/"))
	})
	t.Run("OKSecondSignInReplacesSession", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		c := f.browser()
		f.signIn(c, root)
		first := sessionCookie(t, f, c)
		f.signIn(c, root)
		if second := sessionCookie(t, f, c); second == first {
			t.Fatal("the session id did not change")
		}
		if _, err := f.st.Session(context.Background(), first, f.clock.Now()); err != store.ErrNotFound {
			t.Errorf("the first session is %v, want ended", err)
		}
	})
}

// sessionCookie returns the session id c's jar holds for the server.
func sessionCookie(t *testing.T, f *fixture, c *http.Client) string {
	t.Helper()
	u, _ := url.Parse(f.ts.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == cookieName || ck.Name == secureCookieName {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func TestNoSession(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.browser()
	wantSignInRedirect(t, "GET /", f.get(c, "/"))
	wantSignInRedirect(t, "GET /?tz=UTC", f.get(c, "/?tz=UTC"))
	for _, path := range []string{"/actions", "/growth", "/growth?days=90", "/retention", "/activity", "/lessons",
		"/lessons/port-strike", "/words", "/delivery"} {
		wantSignInRedirect(t, "GET "+path, f.get(c, path))
	}
	for _, path := range []string{"/actions/reload", "/actions/preview", "/actions/resend", "/actions/resend/confirm"} {
		wantSignInRedirect(t, "POST "+path, f.post(c, path, url.Values{"slot": {"1772348400"}, "id": {"night-train"}}))
	}
	if n := f.reloads.Load(); n != 0 {
		t.Errorf("reloaded %d times without a session", n)
	}
	if n := f.wakes.Load(); n != 0 {
		t.Errorf("woke the pool %d times without a session", n)
	}
	// A forged cookie is no session either.
	u, _ := url.Parse(f.ts.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: strings.Repeat("ab", 32)}})
	res := f.get(c, "/")
	wantSignInRedirect(t, "forged cookie", res)
	if sc := res.header.Get("Set-Cookie"); !strings.Contains(sc, cookieName+"=;") || !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("the forged cookie is not cleared: %q", sc)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Run("ErrIdleTwelveHours", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		c := f.browser()
		f.signIn(c, root)
		f.clock.Add(12*time.Hour - time.Minute)
		if res := f.get(c, "/"); res.status != http.StatusOK {
			t.Fatalf("after 11:59 idle: %d", res.status)
		}
		f.clock.Add(12 * time.Hour)
		wantSignInRedirect(t, "after 12 h idle", f.get(c, "/"))
	})
	t.Run("ErrSevenDaysAbsolute", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		c := f.browser()
		f.signIn(c, root)
		for elapsed := 11 * time.Hour; elapsed < 7*24*time.Hour; elapsed += 11 * time.Hour {
			f.clock.Add(11 * time.Hour)
			if res := f.get(c, "/"); res.status != http.StatusOK {
				t.Fatalf("busy session after %s: %d", elapsed, res.status)
			}
		}
		f.clock.Set(t0.Add(7 * 24 * time.Hour))
		wantSignInRedirect(t, "after 7 days", f.get(c, "/"))
	})
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func TestCookie(t *testing.T) {
	tests := []struct {
		name       string
		fo         fixtureOptions
		wantSecure bool
	}{
		{"OKPlainHTTP", fixtureOptions{}, false},
		{"OKTLS", fixtureOptions{tls: true}, true},
		{"OKBehindTLSProxy", fixtureOptions{public: "https://lessonbot.example.org"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.fo)
			res := f.post(f.browser(), "/login", url.Values{"t": {f.link(root)}})
			if res.status != http.StatusSeeOther {
				t.Fatalf("sign-in: %d %s", res.status, res.body)
			}
			cookies := (&http.Response{Header: res.header}).Cookies()
			if len(cookies) != 1 {
				t.Fatalf("cookies %q, want one", res.header.Values("Set-Cookie"))
			}
			ck := cookies[0]
			wantName := cookieName
			if tt.wantSecure {
				wantName = secureCookieName
			}
			if ck.Name != wantName || ck.Secure != tt.wantSecure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode ||
				ck.Path != "/" || ck.Domain != "" || ck.MaxAge != 7*24*3600 || !wellFormed(ck.Value) {
				t.Errorf("cookie %q, want %s with Secure=%v, HttpOnly, SameSite=Strict, Path=/, no Domain, Max-Age 7 days",
					res.header.Get("Set-Cookie"), wantName, tt.wantSecure)
			}
			if tt.fo.public == "" {
				// The browser sends it back: signed in.
				c := f.browser()
				f.signIn(c, root)
				if res := f.get(c, "/"); res.status != http.StatusOK {
					t.Errorf("overview with the cookie: %d", res.status)
				}
			}
		})
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.browser()
	f.signIn(c, root)
	id := sessionCookie(t, f, c)
	res := f.post(c, "/logout", nil)
	wantSignInRedirect(t, "logout", res)
	if sc := res.header.Get("Set-Cookie"); !strings.Contains(sc, cookieName+"=;") || !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("logout did not clear the cookie: %q", sc)
	}
	wantSignInRedirect(t, "overview after logout", f.get(c, "/"))
	if !strings.Contains(f.logs.String(), `msg="admin signed out of the dashboard" platform=telegram user_id=42`) {
		t.Errorf("no log line of the sign-out:\n%s", f.logs.String())
	}
	if _, err := f.st.Session(context.Background(), id, f.clock.Now()); err != store.ErrNotFound {
		t.Errorf("the session is %v after logout, want deleted", err)
	}
	// The old cookie, replayed, opens nothing.
	replay := f.browser()
	u, _ := url.Parse(f.ts.URL)
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: id}})
	wantSignInRedirect(t, "replayed cookie", f.get(replay, "/"))
	// Logging out with no session only clears the cookie.
	wantSignInRedirect(t, "second logout", f.post(c, "/logout", nil))
	if res := f.get(c, "/logout"); res.status != http.StatusNotFound {
		t.Errorf("GET /logout: %d, want 404 (sign-out is a POST)", res.status)
	}
}

func TestCrossOrigin(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.browser()
	f.signIn(c, root)
	crossSite := map[string]map[string]string{
		"SecFetchSite": {"Sec-Fetch-Site": "cross-site"},
		"SameSite":     {"Sec-Fetch-Site": "same-site"},
		"OriginOnly":   {"Origin": "http://evil.example"},
	}
	for name, header := range crossSite {
		t.Run("Err"+name, func(t *testing.T) {
			res := f.do(c, http.MethodPost, "/actions/reload", url.Values{}, header)
			if res.status != http.StatusForbidden || !strings.Contains(res.body, "another site") {
				t.Errorf("reload: %d\n%s", res.status, res.body)
			}
			if res.header.Get("Content-Security-Policy") != ContentSecurityPolicy {
				t.Errorf("the refusal lacks the CSP")
			}
			token := f.link(dee)
			if res := f.do(f.browser(), http.MethodPost, "/login", url.Values{"t": {token}}, header); res.status != http.StatusForbidden {
				t.Errorf("sign-in: %d", res.status)
			}
			if _, err := f.st.LoginToken(context.Background(), token, f.clock.Now()); err != nil {
				t.Errorf("a refused cross-site sign-in used the token: %v", err)
			}
			if res := f.do(c, http.MethodPost, "/logout", url.Values{}, header); res.status != http.StatusForbidden {
				t.Errorf("logout: %d, want 403", res.status)
			}
			if res := f.get(c, "/"); res.status != http.StatusOK {
				t.Errorf("after refused cross-site POSTs the overview is %d, want 200 (still signed in)", res.status)
			}
		})
	}
	if n := f.reloads.Load(); n != 0 {
		t.Fatalf("cross-site POSTs reloaded %d times", n)
	}
	t.Run("OKSameOrigin", func(t *testing.T) {
		for _, header := range []map[string]string{
			{"Sec-Fetch-Site": "same-origin"},
			{"Origin": f.ts.URL},
			{"Sec-Fetch-Site": "none"}, // typed by the user
			{},                         // not a browser
		} {
			res := f.do(c, http.MethodPost, "/actions/reload", url.Values{}, header)
			if res.status != http.StatusOK || !strings.Contains(res.body, "Lessons reloaded") {
				t.Errorf("%v: %d %v\n%s", header, res.status, res.header, res.body)
			}
		}
		if n := f.reloads.Load(); n != 4 {
			t.Errorf("reloaded %d times, want 4", n)
		}
	})
	t.Run("OKCrossSiteGET", func(t *testing.T) {
		// Following the bot's link is a cross-site navigation: it shows
		// the button.
		res := f.do(f.browser(), http.MethodGet, "/login?t="+f.link(dee), nil, map[string]string{"Sec-Fetch-Site": "cross-site"})
		if res.status != http.StatusOK {
			t.Errorf("%d", res.status)
		}
	})
}

func TestTrustedPublicOrigin(t *testing.T) {
	// Behind a proxy that passes the Host of the upstream, a browser that
	// sends Origin but not Sec-Fetch-Site must still be able to post.
	f := newFixture(t, fixtureOptions{public: "https://lessonbot.example.org"})
	res := f.do(f.browser(), http.MethodPost, "/login", url.Values{"t": {f.link(root)}}, map[string]string{"Origin": "https://lessonbot.example.org"})
	if res.status != http.StatusSeeOther {
		t.Errorf("%d %s", res.status, res.body)
	}
}

// svgNamespace is the xmlns of the charts' <svg> roots.
const svgNamespace = "http://www.w3.org/2000/svg"

// hostRefs finds absolute and protocol-relative URLs in a page.
var hostRefs = regexp.MustCompile(`(?i)(?:https?:)?//[^\s"'<>)]*`)

func TestPages(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	slot := fmt.Sprint(seed(t, f).unknownSlot.Unix())
	c := f.browser()
	anon := f.browser()
	used := f.link(dee)
	f.post(f.browser(), "/login", url.Values{"t": {used}})
	pages := map[string]func() response{
		"login-how":      func() response { return f.get(anon, "/login") },
		"login-button":   func() response { return f.get(anon, "/login?t="+f.link(root)) },
		"login-used":     func() response { return f.get(anon, "/login?t="+used) },
		"login-unknown":  func() response { return f.get(anon, "/login?t=x") },
		"overview":       func() response { return f.get(c, "/") },
		"overview-tokyo": func() response { return f.get(c, "/?tz=asia/tokyo") },
		"overview-bad":   func() response { return f.get(c, "/?tz=Mars/Olympus") },
		"growth":         func() response { return f.get(c, "/growth") },
		"growth-90":      func() response { return f.get(c, "/growth?days=90&tz=Asia/Kolkata") },
		"retention":      func() response { return f.get(c, "/retention") },
		"activity":       func() response { return f.get(c, "/activity?tz=America/New_York") },
		"lessons":        func() response { return f.get(c, "/lessons") },
		"report":         func() response { return f.get(c, "/lessons/port-strike") },
		"report-gone":    func() response { return f.get(c, "/lessons/old-lesson") },
		"words":          func() response { return f.get(c, "/words?min=1") },
		"delivery":       func() response { return f.get(c, "/delivery") },
		"actions":        func() response { return f.get(c, "/actions") },
		"reloaded":       func() response { return f.post(c, "/actions/reload", nil) },
		"previewed":      func() response { return f.post(c, "/actions/preview", url.Values{"id": {"night-train"}}) },
		"resend-confirm": func() response { return f.post(c, "/actions/resend", url.Values{"slot": {slot}}) },
		"resent":         func() response { return f.post(c, "/actions/resend/confirm", url.Values{"slot": {slot}}) },
		"not-found":      func() response { return f.get(c, "/nowhere") },
		"no-lesson":      func() response { return f.get(c, "/lessons/nowhere") },
		"cross-site": func() response {
			return f.do(c, http.MethodPost, "/actions/reload", url.Values{}, map[string]string{"Sec-Fetch-Site": "cross-site"})
		},
	}
	f.signIn(c, root)
	css := ""
	for name, get := range pages {
		t.Run(name, func(t *testing.T) {
			res := get()
			if res.status == http.StatusSeeOther {
				t.Fatalf("redirected to %s", res.header.Get("Location"))
			}
			if n := len(res.body); n > maxPage {
				t.Errorf("%d bytes, want at most %d", n, maxPage)
			}
			h := res.header
			for k, want := range map[string]string{
				"Content-Security-Policy": ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "no-store",
				"Content-Type":            "text/html; charset=utf-8",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			for _, want := range []string{`<meta name="referrer" content="no-referrer">`, "<!DOCTYPE html>", `<html lang="en">`} {
				if !strings.Contains(res.body, want) {
					t.Errorf("no %s", want)
				}
			}
			for _, bad := range []string{"<script", "javascript:", "@import", "<iframe", "<style"} {
				if strings.Contains(strings.ToLower(res.body), bad) {
					t.Errorf("the page holds %q", bad)
				}
			}
			if regexp.MustCompile(`\son[a-z]+=`).MatchString(res.body) {
				t.Error("the page has an event handler attribute")
			}
			for _, ref := range hostRefs.FindAllString(res.body, -1) {
				// The charts' SVG namespace names, and loads, nothing.
				if !strings.HasPrefix(ref, f.base) && ref != svgNamespace {
					t.Errorf("the page refers to another host: %q", ref)
				}
			}
			m := regexp.MustCompile(`<link rel="stylesheet" href="(/static/style\.[0-9a-f]{12}\.css)">`).FindStringSubmatch(res.body)
			if m == nil {
				t.Fatal("no same-origin stylesheet")
			}
			css = m[1]
		})
	}
	t.Run("stylesheet", func(t *testing.T) {
		res := f.get(anon, css)
		if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/css; charset=utf-8" ||
			res.header.Get("Content-Security-Policy") != ContentSecurityPolicy || res.body != string(styleSheet) {
			t.Errorf("%s: %d %v", css, res.status, res.header)
		}
		for _, bad := range []string{"@import", "url(", "@font-face"} {
			if strings.Contains(res.body, bad) {
				t.Errorf("the stylesheet uses %s", bad)
			}
		}
		if res := f.get(anon, "/static/style.css"); res.status != http.StatusNotFound {
			t.Errorf("/static/style.css: %d", res.status)
		}
	})
}

func TestNavigation(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.browser()
	f.signIn(c, root)
	res := f.get(c, "/actions")
	for _, want := range []string{
		`<li><a href="/">Overview</a></li>`,
		`<li><a href="/growth">Growth</a></li>`,
		`<li><a href="/retention">Retention</a></li>`,
		`<li><a href="/activity">Activity</a></li>`,
		`<li><a href="/lessons">Lessons</a></li>`,
		`<li><a href="/words">Hardest words</a></li>`,
		`<li><a href="/delivery">Delivery</a></li>`,
		`<li><a href="/actions" aria-current="page">Actions</a></li>`,
		"Signed in as Root &lt;admin&gt;",
		`<button type="submit">Sign out</button>`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	// Each page marks its own link, and only that one; a lesson's report
	// marks Lessons.
	for _, n := range navigation() {
		res := f.get(c, n.Path)
		if want := `<a href="` + n.Path + `" aria-current="page">` + n.Label + `</a>`; !strings.Contains(res.body, want) ||
			strings.Count(res.body, `aria-current="page"`) != 1 || !strings.Contains(res.body, "<h1>"+n.Label+"</h1>") {
			t.Errorf("%s does not mark its link %s alone, under the heading %s", n.Path, want, n.Label)
		}
	}
	if res := f.get(c, "/lessons/port-strike"); !strings.Contains(res.body, `<a href="/lessons" aria-current="page">Lessons</a>`) {
		t.Error("a lesson's report does not mark Lessons")
	}
	// Every link of the navigation leads to a page.
	for _, m := range regexp.MustCompile(`<a href="([^"]+)"`).FindAllStringSubmatch(res.body, -1) {
		if res := f.get(c, m[1]); res.status != http.StatusOK {
			t.Errorf("%s: %d", m[1], res.status)
		}
	}
	// The sign-in pages have no navigation.
	if res := f.get(f.browser(), "/login"); strings.Contains(res.body, "<nav") {
		t.Error("the sign-in page has a navigation")
	}
}

func TestReload(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.browser()
	f.signIn(c, root)
	if res := f.get(c, "/actions"); !strings.Contains(res.body, `<form method="post" action="/actions/reload">`) || f.reloads.Load() != 0 {
		t.Fatalf("the Actions page: %d reloads\n%s", f.reloads.Load(), res.body)
	}
	res := f.post(c, "/actions/reload", nil)
	for _, want := range []string{"2 lessons, 1 error, 0 warnings; 0 lessons in service.", "lessons/a.md:3: the quiz has no right choice &lt;x&gt;"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the result lacks %q:\n%s", want, res.body)
		}
	}
	if f.reloads.Load() != 1 {
		t.Errorf("%d reloads, want 1", f.reloads.Load())
	}
	if !strings.Contains(f.logs.String(), `msg="lessons reloaded from the dashboard" platform=telegram user_id=42`) {
		t.Errorf("no log line:\n%s", f.logs.String())
	}
	if res := f.get(c, "/actions/reload"); res.status == http.StatusOK || f.reloads.Load() != 1 {
		t.Errorf("GET /actions/reload: %d, %d reloads", res.status, f.reloads.Load())
	}
}

func TestLinks(t *testing.T) {
	f := newFixture(t, fixtureOptions{public: "https://lessonbot.example.org"})
	for i := range store.MaxLinks {
		l, err := f.links.LoginLink(context.Background(), root)
		if err != nil || !regexp.MustCompile(`^https://lessonbot\.example\.org/login\?t=[0-9a-f]{64}$`).MatchString(l) {
			t.Fatalf("link %d: %q, %v", i+1, l, err)
		}
	}
	if _, err := f.links.LoginLink(context.Background(), root); !errors.Is(err, store.ErrTooManyLinks) {
		t.Errorf("6th link: %v, want ErrTooManyLinks", err)
	}
	f.clock.Add(store.LinkWindow)
	if _, err := f.links.LoginLink(context.Background(), root); err != nil {
		t.Errorf("10 minutes later: %v", err)
	}
}

func TestRunSweeps(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	token := f.link(root)
	f.clock.Add(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.srv.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := f.st.LoginToken(context.Background(), token, f.clock.Now())
		if err == store.ErrNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired token is still %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestNewErrors(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "lessonbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, base := range []string{"", "127.0.0.1:9090", "ftp://x"} {
		if _, err := New(Options{Store: st, BaseURL: base}); err == nil {
			t.Errorf("base %q: no error", base)
		}
	}
	if _, err := New(Options{BaseURL: "http://127.0.0.1:9090"}); err == nil {
		t.Error("no store: no error")
	}
}
