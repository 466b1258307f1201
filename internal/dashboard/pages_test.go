package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// pageTest is a page and what it must show.
type pageTest struct {
	name, path string
	want       []string
	// count is how many times a string must occur.
	count map[string]int
}

// run signs in and checks each page.
func runPageTests(t *testing.T, f *fixture, tests []pageTest) {
	t.Helper()
	c := f.browser()
	f.signIn(c, root)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.get(c, tt.path)
			if res.status != http.StatusOK {
				t.Fatalf("%d\n%s", res.status, res.body)
			}
			for _, want := range tt.want {
				if !strings.Contains(res.body, want) {
					t.Errorf("the page lacks %s", want)
				}
			}
			for s, n := range tt.count {
				if got := strings.Count(res.body, s); got != n {
					t.Errorf("%d × %s, want %d", got, s, n)
				}
			}
			if t.Failed() {
				t.Log(res.body)
			}
		})
	}
}

// row writes a table row: a header cell and data cells.
func row(head string, cells ...any) string {
	var b strings.Builder
	b.WriteString(`<tr><th scope="row">` + head + "</th>")
	for _, c := range cells {
		fmt.Fprintf(&b, "<td>%v</td>", c)
	}
	return b.String() + "</tr>"
}

// numbered writes a table row that starts with its number.
func numbered(n int, head string, cells ...any) string {
	return fmt.Sprintf("<tr><td>%d</td>", n) + strings.TrimPrefix(row(head, cells...), "<tr>")
}

// hours writes the 24 cells of a row of the activity table, zero but
// for the hours given, and the row's total.
func hours(day string, counts map[int]int) string {
	cells := make([]any, 25)
	total := 0
	for h := range 24 {
		cells[h] = counts[h]
		total += counts[h]
	}
	cells[24] = total
	return row(day, cells...)
}

func TestGrowthPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	seed(t, f)
	runPageTests(t, f, []pageTest{
		{"OK30DaysInParis", "/growth", []string{
			`<input type="hidden" name="days" value="30">`, `value="Europe/Paris"`,
			`<strong aria-current="true">30 days</strong> <a href="/growth?days=90">90 days</a>`,
			`Over the 30 days from Sun 1 Feb 2026: <strong id="growth-net">+5</strong> chats (7 subscribed, 1 unsubscribed, 1 gone).`,
			row("Mon 2 Mar", 0, 0, 0, 0),
			row("Sun 1 Mar", 0, 0, 1, -1),
			row("Sat 28 Feb", 4, 0, 0, "+4"),
			row("Fri 27 Feb", 0, 1, 0, -1),
			row("Thu 26 Feb", 2, 0, 0, "+2"),
			row("Mon 9 Feb", 1, 0, 0, "+1"),
			row("Sun 1 Feb", 0, 0, 0, 0),
			`<tfoot><tr><th scope="row">total</th><td>7</td><td>1</td><td>1</td><td>+5</td></tr></tfoot>`,
			`<svg xmlns="http://www.w3.org/2000/svg" class="chart line"`,
			`<title>28 Feb: subscribed 4, unsubscribed 0, chats gone 0, net 4</title>`,
		}, map[string]int{`class="point"`: 30, `<tr><th scope="row">`: 31, `<g class="series"`: 4}},
		// In Kiritimati (UTC+14) the chats that came on Thursday in Paris
		// came on Friday, and the one lost on Sunday was lost on Monday.
		{"OK90DaysInKiritimati", "/growth?days=90&tz=Pacific/Kiritimati", []string{
			`<input type="hidden" name="days" value="90">`, `value="Pacific/Kiritimati"`,
			`<a href="/growth?days=30&amp;tz=Pacific%2FKiritimati">30 days</a> <strong aria-current="true">90 days</strong>`,
			"Over the 90 days from Wed 3 Dec 2025",
			row("Mon 2 Mar", 0, 0, 1, -1),
			row("Sun 1 Mar", 0, 0, 0, 0),
			row("Sat 28 Feb", 4, 1, 0, "+3"),
			row("Fri 27 Feb", 2, 0, 0, "+2"),
			row("Tue 10 Feb", 1, 0, 0, "+1"),
		}, map[string]int{`class="point"`: 90}},
		{"OKOtherSpanRefused", "/growth?days=7", []string{
			"The page shows 30 or 90 days; it shows 30.", `<input type="hidden" name="days" value="30">`,
		}, map[string]int{`class="point"`: 30}},
	})
}

func TestRetentionPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	seed(t, f)
	runPageTests(t, f, []pageTest{
		{"OK", "/retention", []string{
			"12 weekly cohorts, 7 chats in all.",
			`<table class="chart cohorts"`,
			`<th scope="row">15 Dec 2025 · 0 chats</th>`,
			`<th scope="row">9 Feb 2026 · 1 chat</th>`,
			`title="9 Feb 2026 · 1 chat, week 0: 100%">100%</td>`,
			`title="9 Feb 2026 · 1 chat, week 1: 100%">100%</td>`,
			`title="9 Feb 2026 · 1 chat, week 2: 0%">0%</td>`,
			`title="9 Feb 2026 · 1 chat, week 3: 100%">100%</td>`,
			`<th scope="row">23 Feb 2026 · 6 chats</th>`,
			`title="23 Feb 2026 · 6 chats, week 0: 50%">50%</td>`,
			`title="23 Feb 2026 · 6 chats, week 1: 16.7%">17%</td>`,
			`<th scope="row">2 Mar 2026 · 0 chats</th>`,
		}, map[string]int{`<td class="cohort`: 12 * 12, `<td class="cohort"`: 6, `<th scope="col">week `: 12}},
	})
}

func TestActivityPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	seed(t, f)
	runPageTests(t, f, []pageTest{
		{"OKParis", "/activity", []string{
			`<strong id="activity-total">15</strong> answers from Tue 2 Dec 10:00 to Mon 2 Mar 10:00 (Europe/Paris).`,
			"The busiest hour: Sun 09:00–10:00, with 4 answers.",
			hours("Mon", map[int]int{9: 3, 13: 1}),
			hours("Tue", nil),
			hours("Wed", map[int]int{19: 1}),
			hours("Sun", map[int]int{8: 3, 9: 4, 14: 3}),
			`<title>Sun 09: 4</title>`, `<title>Sat 12: 0</title>`,
		}, map[string]int{`<rect class="cell"`: 168}},
		{"OKUTC", "/activity?tz=UTC", []string{
			"The busiest hour: Sun 08:00–09:00, with 4 answers.",
			hours("Mon", map[int]int{8: 3, 12: 1}),
			hours("Wed", map[int]int{18: 1}),
			hours("Sun", map[int]int{7: 3, 8: 4, 13: 3}),
		}, map[string]int{`<rect class="cell"`: 168}},
	})
}

func TestLessonsPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	seed(t, f)
	runPageTests(t, f, []pageTest{
		{"OK", "/lessons", []string{
			numbered(1, `<a href="/lessons/port-strike">Dockers stop work at the port</a>`, 1, 1, 1, 7, "28.6%", "1 h 1 min"),
			numbered(2, `<a href="/lessons/night-train">The night train comes back &lt;again&gt;</a>`, 2, 0, 0, 5, "40.0%", "10 min 8 s"),
			numbered(3, `<a href="/lessons/tool-library">A library that lends tools</a>`, 0, 0, 0, 0, "–", "–"),
			numbered(4, `<a href="/lessons/old-lesson">old-lesson</a> <span class="note">(no longer in service)</span>`, 1, 0, 0, 3, "66.7%", "9 d 11 h"),
			"1 lesson is no longer in service",
			`<title>1. Dockers stop work at the port: 28.57% (7 first tries)</title>`,
			`<title>3. A library that lends tools: – (0 first tries)</title>`,
		}, map[string]int{`<rect class="bar"`: 4}},
	})
	t.Run("OKEmpty", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		f.lib = nil
		runPageTests(t, f, []pageTest{{"OK", "/lessons", []string{"No lesson is in service, and none was delivered yet."}, nil}})
	})
}

func TestReportPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	s := seed(t, f)
	for id, terms := range map[string][]string{"port-strike": {"", "halt", "rule out"}, "night-train": {"sleeper", "timetable", "fare"}} {
		for i, term := range terms {
			if q := s.q(id, i); q.Term != term {
				t.Fatalf("question %d of %s is about %q, want %q", i, id, q.Term, term)
			}
		}
	}
	// The wrong choices the seed picked, as the lesson shows them.
	p2, n1, n2 := s.q("port-strike", 1), s.q("night-train", 0), s.q("night-train", 1)
	runPageTests(t, f, []pageTest{
		{"OKAuthoredAndWords", "/lessons/port-strike", []string{
			`<h1>Dockers stop work at the port</h1>`,
			`<a href="/lessons" aria-current="page">Lessons</a>`,
			"Lesson <code>port-strike</code>: sent 1 time, 7 first tries at its questions, 28.6% right, median time to answer 1 h 1 min.",
			row("Why did the dockers stop work?", "question", 3, "33.3%", `Because of a storm <span class="note">(2, 66.7%)</span>`),
			row("What does “halt” mean?", "meaning of a word", 3, "0.0%", p2.Choices[wrong(p2, 0)]+` <span class="note">(2, 66.7%)</span>`),
			row("Which word means “écarter”?", "word for a meaning", 1, "100.0%", "–"),
			`<title>1. Why did the dockers stop work?: 33.33% (3 first tries)</title>`,
			`<title>3. Which word means “écarter”?: 100% (1 first try)</title>`,
		}, map[string]int{`<rect class="bar"`: 3}},
		{"OKEscapedTitle", "/lessons/night-train", []string{
			`<h1>The night train comes back &lt;again&gt;</h1>`,
			"sent 2 times, 5 first tries at its questions, 40.0% right, median time to answer 10 min 8 s.",
			row("What does “sleeper” mean?", "meaning of a word", 2, "50.0%", n1.Choices[wrong(n1, 0)]+` <span class="note">(1, 50.0%)</span>`),
			row("Which word means “horaire”?", "word for a meaning", 2, "0.0%", n2.Choices[wrong(n2, 0)]+` <span class="note">(2, 100.0%)</span>`),
			row("What does “fare” mean?", "meaning of a word", 1, "100.0%", "–"),
		}, nil},
		{"OKNoLongerInService", "/lessons/old-lesson", []string{
			`<h1>old-lesson</h1>`, "Lesson <code>old-lesson</code> (no longer in service): sent 1 time, 3 first tries",
			row("<code>old-lesson:0123abcd</code>", "no longer in the lesson", 1, "100.0%", "–"),
			row("<code>old-lesson:89abcdef</code>", "no longer in the lesson", 1, "0.0%", `choice 1 <span class="note">(1, 100.0%)</span>`),
		}, nil},
		{"OKNeverDelivered", "/lessons/tool-library", []string{
			`<h1>A library that lends tools</h1>`, "sent 0 times, 0 first tries at its questions, – right, median time to answer –.",
			row("What does “borrow” mean?", "meaning of a word", 0, "–", "–"),
			row("Which word means “perceuse”?", "word for a meaning", 0, "–", "–"),
		}, map[string]int{`<rect class="bar"`: 2}},
	})
	c := f.browser()
	f.signIn(c, root)
	for _, path := range []string{"/lessons/no-such-lesson", "/lessons/Bad%20Id", "/lessons/port-strike/more"} {
		if res := f.get(c, path); res.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, res.status)
		}
	}
}

func TestWordsPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	seed(t, f)
	lesson := func(id, title string) string {
		return `<td class="text"><a href="/lessons/` + id + `">` + title + `</a></td>`
	}
	port, night, old := lesson("port-strike", "Dockers stop work at the port"),
		lesson("night-train", "The night train comes back &lt;again&gt;"), lesson("old-lesson", "old-lesson")
	runPageTests(t, f, []pageTest{
		{"OKDefaultMinimum", "/words", []string{`<input id="min" name="min" value="20"`, "No question has 20 first tries yet."}, nil},
		{"OKAll", "/words?min=1", []string{
			`<tr><td>1</td><th scope="row"><strong>halt</strong></th>` + port + `<td>3</td><td>0.0%</td><td>3</td><td>2</td></tr>`,
			`<tr><td>2</td><th scope="row"><strong>timetable</strong></th>` + night + `<td>2</td><td>0.0%</td><td>2</td><td>2</td></tr>`,
			`<tr><td>3</td><th scope="row">old-lesson:89abcdef</th>` + old + `<td>1</td><td>0.0%</td><td>–</td><td>–</td></tr>`,
			`<tr><td>4</td><th scope="row">Why did the dockers stop work?</th>` + port + `<td>3</td><td>33.3%</td><td>–</td><td>–</td></tr>`,
			`<tr><td>5</td><th scope="row"><strong>sleeper</strong></th>` + night + `<td>2</td><td>50.0%</td><td>1</td><td>1</td></tr>`,
			`<tr><td>9</td><th scope="row"><strong>rule out</strong></th>` + port + `<td>1</td><td>100.0%</td><td>0</td><td>0</td></tr>`,
		}, map[string]int{"<tr><td>": 9}},
		{"OKAtLeastTwo", "/words?min=2", []string{
			`<tr><td>3</td><th scope="row">Why did the dockers stop work?</th>`,
			`<tr><td>4</td><th scope="row"><strong>sleeper</strong></th>`,
		}, map[string]int{"<tr><td>": 4}},
		{"OKBadMinimum", "/words?min=-3", []string{"The fewest answers is a whole number from 1; the page uses 20.", `value="20"`}, nil},
	})
}

func TestDeliveryPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	seed(t, f)
	runPageTests(t, f, []pageTest{
		{"OKParis", "/delivery", []string{
			`The 30 days from Sun 1 Feb 2026: <strong id="delivery-sent">4</strong> sent, 1 failed, 1 unknown, 1 chats gone, 3 answers 429 asking to wait 12 s in all.`,
			`In the outbox now: <strong>1</strong> waiting, <strong>0</strong> being sent; the oldest due has waited 1 h 0 min.`,
			// day: sent, failed, unknown, unknown messages, no lesson
			// left, chats gone, 429s, retry after, lateness p50, p95
			row("Mon 2 Mar", 1, 1, 0, 0, 0, 0, 2, "10 s", "21 s", "21 s"),
			row("Sun 1 Mar", 2, 0, 1, 2, 0, 1, 1, "2 s", "5 s", "2 min 4 s"),
			row("Sat 28 Feb", 0, 0, 0, 0, 0, 0, 0, "0 s", "–", "–"),
			row("Mon 9 Feb", 1, 0, 0, 0, 0, 0, 0, "0 s", "1 s", "1 s"),
			`<tfoot><tr><th scope="row">total</th><td>4</td><td>1</td><td>1</td><td>2</td><td>0</td><td>1</td><td>3</td><td>12 s</td><td></td><td></td></tr></tfoot>`,
			`<title>1 Mar: median 5, 95th percentile 124</title>`,
			`<title>28 Feb: median –, 95th percentile –</title>`,
			`<title>2 Mar: 429 answers 2, seconds asked to wait 10</title>`,
		}, map[string]int{`class="chart line"`: 3, `<tr><th scope="row">`: 31}},
		// In Kiritimati the slot of 13:00 UTC on Sunday is on Monday, with
		// the chat lost and the 429 on Discord.
		{"OKKiritimati", "/delivery?tz=Pacific/Kiritimati", []string{
			row("Mon 2 Mar", 2, 1, 0, 0, 0, 1, 3, "12 s", "5 s", "21 s"),
			row("Sun 1 Mar", 1, 0, 1, 2, 0, 0, 0, "0 s", "2 min 4 s", "2 min 4 s"),
		}, nil},
	})
}

func TestPreview(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.browser()
	f.signIn(c, root)
	if res := f.get(c, "/actions"); !strings.Contains(res.body, `<form class="zone" method="post" action="/actions/preview">`) {
		t.Fatalf("no preview form:\n%s", res.body)
	}
	tests := []struct {
		name, id string
		want     []string
	}{
		{"OK", "night-train", []string{
			`<h2>Preview of The night train comes back &lt;again&gt; <code>night-train</code></h2>`,
			"2 messages, as the bot sends them",
			"<pre class=\"message\">The night train comes back &lt;again&gt;\nSleeper trains return across Europe.</pre>",
			"<pre class=\"message\">Question 1 of 1: &lt;b&gt;?&lt;/b&gt;\n  1. yes\n  2. no</pre>",
			`<input id="preview-id" name="id" value="night-train"`,
		}},
		{"ErrNotInService", "old-lesson", []string{`There is no lesson &#34;old-lesson&#34; in service; the Lessons page lists them.`}},
		{"ErrBadID", "../etc", []string{`There is no lesson &#34;../etc&#34; in service`}},
		{"ErrEmpty", " ", []string{"Type the id of a lesson: its file name without .md."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.post(c, "/actions/preview", url.Values{"id": {tt.id}})
			if res.status != http.StatusOK {
				t.Fatalf("%d\n%s", res.status, res.body)
			}
			for _, want := range tt.want {
				if !strings.Contains(res.body, want) {
					t.Errorf("the page lacks %s", want)
				}
			}
			if tt.name != "OK" && strings.Contains(res.body, "<pre") {
				t.Error("a preview of no lesson")
			}
			if t.Failed() {
				t.Log(res.body)
			}
		})
	}
	if res := f.get(c, "/actions/preview?id=night-train"); res.status == http.StatusOK {
		t.Errorf("GET /actions/preview: %d, want no preview", res.status)
	}
}

func TestResend(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	s := seed(t, f)
	c := f.browser()
	f.signIn(c, root)
	slot := fmt.Sprint(s.unknownSlot.Unix())
	unchanged := func(when string) {
		t.Helper()
		q, err := f.st.Queue(ctx)
		if err != nil || q.Pending != 1 {
			t.Errorf("%s: %d pending, %v; want the 1 of the seed", when, q.Pending, err)
		}
		if n, msgs, err := f.st.Resendable(ctx, s.unknownSlot); err != nil || n != 2 || msgs != 2 {
			t.Errorf("%s: %d deliveries, %d messages to resend, %v; want 2, 2", when, n, msgs, err)
		}
		if n := f.wakes.Load(); n != 0 {
			t.Errorf("%s: the pool was woken %d times", when, n)
		}
	}

	res := f.get(c, "/actions")
	for _, want := range []string{
		row("Sun 1 Mar 08:00", 2, 1, 0, 0, 2, `<form method="post" action="/actions/resend"><input type="hidden" name="slot" value="`+slot+
			`"><input type="hidden" name="tz" value="Europe/Paris"><button type="submit">Resend…</button></form>`),
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the Actions page lacks %s\n%s", want, res.body)
		}
	}
	if n := strings.Count(res.body, `action="/actions/resend"`); n != 1 {
		t.Errorf("%d slots to resend, want 1 (the others have no unknown message)", n)
	}

	t.Run("OKConfirmationChangesNothing", func(t *testing.T) {
		res := f.post(c, "/actions/resend", url.Values{"slot": {slot}, "tz": {"Europe/Paris"}})
		for _, want := range []string{
			`<h1>Resend unknown messages</h1>`, `<a href="/actions" aria-current="page">Actions</a>`,
			`<strong>2</strong> deliveries of the slot <strong>Sun 1 Mar 08:00</strong> (Europe/Paris) will be tried again: 2 messages that may or may not have arrived will be sent again.`,
			"A message that did arrive will arrive twice",
			`<form class="zone" method="post" action="/actions/resend/confirm">`, `<input type="hidden" name="slot" value="` + slot + `">`,
			`<button type="submit" class="primary">Resend 2 deliveries</button>`, `<a href="/actions">Cancel</a>`,
		} {
			if !strings.Contains(res.body, want) {
				t.Errorf("the confirmation lacks %s", want)
			}
		}
		if t.Failed() {
			t.Log(res.body)
		}
		unchanged("after the confirmation page")
		// In another zone, the same slot.
		if res := f.post(c, "/actions/resend", url.Values{"slot": {slot}, "tz": {"UTC"}}); !strings.Contains(res.body, "<strong>Sun 1 Mar 07:00</strong> (UTC)") {
			t.Errorf("in UTC:\n%s", res.body)
		}
	})
	t.Run("ErrCrossSite", func(t *testing.T) {
		for _, path := range []string{"/actions/resend", "/actions/resend/confirm", "/actions/preview"} {
			res := f.do(c, http.MethodPost, path, url.Values{"slot": {slot}, "id": {"night-train"}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
			if res.status != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", path, res.status)
			}
		}
		unchanged("after cross-site POSTs")
	})
	t.Run("ErrNoSlot", func(t *testing.T) {
		for _, path := range []string{"/actions/resend", "/actions/resend/confirm"} {
			for _, v := range []string{"", "soon", "-5"} {
				if res := f.post(c, path, url.Values{"slot": {v}}); res.status != http.StatusBadRequest || !strings.Contains(res.body, "named no slot") {
					t.Errorf("%s with slot %q: %d", path, v, res.status)
				}
			}
		}
		unchanged("after forms with no slot")
	})
	t.Run("OKResent", func(t *testing.T) {
		f.clock.Add(time.Minute)
		res := f.post(c, "/actions/resend/confirm", url.Values{"slot": {slot}, "tz": {"Europe/Paris"}})
		for _, want := range []string{
			"<h2>Unknown messages resent</h2>",
			"2 deliveries of the slot Sun 1 Mar 08:00 are back in the queue, due now. The delivery pool was told, and sends them in a moment.",
			`No slot since Sat 28 Feb 10:01 has a message of unknown fate.`,
		} {
			if !strings.Contains(res.body, want) {
				t.Errorf("the result lacks %s", want)
			}
		}
		if t.Failed() {
			t.Log(res.body)
		}
		if n := f.wakes.Load(); n != 1 {
			t.Errorf("the pool was woken %d times, want 1", n)
		}
		q, err := f.st.Queue(ctx)
		if err != nil || q.Pending != 3 || !q.OldestDue.Equal(t0.Add(-time.Hour)) {
			t.Errorf("queue %+v, %v; want the 2 put back pending", q, err)
		}
		claims, _, err := f.st.ClaimDue(ctx, f.clock.Now(), "test", time.Minute, 10, false, chat.Telegram, chat.Discord)
		if err != nil {
			t.Fatal(err)
		}
		due := 0
		for _, cl := range claims {
			if cl.Delivery.Slot.Equal(s.unknownSlot) {
				due++
				if !cl.Delivery.DueAt.Equal(f.clock.Now()) {
					t.Errorf("delivery %d due %v, want now", cl.Delivery.ID, cl.Delivery.DueAt)
				}
			}
		}
		if due != 2 {
			t.Errorf("%d deliveries of the slot due, want 2", due)
		}
		if !strings.Contains(f.logs.String(), `msg="unknown messages resent from the dashboard" platform=telegram user_id=42 slot=2026-03-01T07:00:00Z deliveries=2`) {
			t.Errorf("no log line:\n%s", f.logs.String())
		}
	})
	t.Run("OKNothingLeft", func(t *testing.T) {
		res := f.post(c, "/actions/resend", url.Values{"slot": {slot}})
		if !strings.Contains(res.body, "Nothing of the slot <strong>Sun 1 Mar 08:00</strong> (Europe/Paris) can be resent") ||
			strings.Contains(res.body, "/actions/resend/confirm") {
			t.Errorf("the confirmation of an empty resend:\n%s", res.body)
		}
		res = f.post(c, "/actions/resend/confirm", url.Values{"slot": {slot}})
		if !strings.Contains(res.body, "Nothing of the slot Sun 1 Mar 08:00 was left to resend.") || f.wakes.Load() != 1 {
			t.Errorf("a second resend: %d wakes\n%s", f.wakes.Load(), res.body)
		}
	})
	t.Run("OKNoWake", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		s := seed(t, f)
		f.srv.opts.Wake = nil
		c := f.browser()
		f.signIn(c, root)
		res := f.post(c, "/actions/resend/confirm", url.Values{"slot": {fmt.Sprint(s.unknownSlot.Unix())}})
		if !strings.Contains(res.body, "are back in the queue, due now. The delivery pool sends them at its next look at the queue.") {
			t.Errorf("%s", res.body)
		}
	})
}
