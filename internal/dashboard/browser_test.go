package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/browsertest"
	"github.com/lessonbot/lessonbot/internal/console"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/tutor"
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
// the name of their screenshot and what each must hold (nil: its one
// heading only).
var browserPages = []struct {
	path, shot string
	check      func(t *testing.T, b *browsertest.Browser)
}{
	{"/", "overview", nil},
	{"/growth", "growth", func(t *testing.T, b *browsertest.Browser) {
		if n := b.Count("svg.chart.line path.point"); n != 30 {
			t.Errorf("growth: %d days in the chart, want 30", n)
		}
		if n := b.Count("#growth tbody tr"); n != 30 {
			t.Errorf("growth: %d days in the table, want 30", n)
		}
	}},
	{"/retention", "retention", func(t *testing.T, b *browsertest.Browser) {
		rows, cols := b.Count("table.chart.cohorts tbody tr"), b.Count("table.chart.cohorts thead th")
		if rows != retentionWeeks || cols != retentionWeeks {
			t.Errorf("retention: %d cohorts × %d weeks, want %d × %d", rows, cols, retentionWeeks, retentionWeeks)
		}
		if n := b.Count("table.chart.cohorts td.cohort"); n != rows*cols {
			t.Errorf("retention: %d cells, want %d × %d", n, rows, cols)
		}
	}},
	{"/activity", "activity", func(t *testing.T, b *browsertest.Browser) {
		if n := b.Count("svg.chart.heatmap rect.cell"); n != 7*24 {
			t.Errorf("activity: %d heatmap cells, want 168", n)
		}
	}},
	{"/lessons", "lessons", func(t *testing.T, b *browsertest.Browser) {
		bars, rows := b.Count("svg.chart.bars rect.bar"), b.Count("#lessons tbody tr")
		if rows != browserLessons || bars != rows {
			t.Errorf("lessons: %d bars for %d lessons in the table, want one per lesson (%d)", bars, rows, browserLessons)
		}
	}},
	{"/lessons/lesson-03", "lesson-report", func(t *testing.T, b *browsertest.Browser) {
		if bars, rows := b.Count("svg.chart.bars rect.bar"), b.Count("#questions tbody tr"); rows != testQuestions || bars != rows {
			t.Errorf("report: %d bars for %d questions, want %d", bars, rows, testQuestions)
		}
	}},
	{"/words", "words", func(t *testing.T, b *browsertest.Browser) {
		if n := b.Count("#words tbody tr"); n != wordsLimit {
			t.Errorf("words: %d rows, want %d", n, wordsLimit)
		}
	}},
	{"/delivery", "delivery", func(t *testing.T, b *browsertest.Browser) {
		if n := b.Count("svg.chart.line"); n != 3 {
			t.Errorf("delivery: %d charts, want 3", n)
		}
		if n := b.Count("#delivery tbody tr"); n != deliveryDays {
			t.Errorf("delivery: %d days, want %d", n, deliveryDays)
		}
	}},
	{"/actions", "actions", nil},
}

// browserLessons is how many lessons the browser tests' library has.
const browserLessons = 40

// browserSeed fills the fixture's store with store.SeedDashboard's month
// of history, small (a few hundred chats), on a library of browserLessons
// lessons, with the previews the tutor would make, and moves the clock to
// the history's end.
func browserSeed(t *testing.T, f *fixture) {
	t.Helper()
	f.lib = benchLibrary(browserLessons)
	opt := store.SeedOptions{Chats: 600, Answers: 12_000, Lessons: seedLessons(f.lib), Now: time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)}
	if err := store.SeedDashboard(context.Background(), f.st, opt); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(opt.Now)
	tut := tutor.New(f.st, lesson.NewSource(func() lesson.Result { return lesson.Result{Library: f.lib} }),
		tutor.Settings{Questions: testQuestions, Language: "en", Zone: "UTC"}, f.clock.Now, slog.New(slog.DiscardHandler))
	f.srv.opts.Preview = func(l *lesson.Lesson) []string {
		var out []string
		for _, m := range tut.LessonMessages(l, "en") {
			out = append(out, console.RenderText(m))
		}
		return out
	}
}

// TestBrowserSignInAndPages signs in through the link as a browser does,
// visits every page with JavaScript on and off, checks the charts against
// the tables, previews a lesson, resends a slot's unknown messages through
// the confirmation, and checks that no page asks anything of another
// host. With JavaScript on, it takes a screenshot of each page.
func TestBrowserSignInAndPages(t *testing.T) {
	if browsertest.ExecPath() == "" {
		browsertest.Start(t) // skips before seeding, or fails under CI
	}
	// One history for both runs (seeding is the slow part under the race
	// detector); each run resends its own slot.
	f := newFixture(t, fixtureOptions{})
	browserSeed(t, f)
	for _, js := range []bool{true, false} {
		t.Run(fmt.Sprintf("javascript=%v", js), func(t *testing.T) {
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
			shot := func(name string) {
				if js {
					b.Screenshot(filepath.Join(dir, name+".png"))
				}
			}
			for _, p := range browserPages {
				b.Open(f.ts.URL + p.path)
				if got := b.Status(); got != http.StatusOK {
					t.Errorf("%s: %d", p.path, got)
				}
				if n := b.Count("main h1"); n != 1 {
					t.Errorf("%s: %d headings, want 1 (signed out?)", p.path, n)
				}
				if p.check != nil {
					p.check(t, b)
				}
				shot(p.shot)
			}

			// Preview a lesson: the post and its three questions.
			b.SetValue("#preview-id", "lesson-03")
			b.Submit("form[action='/actions/preview'] button")
			if n := b.Count("#preview-result pre.message"); n != 1+testQuestions {
				t.Errorf("the preview shows %d messages, want %d", n, 1+testQuestions)
			}
			shot("actions-preview")

			// Resend the latest slot with unknown messages: the
			// confirmation changes nothing, its button puts them back.
			pending := func() int {
				q, err := f.st.Queue(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return q.Pending
			}
			before, wakes := pending(), f.wakes.Load()
			b.Open(f.ts.URL + "/actions")
			b.Submit("#slots form button")
			want := b.Text("#resend-count strong")
			if got := pending(); got != before || f.wakes.Load() != wakes || want == "" {
				t.Fatalf("after the confirmation page: %d pending (was %d), %d wakes (was %d), %q to resend",
					got, before, f.wakes.Load(), wakes, want)
			}
			shot("actions-resend-confirm")
			b.Submit("form[action='/actions/resend/confirm'] button")
			if got := pending(); fmt.Sprint(got-before) != want || f.wakes.Load() != wakes+1 {
				t.Errorf("after resending: %d more pending, want %s; %d wakes, want %d", got-before, want, f.wakes.Load(), wakes+1)
			}
			if got := b.Text("#resend-result h2"); got != "Unknown messages resent" {
				t.Errorf("after resending the page shows %q", got)
			}
			shot("actions-resent")

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
