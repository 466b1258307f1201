package dashboard

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/browsertest"
)

// artifacts returns the folder the browser tests write their screenshots
// to: $LESSONBOT_TEST_ARTIFACTS, or lessonbot-artifacts in the temporary
// folder.
func artifacts(t *testing.T) string {
	dir := os.Getenv("LESSONBOT_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "lessonbot-artifacts")
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// browserPages are the signed-in pages the browser visits, by path, with
// the name of their screenshot.
var browserPages = []struct{ path, shot string }{
	{"/", "overview"},
	{"/actions", "actions"},
}

// TestBrowserSignInAndPages signs in through the link as a browser does,
// visits every page with JavaScript on and off, and checks that no page
// asks anything of another host.
func TestBrowserSignInAndPages(t *testing.T) {
	for _, js := range []bool{true, false} {
		t.Run(fmt.Sprintf("javascript=%v", js), func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			seed(t, f)
			var opts []browsertest.Option
			if !js {
				opts = append(opts, browsertest.NoJavaScript())
			}
			b := browsertest.Start(t, opts...)
			host := strings.TrimPrefix(f.ts.URL, "http://")
			token := f.link(root)
			b.Open(f.ts.URL + "/login?t=" + token)
			if got := b.Text("button.primary"); got != "Sign in as Root <admin>" {
				t.Fatalf("the sign-in button reads %q", got)
			}
			b.Submit("button.primary")
			if got := b.Location(); got != f.ts.URL+"/" {
				t.Fatalf("after signing in the browser is at %s, want the overview", got)
			}
			dir := artifacts(t)
			for _, p := range browserPages {
				b.Open(f.ts.URL + p.path)
				if n := b.Count("main h1"); n != 1 {
					t.Errorf("%s: %d headings, want 1 (signed out?)", p.path, n)
				}
				if js {
					b.Screenshot(filepath.Join(dir, p.shot+".png"))
				}
			}
			if foreign := b.ForeignRequests(host); len(foreign) > 0 {
				t.Errorf("requests to other hosts: %q", foreign)
			}
			// The same link a second time: refused, and says so.
			b.Open(f.ts.URL + "/login?t=" + token)
			if got := b.Text("main"); !strings.Contains(got, "already been used") && !strings.Contains(got, "used") {
				t.Errorf("a used link shows %q", got)
			}
		})
	}
}

// TestBrowserExpiredLink opens a link 11 minutes after it was made.
func TestBrowserExpiredLink(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	b := browsertest.Start(t)
	token := f.link(root)
	f.clock.Add(11 * time.Minute)
	b.Open(f.ts.URL + "/login?t=" + token)
	if n := b.Count("button.primary"); n != 0 {
		t.Errorf("an expired link still offers to sign in")
	}
	if got := b.Text("main"); !strings.Contains(got, "expired") {
		t.Errorf("an expired link shows %q", got)
	}
}

// TestBrowserCrossSite posts the reload action from a page of another
// origin (a form on another port, as an attacker's page would): 403 and
// no reload; the same form on the dashboard's own page works.
func TestBrowserCrossSite(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	b := browsertest.Start(t)
	b.Open(f.ts.URL + "/login?t=" + f.link(root))
	b.Submit("button.primary")

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Win a prize</title><form method="post" action="%s/actions/reload"><button id="go">Claim</button></form>`, f.ts.URL)
	}))
	defer evil.Close()
	b.Open(evil.URL)
	b.Submit("#go")
	if n := f.reloads.Load(); n != 0 {
		t.Errorf("a cross-site form reloaded the lessons (%d reloads)", n)
	}
	if got := b.Status(); got != http.StatusForbidden {
		t.Errorf("the cross-site POST was answered %d, want 403: the page shows %q", got, b.Text("body"))
	}

	b.Open(f.ts.URL + "/actions")
	b.Submit("form[action='/actions/reload'] button")
	if n := f.reloads.Load(); n != 1 {
		t.Errorf("the same form on the dashboard reloaded %d times, want 1", n)
	}
	if got := b.Text("#reload-result h2"); got != "Lessons reloaded" {
		t.Errorf("after the reload the page shows %q", got)
	}
}
