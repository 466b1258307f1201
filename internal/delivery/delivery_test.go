package delivery_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/ratelimit"
	"github.com/lessonbot/lessonbot/internal/store"
)

var monFri = store.Weekdays(0b0111110)

// TestLocalTimes delivers to chats in different zones across both of
// Paris's 2026 daylight saving changes, on their weekdays only.
func TestLocalTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		paris, newYork := zone(t, "Europe/Paris"), zone(t, "America/New_York")
		sleepUntil(time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)) // a Friday
		w := newWorld(t, "l1", "l2", "l3", "l4", "l5", "l6", "l7")
		morning := w.subscribe("100", 7, 30, "Europe/Paris", store.EveryDay)
		gap := w.subscribe("200", 2, 30, "Europe/Paris", store.EveryDay)
		weekdays := w.subscribe("300", 7, 0, "America/New_York", monFri)
		w.start()
		sleepUntil(time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC))
		w.stop()

		want := map[store.Subscription][]time.Time{
			morning: {
				time.Date(2026, 3, 28, 7, 30, 0, 0, paris),
				time.Date(2026, 3, 29, 7, 30, 0, 0, paris), // the first day of summer time
				time.Date(2026, 3, 30, 7, 30, 0, 0, paris),
			},
			gap: {
				time.Date(2026, 3, 28, 2, 30, 0, 0, paris),
				time.Date(2026, 3, 29, 3, 0, 0, 0, paris), // 02:30 does not exist: the first valid minute after it
				time.Date(2026, 3, 30, 2, 30, 0, 0, paris),
			},
			weekdays: {
				time.Date(2026, 3, 30, 7, 0, 0, 0, newYork), // Monday; not Saturday 28 or Sunday 29
			},
		}
		for sub, slots := range want {
			var got []time.Time
			for _, p := range w.sender.posts() {
				if p.to == sub.Address {
					got = append(got, p.at)
				}
			}
			if !slices.EqualFunc(got, slots, time.Time.Equal) {
				t.Errorf("chat %s got posts at %v, want %v", sub.Address.ChatID, got, slots)
			}
		}
	})
}

// TestFallBack gives a chat whose time repeats when the clocks go back one
// lesson that day.
func TestFallBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleepUntil(time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC))
		w := newWorld(t, "l1", "l2", "l3", "l4")
		w.subscribe("100", 2, 30, "Europe/Paris", store.EveryDay)
		w.start()
		sleepUntil(time.Date(2026, 10, 27, 0, 0, 0, 0, time.UTC))
		w.stop()
		days := map[string]int{}
		for _, p := range w.sender.posts() {
			days[p.at.In(zone(t, "Europe/Paris")).Format(time.DateOnly)]++
		}
		if want := map[string]int{"2026-10-25": 1, "2026-10-26": 1}; !equalMaps(days, want) {
			t.Errorf("posts by day = %v, want %v", days, want)
		}
	})
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestLessonMessagesSpaced sends a lesson's messages in order, spaced by
// the per-chat limit, and records each message id.
func TestLessonMessagesSpaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1")
		w.limits = ratelimit.Limits{PerSecond: 25, PerChatPerSecond: 1}
		sub := w.subscribe("100", 8, 0, "UTC", store.EveryDay)
		w.start()
		sleepUntil(time.Date(2000, 1, 1, 9, 0, 0, 0, time.UTC))
		w.stop()
		got := localTimes(w.sender.messages(), time.UTC)
		want := []string{
			"2000-01-01 08:00:00 UTC l1/0",
			"2000-01-01 08:00:01 UTC l1/1",
			"2000-01-01 08:00:02 UTC l1/2",
		}
		if !slices.Equal(got, want) {
			t.Errorf("sent %q, want %q", got, want)
		}
		ds := w.deliveries(sub)
		if len(ds) != 1 || ds[0].State != store.DeliverySent || !slices.Equal(ds[0].MessageIDs, []string{"1", "2", "3"}) {
			t.Errorf("deliveries = %+v", ds)
		}
	})
}

// TestPauseAndResume skips the slots of a paused subscription.
func TestPauseAndResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1", "l2", "l3")
		sub := w.subscribe("100", 8, 0, "UTC", store.EveryDay)
		sub.PausedUntil = time.Date(2000, 1, 3, 0, 0, 0, 0, time.UTC) // skip Jan 1 and 2
		if err := w.store.SaveSubscription(context.Background(), sub); err != nil {
			t.Fatal(err)
		}
		w.start()
		sleepUntil(time.Date(2000, 1, 4, 0, 0, 0, 0, time.UTC))
		w.stop()
		got := localTimes(w.sender.posts(), time.UTC)
		want := []string{"2000-01-03 08:00:00 UTC l1/0"}
		if !slices.Equal(got, want) {
			t.Errorf("posts %q, want %q", got, want)
		}
	})
}

// TestCatchUp restarts the program after outages of different lengths.
func TestCatchUp(t *testing.T) {
	day := func(d, h, m int) time.Time { return time.Date(2000, 1, d, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name      string
		downFrom  time.Time
		downUntil time.Time
		want      []string // posts after the restart, up to the end of the next day
	}{
		{"DownTwoHours", day(2, 7, 0), day(2, 10, 0), []string{"2000-01-02 10:00:00 UTC l2/0", "2000-01-03 08:00:00 UTC l3/0"}},
		{"DownThreeDays", day(2, 7, 0), day(5, 9, 0), []string{"2000-01-05 09:00:00 UTC l2/0", "2000-01-06 08:00:00 UTC l3/0"}},
		{"DownPastCatchUp", day(2, 7, 0), day(2, 14, 30), []string{"2000-01-03 08:00:00 UTC l2/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, "l1", "l2", "l3", "l4", "l5", "l6")
				w.subscribe("100", 8, 0, "UTC", store.EveryDay)
				w.start()
				sleepUntil(tt.downFrom)
				w.stop()
				before := len(w.sender.posts())
				sleepUntil(tt.downUntil)
				w.start()
				end := time.Date(tt.downUntil.Year(), tt.downUntil.Month(), tt.downUntil.Day()+2, 0, 0, 0, 0, time.UTC)
				sleepUntil(end)
				w.stop()
				got := localTimes(w.sender.posts()[before:], time.UTC)
				if !slices.Equal(got, tt.want) {
					t.Errorf("posts after the restart %q, want %q", got, tt.want)
				}
			})
		})
	}
}

// TestExhaustedLibraryResumes records a slot with no lesson left as
// exhausted, and delivers again once a lesson is added.
func TestExhaustedLibraryResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1")
		sub := w.subscribe("100", 8, 0, "UTC", store.EveryDay)
		w.start()
		sleepUntil(time.Date(2000, 1, 2, 12, 0, 0, 0, time.UTC))
		w.lessons.Add("l2")
		sleepUntil(time.Date(2000, 1, 4, 0, 0, 0, 0, time.UTC))
		w.stop()
		got := localTimes(w.sender.posts(), time.UTC)
		want := []string{"2000-01-01 08:00:00 UTC l1/0", "2000-01-03 08:00:00 UTC l2/0"}
		if !slices.Equal(got, want) {
			t.Errorf("posts %q, want %q", got, want)
		}
		var states []store.DeliveryState
		for _, d := range w.deliveries(sub) {
			states = append(states, d.State)
		}
		if want := []store.DeliveryState{store.DeliverySent, store.DeliveryExhausted, store.DeliverySent}; !slices.Equal(states, want) {
			t.Errorf("states %v, want %v", states, want)
		}
	})
}

// TestRateLimitedWholeQueueWaits makes a 429 hold every chat of the
// platform for retry_after, without counting an attempt.
func TestRateLimitedWholeQueueWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1")
		w.lessons.Size = 1
		w.limits = ratelimit.Limits{PerSecond: 1}
		w.sender.rateLimitFirst(30 * time.Second)
		a := w.subscribe("100", 8, 0, "UTC", store.EveryDay)
		b := w.subscribe("200", 8, 0, "UTC", store.EveryDay)
		w.start()
		sleepUntil(time.Date(2000, 1, 1, 9, 0, 0, 0, time.UTC))
		w.stop()
		msgs := w.sender.messages()
		if len(msgs) != 2 {
			t.Fatalf("sent %d messages, want 2", len(msgs))
		}
		for _, m := range msgs {
			if m.at.Before(time.Date(2000, 1, 1, 8, 0, 30, 0, time.UTC)) {
				t.Errorf("a message went at %v, during the 30 s wait", m.at)
			}
		}
		for _, sub := range []store.Subscription{a, b} {
			ds := w.deliveries(sub)
			if len(ds) != 1 || ds[0].State != store.DeliverySent || ds[0].Attempts != 0 {
				t.Errorf("chat %s deliveries = %+v", sub.Address.ChatID, ds)
			}
		}
	})
}

// TestChatGone deactivates the subscription and sends nothing more.
func TestChatGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1", "l2")
		w.sender.fail = func(call int, to chat.Address, text string) error {
			return &chat.SendError{Kind: chat.ChatGone, Err: errors.New("403 blocked")}
		}
		sub := w.subscribe("100", 8, 0, "UTC", store.EveryDay)
		w.start()
		sleepUntil(time.Date(2000, 1, 3, 0, 0, 0, 0, time.UTC))
		w.stop()
		if w.sender.calls != 1 {
			t.Errorf("%d sends tried, want 1", w.sender.calls)
		}
		got, err := w.store.Chat(context.Background(), sub.Address)
		if err != nil || got.Active {
			t.Errorf("subscription active = %v (err %v), want deactivated", got.Active, err)
		}
		ds := w.deliveries(sub)
		if len(ds) != 1 || ds[0].State != store.DeliveryFailed {
			t.Errorf("deliveries = %+v, want one failed", ds)
		}
	})
}

// TestChatMoved moves the subscription to the new chat id and sends the
// lesson there.
func TestChatMoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1")
		w.sender.fail = func(call int, to chat.Address, text string) error {
			if to.ChatID == "-100" {
				return &chat.SendError{Kind: chat.ChatMoved, MovedTo: "-1001", Err: errors.New("400 migrated")}
			}
			return nil
		}
		sub := w.subscribe("-100", 8, 0, "UTC", store.EveryDay)
		w.start()
		sleepUntil(time.Date(2000, 1, 1, 9, 0, 0, 0, time.UTC))
		w.stop()
		for _, m := range w.sender.messages() {
			if m.to.ChatID != "-1001" {
				t.Errorf("message %s went to %s", m.text, m.to.ChatID)
			}
		}
		if n := len(w.sender.messages()); n != 3 {
			t.Errorf("sent %d messages, want 3", n)
		}
		moved, err := w.store.Chat(context.Background(), chat.Address{Platform: chat.Telegram, ChatID: "-1001"})
		if err != nil || moved.ID != sub.ID || !moved.Active {
			t.Errorf("moved subscription = %+v, %v; want id %d, active", moved, err, sub.ID)
		}
		if ds := w.deliveries(sub); len(ds) != 1 || ds[0].State != store.DeliverySent {
			t.Errorf("deliveries = %+v", ds)
		}
	})
}

// TestTransientRetriedThenFailed retries with backoff up to max_attempts.
func TestTransientRetriedThenFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1")
		var tries []time.Time
		w.sender.fail = func(call int, to chat.Address, text string) error {
			tries = append(tries, time.Now())
			return &chat.SendError{Kind: chat.Transient, Err: errors.New("502 bad gateway")}
		}
		w.opts = delivery.Options{MaxAttempts: 5, Backoff: 2 * time.Second}
		sub := w.subscribe("100", 8, 0, "UTC", store.EveryDay)
		w.start()
		sleepUntil(time.Date(2000, 1, 1, 9, 0, 0, 0, time.UTC))
		w.stop()
		if len(tries) != 5 {
			t.Fatalf("%d tries, want 5", len(tries))
		}
		var gaps []time.Duration
		for i := 1; i < len(tries); i++ {
			gaps = append(gaps, tries[i].Sub(tries[i-1]).Round(time.Second))
		}
		// Each retry waits its backoff, and the pool's poll may add up to a second.
		for i, want := range []time.Duration{2, 4, 8, 16} {
			if gaps[i] < want*time.Second || gaps[i] > (want+1)*time.Second {
				t.Errorf("gap before try %d = %v, want about %vs", i+2, gaps[i], want)
			}
		}
		ds := w.deliveries(sub)
		if len(ds) != 1 || ds[0].State != store.DeliveryFailed || ds[0].Attempts != 4 || ds[0].LastError == "" {
			t.Errorf("deliveries = %+v, want one failed after 4 counted retries", ds)
		}
	})
}

// TestAmbiguousPerMessage marks a message whose send may have arrived as
// unknown and does not send it again: after an uncertain question the
// lesson goes on with the next one; after an uncertain post it stops,
// for questions without their article make no sense.
func TestAmbiguousPerMessage(t *testing.T) {
	tests := []struct {
		name      string
		uncertain string
		wantSent  []string
		wantState store.DeliveryState
		wantIDs   []string
	}{
		{"Question", "l1/1", []string{"l1/0", "l1/2", "l2/0", "l2/1", "l2/2"}, store.DeliverySent, []string{"1", "", "2"}},
		{"Post", "l1/0", []string{"l2/0", "l2/1", "l2/2"}, store.DeliveryUnknown, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, "l1", "l2")
				w.sender.fail = func(call int, to chat.Address, text string) error {
					if text == tt.uncertain {
						return &chat.SendError{Kind: chat.Ambiguous, Err: errors.New("timeout after the request was written")}
					}
					return nil
				}
				sub := w.subscribe("100", 8, 0, "UTC", store.EveryDay)
				w.start()
				sleepUntil(time.Date(2000, 1, 2, 9, 0, 0, 0, time.UTC))
				w.stop()
				var texts []string
				for _, m := range w.sender.messages() {
					texts = append(texts, m.text)
				}
				if !slices.Equal(texts, tt.wantSent) {
					t.Errorf("sent %q, want %q", texts, tt.wantSent)
				}
				ds := w.deliveries(sub)
				if len(ds) != 2 || ds[0].State != tt.wantState || !slices.Equal(ds[0].MessageIDs, tt.wantIDs) ||
					ds[0].Unknown != 1 || ds[1].State != store.DeliverySent || ds[1].Unknown != 0 {
					t.Errorf("deliveries = %+v; want the first %s with ids %q and 1 unknown, the second sent", ds, tt.wantState, tt.wantIDs)
				}
			})
		})
	}
}

// TestShutdownResumesMissingMessages stops the program in the middle of a
// lesson; the next start sends only the messages not yet sent.
func TestShutdownResumesMissingMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1")
		w.limits = ratelimit.Limits{PerChatPerSecond: 0.1} // one message every 10 s
		sub := w.subscribe("100", 8, 0, "UTC", store.EveryDay)
		w.start()
		sleepUntil(time.Date(2000, 1, 1, 8, 0, 15, 0, time.UTC)) // two messages sent
		w.stop()
		if n := len(w.sender.messages()); n != 2 {
			t.Fatalf("sent %d messages before the stop, want 2", n)
		}
		if ds := w.deliveries(sub); ds[0].State != store.DeliveryPending || len(ds[0].MessageIDs) != 2 {
			t.Errorf("after the stop, delivery = %+v, want pending with 2 messages sent", ds[0])
		}
		sleepUntil(time.Date(2000, 1, 1, 8, 5, 0, 0, time.UTC))
		w.start()
		sleepUntil(time.Date(2000, 1, 1, 8, 10, 0, 0, time.UTC))
		w.stop()
		var texts []string
		for _, m := range w.sender.messages() {
			texts = append(texts, m.text)
		}
		if want := []string{"l1/0", "l1/1", "l1/2"}; !slices.Equal(texts, want) {
			t.Errorf("sent %q, want %q", texts, want)
		}
		if ds := w.deliveries(sub); ds[0].State != store.DeliverySent {
			t.Errorf("delivery = %+v, want sent", ds[0])
		}
	})
}

// TestScheduleFollowsSubscriptions adds and removes cron entries as
// subscriptions change, with no restart.
func TestScheduleFollowsSubscriptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "l1", "l2")
		w.start()
		a := w.subscribe("100", 8, 0, "Europe/Paris", monFri)
		w.subscribe("200", 8, 0, "Europe/Paris", monFri)
		c := w.subscribe("300", 21, 15, "UTC", store.EveryDay)
		want := []string{"CRON_TZ=Europe/Paris 0 8 * * 1,2,3,4,5", "CRON_TZ=UTC 15 21 * * *"}
		if got := w.sched.Specs(); !slices.Equal(got, want) {
			t.Errorf("specs %q, want %q", got, want)
		}
		a.Active = false
		c.Hour, c.Minute = 6, 0
		for _, sub := range []store.Subscription{a, c} {
			if err := w.store.SaveSubscription(context.Background(), sub); err != nil {
				t.Fatal(err)
			}
			w.sched.Update(sub)
		}
		want = []string{"CRON_TZ=Europe/Paris 0 8 * * 1,2,3,4,5", "CRON_TZ=UTC 0 6 * * *"}
		if got := w.sched.Specs(); !slices.Equal(got, want) {
			t.Errorf("after changes, specs %q, want %q", got, want)
		}
		w.stop()
	})
}
