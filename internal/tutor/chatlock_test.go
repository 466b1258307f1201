package tutor

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

// TestConcurrentCommandsKeepEverySetting sends five settings commands at
// once to a chat, many times over (new chats and known ones): every
// setting must stick, none written over by another command's copy of the
// row.
func TestConcurrentCommandsKeepEverySetting(t *testing.T) {
	h := newHarness(t)
	lines := []string{"/time 09:15", "/timezone Asia/Tokyo", "/days sat,sun", "/level B1", "/language fr"}
	for round := range 40 {
		admin := inGroup(fmt.Sprintf("-100%d", round), "1", "Ann", true)
		if round%2 == 1 {
			h.sendAll(admin, "/subscribe 07:00 UTC") // a chat with a row already
		}
		var wg sync.WaitGroup
		for _, line := range lines {
			wg.Go(func() {
				if msgs := h.send(admin, line); len(msgs) == 0 || isRefusal(allText(msgs)) {
					t.Errorf("round %d: %s: %q", round, line, allText(msgs))
				}
			})
		}
		wg.Wait()
		sub := h.mustRow(admin.addr)
		if sub.Hour != 9 || sub.Minute != 15 || sub.Zone != "Asia/Tokyo" || sub.Weekdays != 1<<time.Saturday|1<<time.Sunday ||
			sub.Level != "B1" || sub.Language != "fr" {
			t.Errorf("round %d: stored %02d:%02d %s days %v level %q language %q; want 09:15 Asia/Tokyo sat,sun B1 fr",
				round, sub.Hour, sub.Minute, sub.Zone, sub.Weekdays, sub.Level, sub.Language)
		}
	}
}

// TestChatGoneTurnsOffTopics: a bot removed from a forum group loses the
// group's subscription and those of its topics; a topic that is gone on
// its own takes only its own subscription with it.
func TestChatGoneTurnsOffTopics(t *testing.T) {
	h := newHarness(t)
	group := inGroup("-1009", "1", "Ann", true)
	topic := func(id string) sender {
		s := group
		s.addr.ThreadID = id
		return s
	}
	other := inGroup("-1010", "1", "Ann", true)
	for _, s := range []sender{group, topic("7"), topic("9"), other} {
		h.sendAll(s, "/subscribe 08:00 UTC")
	}
	active := func(s sender) bool { return h.mustRow(s.addr).Active }

	h.tutor.ChatGone(h.ctx, topic("9").addr)
	if !active(group) || !active(topic("7")) || active(topic("9")) {
		t.Errorf("after topic 9 is gone: group %v, topic 7 %v, topic 9 %v; want true, true, false",
			active(group), active(topic("7")), active(topic("9")))
	}

	h.tutor.ChatGone(h.ctx, chat.Address{Platform: chat.Telegram, ChatID: "-1009"})
	if active(group) || active(topic("7")) {
		t.Errorf("after the group is gone: group %v, topic 7 %v; want both off", active(group), active(topic("7")))
	}
	if !active(other) {
		t.Error("another group's subscription was turned off")
	}
	if got := h.mustRow(topic("7").addr); got.Hour != 8 || got.Zone != "UTC" {
		t.Errorf("topic 7's settings changed: %02d:%02d %s", got.Hour, got.Minute, got.Zone)
	}
	subs, err := h.st.ActiveSubscriptions(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].Address != other.addr {
		t.Errorf("active subscriptions %v, want only %s", addresses(subs), other.addr.Key())
	}
}

func addresses(subs []store.Subscription) []string {
	var out []string
	for _, s := range subs {
		out = append(out, s.Address.Key())
	}
	return out
}
