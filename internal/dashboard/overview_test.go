package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestOverview(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	seed(t, f)
	c := f.browser()
	f.signIn(c, root)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"OKDefaultZone", "/", []string{
			`value="Europe/Paris"`, "since 00:00 on Monday 2 March 2026",
			`<p class="big" id="answers-today">3</p>`,
			`<p class="big" id="active-24h">2</p>`,
			`<p class="big" id="oldest-pending">1 h 0 min</p>`, "due and not yet sent",
			`<p class="big" id="chats-total">5</p>`,
			`<p class="big" id="net-7d">+4</p>`, "6 subscribed, 1 unsubscribed, 1 gone since Tuesday 24 February 2026",
			// sent, unknown, failed
			`<tbody><tr><td>1</td><td>0</td><td>1</td></tr></tbody>`,
			`In the outbox now: <strong>1</strong> waiting, <strong>0</strong> being sent.`,
			`<tr><th scope="row">telegram</th><td>3</td><td>1</td><td>0</td><td>4</td></tr>`,
			`<tr><th scope="row">discord</th><td>0</td><td>1</td><td>0</td><td>1</td></tr>`,
			`<tfoot><tr><th scope="row">total</th><td>3</td><td>2</td><td>0</td><td>5</td></tr></tfoot>`,
		}},
		{"OKOtherZone", "/?tz=pacific/kiritimati", []string{
			`value="Pacific/Kiritimati"`, "since 00:00 on Monday 2 March 2026",
			`<p class="big" id="answers-today">6</p>`,
			`<tbody><tr><td>2</td><td>0</td><td>1</td></tr></tbody>`,
			`<p class="big" id="net-7d">+4</p>`,
		}},
		{"OKUnknownZone", "/?tz=Mars%2FOlympus", []string{
			`value="Europe/Paris"`, "There is no time zone &#34;Mars/Olympus&#34;; the page uses the default one.",
			`<p class="big" id="answers-today">3</p>`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.get(c, tt.query)
			if res.status != http.StatusOK {
				t.Fatalf("%d\n%s", res.status, res.body)
			}
			for _, want := range tt.want {
				if !strings.Contains(res.body, want) {
					t.Errorf("the page lacks %s", want)
				}
			}
			if t.Failed() {
				t.Log(res.body)
			}
		})
	}
	t.Run("OKEmpty", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		c := f.browser()
		f.signIn(c, root)
		res := f.get(c, "/")
		for _, want := range []string{
			`<p class="big" id="answers-today">0</p>`, `<p class="big" id="oldest-pending">none</p>`,
			`<p class="big" id="net-7d">0</p>`, `<p class="big" id="active-24h">0</p>`,
			"No chat is subscribed yet.", `<tbody><tr><td>0</td><td>0</td><td>0</td></tr></tbody>`,
		} {
			if !strings.Contains(res.body, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
	})
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "under a minute", 59 * time.Second: "under a minute", time.Minute: "1 min", 59*time.Minute + 59*time.Second: "59 min",
		time.Hour: "1 h 0 min", 25*time.Hour + 30*time.Minute: "1 d 1 h",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%s) = %q, want %q", d, got, want)
		}
	}
}
