package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

// seed stores, at t0 (10:00 in Paris): four active chats and one that
// left; today in Paris a slot at 09:00 with one lesson sent, one failed
// and one still waiting, and an answer; the day before in Paris (but
// today in Kiritimati, UTC+14) a lesson sent and an answer.
func seed(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for i, c := range []struct {
		platform, id string
		kind         chat.Kind
		active       bool
	}{
		{chat.Telegram, "1", chat.Private, true},
		{chat.Telegram, "2", chat.Private, true},
		{chat.Telegram, "-100", chat.Group, true},
		{chat.Discord, "400", chat.Group, true},
		{chat.Telegram, "3", chat.Private, false},
	} {
		id, err := st.SaveChat(ctx, store.Subscription{
			Address: chat.Address{Platform: c.platform, ChatID: c.id}, Kind: c.kind, Hour: 9, Zone: "Europe/Paris",
			Weekdays: store.EveryDay, Language: "en", Active: c.active, CreatedAt: t0.Add(-time.Duration(48+i) * time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	yesterday := t0.Add(-20 * time.Hour) // 14:00 on Sunday in Paris, 03:00 on Monday in Kiritimati
	if _, err := st.EnqueueSlot(ctx, ids[:1], yesterday); err != nil {
		t.Fatal(err)
	}
	finish := func(at time.Time, state store.DeliveryState) {
		t.Helper()
		claims, _, err := st.ClaimDue(ctx, at, "test", time.Minute, 1, false, chat.Telegram)
		if err != nil || len(claims) != 1 {
			t.Fatalf("claim: %v, %v", claims, err)
		}
		if err := st.FinishDelivery(ctx, claims[0].Delivery.ID, "test", state, ""); err != nil {
			t.Fatal(err)
		}
	}
	finish(yesterday, store.DeliverySent)
	slot := t0.Add(-time.Hour) // 09:00 in Paris
	if _, err := st.EnqueueSlot(ctx, ids[:3], slot); err != nil {
		t.Fatal(err)
	}
	finish(slot, store.DeliverySent)
	finish(slot, store.DeliveryFailed)
	learner, err := st.Learner(ctx, chat.User{Platform: chat.Telegram, ID: "1", Name: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	for i, at := range []time.Time{yesterday, t0.Add(-30 * time.Minute)} {
		if _, _, err := st.RecordAnswer(ctx, store.Answer{LearnerID: learner, Chat: "telegram:1", LessonID: "l",
			QuestionKey: fmt.Sprintf("l:q%d", i), Correct: true, At: at}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOverview(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	seed(t, f.st)
	c := f.browser()
	f.signIn(c, root)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"OKDefaultZone", "/", []string{
			`value="Europe/Paris"`, "since 00:00 on Monday 2 March 2026",
			`<p class="big" id="answers-today">1</p>`,
			`<p class="big" id="oldest-pending">1 h 0 min</p>`, "due and not yet sent, on telegram",
			`<p class="big" id="chats-total">4</p>`,
			// sent, pending, sending, unknown, failed
			`<tbody><tr><td>1</td><td>1</td><td>0</td><td>0</td><td>1</td></tr></tbody>`,
			`<tr><th scope="row">telegram</th><td>2</td><td>1</td><td>0</td><td>3</td></tr>`,
			`<tr><th scope="row">discord</th><td>0</td><td>1</td><td>0</td><td>1</td></tr>`,
			`<tfoot><tr><th scope="row">total</th><td>2</td><td>2</td><td>0</td><td>4</td></tr></tfoot>`,
		}},
		{"OKOtherZone", "/?tz=pacific/kiritimati", []string{
			`value="Pacific/Kiritimati"`, "since 00:00 on Monday 2 March 2026",
			`<p class="big" id="answers-today">2</p>`,
			`<tbody><tr><td>2</td><td>1</td><td>0</td><td>0</td><td>1</td></tr></tbody>`,
		}},
		{"OKUnknownZone", "/?tz=Mars%2FOlympus", []string{
			`value="Europe/Paris"`, "There is no time zone &#34;Mars/Olympus&#34;; the page uses the default one.",
			`<p class="big" id="answers-today">1</p>`,
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
			"No chat is subscribed yet.", `<tbody><tr><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td></tr></tbody>`,
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
